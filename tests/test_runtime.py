"""Runtime controls against a real PostgreSQL: ignore, is_ignored, schema, constraints.

These tests manage real, committed transactions (no ``django_db`` test transaction): they
need true autocommit, and connections that see each other's work. The triggers they use are
registered on ``Plain`` and installed (committed) for this module only; every test deletes
its rows. Each scenario checks that the trigger is skipped inside the block and enforced
again right after, on the same connection, and runs twice: directly ("direct") and through
a real PgBouncer in transaction mode ("pooled", skipped when pgbouncer is not installed).
The same scenarios run once more under psycopg2 in a subprocess (test_psycopg2_scenarios).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import importlib
import itertools
import json
import os
import re
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import DatabaseError, connections, transaction
from django.db.backends.postgresql.psycopg_any import is_psycopg3

import pgtrigger_live as pgtrigger
from pgtrigger_live.declare import registry
from pgtrigger_live.exceptions import DeclarationError, UnknownTriggerError
from pgtrigger_live.runtime import (
    NotInTransactionError,
    constraints,
    ignore,
    is_ignored,
    local_sql,
    schema,
    set_local,
    statements,
)
from pgtrigger_live.runtime import context as runtime_context
from pgtrigger_live.runtime.statements import (
    Kind,
    SavepointOp,
    classify,
    ignore_value,
    savepoint_op,
    search_path_value,
    set_config,
)
from pgtrigger_live.runtime.wrapper import runtime_of
from tests import pgbouncer
from tests.conftest import libpq_trace
from tests.testapp.models import Plain

ROOT = Path(__file__).resolve().parent.parent
#: Django 6.1 renamed transaction.savepoint() to savepoint_create() (the old name warns).
SAVEPOINT = getattr(transaction, "savepoint_create", transaction.savepoint)
TABLE = Plain._meta.db_table

# -- the triggers of this module ---------------------------------------------------------------

STAMP = pgtrigger.Trigger(
    name="rt_stamp",
    when=pgtrigger.Before,
    operation=pgtrigger.Insert | pgtrigger.Update,
    func="NEW.label := 'stamped'; RETURN NEW;",
)
GUARD = pgtrigger.Trigger(
    name="rt_guard",
    when=pgtrigger.Before,
    operation=pgtrigger.Delete,
    func="RAISE EXCEPTION 'rt_guard: delete refused';",
)
DEFERRED = pgtrigger.Trigger(
    name="rt_deferred",
    when=pgtrigger.After,
    operation=pgtrigger.Insert,
    timing=pgtrigger.Deferred,
    condition=pgtrigger.Q(new__value=13),
    func="RAISE EXCEPTION 'rt_deferred: 13 refused'; RETURN NULL;",
)
NO_TRUNCATE = pgtrigger.Trigger(
    name="rt_no_truncate",
    level=pgtrigger.Statement,
    when=pgtrigger.Before,
    operation=pgtrigger.Truncate,
    func="RAISE EXCEPTION 'rt_no_truncate: truncate refused';",
)
TRIGGERS = [STAMP, GUARD, DEFERRED, NO_TRUNCATE]
STAMP_URI, GUARD_URI, DEFERRED_URI, TRUNCATE_URI = (t.get_uri(Plain) for t in TRIGGERS)
DATABASES = ("default", "other")


def register_triggers() -> None:
    for trigger in TRIGGERS:
        registry.add(Plain, trigger)


def unregister_triggers() -> None:
    for trigger in TRIGGERS:
        with contextlib.suppress(UnknownTriggerError):
            registry.remove(Plain, trigger)


# -- routes: the aliases a scenario runs on ----------------------------------------------------


@dataclass(frozen=True)
class Route:
    """``main`` and ``other`` reach the two test databases (directly or through PgBouncer)."""

    name: str
    main: str
    other: str
    pooled: bool = False


def add_alias(alias: str, like: str, **changes: Any) -> None:
    """A new alias: a copy of ``like``'s settings (test database included) with ``changes``."""
    entry = copy.deepcopy(connections[like].settings_dict)
    options = {**entry.get("OPTIONS", {}), **changes.pop("OPTIONS", {})}
    entry.update(changes, OPTIONS=options)
    connections.settings[alias] = entry


def drop_alias(alias: str) -> None:
    with contextlib.suppress(AttributeError, KeyError):
        connections[alias].close()
        del connections[alias]
    connections.settings.pop(alias, None)


def pooled_aliases(port: int) -> Route:
    for alias, like in (("rt_pooled", "default"), ("rt_pooled_other", "other")):
        # Through a transaction pooler, server-side cursors only live inside a transaction.
        add_alias(
            alias,
            like,
            HOST="127.0.0.1",
            PORT=str(port),
            PASSWORD="",
            DISABLE_SERVER_SIDE_CURSORS=True,
        )
    return Route("pooled", "rt_pooled", "rt_pooled_other", pooled=True)


DIRECT = Route("direct", "default", "other")


# -- helpers -----------------------------------------------------------------------------------


def run(alias: str, statement: Any, params: Any = None) -> list[tuple[Any, ...]]:
    with connections[alias].cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def new_row(alias: str, value: int = 0) -> int:
    (row,) = run(
        alias, f"INSERT INTO {TABLE} (value, label) VALUES (%s, 'new') RETURNING id", [value]
    )
    return int(row[0])


def label_of(alias: str, pk: int) -> str:
    return str(run(alias, f"SELECT label FROM {TABLE} WHERE id = %s", [pk])[0][0])


def set_label(alias: str, pk: int, label: str) -> None:
    assert Plain.objects.using(alias).filter(pk=pk).update(label=label) == 1


def assert_ignored(alias: str, pk: int) -> None:
    set_label(alias, pk, "free")
    assert label_of(alias, pk) == "free", "rt_stamp fired inside ignore()"


def assert_enforced(alias: str, pk: int) -> None:
    set_label(alias, pk, "free")
    assert label_of(alias, pk) == "stamped", "rt_stamp did not fire outside ignore()"


def guc(alias: str, name: str = "pgtrigger.ignore") -> str:
    return str(run(alias, "SELECT coalesce(current_setting(%s, true), '')", [name])[0][0])


def assert_refused(alias: str, message: str, action: Callable[[], object]) -> None:
    """``action`` fails with the trigger's error; run in a savepoint inside transactions."""
    inside = connections[alias].in_atomic_block
    savepoint = transaction.atomic(using=alias) if inside else contextlib.nullcontext()
    with pytest.raises(DatabaseError, match=message), savepoint:
        action()


def delete_row(alias: str, pk: int) -> None:
    Plain.objects.using(alias).filter(pk=pk).delete()


def assert_clean(*aliases: str) -> None:
    """No block state, nothing tracked, nothing on the server outside transactions."""
    assert runtime_context.CURRENT.get() is runtime_context.EMPTY
    for alias in aliases:
        connection = connections[alias]
        assert not connection.in_atomic_block
        assert guc(alias) == ""
        runtime = runtime_of(connection)
        assert runtime is None or not runtime.txn


def driver_sql() -> Any:
    """psycopg.sql or psycopg2.sql, whichever driver Django uses."""
    return importlib.import_module("psycopg.sql" if is_psycopg3 else "psycopg2.sql")


# -- scenarios ---------------------------------------------------------------------------------
# Each takes a Route; they run under psycopg 3 here and under psycopg2 in a subprocess.


def scenario_autocommit_orm(route: Route) -> None:
    alias = route.main
    pk = new_row(alias)
    with ignore(STAMP_URI):
        assert_ignored(alias, pk)
        obj = Plain.objects.using(alias).get(pk=pk)
        obj.label = "saved"
        obj.save()
        assert label_of(alias, pk) == "saved"
        created = Plain.objects.using(alias).create(label="created")
        assert label_of(alias, created.pk) == "created"
    assert_enforced(alias, pk)
    with ignore(GUARD_URI):
        delete_row(alias, created.pk)
    assert not Plain.objects.using(alias).filter(pk=created.pk).exists()
    assert_refused(alias, "rt_guard", lambda: delete_row(alias, pk))
    assert_clean(alias)


