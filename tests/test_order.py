"""Declared firing order, through the database: what fires first, and what a reorder sends."""

from __future__ import annotations

import json
from collections.abc import Callable
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection, models, transaction
from django.test.utils import CaptureQueriesContext

import pgtrigger_live as pgtrigger
from pgtrigger_live.checks import check_orders
from pgtrigger_live.declare import registry
from pgtrigger_live.reconcile.planner import ActionKind
from pgtrigger_live.reconcile.state import Status
from tests.conftest import catalog_state
from tests.testapp.models import Plain, Reading

pytestmark = pytest.mark.django_db

AddTrigger = Callable[[type[models.Model], pgtrigger.Trigger], str]
DDL = ("CREATE", "DROP", "ALTER", "COMMENT", "DO")


def appender(name: str, letter: str, order: int | None) -> pgtrigger.Trigger:
    """A BEFORE UPDATE trigger that appends ``letter`` to Plain.label: the label shows the
    order in which the triggers fired."""
    return pgtrigger.Trigger(
        name=name,
        when=pgtrigger.Before,
        operation=pgtrigger.Update,
        func=f"NEW.label := NEW.label || '{letter}'; RETURN NEW;",
        order=order,
    )


@pytest.fixture
def declare(extra_trigger: AddTrigger) -> Callable[..., list[str]]:
    """Declare the three appenders with the given orders (replacing earlier ones)."""
    current: list[pgtrigger.Trigger] = []

    def declare(orders: dict[str, int | None]) -> list[str]:
        for trigger in current:
            registry.remove(Plain, trigger)
        current.clear()
        uris = []
        # Alphabetical by name: alpha, bravo, charlie; letters a, b, c.
        for name, order in orders.items():
            trigger = appender(name, name[0], order)
            current.append(trigger)
            uris.append(extra_trigger(Plain, trigger))
        return uris

    return declare


def fired() -> str:
    row = Plain.objects.create(label="")
    Plain.objects.filter(pk=row.pk).update(value=1)
    row.refresh_from_db()
    return row.label


#: ALTER TRIGGER ... RENAME is used from PostgreSQL 15 on (planner.RENAME_TRIGGER_MIN_VERSION).
renames = pytest.mark.skipif(
    "connection.pg_version < 150000",
    reason="PostgreSQL 13 and 14 drop and create a reordered trigger instead of renaming it",
)


def reorder_kind() -> ActionKind:
    return ActionKind.REORDER if connection.pg_version >= 150000 else ActionKind.REPLACE


def ddl(queries: CaptureQueriesContext) -> list[str]:
    """Each DDL statement sent (the applier sends a batch as one text, joined by ";\n")."""
    sent = [s.strip() for q in queries.captured_queries for s in q["sql"].split(";\n")]
    return [s for s in sent if s.startswith(DDL)]


def test_triggers_fire_in_the_declared_order_not_by_name(declare: Callable[..., list[str]]) -> None:
    uris = declare({"alpha": 30, "bravo": 10, "charlie": 20})
    pgtrigger.install(*uris)
    assert fired() == "bca"
    # Without orders Postgres fires them by name: the control that the order above is ours.
    uris = declare({"alpha": None, "bravo": None, "charlie": None})
    pgtrigger.install(*uris)
    assert fired() == "abc"


def test_ordered_triggers_fire_before_those_without(declare: Callable[..., list[str]]) -> None:
    uris = declare({"alpha": None, "bravo": 5, "charlie": None})
    pgtrigger.install(*uris)
    assert fired() == "bac"


@renames
def test_a_reorder_renames_in_place_and_sends_nothing_else(
    declare: Callable[..., list[str]],
) -> None:
    uris = declare({"alpha": 30, "bravo": 10, "charlie": 20})
    pgtrigger.install(*uris)
    before = catalog_state()

    uris = declare({"alpha": 5, "bravo": 10, "charlie": 20})  # alpha moves first
    (entry,) = list(pgtrigger.status(uris[0]))
    assert entry.status is Status.OUTDATED
    assert entry.reason == "firing order changed (30 -> 5): renamed in place"
    with CaptureQueriesContext(connection) as queries:
        plan = pgtrigger.install(*uris)
    assert [a.kind for a in plan.actions] == [ActionKind.REORDER]
    sent = ddl(queries)
    assert [s.split(" ", 2)[:2] for s in sent if not s.startswith(("DO", "COMMENT"))] == [
        ["ALTER", "TRIGGER"],
        ["DROP", "FUNCTION"],
        ["ALTER", "FUNCTION"],
    ]
    after = catalog_state()
    old, new = plan.actions[0].seen.pgid, plan.actions[0].pgid  # type: ignore[union-attr]
    assert old.startswith("pgtrigger_$0030_alpha_")
    assert new.startswith("pgtrigger_$0005_alpha_")
    assert old not in after
    # The same trigger row and function row, renamed: nothing re-created.
    assert after[new]["trigger"][0] == before[old]["trigger"][0]
    assert after[new]["function"][0] == before[old]["function"][0]
    for pgid in set(before) - {old}:
        assert after[pgid]["trigger"] == before[pgid]["trigger"], pgid
    assert fired() == "abc"
    assert {e.status for e in pgtrigger.status(*uris)} == {Status.INSTALLED}
    with CaptureQueriesContext(connection) as queries:
        assert pgtrigger.install(*uris).is_empty


