"""Deploys next to a running application: bounded lock waits, busy-lock errors, lost
connections. Real sessions hold the locks (tests/lockprobe.py)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections, models

import pgtrigger_live as pgtrigger
from pgtrigger_live.exceptions import ConnectionLostError, LockTimeoutError
from pgtrigger_live.reconcile import applier, ddl, operations
from pgtrigger_live.reconcile.compiler import compile_trigger
from pgtrigger_live.reconcile.operations import (
    CreateFunction,
    CreateTrigger,
    DropFunction,
    DropTrigger,
    Operation,
    SetEnabled,
)
from pgtrigger_live.reconcile.planner import Action, ActionKind, Plan
from pgtrigger_live.reconcile.state import Enabled, Status, TableRef
from tests import lockprobe
from tests.testapp.models import Account, Plain

AddTrigger = Callable[[type[models.Model], pgtrigger.Trigger], str]
TABLE = Plain._meta.db_table
#: Generous: the configured bound is 50 ms, the holders hold for a second.
BOUND_S = 0.5
HOLD_S = 1.0


def bump(name: str) -> pgtrigger.Trigger:
    return pgtrigger.Trigger(
        name=name, when=pgtrigger.Before, operation=pgtrigger.Insert, func="RETURN NEW;"
    )


def status_of(uri: str) -> Status:
    (entry,) = pgtrigger.status(uri)
    return entry.status


# -- lock modes (plain data) -------------------------------------------------------------------


def action(kind: ActionKind, oid: int, *ops: Operation, signed: bool = True) -> Action:
    table = TableRef("public", f"t{oid}", oid)
    return Action(kind, f"a.M:{oid}", "pgid", table, "", ops, "sig" if signed else None)


def test_each_table_is_locked_once_in_the_strongest_mode_its_actions_need() -> None:
    t = [TableRef("public", f"t{oid}", oid) for oid in range(6)]
    compiled = compile_trigger(Plain, bump("lock_modes"))
    plan = Plan(
        (
            action(
                ActionKind.REPLACE,
                1,
                CreateFunction("public", compiled),
                CreateTrigger(t[1], compiled, replace=True),
            ),
            action(
                ActionKind.PRUNE,
                1,
                DropTrigger(t[1], "y"),
                DropFunction("public", "y"),
                signed=False,
            ),
            action(ActionKind.ENABLE, 2, SetEnabled(t[2], "x", Enabled.ENABLED), signed=False),
            action(ActionKind.SIGN, 3),
            action(ActionKind.REPLACE, 4, CreateFunction("public", compiled)),  # body only
            action(ActionKind.CREATE, 5, CreateTrigger(t[5], compiled, replace=False)),
            action(ActionKind.DROP, 0, DropFunction("public", "z"), signed=False),  # no table
        )
    )
    assert applier.lock_modes(plan) == {
        1: operations.ACCESS_EXCLUSIVE,
        2: operations.SHARE_ROW_EXCLUSIVE,
        3: operations.SHARE_UPDATE_EXCLUSIVE,
        4: operations.SHARE_UPDATE_EXCLUSIVE,
        5: operations.SHARE_ROW_EXCLUSIVE,
    }
    with pytest.raises(ValueError, match="lock mode"):
        ddl.lock_tables([(1, "EXCLUSIVE; DROP TABLE t")])


# -- a busy table ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_table_busy_past_the_deadline_names_the_blocker(
    extra_trigger: AddTrigger, settings: Any
) -> None:
    settings.PGTRIGGER_LIVE_LOCK_DEADLINE_S = 0.3
    uri = extra_trigger(Plain, bump("busy_table"))
    params = connection.get_connection_params()
    with lockprobe.connect(params) as other, other.transaction():
        other.execute(f"LOCK TABLE {TABLE} IN SHARE MODE /* nightly report */")
        pid = other.info.backend_pid
        start = time.monotonic()
        with pytest.raises(LockTimeoutError) as info:
            pgtrigger.install(uri)
        elapsed = time.monotonic() - start
    message = str(info.value)
    assert 0.3 <= elapsed < 3
    assert f"public.{TABLE} stayed busy for 0.3 s" in message
    assert "Nothing was changed" in message
    assert f"pid {pid} (idle in transaction, transaction open " in message
    assert f"holds ShareLock on public.{TABLE}): LOCK TABLE {TABLE} IN SHARE MODE" in message
    assert message.endswith("Retry when they are done: python manage.py pgtrigger install")
    assert status_of(uri) is Status.UNINSTALLED


# -- the application's waits during a deploy ---------------------------------------------------


@pytest.fixture
def rows() -> tuple[int, int]:
    """Two committed rows: one for the holder, one for the application."""
    first, second = Plain.objects.create(), Plain.objects.create()
    return first.pk, second.pk


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("holder", ["writer", "reader"])
def test_application_waits_stay_bounded_while_a_deploy_waits_for_a_lock(
    extra_trigger: AddTrigger, rows: tuple[int, int], holder: str
) -> None:
    uri = extra_trigger(Plain, bump(f"probe_{holder}"))
    params = connection.get_connection_params()
    held, app_row = rows
    try:
        if holder == "reader":  # a DROP needs ACCESS EXCLUSIVE, which a SELECT blocks
            pgtrigger.install(uri)
        with (
            lockprobe.holder(params, holder, TABLE, held, HOLD_S),
            lockprobe.application(params, TABLE, app_row) as waits,
        ):
            start = time.monotonic()
            (pgtrigger.install if holder == "writer" else pgtrigger.uninstall)(uri)
            deploy = time.monotonic() - start
        assert status_of(uri) is (Status.INSTALLED if holder == "writer" else Status.UNINSTALLED)
        assert deploy > HOLD_S / 2  # the deploy did wait for the holder
        assert waits.select
        assert waits.update
        assert waits.longest < BOUND_S, waits.summary()
    finally:
        pgtrigger.uninstall(uri)


@pytest.mark.django_db(transaction=True)
def test_application_waits_stay_bounded_when_the_lock_outlasts_the_deadline(
    extra_trigger: AddTrigger, rows: tuple[int, int], settings: Any
) -> None:
    settings.PGTRIGGER_LIVE_LOCK_DEADLINE_S = HOLD_S / 2
    uri = extra_trigger(Plain, bump("probe_deadline"))
    params = connection.get_connection_params()
    held, app_row = rows
    with (
        lockprobe.holder(params, "writer", TABLE, held, HOLD_S),
        lockprobe.application(params, TABLE, app_row) as waits,
        pytest.raises(LockTimeoutError, match="probe writer"),
    ):
        pgtrigger.install(uri)
    assert waits.longest < BOUND_S, waits.summary()
    assert status_of(uri) is Status.UNINSTALLED


# -- losing the connection ---------------------------------------------------------------------


def terminate_waiting(params: dict[str, Any], locktype: str, times: int) -> threading.Thread:
    """Terminate, ``times`` times, the backend of this database that waits for a lock of
    ``locktype`` (``advisory``: the reconcile lock, ``relation``: a table)."""

    def run() -> None:
        with lockprobe.connect(params) as admin:
            for _ in range(times):
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    row = admin.execute(
                        "SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                        "WHERE NOT l.granted AND l.locktype = %s "
                        "AND a.datname = current_database() LIMIT 1",
                        (locktype,),
                    ).fetchone()
                    if row:
                        admin.execute("SELECT pg_terminate_backend(%s, 5000)", row)
                        break
                    time.sleep(0.005)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


LOST = [
    ("advisory", "advisory", "waiting for the reconcile lock"),
    ("lock", "relation", "running the DDL"),
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("held", "locktype", "stage"), LOST, ids=["reconcile-lock", "ddl"])
def test_a_connection_lost_once_is_retried_and_logged(
    extra_trigger: AddTrigger,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
    held: str,
    locktype: str,
    stage: str,
) -> None:
    settings.PGTRIGGER_LIVE_LOCK_TIMEOUT_MS = 10_000  # wait long enough to be terminated
    uri = extra_trigger(Plain, bump("lost_once"))
    params = connection.get_connection_params()
    killer = terminate_waiting(params, locktype, 1)
    with (
        lockprobe.holder(params, held, TABLE, applier.LOCK_KEY, HOLD_S),
        caplog.at_level(logging.WARNING, logger="pgtrigger_live"),
    ):
        plan = pgtrigger.install(uri)
    killer.join(10)
    try:
        assert [a.uri for a in plan.actions] == [uri]
        assert status_of(uri) is Status.INSTALLED
        (record,) = [r for r in caplog.records if "connection was lost" in r.getMessage()]
        assert f"lost while {stage}" in record.getMessage()
        assert "Nothing was applied" in record.getMessage()
        assert "Retrying on a new connection" in record.getMessage()
    finally:
        pgtrigger.uninstall(uri)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("held", "locktype", "stage"), LOST, ids=["reconcile-lock", "ddl"])
def test_a_connection_lost_twice_is_a_clear_error(
    extra_trigger: AddTrigger, settings: Any, held: str, locktype: str, stage: str
) -> None:
    settings.PGTRIGGER_LIVE_LOCK_TIMEOUT_MS = 10_000
    uri = extra_trigger(Plain, bump("lost_twice"))
    params = connection.get_connection_params()
    killer = terminate_waiting(params, locktype, 2)
    with (
        lockprobe.holder(params, held, TABLE, applier.LOCK_KEY, HOLD_S),
        pytest.raises(ConnectionLostError) as info,
    ):
        pgtrigger.install(uri)
    killer.join(10)
    name = connections["default"].settings_dict["NAME"]
    assert str(info.value).startswith(
        f"Database 'default' ({name} on {connections['default'].settings_dict['HOST']}): "
        f"the connection was lost while {stage} ("
    )
    assert str(info.value).endswith(
        "Nothing was applied: the reconcile's transaction never committed."
    )
    assert status_of(uri) is Status.UNINSTALLED


# -- PGTRIGGER_LIVE_ON_BUSY_TABLE = "defer" ----------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("on_busy", ["fail", "defer"])
def test_a_busy_table_fails_everything_or_is_deferred(
    extra_trigger: AddTrigger, settings: Any, on_busy: str
) -> None:
    settings.PGTRIGGER_LIVE_LOCK_DEADLINE_S = 0.2
    settings.PGTRIGGER_LIVE_ON_BUSY_TABLE = on_busy
    busy = extra_trigger(Plain, bump("busy_one"))
    free = extra_trigger(Account, bump("free_one"))
    with lockprobe.connect(connection.get_connection_params()) as other, other.transaction():
        other.execute(f"LOCK TABLE {TABLE} IN SHARE MODE")
        if on_busy == "fail":
            with pytest.raises(LockTimeoutError):
                pgtrigger.install(busy, free)
        else:
            plan = pgtrigger.install(busy, free)
    if on_busy == "fail":
        assert (status_of(busy), status_of(free)) == (Status.UNINSTALLED, Status.UNINSTALLED)
        return
    assert [a.uri for a in plan.actions] == [free]
    ((uri, reason),) = plan.skipped
    assert uri == busy
    assert reason.startswith(f"deferred: table {TABLE} is busy")
    assert (status_of(busy), status_of(free)) == (Status.UNINSTALLED, Status.INSTALLED)
    pgtrigger.install(busy)  # the next reconcile finishes it
    assert status_of(busy) is Status.INSTALLED


@pytest.mark.django_db(transaction=True)
def test_a_deferred_table_is_retried_until_the_deadline(
    extra_trigger: AddTrigger, settings: Any
) -> None:
    settings.PGTRIGGER_LIVE_ON_BUSY_TABLE = "defer"
    busy = extra_trigger(Plain, bump("busy_then_free"))
    free = extra_trigger(Account, bump("free_at_once"))
    params = connection.get_connection_params()
    try:
        with lockprobe.holder(params, "lock", TABLE, None, 0.3):
            plan = pgtrigger.install(busy, free)
        assert [a.uri for a in plan.actions] == [free, busy]  # the busy one last
        assert plan.skipped == ()
        assert (status_of(busy), status_of(free)) == (Status.INSTALLED, Status.INSTALLED)
    finally:
        pgtrigger.uninstall(busy, free)


# -- deterministic concurrency: a stale plan, a lock released after the first timeout -------


def _planned(uri: str) -> tuple[Any, Callable[[Any], Plan], list[Any]]:
    """The snapshot and plan a process would make now for ``uri``, and a planner that
    records every snapshot the applier asks it to plan from."""
    from pgtrigger_live.declare import registry
    from pgtrigger_live.reconcile import installation, planner

    reading = installation._read("default", registry.select(uri), (), False)
    calls: list[Any] = []

    def make_plan(snapshot: Any) -> Plan:
        calls.append(snapshot)
        (entries,) = reading.entries(snapshot)
        return planner.plan_install(
            entries, {uri}, prune=False, server_version=snapshot.server_version
        )

    return reading, make_plan, calls


def read(reading: Any) -> Callable[[], Any]:
    from pgtrigger_live.reconcile import catalog

    return lambda: catalog.read(connection, reading.tables, reading.scopes)


@pytest.mark.django_db(transaction=True)
def test_a_plan_made_from_a_stale_snapshot_is_made_again_under_the_lock(
    extra_trigger: AddTrigger,
) -> None:
    uri = extra_trigger(Plain, bump("stale_plan"))
    try:
        reading, make_plan, calls = _planned(uri)
        stale = (reading.snapshot, make_plan(reading.snapshot))
        assert [a.kind for a in stale[1].actions] == [ActionKind.CREATE]
        calls.clear()
        pgtrigger.install(uri)  # another process got there between our read and our lock
        oid_before = _trigger_oid(uri)

        ran = applier.apply("default", read(reading), make_plan, seen=stale)

        assert len(calls) == 1  # re-read under the lock and planned again
        assert calls[0] != reading.snapshot
        assert ran.is_empty  # the stale CREATE was not run (it would fail: it exists)
        assert _trigger_oid(uri) == oid_before
    finally:
        pgtrigger.uninstall(uri)


@pytest.mark.django_db(transaction=True)
def test_a_plan_made_from_the_catalog_as_it_still_is_is_reused(
    extra_trigger: AddTrigger,
) -> None:
    uri = extra_trigger(Plain, bump("fresh_plan"))
    try:
        reading, make_plan, calls = _planned(uri)
        fresh = (reading.snapshot, make_plan(reading.snapshot))
        calls.clear()
        ran = applier.apply("default", read(reading), make_plan, seen=fresh)
        assert calls == []  # not planned again: the catalog under the lock is the same
        assert ran is fresh[1]
        assert status_of(uri) is Status.INSTALLED
    finally:
        pgtrigger.uninstall(uri)


def _trigger_oid(uri: str) -> int:
    (entry,) = pgtrigger.status(uri)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT oid FROM pg_trigger WHERE tgname = %s AND tgrelid = %s::regclass",
            [entry.pgid, TABLE],
        )
        (oid,) = cursor.fetchone()
    return int(oid)


class _ReleaseOnRetry(logging.Handler):
    """Ends the holder's transaction when the applier logs its first retry: the lock is
    released exactly after the first timeout, whatever the machine's speed."""

    def __init__(self, on_first_retry: Callable[[], None]) -> None:
        super().__init__(logging.INFO)
        self.on_first_retry = on_first_retry
        self.retries: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "retrying in" in message:
            self.retries.append(message)
            if len(self.retries) == 1:
                self.on_first_retry()


@pytest.mark.django_db(transaction=True)
def test_a_lock_released_after_the_first_timeout_ends_in_success_with_the_retry_logged(
    extra_trigger: AddTrigger, settings: Any
) -> None:
    settings.PGTRIGGER_LIVE_LOCK_DEADLINE_S = 30  # never reached: the second attempt succeeds
    uri = extra_trigger(Plain, bump("released_lock"))
    params = connection.get_connection_params()
    logger = logging.getLogger("pgtrigger_live")
    with lockprobe.connect(params) as other:
        other.execute("BEGIN")
        other.execute(f"LOCK TABLE {TABLE} IN SHARE MODE")
        handler = _ReleaseOnRetry(lambda: other.execute("COMMIT"))
        logger.addHandler(handler)
        level = logger.level
        logger.setLevel(logging.INFO)
        try:
            plan = pgtrigger.install(uri)
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)
    try:
        assert len(handler.retries) == 1, handler.retries
        assert "(attempt 1); retrying in" in handler.retries[0]
        assert f"table {TABLE} is busy" in handler.retries[0]
        assert [a.kind for a in plan.actions] == [ActionKind.CREATE]
        assert status_of(uri) is Status.INSTALLED
    finally:
        pgtrigger.uninstall(uri)
