"""Typed trigger errors: SQLSTATE and detail on the server, typed exceptions in Python."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import (
    DatabaseError,
    IntegrityError,
    InternalError,
    ProgrammingError,
    connection,
    connections,
    models,
    transaction,
)

import pgtrigger_live as pgtrigger
from pgtrigger_live.declare.raising import raise_sql
from pgtrigger_live.exceptions import DeclarationError, PgTriggerLiveError
from pgtrigger_live.runtime import errors, wrapper
from pgtrigger_live.runtime.errors import (
    InvalidTransitionError,
    ProtectedError,
    ReadOnlyError,
    TriggerError,
    translate_errors,
)
from tests.conftest import subprocess_env
from tests.testapp.models import Invoice, Plain

#: What Django raises for a plain RAISE EXCEPTION with the driver in use (the suite runs on
#: psycopg 3, or on psycopg2 with PGTRIGGER_LIVE_TEST_DRIVER=psycopg2).
DRIVER_RAISE = ProgrammingError if connection.Database.__name__ == "psycopg" else InternalError

ROOT = Path(__file__).resolve().parent.parent
AddTrigger = Callable[[type[models.Model], pgtrigger.Trigger], str]
HOSTILE = "Nope: it's 100% $$ {x}; \\ -- done"


class PaymentDeclined(TriggerError, sqlstate="TG100"):
    """An application's own refusal class."""


@pytest.fixture(autouse=True)
def _typed_errors() -> None:
    errors.install_translation()


def paid_invoice() -> Invoice:
    invoice = Invoice.objects.create(number="P-1")
    for status in ("open", "paid"):
        Invoice.objects.filter(pk=invoice.pk).update(status=status)
    return invoice


# -- pure --------------------------------------------------------------------------------------


def test_raise_sql_quotes_everything() -> None:
    text = raise_sql(HOSTILE, uri="app.M:t", detail={"row": 'NEW."id"'})
    assert text == (
        "RAISE EXCEPTION USING ERRCODE = 'TG000', MESSAGE = E'Nope: it''s 100% $$ {x}; \\\\ -- "
        "done', DETAIL = json_build_object('uri', 'app.M:t', 'schema', TG_TABLE_SCHEMA, "
        "'table', TG_TABLE_NAME, 'operation', TG_OP, 'trigger', TG_NAME, 'row', NEW.\"id\")::text;"
    )
    for bad in ("P0001", "tg001", "TG00", "XX000"):
        with pytest.raises(DeclarationError, match="not of pgtrigger_live's class"):
            raise_sql("x", sqlstate=bad)


def test_class_hierarchy_and_reserved_codes() -> None:
    assert issubclass(ReadOnlyError, ProtectedError)
    assert issubclass(ProtectedError, TriggerError)
    assert issubclass(TriggerError, PgTriggerLiveError)
    assert issubclass(TriggerError, DatabaseError)
    assert PaymentDeclined.sqlstate_code == "TG100"
    with pytest.raises(DeclarationError, match="reserved for pgtrigger_live"):

        class Mine(TriggerError, sqlstate="TG042"):
            pass

    with pytest.raises(DeclarationError, match="already mapped to PaymentDeclined"):

        class Other(TriggerError, sqlstate="TG100"):
            pass

    plain = ProtectedError("made by hand")
    assert (plain.uri, plain.model, plain.operation, plain.detail) == (None, None, None, {})


# -- psycopg 3 (in process) --------------------------------------------------------------------