@renames
def test_adding_and_removing_an_order_keeps_the_trigger_and_its_ignore(
    declare: Callable[..., list[str]],
) -> None:
    uris = declare({"alpha": None, "bravo": None, "charlie": None})
    pgtrigger.install(*uris)
    before = catalog_state()
    uris = declare({"alpha": None, "bravo": None, "charlie": 1})
    with CaptureQueriesContext(connection) as queries:
        plan = pgtrigger.install(*uris)
    (action,) = plan.actions
    assert action.kind is ActionKind.REPLACE
    assert action.reason.startswith("firing order changed (none -> 1); function body changed")
    kinds = [s.split(" (")[0].split(" ")[:3] for s in ddl(queries) if not s.startswith("DO")]
    assert kinds[:4] == [
        ["ALTER", "TRIGGER", '"pgtrigger_charlie_' + action.pgid[-5:] + '"'],
        ["DROP", "FUNCTION", "IF"],
        ["ALTER", "FUNCTION", kinds[2][2]],
        ["CREATE", "OR", "REPLACE"],
    ]
    assert not any(
        s.startswith(("CREATE TRIGGER", "CREATE OR REPLACE TRIGGER")) for s in ddl(queries)
    )
    assert catalog_state()[action.pgid]["trigger"][0] == before[action.seen.pgid]["trigger"][0]  # type: ignore[union-attr]
    assert fired() == "cab"
    # ignore() names the trigger as it did before it had an order.
    row = Plain.objects.create(label="")
    with pgtrigger.ignore(uris[2]):
        Plain.objects.filter(pk=row.pk).update(value=1)
    row.refresh_from_db()
    assert row.label == "ab"

    uris = declare({"alpha": None, "bravo": None, "charlie": None})
    (action,) = pgtrigger.install(*uris).actions
    assert action.reason.startswith("firing order changed (1 -> none)")
    assert catalog_state()[action.pgid]["trigger"][0] == before[action.pgid]["trigger"][0]
    assert fired() == "abc"


def test_ignore_holds_while_code_and_database_disagree_on_the_order(
    declare: Callable[..., list[str]],
) -> None:
    """Deploys run new code before (or without) the reconcile: ignore() must not depend on
    which order the installed trigger was named for."""
    uris = declare({"alpha": 30, "bravo": 10, "charlie": 20})
    pgtrigger.install(*uris)
    uris = declare({"alpha": 40, "bravo": 10, "charlie": 20})  # not installed yet
    row = Plain.objects.create(label="")
    with pgtrigger.ignore(uris[0]):
        Plain.objects.filter(pk=row.pk).update(value=1)
    row.refresh_from_db()
    assert row.label == "bc"


def test_ls_and_json_show_the_order(declare: Callable[..., list[str]]) -> None:
    uris = declare({"alpha": 30, "bravo": None, "charlie": 20})
    pgtrigger.install(*uris)
    out = StringIO()
    call_command("pgtrigger", "ls", *uris, "--json", stdout=out)
    rows = {row["uri"]: row for row in json.loads(out.getvalue())}
    assert [rows[u]["order"] for u in uris] == [30, None, 20]
    out = StringIO()
    call_command("pgtrigger", "ls", *uris, stdout=out)
    lines = {line.split()[-1]: line for line in out.getvalue().splitlines() if ":" in line}
    assert "order 30" in lines[uris[0]]
    assert "order" not in lines[uris[1]]