def scenario_exception_exit(route: Route) -> None:
    alias = route.main
    pk = new_row(alias)

    def fail_inside() -> None:
        with ignore(STAMP_URI):
            assert_ignored(alias, pk)
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        fail_inside()
    assert_enforced(alias, pk)
    with transaction.atomic(using=alias):
        with pytest.raises(ZeroDivisionError):
            fail_inside()
        assert guc(alias) == ""  # the previous value, back in the same transaction
        assert_enforced(alias, pk)
    assert_enforced(alias, pk)
    assert_clean(alias)


def scenario_atomic(route: Route) -> None:
    alias = route.main
    pk = new_row(alias)
    with transaction.atomic(using=alias):
        assert_enforced(alias, pk)
        with ignore(STAMP_URI):
            assert_ignored(alias, pk)
            assert_ignored(alias, pk)
            assert guc(alias) == ignore_value([STAMP.get_pgid(Plain)])
        assert guc(alias) == ""
        assert_enforced(alias, pk)
        with ignore(STAMP_URI):  # a second block in the same transaction
            assert_ignored(alias, pk)
        assert_enforced(alias, pk)
    assert_enforced(alias, pk)
    with ignore(STAMP_URI), transaction.atomic(using=alias):  # ignore around the transaction
        assert_ignored(alias, pk)
    assert_enforced(alias, pk)
    assert_clean(alias)


def scenario_nested_blocks(route: Route) -> None:
    alias = route.main
    pk = new_row(alias)
    with transaction.atomic(using=alias):
        with ignore(GUARD_URI):
            assert_enforced(alias, pk)
            with ignore(STAMP_URI):
                assert_ignored(alias, pk)
                assert is_ignored(STAMP_URI)
                assert is_ignored(GUARD_URI)
            assert_enforced(alias, pk)  # the inner block is gone, the outer one stays
            assert guc(alias) == ignore_value([GUARD.get_pgid(Plain)])
        assert guc(alias) == ""
    with ignore(GUARD_URI), ignore(STAMP_URI):
        assert_ignored(alias, pk)
    assert_enforced(alias, pk)
    assert_clean(alias)


def scenario_savepoints(route: Route) -> None:
    alias = route.main
    pk = new_row(alias)
    with transaction.atomic(using=alias):
        with ignore(STAMP_URI):
            with transaction.atomic(using=alias):  # savepoint released
                assert_ignored(alias, pk)
            assert_ignored(alias, pk)
        assert_enforced(alias, pk)

        # The block starts inside a savepoint that is then rolled back: the server forgets
        # the value it had been given, and so must the wrapper.
        with ignore(STAMP_URI):
            with contextlib.suppress(ZeroDivisionError), transaction.atomic(using=alias):
                assert_ignored(alias, pk)
                _ = 1 / 0
            assert_ignored(alias, pk)
        assert_enforced(alias, pk)

        # The block ends inside a savepoint that is rolled back afterwards.
        with contextlib.suppress(ZeroDivisionError), transaction.atomic(using=alias):
            with ignore(STAMP_URI):
                assert_ignored(alias, pk)
            assert_enforced(alias, pk)
            _ = 1 / 0
        assert_enforced(alias, pk)

        # A savepoint made inside the block and rolled back after it (manual API): the
        # rollback brings the block's value back on the server; it must not stay.
        with ignore(STAMP_URI):
            assert_ignored(alias, pk)
            sid = SAVEPOINT(using=alias)
        assert_enforced(alias, pk)
        transaction.savepoint_rollback(sid, using=alias)
        assert guc(alias) == ""
        assert_enforced(alias, pk)

        # The same with a savepoint the wrapper cannot recognize (a comment in front): the
        # rollback to it makes the server's value unknown, so it is sent again.
        with ignore(STAMP_URI):
            assert_ignored(alias, pk)
            run(alias, '/* hidden */ SAVEPOINT "rt_hidden"')
        assert_enforced(alias, pk)
        run(alias, "ROLLBACK TO SAVEPOINT rt_hidden")
        assert guc(alias) == ""
        assert_enforced(alias, pk)
    assert_clean(alias)


def scenario_errored_transaction(route: Route) -> None:
    alias = route.main
    pk = new_row(alias)
    # The error is caught without an inner atomic: the transaction stays aborted; leaving
    # the block must not send anything (django-pgtrigger fails here).
    with transaction.atomic(using=alias):
        with ignore(STAMP_URI):
            assert_ignored(alias, pk)
            with pytest.raises(DatabaseError):
                run(alias, "SELECT 1 / 0")
        transaction.set_rollback(True, using=alias)
    assert_enforced(alias, pk)
    # Recovered by rolling back to a savepoint made inside the block, after it ended.
    with transaction.atomic(using=alias):
        with ignore(STAMP_URI):
            assert_ignored(alias, pk)
            sid = SAVEPOINT(using=alias)
            with pytest.raises(DatabaseError):
                run(alias, "SELECT 1 / 0")
        transaction.savepoint_rollback(sid, using=alias)
        assert_enforced(alias, pk)
    assert_enforced(alias, pk)
    assert_clean(alias)


def scenario_executemany(route: Route) -> None:
    alias = route.main
    pks = [new_row(alias) for _ in range(3)]
    update = f"UPDATE {TABLE} SET label = %s WHERE id = %s"

    def many(label: str) -> None:
        with connections[alias].cursor() as cursor:
            cursor.executemany(update, [(label, pk) for pk in pks])

    with ignore(STAMP_URI):
        many("many")
    assert {label_of(alias, pk) for pk in pks} == {"many"}
    with transaction.atomic(using=alias), ignore(STAMP_URI):
        many("many2")
        assert {label_of(alias, pk) for pk in pks} == {"many2"}
    many("many3")
    assert {label_of(alias, pk) for pk in pks} == {"stamped"}
    # A failing executemany in autocommit: it behaves as without ignore() (psycopg 3: one
    # transaction; psycopg2: one per row), and nothing is left behind.
    with ignore(STAMP_URI), pytest.raises(DatabaseError), connections[alias].cursor() as cursor:
        cursor.executemany(
            f"UPDATE {TABLE} SET label = %s, value = 1 / %s WHERE id = %s",
            [("x", 1, pks[0]), ("y", 0, pks[1])],
        )
    assert_enforced(alias, pks[0])
    assert_clean(alias)


def scenario_percent_literals(route: Route) -> None:
    alias = route.main
    pk = new_row(alias)
    with ignore(STAMP_URI):
        run(alias, f"UPDATE {TABLE} SET label = '100%' WHERE id = {pk}")  # no params
        assert label_of(alias, pk) == "100%"
        run(alias, f"UPDATE {TABLE} SET label = '50%%' || %s WHERE id = %s", ["!", pk])
        assert label_of(alias, pk) == "50%!"
        assert run(alias, "SELECT '100%'") == [("100%",)]
        assert run(alias, f"SELECT count(*) FROM {TABLE} WHERE label LIKE '5%'") == [(1,)]
    run(alias, f"UPDATE {TABLE} SET label = '100%' WHERE id = {pk}")
    assert label_of(alias, pk) == "stamped"
    assert_clean(alias)


def scenario_composed(route: Route) -> None:
    alias = route.main
    pk = new_row(alias)
    sql = driver_sql()
    statement = sql.SQL("UPDATE {} SET label = {} WHERE id = {}").format(
        sql.Identifier(TABLE), sql.Literal("composed"), sql.Placeholder()
    )
    with ignore(STAMP_URI), connections[alias].cursor() as cursor:
        cursor.execute(statement, [pk])
        assert cursor.rowcount == 1
    assert label_of(alias, pk) == "composed"
    with transaction.atomic(using=alias), ignore(STAMP_URI):
        run(alias, statement, [pk])
        assert label_of(alias, pk) == "composed"
    with connections[alias].cursor() as cursor:
        cursor.execute(statement, [pk])
    assert label_of(alias, pk) == "stamped"
    assert_clean(alias)


