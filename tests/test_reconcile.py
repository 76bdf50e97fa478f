"""The reconciler against a real PostgreSQL: statuses, idempotence, replace, prune, atomicity."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import connection, connections, models, transaction
from django.test.utils import CaptureQueriesContext

import pgtrigger_live as pgtrigger
from pgtrigger_live.declare import registry
from pgtrigger_live.exceptions import InstallError, LockTimeoutError
from pgtrigger_live.reconcile.compiler import IGNORE_CHECK
from pgtrigger_live.reconcile.operations import SHARE_UPDATE_EXCLUSIVE, CreateFunction
from pgtrigger_live.reconcile.planner import ActionKind
from pgtrigger_live.reconcile.state import Signature, Status
from tests.conftest import catalog_state, function_exists
from tests.testapp.models import Plain, Protected

pytestmark = pytest.mark.django_db(databases=["default", "other"])

AddTrigger = Callable[[type[models.Model], pgtrigger.Trigger], str]
DDL = ("CREATE", "DROP", "ALTER", "COMMENT", "DO")


def bump(
    name: str = "bump", body: str = "NEW.value := NEW.value + 1; RETURN NEW;"
) -> pgtrigger.Trigger:
    return pgtrigger.Trigger(
        name=name, when=pgtrigger.Before, operation=pgtrigger.Insert, func=body
    )


def status_of(uri: str) -> tuple[Status, str | None]:
    (entry,) = pgtrigger.status(uri)
    return entry.status, entry.enabled.label if entry.enabled else None


def test_migrate_installed_every_declared_trigger() -> None:
    entries = pgtrigger.status()
    assert entries, "the test app declares triggers"
    assert {e.status for e in entries} == {Status.INSTALLED}
    installed = catalog_state()
    assert {e.pgid for e in entries} <= set(installed)


def test_declared_trigger_has_its_effect() -> None:
    obj = Protected.objects.create(name="x")
    with pytest.raises(Exception, match="Cannot delete rows"), transaction.atomic():
        obj.delete()
    assert Protected.objects.filter(pk=obj.pk).exists()


def test_status_transitions(extra_trigger: AddTrigger) -> None:
    uri = extra_trigger(Plain, bump())
    assert status_of(uri) == (Status.UNINSTALLED, None)

    pgtrigger.install(uri)
    assert status_of(uri) == (Status.INSTALLED, "ENABLED")
    assert Plain.objects.create(value=1).value == 1  # trigger ran in the database:
    assert Plain.objects.get().value == 2

    pgtrigger.disable(uri)
    assert status_of(uri) == (Status.INSTALLED, "DISABLED")
    pgtrigger.enable(uri)

    # The code changes: the installed trigger is now outdated.
    registry.remove(Plain, pgtrigger.registered(uri)[0][1])
    extra_trigger(Plain, bump(body="NEW.value := NEW.value + 10; RETURN NEW;"))
    assert status_of(uri)[0] is Status.OUTDATED
    pgtrigger.install(uri)
    assert status_of(uri)[0] is Status.INSTALLED

    # Someone edits the function by hand.
    pgid = pgtrigger.registered(uri)[0][1].get_pgid(Plain)
    with connection.cursor() as cursor:
        cursor.execute(
            f'CREATE OR REPLACE FUNCTION "{pgid}"() RETURNS TRIGGER LANGUAGE plpgsql AS '
            "$$ BEGIN RETURN NEW; END; $$"
        )
    entry = pgtrigger.status(uri)[0]
    assert entry.status is Status.TAMPERED
    assert "edited" in entry.reason
    pgtrigger.install(uri)
    assert status_of(uri)[0] is Status.INSTALLED


def test_unallowed_on_other_database_and_prunable_there(
    extra_trigger: AddTrigger, settings: object
) -> None:
    uri = extra_trigger(Plain, bump())
    pgtrigger.install(uri, database="other")
    assert status_of(uri)[0] is Status.UNINSTALLED  # default is untouched

    settings.DATABASE_ROUTERS = ["tests.routers.OnlyDefault"]  # type: ignore[attr-defined]
    (entry,) = pgtrigger.status(uri, database="other")
    assert entry.status is Status.UNALLOWED
    prunable = pgtrigger.prunable(database="other")
    # Everything of testapp is now routed away from "other": all of it is prunable there.
    assert entry.pgid in [e.pgid for e in prunable]
    assert "testapp_protected" in [e.table.name for e in prunable if e.table]
    pgtrigger.prune(database="other")
    assert entry.pgid not in catalog_state("other")


def test_noop_reconcile_sends_one_query_no_ddl_no_lock() -> None:
    before = catalog_state()
    with CaptureQueriesContext(connection) as queries:
        plan = pgtrigger.install()
    assert plan.is_empty
    assert len(queries.captured_queries) == 1
    assert not [q for q in queries.captured_queries if q["sql"].lstrip().upper().startswith(DDL)]
    assert catalog_state() == before
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE l.pid = pg_backend_pid() AND c.relname LIKE 'testapp%%'"
        )
        assert cursor.fetchone()[0] == 0


def test_changed_definition_replaces_only_that_trigger(extra_trigger: AddTrigger) -> None:
    first = extra_trigger(Plain, bump("first"))
    extra_trigger(Plain, bump("second"))
    pgtrigger.install()
    before = catalog_state()

    registry.remove(Plain, pgtrigger.registered(first)[0][1])
    extra_trigger(Plain, bump("first", body="NEW.label := 'changed'; RETURN NEW;"))
    plan = pgtrigger.install()
    assert [a.uri for a in plan.actions] == [first]
    after = catalog_state()

    changed = {pgid for pgid in before if before[pgid] != after.get(pgid)}
    assert changed == {pgtrigger.registered(first)[0][1].get_pgid(Plain)}
    pgid = next(iter(changed))
    # The body changed, the clause did not: the function was replaced, the trigger kept.
    assert after[pgid]["trigger"] == before[pgid]["trigger"]
    assert after[pgid]["function"] != before[pgid]["function"]
    assert Plain.objects.create().label == ""
    assert Plain.objects.get().label == "changed"


def test_clause_change_replaces_in_place_and_keeps_disabled(extra_trigger: AddTrigger) -> None:
    uri = extra_trigger(Plain, bump("clause"))
    pgtrigger.install(uri)
    pgtrigger.disable(uri)
    pgid = pgtrigger.registered(uri)[0][1].get_pgid(Plain)
    oid_before = catalog_state()[pgid]["trigger"][0]

    registry.remove(Plain, pgtrigger.registered(uri)[0][1])
    extra_trigger(
        Plain,
        pgtrigger.Trigger(
            name="clause",
            when=pgtrigger.Before,
            operation=pgtrigger.Insert | pgtrigger.Update,
            func="RETURN NEW;",
        ),
    )
    with CaptureQueriesContext(connection) as queries:
        pgtrigger.install(uri)
    executed = " ".join(q["sql"] for q in queries.captured_queries)
    assert "CREATE OR REPLACE TRIGGER" in executed
    assert "DROP TRIGGER" not in executed
    state = catalog_state()[pgid]
    assert state["trigger"][0] == oid_before  # replaced in place, same OID
    assert state["enabled"] == "D"  # an operator's disable survives the reconcile
    assert status_of(uri) == (Status.INSTALLED, "DISABLED")


def test_prune_drops_ours_with_functions_and_leaves_foreign_triggers(
    extra_trigger: AddTrigger,
) -> None:
    temp = bump("temporary")
    uri = extra_trigger(Plain, temp)
    pgtrigger.install(uri)
    pgid = temp.get_pgid(Plain)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION pgtrigger_handmade_00000() RETURNS TRIGGER LANGUAGE plpgsql AS "
            "$$ BEGIN RETURN NEW; END; $$"
        )
        cursor.execute(
            "CREATE TRIGGER pgtrigger_handmade_00000 BEFORE INSERT ON testapp_plain "
            "FOR EACH ROW EXECUTE FUNCTION pgtrigger_handmade_00000()"
        )
        cursor.execute(
            "CREATE TRIGGER not_ours BEFORE INSERT ON testapp_plain "
            "FOR EACH ROW EXECUTE FUNCTION pgtrigger_handmade_00000()"
        )
    registry.remove(Plain, temp)  # the code no longer declares it
    assert [e.pgid for e in pgtrigger.prunable()] == [pgid]
    assert [e.status for e in pgtrigger.status() if e.pgid == pgid] == [Status.PRUNE]

    pgtrigger.prune()
    state = catalog_state()
    assert pgid not in state
    assert not function_exists(pgid)
    assert "pgtrigger_handmade_00000" in state  # unsigned: not ours, never pruned
    assert function_exists("pgtrigger_handmade_00000")


def test_uninstall_drops_trigger_and_function(extra_trigger: AddTrigger) -> None:
    trigger = bump("gone")
    uri = extra_trigger(Plain, trigger)
    pgtrigger.install(uri)
    pgtrigger.uninstall(uri)
    assert trigger.get_pgid(Plain) not in catalog_state()
    assert not function_exists(trigger.get_pgid(Plain))
    assert status_of(uri)[0] is Status.UNINSTALLED
    pgtrigger.uninstall(uri)  # idempotent


def test_failing_reconcile_leaves_database_as_it_was(extra_trigger: AddTrigger) -> None:
    extra_trigger(Plain, bump("good"))
    extra_trigger(Plain, bump("broken", body="THIS IS NOT PLPGSQL;"))
    before = catalog_state()
    with pytest.raises(
        InstallError, match=r"(?s)testapp.Plain:broken.*THIS IS NOT PLPGSQL.*rolled back"
    ):
        pgtrigger.install()
    assert catalog_state() == before


def test_dry_run_plans_without_executing(extra_trigger: AddTrigger) -> None:
    uri = extra_trigger(Plain, bump("planned"))
    with CaptureQueriesContext(connection) as queries:
        plan = pgtrigger.install(dry_run=True)
    assert [(a.kind.value, a.uri) for a in plan.actions] == [("create", uri)]
    assert any("CREATE TRIGGER" in s for s in plan.statements)
    assert len(queries.captured_queries) == 1  # the catalog read only
    assert status_of(uri)[0] is Status.UNINSTALLED


def test_lock_timeout_rolls_back_and_reports(extra_trigger: AddTrigger, settings: object) -> None:
    settings.PGTRIGGER_LIVE_LOCK_TIMEOUT_MS = 20  # type: ignore[attr-defined]
    settings.PGTRIGGER_LIVE_LOCK_DEADLINE_S = 0.2  # type: ignore[attr-defined]
    uri = extra_trigger(Plain, bump("locked"))
    other = connections["default"].copy()  # a second session on the same test database
    try:
        other.connect()
        other.set_autocommit(False)
        with other.cursor() as cursor:
            cursor.execute("LOCK TABLE testapp_plain IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(LockTimeoutError, match="testapp_plain stayed busy for 0.2 s"):
            pgtrigger.install(uri)
    finally:
        other.rollback()
        other.close()
    assert status_of(uri)[0] is Status.UNINSTALLED


def test_unknown_uri_is_a_clear_error() -> None:
    with pytest.raises(pgtrigger.UnknownTriggerError, match='URI "testapp.Plain:nope" not found'):
        pgtrigger.install("testapp.Plain:nope")
    with pytest.raises(pgtrigger.DeclarationError, match="app_label.ModelName:trigger_name"):
        pgtrigger.install("nocolon")


def test_wildcards_and_models_select_triggers(extra_trigger: AddTrigger) -> None:
    a = extra_trigger(Plain, bump("wild_a"))
    b = extra_trigger(Plain, bump("wild_b"))
    assert [u for u, _, _ in registry.select("testapp.Plain:wild_*")] == [a, b]
    assert [u for u, _, _ in registry.select(Plain)] == [a, b]
    assert [u for u, _, _ in registry.select("*:wild_b")] == [b]


def test_adopts_a_trigger_installed_by_django_pgtrigger(extra_trigger: AddTrigger) -> None:
    trigger = bump("legacy")
    uri = extra_trigger(Plain, trigger)
    pgid = trigger.get_pgid(Plain)
    with connection.cursor() as cursor:  # what django-pgtrigger 4.17 leaves behind
        cursor.execute(
            f"CREATE FUNCTION {pgid}() RETURNS TRIGGER AS $$ BEGIN RETURN NEW; END; $$ "
            "LANGUAGE plpgsql"
        )
        cursor.execute(
            f'CREATE TRIGGER {pgid} BEFORE INSERT ON "testapp_plain" FOR EACH ROW '
            f"EXECUTE PROCEDURE {pgid}()"
        )
        cursor.execute(f"COMMENT ON TRIGGER {pgid} ON \"testapp_plain\" IS '{'a' * 40}'")
    oid = catalog_state()[pgid]["trigger"][0]
    entry = pgtrigger.status(uri)[0]
    assert entry.status is Status.OUTDATED
    assert "django-pgtrigger" in entry.reason
    pgtrigger.install()
    assert catalog_state()[pgid]["trigger"][0] == oid  # replaced in place, not rebuilt
    assert status_of(uri)[0] is Status.INSTALLED


def test_trigger_pointed_at_another_function_is_outdated_and_repaired(
    extra_trigger: AddTrigger,
) -> None:
    trigger = bump("repointed")
    uri = extra_trigger(Plain, trigger)
    pgtrigger.install(uri)
    pgid = trigger.get_pgid(Plain)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION drop_everything() RETURNS TRIGGER LANGUAGE plpgsql AS "
            "$$ BEGIN RETURN NULL; END; $$"
        )
        cursor.execute(
            f'CREATE OR REPLACE TRIGGER "{pgid}" BEFORE INSERT ON testapp_plain '
            "FOR EACH ROW EXECUTE FUNCTION drop_everything()"
        )
    entry = pgtrigger.status(uri)[0]
    assert (entry.status, entry.reason) == (
        Status.OUTDATED,
        "the trigger executes another function",
    )
    pgtrigger.install(uri)
    assert status_of(uri)[0] is Status.INSTALLED
    assert Plain.objects.create(value=1).pk is not None
    assert Plain.objects.get().value == 2  # our function runs again
    assert function_exists("drop_everything")  # not ours: left alone


def test_reconcile_inside_a_transaction_leaves_its_settings_alone(
    extra_trigger: AddTrigger,
) -> None:
    uri = extra_trigger(Plain, bump("settings"))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('lock_timeout'), current_setting('search_path')")
        before = cursor.fetchone()
        pgtrigger.install(uri, schemas=["public"])
        cursor.execute("SELECT current_setting('lock_timeout'), current_setting('search_path')")
        assert cursor.fetchone() == before
    assert status_of(uri)[0] is Status.INSTALLED


@pytest.mark.django_db(transaction=True)
def test_a_reconcile_of_its_own_sends_the_fewest_round_trips(
    extra_trigger: AddTrigger, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Outside any transaction: the settings are set once (the commit reverts them, nothing
    # is read back or restored), and every action goes in one DDL round trip.
    from pgtrigger_live.reconcile import applier

    monkeypatch.setattr(applier, "BATCH_ACTIONS", 3)
    uris = [extra_trigger(Plain, bump(f"trip{n}")) for n in range(3)]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('lock_timeout')")
            before = cursor.fetchone()
        with CaptureQueriesContext(connection) as sent:
            plan = pgtrigger.install(*uris)
        assert len(plan.actions) == 3
        heads = [q["sql"].split()[0] for q in sent.captured_queries]
        # catalog query, lock_timeout for the wait, advisory lock, lock_timeout for the DDL,
        # catalog under the lock, the DDL (table lock, functions, triggers, signing)
        assert heads == ["WITH", "BEGIN", "SELECT", "SELECT", "SELECT", "WITH", "DO", "COMMIT"]
        selects = [q["sql"] for q in sent.captured_queries if q["sql"].startswith("SELECT")]
        assert not any("current_setting" in q for q in selects)  # nothing read back
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('lock_timeout')")
            assert cursor.fetchone() == before
    finally:
        pgtrigger.uninstall(*uris)


def test_round_trips_lock_the_tables_once_and_sign_each_trip(extra_trigger: AddTrigger) -> None:
    from pgtrigger_live.reconcile import applier

    uris = [extra_trigger(Plain, bump(f"trips{n}")) for n in range(3)]
    plan = pgtrigger.install(*uris, dry_run=True)
    first, second = applier.round_trips(plan, batch=2)
    assert "LOCK TABLE" in first[0]  # every table the plan touches, before any DDL
    assert not any("LOCK TABLE" in s for s in [*first[1:], *second])
    for trip, actions in ((first, 2), (second, 1)):
        assert "COMMENT ON TRIGGER" in trip[-1]  # one signing block per trip
        assert sum("CREATE TRIGGER" in s for s in trip) == actions


def test_waiting_for_another_reconcile_gives_up_without_retrying(
    extra_trigger: AddTrigger, settings: object
) -> None:
    from pgtrigger_live.reconcile.applier import LOCK_KEY

    settings.PGTRIGGER_LIVE_RECONCILE_WAIT_MS = 100  # type: ignore[attr-defined]
    uri = extra_trigger(Plain, bump("busy"))
    other = connections["default"].copy()
    try:
        other.connect()
        other.set_autocommit(False)
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        with pytest.raises(LockTimeoutError, match="another process kept reconciling"):
            pgtrigger.install(uri)
    finally:
        other.rollback()
        other.close()
    assert status_of(uri)[0] is Status.UNINSTALLED


def test_bad_declaration_fails_before_any_change_and_leaves_the_connection_usable(
    extra_trigger: AddTrigger,
) -> None:
    extra_trigger(
        Plain,
        pgtrigger.Trigger(
            name="bad_condition",
            when=pgtrigger.Before,
            operation=pgtrigger.Update,
            condition=pgtrigger.Q(new__missing=1),
            func="RETURN NEW;",
        ),
    )
    before = catalog_state()
    with pytest.raises(pgtrigger.DeclarationError, match="testapp.Plain:bad_condition"):
        pgtrigger.install()
    with pytest.raises(pgtrigger.DeclarationError, match="testapp.Plain:bad_condition"):
        pgtrigger.status()
    assert catalog_state() == before  # the catalog read was sent, nothing else
    assert Plain.objects.count() == 0  # the connection (and its pipeline) is usable


def test_a_trigger_recreated_as_a_constraint_trigger_is_outdated_and_repaired(
    extra_trigger: AddTrigger,
) -> None:
    # NOT DEFERRABLE: the same tgtype as the plain trigger, and its comment put back.
    trigger = pgtrigger.Trigger(
        name="plain_after", when=pgtrigger.After, operation=pgtrigger.Insert, func="RETURN NULL;"
    )
    uri = extra_trigger(Plain, trigger)
    pgtrigger.install(uri)
    pgid = trigger.get_pgid(Plain)
    comment = catalog_state()[pgid]["comment"]
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TRIGGER "{pgid}" ON testapp_plain')
        cursor.execute(
            f'CREATE CONSTRAINT TRIGGER "{pgid}" AFTER INSERT ON testapp_plain NOT DEFERRABLE '
            f'FOR EACH ROW EXECUTE FUNCTION "{pgid}"()'
        )
        cursor.execute(f'COMMENT ON TRIGGER "{pgid}" ON testapp_plain IS %s', [comment])
    assert pgtrigger.status(uri)[0].status is Status.OUTDATED
    assert pgtrigger.install(uri).actions[0].kind is ActionKind.REPLACE  # no no-op verdict
    assert status_of(uri)[0] is Status.INSTALLED
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgconstraint FROM pg_trigger WHERE tgname = %s", [pgid])
        assert cursor.fetchone() == (0,)  # a plain trigger again


def test_clause_altered_by_hand_is_outdated_and_repaired(extra_trigger: AddTrigger) -> None:
    trigger = bump("altered")
    uri = extra_trigger(Plain, trigger)
    pgtrigger.install(uri)
    pgid = trigger.get_pgid(Plain)
    with connection.cursor() as cursor:  # same function, same comment, other events
        cursor.execute(
            f'CREATE OR REPLACE TRIGGER "{pgid}" BEFORE UPDATE ON testapp_plain '
            f'FOR EACH ROW EXECUTE FUNCTION "{pgid}"()'
        )
    assert catalog_state()[pgid]["comment"].startswith("pgtrigger_live:")
    entry = pgtrigger.status(uri)[0]
    assert entry.status is Status.OUTDATED
    assert "altered in the database" in entry.reason
    pgtrigger.install(uri)
    assert status_of(uri)[0] is Status.INSTALLED
    assert Plain.objects.create(value=1).pk is not None
    assert Plain.objects.get().value == 2  # fires on INSERT again


@pytest.mark.parametrize(
    ("declared", "by_hand"),
    [
        # Same timing, level and events: only the WHEN condition differs.
        (
            {"operation": pgtrigger.Insert, "condition": pgtrigger.Q(new__value=1)},
            "BEFORE INSERT ON testapp_plain FOR EACH ROW WHEN (NEW.value = 2)",
        ),
        (
            {"operation": pgtrigger.Insert, "condition": pgtrigger.Q(new__value=1)},
            "BEFORE INSERT ON testapp_plain FOR EACH ROW",
        ),
        # Only the UPDATE OF column list differs.
        (
            {"operation": pgtrigger.UpdateOf("value")},
            "BEFORE UPDATE OF label ON testapp_plain FOR EACH ROW",
        ),
    ],
    ids=["other-condition", "condition-dropped", "other-update-of"],
)
def test_definition_altered_by_hand_is_outdated_and_repaired(
    extra_trigger: AddTrigger, declared: dict[str, object], by_hand: str
) -> None:
    trigger = pgtrigger.Trigger(
        name="fingerprinted",
        when=pgtrigger.Before,
        func="NEW.value := NEW.value + 10; RETURN NEW;",
        **declared,  # type: ignore[arg-type]
    )
    uri = extra_trigger(Plain, trigger)
    pgtrigger.install(uri)
    pgid = trigger.get_pgid(Plain)
    signed = catalog_state()[pgid]["comment"]
    recorded = Signature.parse(signed)
    assert recorded is not None
    assert recorded.definition is not None  # the server's fingerprint is part of the signature
    assert recorded.digest is not None  # and so is the declaration's digest
    assert pgtrigger.install(uri).actions == ()  # and it matches: nothing to do

    with connection.cursor() as cursor:  # the comment survives CREATE OR REPLACE TRIGGER
        cursor.execute(f'CREATE OR REPLACE TRIGGER "{pgid}" {by_hand} EXECUTE FUNCTION "{pgid}"()')
    assert catalog_state()[pgid]["comment"] == signed
    entry = pgtrigger.status(uri)[0]
    assert entry.status is Status.OUTDATED
    assert "condition, UPDATE OF columns" in entry.reason

    pgtrigger.install(uri)
    assert status_of(uri)[0] is Status.INSTALLED
    assert catalog_state()[pgid]["comment"] == signed  # the same definition as before
    row = Plain.objects.create(value=1)
    row.refresh_from_db()
    if "condition" in declared:
        assert row.value == 11  # WHEN (NEW.value = 1) holds again
        assert Plain.objects.create(value=2).value == 2
        assert Plain.objects.get(value__in=[2, 12]).value == 2  # and does not fire for 2
    else:
        Plain.objects.filter(pk=row.pk).update(label="x")
        assert Plain.objects.get(pk=row.pk).value == 1  # UPDATE OF value only, not label
        Plain.objects.filter(pk=row.pk).update(value=5)
        assert Plain.objects.get(pk=row.pk).value == 15


@pytest.mark.parametrize("recorded", ["none", "other-major"])
def test_fingerprint_not_comparable_is_recorded_by_a_comment_only(
    extra_trigger: AddTrigger, recorded: str
) -> None:
    """An older comment (no fingerprint) or one from another server major version (after
    pg_upgrade): the trigger is up to date, install records the fingerprint (COMMENT only,
    no trigger re-created), and hand changes are detected again afterwards."""
    trigger = bump("unfingerprinted")
    uri = extra_trigger(Plain, trigger)
    pgtrigger.install(uri)
    pgid = trigger.get_pgid(Plain)
    before = catalog_state()[pgid]
    code_part, fingerprint = before["comment"].rsplit(":", 1)
    major, digest = fingerprint.split(".", 1)
    comment = code_part if recorded == "none" else f"{code_part}:{int(major) - 1}.{digest}x"
    with connection.cursor() as cursor:
        cursor.execute(f"COMMENT ON TRIGGER \"{pgid}\" ON testapp_plain IS '{comment}'")
    assert status_of(uri)[0] is Status.INSTALLED  # nothing to compare: not flagged

    with CaptureQueriesContext(connection) as queries:
        plan = pgtrigger.install(uri)
    assert [a.kind.value for a in plan.actions] == ["sign"]
    sent = [q["sql"] for q in queries.captured_queries]
    assert not [s for s in sent if s.lstrip().upper().startswith(("CREATE", "DROP", "ALTER"))]
    after = catalog_state()[pgid]
    assert after["comment"] == before["comment"]
    assert after["trigger"][0] == before["trigger"][0]  # same trigger OID
    assert pgtrigger.install(uri).actions == ()

    with connection.cursor() as cursor:  # and now a hand change is caught
        cursor.execute(
            f'CREATE OR REPLACE TRIGGER "{pgid}" BEFORE INSERT ON testapp_plain FOR EACH ROW '
            f'WHEN (NEW.value > 100) EXECUTE FUNCTION "{pgid}"()'
        )
    assert status_of(uri)[0] is Status.OUTDATED


def test_trigger_recreated_from_its_own_definition_is_replaced_once_in_place(
    extra_trigger: AddTrigger,
) -> None:
    """What a dump and restore does: the same trigger from pg_get_triggerdef's text. The
    server may store that condition differently (explicit casts), so it is OUTDATED once and
    replaced in place; positions in the text (recorded before PostgreSQL 17) never count."""
    trigger = pgtrigger.Trigger(
        name="restored",
        when=pgtrigger.Before,
        operation=pgtrigger.Update,
        condition=pgtrigger.Q(old__value__df=pgtrigger.F("new__value"))
        & pgtrigger.Q(new__label="x"),
        func="NEW.value := NEW.value + 1; RETURN NEW;",
    )
    uri = extra_trigger(Plain, trigger)
    pgtrigger.install(uri)
    pgid = trigger.get_pgid(Plain)
    comment = catalog_state()[pgid]["comment"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = %s", [pgid])
        (definition,) = cursor.fetchone()  # type: ignore[misc]
        cursor.execute(f'DROP TRIGGER "{pgid}" ON testapp_plain')
        cursor.execute("  " + definition)  # other text, other positions
        cursor.execute(f'COMMENT ON TRIGGER "{pgid}" ON testapp_plain IS %s', [comment])
    oid = catalog_state()[pgid]["trigger"][0]
    if status_of(uri)[0] is Status.OUTDATED:
        assert [a.kind.value for a in pgtrigger.install(uri).actions] == ["replace"]
        assert catalog_state()[pgid]["trigger"][0] == oid  # CREATE OR REPLACE: same trigger
    assert status_of(uri)[0] is Status.INSTALLED
    assert pgtrigger.install(uri).actions == ()


def test_fingerprint_ignores_positions_in_the_statement_text(extra_trigger: AddTrigger) -> None:
    """The same definition sent with other whitespace fingerprints the same (PostgreSQL 16
    and earlier store character positions in the condition)."""
    trigger = pgtrigger.Trigger(
        name="positions",
        when=pgtrigger.Before,
        operation=pgtrigger.Update,
        condition=pgtrigger.Q(old__value__df=pgtrigger.F("new__value")),
        func="RETURN NEW;",
    )
    uri = extra_trigger(Plain, trigger)
    pgtrigger.install(uri)
    pgid = trigger.get_pgid(Plain)
    with connection.cursor() as cursor:  # our own text, shifted by a few characters
        cursor.execute(
            f'CREATE OR REPLACE TRIGGER     "{pgid}" BEFORE UPDATE ON testapp_plain FOR EACH ROW '
            f'WHEN (OLD."value" IS DISTINCT FROM NEW."value") EXECUTE FUNCTION "{pgid}"()'
        )
    assert status_of(uri)[0] is Status.INSTALLED


def test_sign_batch_with_a_missing_trigger_raises_and_signs_nothing(
    extra_trigger: AddTrigger,
) -> None:
    from pgtrigger_live.reconcile import ddl
    from pgtrigger_live.reconcile.state import TableRef

    uri = extra_trigger(Plain, bump())
    pgtrigger.install(uri)
    (entry,) = pgtrigger.status(uri)
    before = catalog_state()[entry.pgid]["comment"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'testapp_plain'::regclass::oid::int")
        table = TableRef("public", "testapp_plain", cursor.fetchone()[0])
        batch = ddl.sign(
            [(table, entry.pgid, "pgtrigger_live:1:x:y"), (table, "pgtrigger_gone", "z")]
        )
        with pytest.raises(Exception, match="1 of 2 triggers found to sign"), transaction.atomic():
            cursor.execute(batch)
    assert catalog_state()[entry.pgid]["comment"] == before  # the first comment rolled back too


def test_a_hyphenated_name_installs_fires_and_is_ignored(extra_trigger: AddTrigger) -> None:
    """django-pgtrigger accepts hyphens in names; every id we send is quoted, so they work."""
    trigger = bump("plus-one")
    uri = extra_trigger(Plain, trigger)
    pgtrigger.install(uri)
    assert status_of(uri) == (Status.INSTALLED, "ENABLED")
    assert trigger.get_pgid(Plain).startswith("pgtrigger_plus-one_")
    Plain.objects.create(value=1)
    with pgtrigger.ignore(uri):
        Plain.objects.create(value=10)
    assert sorted(Plain.objects.values_list("value", flat=True)) == [2, 10]
    pgtrigger.uninstall(uri)
    assert trigger.get_pgid(Plain) not in catalog_state()


# -- upgrading from the previous release ---------------------------------------------------------

PREVIOUS_RELEASE = Path(__file__).parent / "fixtures" / "previous_release.sql"
#: Statements that re-create or alter a trigger, and the table lock modes the applier asks.
RE_CREATES = re.compile(r"CREATE (?:OR REPLACE )?TRIGGER|DROP |ALTER TABLE", re.I)
RE_LOCK_MODES = re.compile(r"\(\d+::oid, '([A-Z ]+)'\)")


@pytest.mark.django_db
def test_upgrading_from_the_previous_release_replaces_function_bodies_only() -> None:
    """The triggers as the previous release installed them (tests/fixtures/dump_triggers.py
    says how the file was made): the ignore check changed (2026-12-05), so each function is
    replaced in place (CREATE OR REPLACE FUNCTION, and the comment re-signed); no trigger is
    re-created, no read or write is blocked, every OID is kept. Until then the old functions honour this release's ignore()."""
    pgtrigger.uninstall()
    with connection.cursor() as cursor:
        cursor.execute(PREVIOUS_RELEASE.read_text())
        cursor.execute(
            "SELECT tgname, oid, tgfoid FROM pg_trigger WHERE obj_description(oid, 'pg_trigger') "
            "LIKE 'pgtrigger\\_live:%%'"
        )
        before = {name: (oid, foid) for name, oid, foid in cursor.fetchall()}
    assert len(before) == int(PREVIOUS_RELEASE.read_text().split()[1])  # "-- 13 triggers"
    # A rolling deploy: this release's runtime, the previous release's functions.
    protected = Protected.objects.create()
    with pytest.raises(pgtrigger.ProtectedError), transaction.atomic():
        Protected.objects.filter(pk=protected.pk).delete()
    with pgtrigger.ignore("testapp.Protected:protect_delete"):
        Protected.objects.filter(pk=protected.pk).delete()
    assert not Protected.objects.filter(pk=protected.pk).exists()
    plan = pgtrigger.install(dry_run=True)
    assert {a.kind for a in plan.actions} == {ActionKind.REPLACE}, plan.describe()
    assert {a.reason for a in plan.actions} == {"function body changed"}
    assert len(plan.actions) == len(before)
    assert all([type(op) for op in a.ops] == [CreateFunction] for a in plan.actions)
    with CaptureQueriesContext(connection) as sent:
        pgtrigger.install()
    sql = "\n".join(q["sql"] for q in sent)
    assert sql.count("CREATE OR REPLACE FUNCTION") == len(before)
    assert [m.group(0) for m in RE_CREATES.finditer(sql)] == []
    # The comment's lock only (COMMENT ON TRIGGER): it blocks no read or write.
    assert set(RE_LOCK_MODES.findall(sql)) == {SHARE_UPDATE_EXCLUSIVE}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.tgname, t.oid, t.tgfoid, p.prosrc FROM pg_trigger t "
            "JOIN pg_proc p ON p.oid = t.tgfoid WHERE t.tgname = ANY(%s)",
            [list(before)],
        )
        after = {name: (oid, foid, src) for name, oid, foid, src in cursor.fetchall()}
    assert {name: (oid, foid) for name, (oid, foid, _) in after.items()} == before
    assert all(IGNORE_CHECK in src for _, _, src in after.values())
    assert all(e.in_sync for e in pgtrigger.status())