@pytest.mark.django_db
def test_protect_raises_protected_error_with_attributes() -> None:
    invoice = paid_invoice()
    with pytest.raises(ProtectedError) as info, transaction.atomic():
        invoice.delete()
    error = info.value
    assert type(error).__name__ == "ProtectedError"
    # What Django raised for our SQLSTATE (DatabaseError), and what it raises for a plain
    # RAISE EXCEPTION with this driver (psycopg 3: ProgrammingError; psycopg2: InternalError).
    assert isinstance(error, DatabaseError)
    assert isinstance(error, DRIVER_RAISE)
    assert not isinstance(
        error, InternalError if DRIVER_RAISE is ProgrammingError else IntegrityError
    )
    assert error.sqlstate == "TG001"
    assert error.uri == "testapp.Invoice:protect_paid_delete"
    assert error.model is Invoice
    assert error.trigger is not None
    assert error.trigger.name == "protect_paid_delete"
    assert error.operation == "DELETE"
    assert (error.schema, error.table) == ("public", "testapp_invoice")
    assert error.pgid == error.trigger.get_pgid(Invoice)
    assert error.message == "Paid invoices cannot be deleted"
    assert str(error).startswith("Paid invoices cannot be deleted\nDETAIL:  {")
    assert type(error.__cause__).__module__.startswith("psycopg")
    assert errors.sqlstate_of(error) == "TG001"


@pytest.mark.django_db
def test_readonly_and_fsm_errors() -> None:
    invoice = paid_invoice()
    with pytest.raises(ReadOnlyError) as info, transaction.atomic():
        Invoice.objects.filter(pk=invoice.pk).update(total=1)
    assert isinstance(info.value, ProtectedError)
    assert (info.value.uri, info.value.operation) == ("testapp.Invoice:freeze_paid_total", "UPDATE")
    with pytest.raises(InvalidTransitionError) as fsm, transaction.atomic():
        Invoice.objects.filter(pk=invoice.pk).update(status="draft")
    assert (fsm.value.field, fsm.value.old_value, fsm.value.new_value) == (
        "status",
        "paid",
        "draft",
    )
    assert fsm.value.sqlstate == "TG003"


@pytest.mark.django_db
def test_user_triggers_opt_in(extra_trigger: AddTrigger) -> None:
    uris = [
        extra_trigger(
            Plain,
            pgtrigger.Trigger(
                name="no_negative",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert,
                condition=pgtrigger.Q(new__value__lt=0),
                func=raise_sql(HOSTILE),
            ),
        ),
        extra_trigger(
            Plain,
            pgtrigger.Trigger(
                name="no_big",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert,
                condition=pgtrigger.Q(new__value__gt=100),
                func=raise_sql("Declined", sqlstate="TG100", detail={"value": "NEW.value"}),
            ),
        ),
        extra_trigger(
            Plain,
            pgtrigger.Protect(
                name="custom",
                operation=pgtrigger.Delete,
                message=HOSTILE,
                sqlstate="TG100",
            ),
        ),
    ]
    pgtrigger.install(*uris)
    with pytest.raises(TriggerError) as info, transaction.atomic():
        Plain.objects.create(value=-1)
    assert type(info.value).__name__ == "TriggerError"
    assert info.value.message == HOSTILE
    assert info.value.uri == uris[0]  # no URI in the detail: found from the trigger's pgid
    assert info.value.model is Plain
    with pytest.raises(PaymentDeclined) as declined, transaction.atomic():
        Plain.objects.create(value=101)
    assert declined.value.detail["value"] == 101
    obj = Plain.objects.create(value=1)
    with pytest.raises(PaymentDeclined, match="100%") as custom, transaction.atomic():
        obj.delete()
    assert (custom.value.uri, custom.value.message) == (uris[2], HOSTILE)


@pytest.mark.django_db
def test_other_errors_are_untouched() -> None:
    Plain.objects.create(pk=1)
    with pytest.raises(IntegrityError) as integrity, transaction.atomic():
        Plain.objects.create(pk=1)
    assert not isinstance(integrity.value, TriggerError)
    with pytest.raises(DRIVER_RAISE) as plain_raise, connection.cursor() as cursor:
        cursor.execute("DO $$ BEGIN RAISE EXCEPTION 'plain'; END $$")
    assert not isinstance(plain_raise.value, TriggerError)