def scenario_results_and_rowcount(route: Route) -> None:
    """The cursor shows the statement's own rows and rowcount, not the settings'."""
    alias = route.main
    pks = [new_row(alias) for _ in range(2)]
    with ignore(STAMP_URI), connections[alias].cursor() as cursor:
        cursor.execute(
            f"UPDATE {TABLE} SET label = 'r' WHERE id = ANY(%s) RETURNING id, label", [pks]
        )
        assert cursor.rowcount == 2
        assert sorted(cursor.fetchall()) == [(pk, "r") for pk in sorted(pks)]
        created = Plain.objects.using(alias).create(label="c", value=7)
        assert created.pk
        assert label_of(alias, created.pk) == "c"
        made = Plain.objects.using(alias).bulk_create([Plain(label="b1"), Plain(label="b2")])
        assert all(obj.pk for obj in made)
        assert Plain.objects.using(alias).filter(pk__in=pks).update(value=5) == 2
    assert_enforced(alias, pks[0])
    assert_clean(alias)


def scenario_server_side_cursor(route: Route) -> None:
    alias = route.main
    pks = [new_row(alias) for _ in range(3)]
    rows = Plain.objects.using(alias).filter(pk__in=pks).order_by("pk")

    def each(label: str) -> None:
        for obj in rows.iterator(chunk_size=1):
            set_label(alias, obj.pk, label)

    modes = [True] if route.pooled else [False, True]  # see DISABLE_SERVER_SIDE_CURSORS
    for atomic in modes:
        block = transaction.atomic(using=alias) if atomic else contextlib.nullcontext()
        with block:
            with ignore(STAMP_URI):
                each("it")
                assert {label_of(alias, pk) for pk in pks} == {"it"}
            each("it2")
            assert {label_of(alias, pk) for pk in pks} == {"stamped"}
    assert_clean(alias)


def scenario_several_databases(route: Route) -> None:
    main, other = route.main, route.other
    pk_main, pk_other = new_row(main), new_row(other)
    with ignore(STAMP_URI, databases=[main, other]):
        assert_ignored(main, pk_main)
        assert_ignored(other, pk_other)
    with ignore(STAMP_URI, databases=[other]):
        assert_enforced(main, pk_main)
        assert_ignored(other, pk_other)
        assert is_ignored(STAMP_URI, database=other)
        assert not is_ignored(STAMP_URI, database=main)
    with transaction.atomic(using=main), transaction.atomic(using=other):
        with ignore(STAMP_URI):  # default: every PostgreSQL alias
            assert_ignored(main, pk_main)
            assert_ignored(other, pk_other)
        assert_enforced(main, pk_main)
        assert_enforced(other, pk_other)
    assert_enforced(main, pk_main)
    assert_enforced(other, pk_other)
    assert_clean(main, other)


def scenario_threads(route: Route) -> None:
    alias = route.main
    pk_a, pk_b = new_row(alias), new_row(alias)
    inside, checked = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def ignoring() -> None:
        try:
            with ignore(STAMP_URI):
                inside.set()
                assert checked.wait(10)
                assert_ignored(alias, pk_a)
            assert_enforced(alias, pk_a)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            inside.set()
        finally:
            connections.close_all()

    thread = threading.Thread(target=ignoring)
    thread.start()
    try:
        assert inside.wait(10)
        assert not is_ignored(STAMP_URI)  # the other thread's block is not ours
        assert_enforced(alias, pk_b)
    finally:
        checked.set()
        thread.join(10)
    assert not errors, errors
    assert_enforced(alias, pk_b)
    assert_clean(alias)


def scenario_asyncio(route: Route) -> None:
    alias = route.main
    pks = [new_row(alias) for _ in range(3)]

    @ignore(GUARD_URI)
    async def decorated(pk: int) -> None:
        await Plain.objects.using(alias).filter(pk=pk).adelete()

    async def main() -> None:
        async with ignore(GUARD_URI):
            await Plain.objects.using(alias).filter(pk=pks[0]).adelete()
        with pytest.raises(DatabaseError, match="rt_guard"):
            await Plain.objects.using(alias).filter(pk=pks[1]).adelete()
        await decorated(pks[1])
        with pytest.raises(DatabaseError, match="rt_guard"):
            await Plain.objects.using(alias).filter(pk=pks[2]).adelete()

        # Two tasks at once: only the one in the block ignores.
        started, go = asyncio.Event(), asyncio.Event()

        async def ignoring() -> str:
            async with ignore(STAMP_URI):
                started.set()
                await go.wait()
                await Plain.objects.using(alias).filter(pk=pks[2]).aupdate(label="task")
            return (await Plain.objects.using(alias).aget(pk=pks[2])).label

        async def plain() -> bool:
            await started.wait()
            seen = is_ignored(STAMP_URI)
            go.set()
            return seen

        label, seen = await asyncio.gather(ignoring(), plain())
        assert (label, seen) == ("task", False)
        await sync_to_async(connections.close_all)()  # the worker thread's connections

    asyncio.run(main())
    assert [pk for pk in pks if Plain.objects.using(alias).filter(pk=pk).exists()] == [pks[2]]
    assert_enforced(alias, pks[2])
    assert_clean(alias)


def scenario_deferrable(route: Route) -> None:
    alias = route.main
    # The ignore wraps the commit, where the deferred trigger runs: skipped.
    with ignore(DEFERRED_URI), transaction.atomic(using=alias):
        new_row(alias, value=13)
    # An ignore inside the transaction has ended by the commit: enforced (documented).
    with (
        pytest.raises(DatabaseError, match="rt_deferred"),
        transaction.atomic(using=alias),
        ignore(DEFERRED_URI),
    ):
        new_row(alias, value=13)
    # Autocommit: the statement's own transaction commits with the value still set.
    with ignore(DEFERRED_URI):
        new_row(alias, value=13)
    with pytest.raises(DatabaseError, match="rt_deferred"):
        new_row(alias, value=13)
    assert Plain.objects.using(alias).filter(value=13).count() == 2
    assert_clean(alias)


def scenario_write_statements(route: Route) -> None:
    """MERGE, writing CTEs and TRUNCATE get the value; plain SELECTs are left alone."""
    alias = route.main
    pk = new_row(alias)
    merge = (
        f"MERGE INTO {TABLE} t USING (SELECT %s::bigint AS id) s ON t.id = s.id "
        "WHEN MATCHED THEN UPDATE SET label = 'merged'"
    )
    if connections[alias].pg_version < 150000:  # type: ignore[attr-defined]
        # No MERGE before PostgreSQL 15: the same write as an UPDATE.
        merge = f"UPDATE {TABLE} SET label = 'merged' WHERE id = %s"
    cte = f"WITH changed AS (UPDATE {TABLE} SET label = 'cte' WHERE id = %s RETURNING id) " + (
        "SELECT count(*) FROM changed"
    )
    with ignore(STAMP_URI):
        run(alias, merge, [pk])
        assert label_of(alias, pk) == "merged"
        assert run(alias, cte, [pk]) == [(1,)]
        assert label_of(alias, pk) == "cte"
    run(alias, merge, [pk])
    assert label_of(alias, pk) == "stamped"
    with transaction.atomic(using=alias):
        with ignore(TRUNCATE_URI):
            run(alias, f"TRUNCATE {TABLE} CASCADE")
        assert_refused(alias, "rt_no_truncate", lambda: run(alias, f"TRUNCATE {TABLE} CASCADE"))
        transaction.set_rollback(True, using=alias)  # keep the rows
    # CALL and DO may commit inside: in autocommit they are sent as written (so the trigger
    # fires); in a transaction they cannot commit, and they get the value (documented).
    with ignore(STAMP_URI):
        run(alias, "CALL rt_touch(%s)", [pk])
        assert label_of(alias, pk) == "stamped"
        with transaction.atomic(using=alias):
            run(alias, "CALL rt_touch(%s)", [pk])
            assert label_of(alias, pk) == "proc"
            run(alias, f"DO $$ BEGIN UPDATE {TABLE} SET label = 'do' WHERE id = {pk}; END $$")
            assert label_of(alias, pk) == "do"
    with ignore(TRUNCATE_URI, GUARD_URI):
        run(alias, f"DELETE FROM {TABLE} WHERE id = %s", [pk])
    assert_refused(alias, "rt_no_truncate", lambda: run(alias, f"TRUNCATE {TABLE} CASCADE"))
    assert_clean(alias)