def test_check_reports_a_tie_naming_both(declare: Callable[..., list[str]]) -> None:
    uris = declare({"alpha": 10, "bravo": 10, "charlie": None})
    (error,) = check_orders()
    assert error.id == "pgtrigger_live.E005"
    assert uris[0] in error.msg
    assert uris[1] in error.msg
    assert error.obj is Plain
    # Asked for another app only (manage.py check otherapp): not reported there.
    assert check_orders(app_configs=[apps.get_app_config("auth")]) == []
    assert len(check_orders(app_configs=[apps.get_app_config("testapp")])) == 1


@pytest.mark.django_db(databases=["default", "other"])
def test_a_reordered_deferrable_trigger_keeps_working_with_constraints(
    extra_trigger: AddTrigger,
) -> None:
    def deferred(order: int) -> pgtrigger.Trigger:
        return pgtrigger.Trigger(
            name="late",
            when=pgtrigger.After,
            operation=pgtrigger.Update,
            timing=pgtrigger.Deferred,
            func="RETURN NULL;",
            order=order,
        )

    first = deferred(10)
    uri = extra_trigger(Plain, first)
    pgtrigger.install(uri)
    registry.remove(Plain, first)
    extra_trigger(Plain, deferred(20))
    (action,) = pgtrigger.install(uri).actions
    assert action.kind is reorder_kind()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.tgname, c.conname FROM pg_trigger t JOIN pg_constraint c "
            "ON c.oid = t.tgconstraint WHERE t.tgname LIKE 'pgtrigger_$0020_late_%%'"
        )
        (names,) = cursor.fetchall()
    assert names[0] == names[1] == action.pgid  # SET CONSTRAINTS looks up the constraint
    with transaction.atomic():
        pgtrigger.constraints(pgtrigger.Immediate, uri, databases=["default"])


def test_enable_and_disable_work_before_the_reorder_is_reconciled(
    declare: Callable[..., list[str]],
) -> None:
    uris = declare({"alpha": 30, "bravo": 10, "charlie": 20})
    pgtrigger.install(*uris)
    installed = next(p for p in catalog_state() if p.startswith("pgtrigger_$0030_alpha_"))
    uris = declare({"alpha": 40, "bravo": 10, "charlie": 20})  # deployed, not reconciled
    pgtrigger.disable(uris[0])
    assert catalog_state()[installed]["enabled"] == "D"
    pgtrigger.enable(uris[0])
    assert catalog_state()[installed]["enabled"] == "O"


def test_a_leftover_function_under_the_new_name_does_not_block_the_reorder(
    declare: Callable[..., list[str]],
) -> None:
    uris = declare({"alpha": 30, "bravo": 10, "charlie": 20})
    pgtrigger.install(*uris)
    uris = declare({"alpha": 5, "bravo": 10, "charlie": 20})
    new = registry.entry(uris[0])[1].get_pgid(Plain)  # type: ignore[index]
    with connection.cursor() as cursor:  # as DROP TABLE leaves a trigger's function behind
        cursor.execute(
            f'CREATE FUNCTION "{new}"() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$'
        )
    (action,) = pgtrigger.install(*uris).actions
    assert action.kind is reorder_kind()
    assert fired() == "abc"


def test_a_reorder_on_a_partitioned_table_reaches_its_partitions(
    extra_trigger: AddTrigger,
) -> None:
    """Rows live in the partitions, whose triggers are clones of the parent's: they must be
    renamed too (PostgreSQL 15+ does it with the parent's; 13 and 14 re-create)."""

    def appenders(orders: dict[str, int]) -> list[pgtrigger.Trigger]:
        return [appender(name, name[0], order) for name, order in orders.items()]

    first = appenders({"alpha": 30, "bravo": 10})
    uris = [extra_trigger(Reading, t) for t in first]
    pgtrigger.install(*uris)

    def trails() -> list[str]:
        for pk in (1, 500):  # one row in each partition
            Reading.objects.update_or_create(id=pk, defaults={"label": ""})
        Reading.objects.update(label="")
        return list(Reading.objects.order_by("id").values_list("label", flat=True))

    assert trails() == ["ba", "ba"]
    for trigger in first:
        registry.remove(Reading, trigger)
    uris = [extra_trigger(Reading, t) for t in appenders({"alpha": 5, "bravo": 10})]
    pgtrigger.install(*uris)
    assert trails() == ["ab", "ab"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE c.relname LIKE 'testapp_reading%%' AND t.tgname LIKE 'pgtrigger_%%' "
            "ORDER BY 1, 2"
        )
        names = cursor.fetchall()
    assert {name[:16] for _, name in names} == {"pgtrigger_$0005_", "pgtrigger_$0010_"}
    assert len(names) == 6  # the parent and its two partitions, two triggers each
