"""django-pgtrigger's per-trigger API (``Trigger.install(model)`` ...) and its exception
classes, end to end on a real database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.exceptions import FieldDoesNotExist
from django.db import NotSupportedError, connection, transaction
from django.test.utils import CaptureQueriesContext, override_settings

import pgtrigger_live as pgtrigger
from pgtrigger_live.declare import registry
from pgtrigger_live.exceptions import (
    DeclarationError,
    DuplicateTriggerError,
    UnknownFieldError,
    UnsupportedTriggerError,
)
from tests.conftest import catalog_state, function_exists
from tests.testapp.models import Plain, Protected

pytestmark = pytest.mark.django_db(transaction=True)

PGID = "pgtrigger_compat_protect_"


@pytest.fixture
def trigger() -> Iterator[pgtrigger.Protect]:
    """An unregistered trigger, as django-pgtrigger's tests create them on the fly."""
    made = pgtrigger.Protect(name="compat_protect", operation=pgtrigger.Delete)
    yield made
    made.uninstall(Plain)  # idempotent; leaves the database as found


def installed_pgid() -> str | None:
    found = [pgid for pgid in catalog_state() if pgid.startswith(PGID)]
    return found[0] if found else None


def delete_refused() -> bool:
    row = Plain.objects.create()
    try:
        with transaction.atomic():
            row.delete()
    except pgtrigger.ProtectedError:
        return True
    return False


def test_install_and_uninstall(trigger: pgtrigger.Protect) -> None:
    assert trigger.get_installation_status(Plain) == ("UNINSTALLED", None)
    with CaptureQueriesContext(connection) as sent, trigger.install(Plain):
        assert trigger.get_installation_status(Plain) == ("INSTALLED", True)
        assert delete_refused()
        pgid = installed_pgid()
        assert pgid is not None
        assert function_exists(pgid)
        # An unregistered trigger is registered only for the call.
        assert registry.entry(trigger.get_uri(Plain)) is None
    # Through the reconciler: its advisory lock was taken.
    assert any("pg_advisory_xact_lock" in q["sql"] for q in sent.captured_queries)
    # The context manager uninstalled it: trigger and function are gone.
    assert installed_pgid() is None
    assert not function_exists(pgid)
    assert trigger.get_installation_status(Plain) == ("UNINSTALLED", None)
    assert not delete_refused()


def test_install_twice_sends_no_ddl(trigger: pgtrigger.Protect) -> None:
    trigger.install(Plain)
    before = catalog_state()
    with CaptureQueriesContext(connection) as sent:
        trigger.install(Plain)
    assert not [q for q in sent.captured_queries if q["sql"].lstrip().startswith("CREATE")]
    assert catalog_state() == before


def test_disable_and_enable(trigger: pgtrigger.Protect) -> None:
    trigger.install(Plain)
    with trigger.disable(Plain):
        assert trigger.get_installation_status(Plain) == ("INSTALLED", False)
        assert not delete_refused()
    assert trigger.get_installation_status(Plain) == ("INSTALLED", True)
    assert delete_refused()
    trigger.disable(Plain)
    with trigger.enable(Plain):
        assert delete_refused()
    assert trigger.get_installation_status(Plain) == ("INSTALLED", False)


def test_uninstall_context_reinstalls(trigger: pgtrigger.Protect) -> None:
    trigger.install(Plain)
    with trigger.uninstall(Plain):
        assert installed_pgid() is None
    assert trigger.get_installation_status(Plain) == ("INSTALLED", True)


def test_outdated_status(trigger: pgtrigger.Protect) -> None:
    trigger.install(Plain)
    changed = pgtrigger.Protect(
        name="compat_protect", operation=pgtrigger.Delete, condition=pgtrigger.Q(old__value=1)
    )
    assert changed.get_installation_status(Plain) == ("OUTDATED", True)


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_unallowed_status_and_noop(trigger: pgtrigger.Protect) -> None:
    with override_settings(DATABASE_ROUTERS=["tests.routers.OnlyDefault"]):
        assert trigger.get_installation_status(Plain, database="other") == ("UNALLOWED", None)
        trigger.install(Plain, database="other")
        assert not [p for p in catalog_state("other") if p.startswith(PGID)]
        assert not trigger.allow_migrate(Plain, database="other")
        assert trigger.exec_sql("SELECT 1", Plain, database="other", fetchall=True) is None
    assert trigger.allow_migrate(Plain)
    assert trigger.exec_sql("SELECT 1", Plain, fetchall=True) == [(1,)]