def scenario_raw_paths(route: Route) -> None:
    """COPY and the raw driver connection bypass Django's wrappers: set_local/local_sql."""
    alias = route.main
    connection = connections[alias]
    copy_sql = f"COPY {TABLE} (value, label) FROM STDIN"

    def copy_rows(label: str) -> None:
        with connection.cursor() as cursor:
            if is_psycopg3:
                with cursor.copy(copy_sql) as copy:
                    copy.write_row((21, label))
            else:
                import io

                cursor.copy_expert(copy_sql, io.StringIO(f"21\t{label}\n"))

    def labels() -> set[str]:
        return {label for (label,) in run(alias, f"SELECT label FROM {TABLE} WHERE value = 21")}

    with ignore(STAMP_URI), transaction.atomic(using=alias):
        set_local(alias)
        copy_rows("copied")
    assert labels() == {"copied"}
    with ignore(STAMP_URI), transaction.atomic(using=alias):
        copy_rows("bypass")  # without set_local the trigger fires: COPY is not seen
    assert labels() == {"copied", "stamped"}
    with ignore(STAMP_URI):
        with pytest.raises(NotInTransactionError, match="transaction.atomic"):
            set_local(alias)
        statement = local_sql(alias)
        assert "pgtrigger.ignore" in statement
        raw = connection.connection
        with transaction.atomic(using=alias), raw.cursor() as cursor:
            cursor.execute(statement)
            cursor.execute(f"UPDATE {TABLE} SET label = 'raw' WHERE value = 21")
    assert labels() == {"raw"}
    # A SELECT that calls a writing function is never given the value (SELECTs are sent as
    # written); set_local() gives it to the transaction.
    (pk,) = run(alias, f"SELECT id FROM {TABLE} WHERE value = 21 LIMIT 1")[0]
    with ignore(STAMP_URI):
        run(alias, "SELECT rt_touch_fn(%s)", [pk])
        assert label_of(alias, pk) == "stamped"
        with transaction.atomic(using=alias):
            set_local(alias)
            run(alias, "SELECT rt_touch_fn(%s)", [pk])
            assert label_of(alias, pk) == "func"
    run(alias, f"UPDATE {TABLE} SET label = 'raw' WHERE id = %s", [pk])
    assert labels() == {"stamped", "raw"}
    assert local_sql(alias) == ""
    copy_rows("after")
    assert labels() == {"raw", "stamped"}
    assert_clean(alias)


def scenario_schema(route: Route) -> None:
    alias = route.main
    default_path = run(alias, "SHOW search_path")[0][0]
    count = f"SELECT count(*) FROM {TABLE}"
    with schema("rt_tenant"):
        assert run(alias, "SHOW search_path") == [("rt_tenant",)]
        with schema("rt_tenant", "public"):  # nested: only new schemas are appended
            assert run(alias, "SHOW search_path") == [("rt_tenant, public",)]
            assert run(alias, count) == [(1,)]  # the tenant's table, which has one row
            assert Plain.objects.using(alias).count() == 1
        assert run(alias, "SELECT current_schemas(false)") == [(["rt_tenant"],)]
        with schema("public"):  # a server-side cursor (DECLARE) in autocommit, too
            assert [o.label for o in Plain.objects.using(alias).iterator(chunk_size=1)] == [
                "tenant"
            ]
    assert run(alias, "SHOW search_path") == [(default_path,)]
    with transaction.atomic(using=alias):
        run(alias, "SET LOCAL search_path = public, rt_tenant")  # restored exactly after
        with schema("rt_tenant", "public"):
            assert run(alias, count) == [(1,)]
            assert run(alias, "SHOW search_path") == [("rt_tenant, public",)]
        assert run(alias, "SHOW search_path") == [("public, rt_tenant",)]
    with schema("rt_tenant", "public"), transaction.atomic(using=alias):
        assert Plain.objects.using(alias).count() == 1
    pk = new_row(alias)  # in public: both settings at once, in one statement or transaction
    for atomic in (False, True):
        block = transaction.atomic(using=alias) if atomic else contextlib.nullcontext()
        with schema("rt_tenant", "public"), ignore(STAMP_URI), block:
            run(alias, f"UPDATE public.{TABLE} SET label = 'both' WHERE id = %s", [pk])
            assert run(alias, count) == [(1,)]
            public_label = f"SELECT label FROM public.{TABLE} WHERE id = %s"
            assert run(alias, public_label, [pk]) == [("both",)]
        assert_enforced(alias, pk)
    assert run(alias, "SHOW search_path") == [(default_path,)]
    assert_clean(alias)


def scenario_schema_changed_by_raw_sql(route: Route) -> None:
    """django-pgtrigger 4.17's semantics for a search_path that raw SQL changes: a block
    puts back what the transaction held when it was entered (also after raw SQL changed
    it between two blocks), overwriting a change made inside it; in autocommit a session
    SET made inside a block outlives it."""
    alias = route.main

    def path() -> str:
        return str(run(alias, "SHOW search_path")[0][0])

    default = path()
    with transaction.atomic(using=alias):
        with schema("rt_a"):
            assert path() == "rt_a"
        assert path() == default
        run(alias, "SET LOCAL search_path = rt_custom")  # raw SQL between two blocks
        assert path() == "rt_custom"
        with schema("rt_b"):
            assert path() == "rt_b"
        assert path() == "rt_custom"  # what the raw SQL set, not the older value
        with schema("rt_c"):
            run(alias, "SET LOCAL search_path = rt_inside")  # raw SQL inside a block
        assert path() == "rt_custom"
    assert path() == default
    if not route.pooled:  # a session-level SET has no place behind a transaction pooler
        with schema("rt_a"):
            run(alias, "SET search_path = rt_custom")
            assert path() == "rt_a"
        assert path() == "rt_custom"
        run(alias, f"SET search_path = {default}")
        assert path() == default
    assert_clean(alias)


def scenario_constraints(route: Route) -> None:
    alias = route.main
    with pytest.raises(NotInTransactionError, match=f'Database "{alias}" is not in a transaction'):
        constraints(pgtrigger.Immediate, DEFERRED_URI, databases=[alias])
    with pytest.raises(DeclarationError, match="not deferrable"):
        constraints(pgtrigger.Immediate, STAMP_URI, databases=[alias])
    with transaction.atomic(using=alias):
        constraints(pgtrigger.Immediate, DEFERRED_URI, databases=[alias])
        # Now the trigger runs at the statement, not at the commit.
        assert_refused(alias, "rt_deferred", lambda: new_row(alias, value=13))
        constraints(pgtrigger.Deferred, "testapp.Plain:*", databases=[alias])
        new_row(alias, value=13)  # deferred again: refused only at commit...
        transaction.set_rollback(True, using=alias)  # ...which does not happen
    with transaction.atomic(using=alias), ignore(DEFERRED_URI):
        constraints(pgtrigger.Immediate, DEFERRED_URI, databases=[alias])
        new_row(alias, value=13)  # immediate, and ignored
        transaction.set_rollback(True, using=alias)
    assert_clean(alias)