@pytest.mark.django_db
def test_pickle_round_trip() -> None:
    with pytest.raises(ProtectedError) as info, transaction.atomic():
        paid_invoice().delete()
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is type(info.value)
    assert isinstance(copy, DRIVER_RAISE)
    assert (copy.uri, copy.operation, copy.sqlstate) == (info.value.uri, "DELETE", "TG001")
    assert copy.model is Invoice


@pytest.mark.django_db
def test_translate_errors_outside_execute() -> None:
    invoice = paid_invoice()
    raw = connection.connection  # a driver connection: Django's wrappers do not run
    assert raw is not None
    with pytest.raises(ProtectedError) as info, transaction.atomic(), translate_errors():
        raw.cursor().execute("DELETE FROM testapp_invoice WHERE id = %s", [invoice.pk])
    assert type(info.value.__cause__).__module__.startswith("psycopg")
    assert info.value.uri == "testapp.Invoice:protect_paid_delete"
    empty: dict[str, int] = {}
    with pytest.raises(KeyError), translate_errors():
        empty["missing"]


@pytest.mark.django_db
def test_translate_errors_at_commit_of_a_deferred_trigger() -> None:
    fresh = connections["default"].copy()  # outside the test's transaction: it can commit
    refuse = raise_sql("Refused at commit", sqlstate="TG100")
    try:
        with fresh.cursor() as cursor:
            cursor.execute("CREATE TEMP TABLE deferred_t (id int)")
            cursor.execute(
                "CREATE FUNCTION pg_temp.refuse() RETURNS trigger LANGUAGE plpgsql AS "
                f"$$ BEGIN {refuse} END $$"
            )
            cursor.execute(
                "CREATE CONSTRAINT TRIGGER refuse AFTER INSERT ON deferred_t DEFERRABLE "
                "INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION pg_temp.refuse()"
            )
        fresh.set_autocommit(False)
        with fresh.cursor() as cursor:
            cursor.execute("INSERT INTO deferred_t VALUES (1)")  # deferred: no error yet
        with pytest.raises(PaymentDeclined, match="Refused at commit") as info, translate_errors():
            fresh.commit()
        assert info.value.operation == "INSERT"
        assert info.value.uri is None  # a trigger pgtrigger_live does not manage
    finally:
        fresh.close()


@pytest.mark.django_db
def test_installation_is_idempotent_and_can_be_turned_off(settings: object) -> None:
    errors.install_translation()
    assert connection.execute_wrappers.count(errors.translate_execute) == 1
    try:
        errors.uninstall_translation()
        with pytest.raises(DatabaseError) as info, transaction.atomic():
            paid_invoice().delete()
        assert not isinstance(info.value, TriggerError)
        settings.PGTRIGGER_LIVE_TYPED_ERRORS = False  # type: ignore[attr-defined]
        errors.install_translation()
        assert errors.translate_execute not in connection.execute_wrappers
    finally:
        settings.PGTRIGGER_LIVE_TYPED_ERRORS = True  # type: ignore[attr-defined]
        errors.install_translation()


@pytest.mark.django_db(databases=["default", "other"])
def test_connections_opened_later_get_the_wrapper() -> None:
    fresh = connections["other"].copy()  # a new wrapper, as a new thread would get
    assert errors.translate_execute not in fresh.execute_wrappers
    try:
        fresh.ensure_connection()  # sends connection_created
        assert fresh.execute_wrappers.count(errors.translate_execute) == 1
        # One receiver, a documented order: the translation outermost, the runtime next.
        assert fresh.execute_wrappers[0] is errors.translate_execute
        assert fresh.execute_wrappers[1] is wrapper.runtime_of(fresh)
    finally:
        fresh.close()


@pytest.mark.django_db(databases=["default", "other"])
def test_connections_opened_while_the_translation_is_off_do_not_get_it() -> None:
    errors.uninstall_translation()
    fresh = connections["other"].copy()
    try:
        fresh.ensure_connection()  # sends connection_created
        assert errors.translate_execute not in fresh.execute_wrappers
        assert fresh.execute_wrappers[0] is wrapper.runtime_of(fresh)  # the runtime still is
    finally:
        fresh.close()
        errors.install_translation()