def test_register_and_unregister(trigger: pgtrigger.Protect) -> None:
    uri = trigger.get_uri(Plain)
    with trigger.register(Plain):
        assert registry.entry(uri) == (Plain, trigger)
        assert pgtrigger.registered(uri) == [(Plain, trigger)]
        with trigger.unregister(Plain):
            assert registry.entry(uri) is None
        assert registry.entry(uri) == (Plain, trigger)
        # A second trigger with the same name: django-pgtrigger's KeyError.
        clash = pgtrigger.Protect(name="compat_protect", operation=pgtrigger.Insert)
        with pytest.raises(KeyError, match="already used") as raised:
            clash.register(Plain)
        assert isinstance(raised.value, DuplicateTriggerError)
    assert registry.entry(uri) is None


def test_compile(trigger: pgtrigger.Protect) -> None:
    compiled = trigger.compile(Plain)
    assert compiled.name == "compat_protect"
    trigger.install(Plain)
    pgid = installed_pgid()
    assert pgid is not None
    assert catalog_state()[pgid]["comment"].startswith(compiled.hash)
    with connection.cursor() as cursor:
        cursor.execute(compiled.disable_sql)
        assert trigger.get_installation_status(Plain)[1] is False
        cursor.execute(compiled.enable_sql)
        assert trigger.get_installation_status(Plain)[1] is True
        cursor.execute(compiled.uninstall_sql)
    assert installed_pgid() is None
    with connection.cursor() as cursor:
        cursor.execute(compiled.install_sql)
    assert delete_refused()


def test_ignore_on_a_trigger() -> None:
    ((_, protect),) = pgtrigger.registered("testapp.Protected:protect_delete")
    row = Protected.objects.create()
    with transaction.atomic(), protect.ignore(Protected):
        row.delete()
    assert not Protected.objects.filter(pk=row.pk).exists()


def test_unknown_field_is_field_does_not_exist() -> None:
    with pytest.raises(FieldDoesNotExist, match="has no field") as raised:
        pgtrigger.AnyChange("bad_field").resolve(Plain)
    assert isinstance(raised.value, UnknownFieldError)
    assert isinstance(raised.value, DeclarationError)
    with pytest.raises(FieldDoesNotExist, match="has no field"):
        pgtrigger.AnyChange(exclude=["bad_field"]).resolve(Plain)
    # Through install: the compiler keeps the class when it adds the URI to the message.
    read_only = pgtrigger.ReadOnly(name="compat_read_only", fields=["bad_field"])
    with pytest.raises(FieldDoesNotExist, match="testapp.Plain:compat_read_only"):
        read_only.install(Plain)


def test_unsupported_combination_is_not_supported_error() -> None:
    with pytest.raises(NotSupportedError, match="are not supported") as raised:
        pgtrigger.Protect(name="compat_truncate", operation=pgtrigger.Truncate)
    assert isinstance(raised.value, UnsupportedTriggerError)
    assert isinstance(raised.value, ValueError)  # what the other checks raise


@pytest.mark.django_db(transaction=False)
def test_table_created_outside_migrations_gets_triggers_from_install() -> None:
    """The documented answer to django-pgtrigger's schema editor mixin: a table created by
    ``schema_editor().create_model()`` gets its triggers from ``pgtrigger_live.install(M)``."""
    with connection.schema_editor() as editor:
        editor.delete_model(Protected)
        editor.create_model(Protected)
    (entry,) = pgtrigger.status("testapp.Protected:protect_delete")
    assert entry.status is pgtrigger.Status.UNINSTALLED
    pgtrigger.install(Protected)
    (entry,) = pgtrigger.status("testapp.Protected:protect_delete")
    assert entry.status is pgtrigger.Status.INSTALLED
    row = Protected.objects.create()
    with pytest.raises(pgtrigger.ProtectedError), transaction.atomic():
        row.delete()


def test_declaration_layer_does_not_import_the_installation_layer() -> None:
    """triggers.py imports the reconciler inside its methods only (no cycle, light import)."""
    import ast
    from pathlib import Path

    from pgtrigger_live.declare import triggers

    tree = ast.parse(Path(triggers.__file__).read_text())
    imported = {node.module for node in tree.body if isinstance(node, ast.ImportFrom)}
    imported |= {a.name for node in tree.body if isinstance(node, ast.Import) for a in node.names}
    layers = {"installation", "registry", "applier", "planner", "catalog", "desired", "runtime"}
    assert not {m for m in imported if m and m.split(".")[1:2] and m.split(".")[1] in layers}