#: The blocks of scenario_combinations: "i" ignore(), "s" schema(), "c" constraints().
COMBINATIONS = {
    "autocommit": ["i", "s", "is", "si"],  # constraints() needs a transaction
    "atomic outside": [
        "".join(order) for n in (1, 2, 3) for order in itertools.permutations("isc", n)
    ],
    "atomic inside": ["i", "s", "is", "si"],
}
COMBINED_PATH = "public, rt_tenant"  # differs from the default; public's table comes first


def check_statement_results(alias: str, ignored: bool) -> list[int]:
    """ORM and raw statements return their own rowcount and RETURNING rows; return the pks."""
    rows = Plain.objects.using(alias)
    created = rows.create(label="made", value=1)  # INSERT ... RETURNING
    assert created.pk is not None
    made = rows.bulk_create([Plain(label="bulk"), Plain(label="bulk")])
    assert all(obj.pk is not None for obj in made)
    assert rows.filter(pk=created.pk).update(label="upd") == 1
    created.label = "saved"
    created.save()  # an UPDATE that must report one row, or Django falls back to INSERT
    pks = [created.pk, *(obj.pk for obj in made)]
    with connections[alias].cursor() as cursor:
        cursor.execute(
            f"UPDATE {TABLE} SET label = 'raw' WHERE id = ANY(%s) RETURNING id, label", [pks]
        )
        assert cursor.rowcount == 3
        assert sorted(cursor.fetchall()) == [(pk, "raw" if ignored else "stamped") for pk in pks]
    assert rows.filter(pk__in=pks).count() == 3
    return pks


def scenario_combinations(route: Route) -> None:
    """ignore(), schema() and constraints() in every order, in autocommit and in atomic: each
    statement returns its own results, the trigger is skipped inside and enforced after."""
    alias = route.main
    default_path = run(alias, "SHOW search_path")[0][0]
    for mode, orders in COMBINATIONS.items():
        for order in orders:
            where = f"{mode}, order {order!r}"
            outside = mode == "atomic outside"
            with transaction.atomic(using=alias) if outside else contextlib.nullcontext():
                with contextlib.ExitStack() as stack:
                    for step in order:
                        if step == "i":
                            stack.enter_context(ignore(STAMP_URI, DEFERRED_URI, databases=[alias]))
                        elif step == "s":
                            stack.enter_context(schema("public", "rt_tenant", databases=[alias]))
                        else:
                            constraints(pgtrigger.Immediate, DEFERRED_URI, databases=[alias])
                    if mode == "atomic inside":
                        stack.enter_context(transaction.atomic(using=alias))
                    pks = check_statement_results(alias, ignored="i" in order)
                    labels = {label_of(alias, pk) for pk in pks}
                    assert labels == {"raw" if "i" in order else "stamped"}, where
                    if "s" in order:
                        assert run(alias, "SHOW search_path") == [(COMBINED_PATH,)], where
                    if "c" in order and "i" in order:
                        new_row(alias, value=13)  # immediate now, and ignored: accepted
                    elif "c" in order:
                        assert_refused(alias, "rt_deferred", lambda: new_row(alias, value=13))
                if "c" in order:  # still immediate after the blocks, and enforced again
                    assert_refused(alias, "rt_deferred", lambda: new_row(alias, value=13))
            # After the blocks: enforced again, the default path back, the rows still there.
            assert_enforced(alias, pks[0])
            assert run(alias, "SHOW search_path") == [(default_path,)], where
            assert Plain.objects.using(alias).filter(pk__in=pks).count() == 3, where
            cleanup(alias)
    assert_clean(alias)


SCENARIOS: dict[str, Callable[[Route], None]] = {
    name.removeprefix("scenario_"): func
    for name, func in dict(globals()).items()
    if name.startswith("scenario_")
}
#: Scenarios that also run on a psycopg 3 alias with server-side binding.
SERVER_BINDING = [
    "autocommit_orm",
    "atomic",
    "executemany",
    "percent_literals",
    "composed",
    "results_and_rowcount",
    "server_side_cursor",
    "deferrable",
    "schema",
    "combinations",
]


# -- fixtures ----------------------------------------------------------------------------------


def cleanup(*aliases: str) -> None:
    for alias in aliases:
        with ignore(GUARD_URI, TRUNCATE_URI, databases=[alias]):
            run(alias, f"DELETE FROM {TABLE}")


def prepare_databases() -> None:
    for alias in DATABASES:
        pgtrigger.install(*(t.get_uri(Plain) for t in TRIGGERS), database=alias)
    run(
        "default",
        "CREATE SCHEMA IF NOT EXISTS rt_tenant; "
        f"CREATE TABLE IF NOT EXISTS rt_tenant.{TABLE} (LIKE public.{TABLE} INCLUDING ALL); "
        f"INSERT INTO rt_tenant.{TABLE} (value, label) VALUES (1, 'tenant'); "
        "CREATE OR REPLACE PROCEDURE public.rt_touch(pk bigint) LANGUAGE sql AS "
        f"$$ UPDATE public.{TABLE} SET label = 'proc' WHERE id = pk $$; "
        "CREATE OR REPLACE FUNCTION public.rt_touch_fn(pk bigint) RETURNS void LANGUAGE sql AS "
        f"$$ UPDATE public.{TABLE} SET label = 'func' WHERE id = pk $$",
    )


def unprepare_databases() -> None:
    with contextlib.suppress(Exception):
        run(
            "default",
            "DROP SCHEMA IF EXISTS rt_tenant CASCADE; DROP PROCEDURE IF EXISTS rt_touch; "
            "DROP FUNCTION IF EXISTS rt_touch_fn",
        )
    for alias in DATABASES:
        with contextlib.suppress(Exception):
            cleanup(alias)
        pgtrigger.uninstall(*(t.get_uri(Plain) for t in TRIGGERS), database=alias)