@pytest.mark.django_db
def test_changing_the_setting_turns_the_translation_off_and_on(settings: object) -> None:
    settings.PGTRIGGER_LIVE_TYPED_ERRORS = False  # type: ignore[attr-defined]
    assert errors.translate_execute not in connection.execute_wrappers
    with pytest.raises(DatabaseError) as info, transaction.atomic():
        paid_invoice().delete()
    assert not isinstance(info.value, TriggerError)
    settings.PGTRIGGER_LIVE_TYPED_ERRORS = True  # type: ignore[attr-defined]
    with pytest.raises(ProtectedError), transaction.atomic():
        paid_invoice().delete()


# -- psycopg2 (subprocess: Django prefers psycopg 3 when both are installed) ------------------

PSYCOPG2_SCRIPT = """
import json, sys
sys.modules["psycopg"] = None  # Django falls back to psycopg2
import django
django.setup()
from django.db import connection, transaction
from pgtrigger_live.runtime import errors
from tests.testapp.models import Invoice
assert connection.Database.__name__ == "psycopg2", connection.Database
errors.install_translation()
out = {}
with transaction.atomic():
    invoice = Invoice.objects.create(number="psycopg2")
    Invoice.objects.filter(pk=invoice.pk).update(status="open")
    Invoice.objects.filter(pk=invoice.pk).update(status="paid")
    for key, action in [
        ("delete", lambda: invoice.delete()),
        ("fsm", lambda: Invoice.objects.filter(pk=invoice.pk).update(status="draft")),
    ]:
        try:
            with transaction.atomic():
                action()
        except Exception as exc:
            out[key] = {
                "mro": [c.__module__ + "." + c.__name__ for c in type(exc).__mro__],
                "uri": exc.uri, "model": exc.model._meta.label, "operation": exc.operation,
                "table": exc.table, "sqlstate": exc.sqlstate, "message": exc.message,
                "cause": type(exc.__cause__).__module__,
                "old": getattr(exc, "old_value", None), "new": getattr(exc, "new_value", None),
            }
    transaction.set_rollback(True)
print(json.dumps(out))
"""


@pytest.mark.django_db
def test_typed_errors_under_psycopg2() -> None:
    env = subprocess_env()
    result = subprocess.run(
        [sys.executable, "-c", PSYCOPG2_SCRIPT],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.splitlines()[-1])
    delete, fsm = out["delete"], out["fsm"]
    assert delete["mro"][:2] == ["pgtrigger_live.runtime.errors.ProtectedError"] * 2
    assert "django.db.utils.InternalError" in delete["mro"]  # django-pgtrigger users' except
    assert "django.db.utils.ProgrammingError" not in delete["mro"]
    assert delete["cause"].startswith("psycopg2")
    assert {k: delete[k] for k in ("uri", "model", "operation", "table", "sqlstate")} == {
        "uri": "testapp.Invoice:protect_paid_delete",
        "model": "testapp.Invoice",
        "operation": "DELETE",
        "table": "testapp_invoice",
        "sqlstate": "TG001",
    }
    assert delete["message"] == "Paid invoices cannot be deleted"
    assert fsm["mro"][0] == "pgtrigger_live.runtime.errors.InvalidTransitionError"
    assert (fsm["old"], fsm["new"], fsm["sqlstate"]) == ("paid", "draft", "TG003")


@pytest.mark.django_db
@pytest.mark.parametrize("detail", ["", ", DETAIL = 'not json'", ", DETAIL = '[1, 2]'"])
def test_a_detail_that_is_not_a_json_object_is_left_out(detail: str) -> None:
    statement = f"DO $$BEGIN RAISE EXCEPTION 'refused' USING ERRCODE = 'TG000'{detail}; END$$"
    with pytest.raises(TriggerError) as info, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert (info.value.sqlstate, info.value.message, info.value.detail) == ("TG000", "refused", {})
    assert info.value.uri is None