@pytest.fixture(scope="module")
def both_databases(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Both test databases, also when pytest-django set up only "default".

    pytest-django creates the databases that the ``django_db`` marks of the selected tests
    name; these tests carry none (test_both_test_databases_exist is there for that), so
    under ``-k`` the second one may be missing: create it here, and drop it afterwards.
    """
    created = []
    with django_db_blocker.unblock():
        for alias in DATABASES:
            entry = connections[alias].settings_dict
            if entry.get("TEST", {}).get("NAME") not in (None, entry["NAME"]):
                created.append((alias, entry["NAME"]))
                connections[alias].creation.create_test_db(verbosity=0, autoclobber=True)
    yield
    with django_db_blocker.unblock():
        for alias, old_name in created:
            connections[alias].creation.destroy_test_db(old_name, verbosity=0)


@pytest.fixture(scope="module")
def database_access(both_databases: None, django_db_blocker: Any) -> Iterator[None]:
    """Real connections to the test databases, for the whole module, with our triggers."""
    with django_db_blocker.unblock():
        register_triggers()
        try:
            prepare_databases()
            yield
        finally:
            try:
                unprepare_databases()
            finally:
                unregister_triggers()
                connections.close_all()


@pytest.fixture(scope="module")
def bouncer(database_access: None) -> Iterator[pgbouncer.Bouncer]:
    binary = pgbouncer.find()
    if binary is None:
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer)")
    settings = connections["default"].settings_dict
    if not settings["PORT"] or str(settings["HOST"]).startswith("/"):
        pytest.skip("the pooled tests need the test server on TCP (HOST and PORT)")
    started = pgbouncer.start(
        settings["HOST"] or "127.0.0.1",
        int(settings["PORT"]),
        binary,
        user=settings["USER"] or "postgres",
        password=settings["PASSWORD"] or "",
    )
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def pooled(bouncer: pgbouncer.Bouncer) -> Iterator[Route]:
    route = pooled_aliases(bouncer.port)
    try:
        yield route
    finally:
        drop_alias(route.main)
        drop_alias(route.other)


@pytest.fixture
def clean(database_access: None) -> Iterator[None]:
    """Per test: start clean, end clean (rows deleted, no transaction left open)."""
    yield
    aliases = [a for a in connections.settings if connections[a].vendor == "postgresql"]
    cleanup(*aliases)


def route_for(request: pytest.FixtureRequest, name: str) -> Route:
    return DIRECT if name == "direct" else request.getfixturevalue("pooled")


@pytest.mark.django_db(databases=list(DATABASES))
def test_both_test_databases_exist() -> None:
    """Also tells pytest-django (which sets up the databases its marks name) to create both
    test databases when this module runs alone: the other tests here carry no mark."""
    names = {connections[alias].settings_dict["NAME"] for alias in DATABASES}
    assert len(names) == 2
    assert all(name.startswith("test_") for name in names)


# -- tests: pure -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "kind"),
    [
        ('UPDATE "t" SET a = 1', Kind.WRITE),
        ("  insert into t values (1)", Kind.WRITE),
        ("/* c */ -- line\n DELETE FROM t", Kind.WRITE),
        ("MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE", Kind.WRITE),
        ("COPY t FROM STDIN", Kind.WRITE),
        ("TRUNCATE t", Kind.WRITE),
        ("EXECUTE plan(1)", Kind.WRITE),
        ("WITH x AS (DELETE FROM t RETURNING 1) SELECT * FROM x", Kind.WRITE),
        ("WITH x AS (SELECT 1) UPDATE t SET a = 1", Kind.WRITE),
        ("EXPLAIN ANALYZE INSERT INTO t VALUES (1)", Kind.WRITE),
        ("WITH x AS (SELECT 1) SELECT * FROM x", Kind.READ),
        ("WITH x AS (SELECT * FROM t FOR UPDATE) SELECT 1", Kind.READ),
        ("WITH x AS (SELECT * FROM t FOR NO KEY UPDATE) SELECT 1", Kind.READ),
        ("WITH updated_at AS (SELECT 1) SELECT 2", Kind.READ),
        ("SELECT * FROM t WHERE x = 'UPDATE'", Kind.READ),
        ("SELECT 1 FOR UPDATE", Kind.READ),
        ("(SELECT 1) UNION (SELECT 2)", Kind.READ),
        ("VALUES (1)", Kind.READ),
        ("SHOW search_path", Kind.READ),
        ("CREATE TABLE t (a int)", Kind.READ),
        ("CALL proc()", Kind.PROCEDURE),
        ("DO $$ BEGIN END $$", Kind.PROCEDURE),
        ('SAVEPOINT "s1"', Kind.TRANSACTION),
        ("ROLLBACK TO SAVEPOINT s1", Kind.TRANSACTION),
        ("COMMIT", Kind.TRANSACTION),
        ("PREPARE TRANSACTION 'x'", Kind.TRANSACTION),
        ("PREPARE p AS UPDATE t SET a = 1", Kind.READ),
        ("VACUUM t", Kind.NO_TRANSACTION),
        ("CREATE INDEX CONCURRENTLY i ON t (a)", Kind.NO_TRANSACTION),
        ("DROP DATABASE x", Kind.NO_TRANSACTION),
        ("ALTER SYSTEM SET x = 1", Kind.NO_TRANSACTION),
        ("", Kind.READ),
        ("   ", Kind.READ),
    ],
)
def test_classify(statement: str, kind: Kind) -> None:
    assert classify(statement) is kind
    assert classify(statement) is kind  # again, from the cache


def test_classify_cache_is_bounded() -> None:
    """Texts with inlined values must not grow the cache without limit."""
    for i in range(statements._KINDS_MAX + 10):
        assert classify(f"UPDATE t SET a = {i}") is Kind.WRITE
    assert len(statements._KINDS) <= statements._KINDS_MAX
    long_text = "SELECT 1" + " " * statements._KIND_TEXT_MAX
    assert classify(long_text) is Kind.READ
    assert long_text not in statements._KINDS


def test_savepoint_statements() -> None:
    assert savepoint_op('SAVEPOINT "s1_x2"') == (SavepointOp.CREATE, "s1_x2")
    assert savepoint_op("release savepoint S1") == (SavepointOp.RELEASE, "s1")
    assert savepoint_op("RELEASE s1") == (SavepointOp.RELEASE, "s1")
    assert savepoint_op('ROLLBACK TO SAVEPOINT "a""b";') == (SavepointOp.ROLLBACK, 'a"b')
    assert savepoint_op("ROLLBACK TO s") == (SavepointOp.ROLLBACK, "s")
    assert savepoint_op("ROLLBACK") is None
    assert savepoint_op("SAVEPOINT a; UPDATE t SET x = 1") is None


def test_values_and_statements() -> None:
    assert ignore_value(["b", "a", "a"]) == '{"a","b"}'
    assert ignore_value(['q"x', "b\\s"]) == '{"b\\\\s","q\\"x"}'
    assert search_path_value(["hello", "$user", "Mixed", "public"]) == (
        'hello, "$user", "Mixed", public'
    )
    assert set_config({"pgtrigger.ignore": "{a}"}) == (
        "SELECT set_config('pgtrigger.ignore', '{a}', true)"
    )
    assert set_config({"pgtrigger.ignore": "", "search_path": "x"}, ["search_path"]) == (
        "SELECT s.p0, set_config('pgtrigger.ignore', '', true), "
        "set_config('search_path', 'x', true) FROM "
        "(SELECT current_setting('search_path', true) AS p0 OFFSET 0) AS s"
    )


def test_selectors_nesting_and_is_ignored(database_access: None) -> None:
    stamp, guard = STAMP.get_pgid(Plain), GUARD.get_pgid(Plain)
    with pytest.raises(UnknownTriggerError, match='URI "testapp.Plain:nope" not found'):
        is_ignored("testapp.Plain:nope")
    # As django-pgtrigger: any "...:..." not registered is a KeyError, no colon a ValueError.
    for unknown in ("doesnot:exist", "a:b:c"):
        with pytest.raises(KeyError, match=f'URI "{unknown}" not found in pgtrigger registry'):
            is_ignored(unknown)
        with pytest.raises(KeyError, match="not found"), ignore(unknown):
            pass
    with pytest.raises(ValueError, match="must be in the format"):
        is_ignored("wrongformat")
    with pytest.raises(UnknownTriggerError, match="not found"), ignore("testapp.Plain:nope"):
        pass
    with pytest.raises(UnknownTriggerError, match="not found"), ignore("*:nope_*"):
        pass
    assert runtime_context.CURRENT.get() is runtime_context.EMPTY
    assert not is_ignored(STAMP_URI)
    with ignore("testapp.Plain:rt_*"):
        assert is_ignored(STAMP_URI)
        assert is_ignored(GUARD_URI)
        assert not is_ignored("testapp.Versioned:bump_version")
    with ignore("*:rt_stamp"):
        assert is_ignored(STAMP_URI)
        assert not is_ignored(GUARD_URI)
    with ignore(Plain):
        assert is_ignored(Plain)
        assert is_ignored(DEFERRED_URI)
    with ignore():  # every registered trigger
        assert is_ignored("testapp.Versioned:bump_version")
        assert is_ignored(STAMP_URI)
    block = ignore(STAMP_URI, databases=["default"])
    with block:
        with block:  # the same instance, nested
            assert is_ignored(STAMP_URI, database="default")
        assert is_ignored(STAMP_URI)
        assert not is_ignored(STAMP_URI, database="other")
        with ignore(GUARD_URI, databases=["default"]):
            alias_state = runtime_context.CURRENT.get().aliases["default"]
            assert alias_state.ignored == {stamp, guard}
            assert alias_state.ignore_value == ignore_value([stamp, guard])
    assert not is_ignored(STAMP_URI)

    @ignore(STAMP_URI)
    def decorated() -> bool:
        return is_ignored(STAMP_URI)

    assert decorated()
    assert decorated()
    assert not is_ignored(STAMP_URI)
    with ignore.session(), ignore.session(databases=["other"]), schema.session():
        assert not is_ignored(STAMP_URI)


def test_out_of_order_exit_is_refused(database_access: None) -> None:
    outer, inner = ignore(STAMP_URI), ignore(GUARD_URI)
    outer.__enter__()
    inner.__enter__()
    with pytest.raises(RuntimeError, match="out of order"):
        outer.__exit__(None, None, None)
    inner.__exit__(None, None, None)
    outer.__exit__(None, None, None)
    assert runtime_context.CURRENT.get() is runtime_context.EMPTY


def test_argument_errors(database_access: None) -> None:
    with pytest.raises(DeclarationError, match="not a string"):
        ignore(STAMP_URI, databases="default")
    with (
        pytest.raises(DeclarationError, match="not in settings.DATABASES"),
        ignore(databases=["nope"]),
    ):
        pass
    with pytest.raises(DeclarationError, match="schema names"):
        schema("")
    with pytest.raises(DeclarationError, match="Immediate or Deferred"):
        constraints("LATER", DEFERRED_URI)
    with pytest.raises(DeclarationError, match="no deferrable trigger"):
        constraints(pgtrigger.Immediate, "*:rt_stamp")
    with pytest.raises(NotInTransactionError), transaction.atomic(using="default"):
        # Both databases hold rt_deferred by default, and "other" is not in a transaction.
        constraints(pgtrigger.Deferred, DEFERRED_URI)


# -- tests: scenarios on a real PostgreSQL ------------------------------------------------------


@pytest.mark.parametrize("route_name", ["direct", "pooled"])
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario(request: pytest.FixtureRequest, clean: None, name: str, route_name: str) -> None:
    SCENARIOS[name](route_for(request, route_name))


@pytest.mark.skipif(not is_psycopg3, reason="server-side binding is a psycopg 3 option")
@pytest.mark.parametrize(
    ("name", "route_name"),
    [*((name, "direct") for name in SERVER_BINDING), ("combinations", "pooled")],
)
def test_scenario_server_side_binding(
    request: pytest.FixtureRequest, clean: None, name: str, route_name: str
) -> None:
    route = route_for(request, route_name)
    options: dict[str, Any] = {"server_side_binding": True}
    if route.pooled:  # PgBouncer 1.18 in transaction mode: no named prepared statements
        options["prepare_threshold"] = None
    add_alias("rt_ssb", route.main, OPTIONS=options)
    add_alias("rt_ssb_other", route.other, OPTIONS=options)
    try:
        SCENARIOS[name](Route("ssb", "rt_ssb", "rt_ssb_other", pooled=route.pooled))
    finally:
        cleanup("rt_ssb", "rt_ssb_other")
        drop_alias("rt_ssb")
        drop_alias("rt_ssb_other")


def test_constraints_only_where_installed(clean: None, settings: Any) -> None:
    settings.DATABASE_ROUTERS = ["tests.routers.OnlyDefault"]
    with transaction.atomic(using="default"):  # "other" is not in a transaction: not needed
        constraints(pgtrigger.Immediate, DEFERRED_URI)
        assert_refused("default", "rt_deferred", lambda: new_row("default", value=13))
        transaction.set_rollback(True, using="default")


def theirs(execute: Any, sql: Any, params: Any, many: bool, context: Any) -> Any:
    """Another library's wrapper, as django-pghistory's context() writes it: a transaction-
    local setting in front of the statement, and the cursor moved to the last result."""
    result = execute(f"SELECT set_config('rt.other', 'on', true); {sql}", params, many, context)
    if is_psycopg3:
        while context["cursor"].cursor.nextset():
            pass
    return result


def probe(alias: str, pk: int) -> tuple[str, str]:
    """(label, rt.other) as one UPDATE sees them: "free" if rt_stamp is ignored, else
    "stamped"; "on" if ``theirs`` ran for it, else "off". Also checks the rowcount."""
    with connections[alias].cursor() as cursor:
        cursor.execute(
            f"UPDATE {TABLE} SET label = 'free' WHERE id = %s RETURNING label, "
            "coalesce(nullif(current_setting('rt.other', true), ''), 'off')",
            [pk],
        )
        assert cursor.rowcount == 1
        label, other = cursor.fetchone()
    return str(label), str(other)


def assert_wrappers(alias: str) -> None:
    """Ours is installed once and ``theirs`` is gone."""
    connection = connections[alias]
    runtime = runtime_of(connection)
    assert runtime is not None
    assert connection.execute_wrappers.count(runtime) == 1
    assert theirs not in connection.execute_wrappers


@pytest.mark.parametrize("where", ["thread", "sync_to_async", "this thread"])
def test_wrapper_created_inside_another_wrapper_block(clean: None, where: str) -> None:
    """A connection opened inside another library's ``execute_wrapper()`` block (a new
    thread, a sync_to_async worker): that block's exit removes its wrapper, never ours."""
    add_alias("rt_fresh", "default")
    pk = new_row("rt_fresh")
    if where == "this thread":
        connections["rt_fresh"].close()
        del connections["rt_fresh"]  # a new connection object, opened in the block below

    def in_new_connection() -> None:
        with connections["rt_fresh"].execute_wrapper(theirs):
            assert probe("rt_fresh", pk) == ("stamped", "on")  # connects: ours is created
        assert_wrappers("rt_fresh")
        assert probe("rt_fresh", pk) == ("stamped", "off")
        with ignore(STAMP_URI):
            assert probe("rt_fresh", pk) == ("free", "off")
        assert probe("rt_fresh", pk) == ("stamped", "off")
        assert_wrappers("rt_fresh")

    def closing() -> None:
        try:
            in_new_connection()
        finally:
            connections["rt_fresh"].close()

    try:
        if where == "thread":
            errors: list[BaseException] = []
            thread = threading.Thread(target=lambda: _collect(errors, closing))
            thread.start()
            thread.join(30)
            assert not errors, errors
        elif where == "sync_to_async":

            async def main() -> None:
                async with ignore(GUARD_URI):  # the worker inherits this context
                    await sync_to_async(closing, thread_sensitive=False)()

            asyncio.run(main())
        else:
            in_new_connection()
    finally:
        cleanup("rt_fresh")
        drop_alias("rt_fresh")


def _collect(errors: list[BaseException], func: Callable[[], None]) -> None:
    try:
        func()
    except BaseException as exc:  # reported by the main thread
        errors.append(exc)


@pytest.mark.parametrize("fresh", [True, False], ids=["opened inside", "already open"])
@pytest.mark.parametrize("outer", ["theirs", "ours"])
def test_wrapper_blocks_nested_in_each_order(clean: None, outer: str, fresh: bool) -> None:
    """``execute_wrapper()`` and ignore() blocks nested either way: inside, both wrappers
    act on the same statement; after each block, only that block's effect is gone. A
    wrapper another library keeps installed for good stays too."""
    alias = "rt_nest" if fresh else "default"
    if fresh:  # a new connection object: it connects inside the outer block
        add_alias(alias, "default")
    pk = new_row("default")
    connection = connections[alias]
    permanent: list[str] = []

    def keeper(execute: Any, sql: Any, params: Any, many: bool, context: Any) -> Any:
        permanent.append(str(sql))
        return execute(sql, params, many, context)

    connection.execute_wrappers.append(keeper)
    try:
        if outer == "theirs":
            with connection.execute_wrapper(theirs):
                assert probe(alias, pk) == ("stamped", "on")
                with ignore(STAMP_URI):
                    assert probe(alias, pk) == ("free", "on")
                assert probe(alias, pk) == ("stamped", "on")
        else:
            with ignore(STAMP_URI):
                assert probe(alias, pk) == ("free", "off")
                with connection.execute_wrapper(theirs):
                    assert probe(alias, pk) == ("free", "on")
                assert probe(alias, pk) == ("free", "off")
        assert_wrappers(alias)
        assert probe(alias, pk) == ("stamped", "off")
        with ignore(STAMP_URI):
            assert probe(alias, pk) == ("free", "off")
        assert keeper in connection.execute_wrappers
        assert len(permanent) == 5
    finally:
        connection.execute_wrappers.remove(keeper)
        if fresh:
            drop_alias(alias)


# -- tests: what goes over the wire -------------------------------------------------------------


@contextlib.contextmanager
def wire(alias: str) -> Iterator[list[str]]:
    """The messages libpq sends on ``alias`` in the block (psycopg 3's libpq trace)."""
    connection = connections[alias]
    connection.ensure_connection()
    with libpq_trace(connection.connection) as sent:
        yield sent


@pytest.mark.skipif(not is_psycopg3, reason="counts messages with psycopg 3's libpq trace")
def test_round_trips(clean: None) -> None:
    pk = new_row("default")
    rows = Plain.objects.filter(pk=pk)
    with ignore(STAMP_URI), wire("default") as sent:
        list(rows)
        rows.update(value=1)
        rows.update(value=2)
    assert len(sent) == 3  # no extra message, ever, in autocommit
    assert sent[0].startswith("SELECT")  # plain SELECTs untouched
    assert all(s.startswith("SET LOCAL pgtrigger.ignore TO '{") for s in sent[1:])

    with transaction.atomic(), ignore(STAMP_URI), wire("default") as sent:
        list(rows)
        rows.update(value=3)
        rows.update(value=4)
        list(rows)
    # BEGIN (the driver's), then one set_config for the whole transaction.
    assert [s.split()[0] for s in sent] == [
        "BEGIN",
        "SELECT",
        "SELECT",
        "UPDATE",
        "UPDATE",
        "SELECT",
    ]
    assert "set_config" not in sent[1]
    assert "set_config('pgtrigger.ignore'" in sent[2]

    with transaction.atomic(), wire("default") as sent:
        with ignore(STAMP_URI):
            rows.update(value=5)
        rows.update(value=6)
    assert [s.split()[0] for s in sent] == ["BEGIN", "SELECT", "UPDATE", "SELECT", "UPDATE"]
    assert "set_config('pgtrigger.ignore', '', true)" in sent[3]  # the value before, back

    with wire("default") as sent:
        list(rows)
        rows.update(value=7)
    assert [s.split()[0] for s in sent] == ["SELECT", "UPDATE"]


@pytest.mark.skipif(not is_psycopg3, reason="reads psycopg 3's libpq trace")
def test_only_transaction_local_settings_are_sent(clean: None) -> None:
    """Whatever the scenario, no session-level setting ever leaves the client."""
    traced = ["autocommit_orm", "exception_exit", "atomic", "nested_blocks", "savepoints",
              "errored_transaction", "executemany", "composed", "deferrable", "schema",
              "write_statements", "constraints", "combinations"]  # fmt: skip
    sent: list[str] = []
    for name in traced:
        with wire("default") as statements:
            SCENARIOS[name](DIRECT)
        sent += statements
        cleanup("default")
    ours = [s for s in sent if "pgtrigger.ignore" in s or "search_path" in s.lower()]
    assert any("set_config" in s for s in ours)
    assert any("SET LOCAL" in s for s in ours)
    for statement in ours:
        assert not re.search(r"set_config\([^()]*,\s*false\)", statement), statement
        for match in re.finditer(r"\bSET\s+(\w+)\s+(?:pgtrigger\.ignore|search_path)", statement):
            assert match.group(1).upper() == "LOCAL", statement
        assert not re.search(r"\bSET\s+(?:SESSION\s+)?(?:pgtrigger\.ignore|search_path)", statement)
        assert "RESET" not in statement.upper(), statement


# -- psycopg2, in a subprocess -------------------------------------------------------------------

CHILD = """
import json, os, sys
sys.modules["psycopg"] = None  # Django falls back to psycopg2
import django
from django.conf import settings
settings.DATABASES.update(json.loads(os.environ["RT_DATABASES"]))
django.setup()
from tests import test_runtime
sys.exit(test_runtime.child_main(json.loads(os.environ["RT_ROUTES"])))
"""


def child_main(routes: list[dict[str, Any]]) -> int:
    """Entry point of the psycopg2 subprocess: every scenario on every route given."""
    from django.db import connection

    connection.ensure_connection()
    assert type(connection.connection).__module__.startswith("psycopg2"), connection.connection
    register_triggers()
    failed = 0
    for data in routes:
        route = Route(**data)
        for name, scenario in SCENARIOS.items():
            try:
                scenario(route)
                print(f"PASS {route.name} {name}")
            except BaseException:
                failed += 1
                print(f"FAIL {route.name} {name}\n{traceback.format_exc()}")
            finally:
                cleanup(route.main, route.other)
    connections.close_all()
    return 1 if failed else 0


def _driver_settings(alias: str) -> dict[str, Any]:
    entry = {
        k: v
        for k, v in connections[alias].settings_dict.items()
        if k in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT", "OPTIONS")
    }
    entry["OPTIONS"] = {k: v for k, v in entry["OPTIONS"].items() if k != "server_side_binding"}
    entry["DISABLE_SERVER_SIDE_CURSORS"] = connections[alias].settings_dict.get(
        "DISABLE_SERVER_SIDE_CURSORS", False
    )
    return entry


@pytest.mark.parametrize("route_name", ["direct", "pooled"])
def test_psycopg2_scenarios(request: pytest.FixtureRequest, clean: None, route_name: str) -> None:
    pytest.importorskip("psycopg2")
    route = route_for(request, route_name)
    aliases = {route.main, route.other, "default", "other"}
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": str(ROOT),
        "RT_DATABASES": json.dumps({a: _driver_settings(a) for a in aliases}),
        "RT_ROUTES": json.dumps([route.__dict__]),
    }
    done = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert report.count("PASS ") == len(SCENARIOS), report


class TaggedSQL(str):
    """A str subclass, as query-tagging wrappers produce."""


def test_str_subclass_statements_are_prefixed_as_text(clean: None) -> None:
    pk = new_row("default")
    update = TaggedSQL(f"UPDATE {TABLE} SET label = %s WHERE id = %s")
    with ignore(STAMP_URI), connections["default"].cursor() as cursor:
        cursor.execute(update, ["free", pk])
    assert label_of("default", pk) == "free"  # ignored, and the statement ran as written
    assert_enforced("default", pk)


@pytest.mark.parametrize("psycopg3_rules", [True, False], ids=["psycopg3", "psycopg2"])
def test_cursor_without_a_name_attribute_is_prefixed(
    database_access: None, monkeypatch: pytest.MonkeyPatch, psycopg3_rules: bool
) -> None:
    """A cursor proxy that has no ``name``: an ordinary (client-side) cursor."""
    from pgtrigger_live.runtime import wrapper

    class Proxy:
        def __init__(self, cursor: Any) -> None:
            self._cursor = cursor

        def __getattr__(self, name: str) -> Any:
            if name == "name":
                raise AttributeError(name)
            return getattr(self._cursor, name)

    with connections["default"].cursor() as cursor:
        proxy = Proxy(cursor.cursor)
        monkeypatch.setattr(wrapper, "_PSYCOPG3", psycopg3_rules)
        assert wrapper._can_prefix(proxy, None, False) is True
        monkeypatch.undo()  # before the cursor closes: the real driver's rules again
