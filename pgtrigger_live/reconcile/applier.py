"""The only DDL writer: runs a plan under an advisory lock, atomically, with lock timeouts.

The plan is recomputed from a fresh catalog read *after* the lock is taken, so processes that
reconcile at the same time serialise and the later ones find nothing left to do.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from django.db import DatabaseError, OperationalError, connections, transaction

from pgtrigger_live import conf
from pgtrigger_live.exceptions import ConnectionLostError, InstallError, LockTimeoutError
from pgtrigger_live.reconcile import ddl, operations, overlap, reporting
from pgtrigger_live.reconcile.planner import Action, Plan
from pgtrigger_live.reconcile.state import Scope, Snapshot

logger = logging.getLogger("pgtrigger_live")

#: One advisory lock key for every pgtrigger_live reconcile of a database.
LOCK_KEY = int.from_bytes(
    hashlib.sha1(b"pgtrigger_live.reconcile").digest()[:8], "big", signed=True
)
_LOCK_NOT_AVAILABLE = "55P03"


def _pgcode(exc: BaseException) -> str | None:
    cause = exc.__cause__ or exc
    return getattr(cause, "pgcode", None) or getattr(cause, "sqlstate", None)


@contextmanager
def local_settings(alias: str, *, restore: bool = True, **values: str | None) -> Iterator[None]:
    """Set run-time parameters transaction-locally for the block, then put the old values back.

    SET LOCAL inside a savepoint would otherwise last until the caller's transaction ends
    (a reconcile run inside the caller's ``atomic`` must not change its lock_timeout).
    ``restore=False`` when the block's transaction ends with it (the reconcile's own): the
    server reverts the values then, two round trips fewer.
    """
    wanted = {name: value for name, value in values.items() if value is not None}
    if not wanted:
        yield
        return
    if not restore:
        _set(alias, wanted)
        yield
        return
    names = list(wanted)
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT " + ", ".join("current_setting(%s)" for _ in names),
            names,
        )
        row = cursor.fetchone()
        previous = list(row) if row else []
        _set(alias, wanted)
    yield
    _set(alias, dict(zip(names, previous, strict=True)))


def _set(alias: str, values: dict[str, str]) -> None:
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT " + ", ".join("set_config(%s, %s, true)" for _ in values),
            [item for pair in values.items() for item in pair],
        )


#: Actions sent per round trip at most. A failing batch is re-run one action per round trip,
#: in a fresh transaction, so the error names the trigger that failed.
BATCH_ACTIONS = 1000
#: Actions in a plan's first round trip under psycopg2. Each later one holds twice as many as
#: the one before (up to BATCH_ACTIONS): its triggers are rendered while the server runs the
#: one before, which takes longer than rendering half as many (bench/PERF.md), so only the
#: first round trip's rendering is not hidden. A plan of 600 actions goes in 4 round trips
#: (in 1 under psycopg 3, which cannot overlap them: ``grows``).
FIRST_ACTIONS = 64


class _ReconcileBusy(LockTimeoutError):
    """Another process held the reconcile lock too long; not retried (it already waited)."""


class _BatchFailed(Exception):
    """A multi-action batch failed: re-run one action at a time to name the culprit."""


#: How many times a reconcile is re-run on a fresh connection after losing its connection.
RECONNECTS = 1


def apply(
    alias: str,
    read: Callable[[], Snapshot],
    make_plan: Callable[[Snapshot], Plan],
    *,
    scopes: Sequence[Scope] = (),
    seen: tuple[Snapshot, Plan] | None = None,
) -> Plan:
    """Plan from a fresh read under the lock and run it; return the plan that ran.

    ``read`` reads the catalog (the caller's ``catalog.read``: this module writes, it does
    not read), ``make_plan`` plans from what it read. ``seen`` is the snapshot read (and plan
    made) before the lock: when the catalog under the lock is identical, that plan is reused
    instead of recomputed. Everything happens in one
    transaction: a failure leaves the database as it was.

    Busy tables: each attempt waits at most ``PGTRIGGER_LIVE_LOCK_TIMEOUT_MS`` for a table
    lock (so application queries never queue behind us for longer), then rolls back and
    retries with jittered backoff until ``PGTRIGGER_LIVE_LOCK_DEADLINE_S``; the final error
    names the table and what holds it. With ``PGTRIGGER_LIVE_ON_BUSY_TABLE = "defer"`` the
    actions on a busy table are set aside at once and the rest is applied; the set-aside ones
    are retried until the deadline and, if still busy then, returned in ``skipped`` as
    deferred instead of failing. A lost connection is retried once on a fresh one (logged),
    unless the reconcile runs inside the caller's transaction, which is lost too.
    """
    connection = connections[alias]
    deadline = time.monotonic() + conf.lock_deadline_s()
    nested = connection.in_atomic_block
    batch = BATCH_ACTIONS
    attempt = reconnects = 0
    plan: Plan | None = None
    defer = conf.on_busy_table() == "defer"
    deferred: dict[int, str] = {}  # table oid -> why, left out of the next attempt
    applied: list[Action] = []  # committed by earlier attempts (defer mode)
    settings = {"lock_timeout": f"{conf.reconcile_wait_ms()}ms"}
    while True:
        stage, lost = "connecting", False
        try:
            with (
                transaction.atomic(using=alias),
                local_settings(alias, restore=nested, **settings),
            ):
                try:
                    stage = "waiting for the reconcile lock"
                    _advisory_lock(alias)
                    stage = "reading the catalog"
                    _set(alias, {"lock_timeout": f"{conf.lock_timeout_ms()}ms"})
                    snapshot = read()
                    unchanged = seen is not None and seen[0] == snapshot
                    plan = seen[1] if seen is not None and unchanged else make_plan(snapshot)
                    todo = _without(plan, deferred)
                    stage = "running the DDL"
                    citus = bool(todo.actions) and snapshot.citus
                    if citus:
                        # Transaction-local: Citus then propagates the triggers to every shard,
                        # over one connection per node (the table locks would otherwise open
                        # several, and Citus refuses DROP FUNCTION after them).
                        _set(
                            alias,
                            {
                                "citus.enable_unsafe_triggers": "on",
                                "citus.multi_shard_modify_mode": "sequential",
                            },
                        )
                    _run(alias, todo, batch, separately=citus)
                except DatabaseError:
                    # Seen here, before atomic() cleans up: leaving the block may reconnect.
                    lost = _connection_lost(alias)
                    raise
                stage = "committing"
            for action in todo.actions:
                logger.info("pgtrigger_live: %s", action.describe())
            if not deferred:
                return _with_applied(plan, applied)
            applied.extend(todo.actions)
            left = deadline - time.monotonic()
            if left <= 0:
                return _deferred(plan, applied, deferred)
            attempt += 1
            time.sleep(min(left, _backoff(attempt)))
            deferred = {}  # try the busy tables again (the plan is re-read under the lock)
        except _BatchFailed:
            batch = 1  # rolled back; run again action by action to report precisely
        except DatabaseError as exc:
            if lost or _connection_lost(alias) or _is_disconnect(exc, stage):
                reconnects += 1
                message = _lost_message(alias, stage, exc, nested=nested)
                if nested or reconnects > RECONNECTS:
                    raise ConnectionLostError(message) from exc
                logger.warning("pgtrigger_live: %s Retrying on a new connection.", message)
                connection.close()  # Django opens a fresh one on the next query
                continue
            if _pgcode(exc) != _LOCK_NOT_AVAILABLE:
                raise
            busy = _busy_oid(exc)
            if defer and busy is not None and busy not in deferred:
                deferred[busy] = _first_line(exc)
                continue  # at once, without that table
            attempt += 1
            left = deadline - time.monotonic()
            if left <= 0:
                raise LockTimeoutError(_busy_message(alias, exc, plan, attempt, scopes)) from exc
            delay = min(left, _backoff(attempt))
            logger.info(
                "pgtrigger_live: %s (attempt %d); retrying in %.0f ms",
                _first_line(exc),
                attempt,
                delay * 1000,
            )
            time.sleep(delay)


def _without(plan: Plan, deferred: dict[int, str]) -> Plan:
    if not deferred:
        return plan
    return Plan(tuple(a for a in plan.actions if a.table.oid not in deferred), plan.skipped)


def _with_applied(plan: Plan, applied: list[Action]) -> Plan:
    """The plan that ran, with the actions earlier attempts committed in front."""
    if not applied:
        return plan
    return Plan((*applied, *plan.actions), plan.skipped)


def _deferred(plan: Plan, applied: list[Action], deferred: dict[int, str]) -> Plan:
    """What ran, and the actions on tables still busy at the deadline as ``skipped``."""
    left = [a for a in plan.actions if a.table.oid in deferred]
    for action in left:
        logger.warning("pgtrigger_live: deferred %s: %s", action.uri, deferred[action.table.oid])
    skipped = tuple(
        (a.uri, f"deferred: {deferred[a.table.oid]}; the next reconcile finishes it") for a in left
    )
    return Plan(tuple(applied), (*plan.skipped, *skipped))


def _busy_oid(exc: BaseException) -> int | None:
    """The table ``ddl.lock_tables`` found busy, from the error's DETAIL (None: unknown)."""
    detail = getattr(getattr(exc.__cause__, "diag", None), "message_detail", None) or ""
    return int(detail[len(ddl.BUSY_DETAIL) :]) if detail.startswith(ddl.BUSY_DETAIL) else None


def _backoff(attempt: int) -> float:
    """Seconds before attempt ``attempt + 1``: exponential from the lock timeout, capped at
    0.5 s, jittered so that several deploys (or a deploy and a periodic job) do not march in
    step."""
    base = max(conf.lock_timeout_ms(), 10) / 1000
    return float(min(0.5, base * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5))


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _connection_lost(alias: str) -> bool:
    """True when the error left the connection unusable (server gone, backend terminated)."""
    raw = connections[alias].connection
    return raw is None or bool(getattr(raw, "closed", False))


def _is_disconnect(exc: BaseException, stage: str) -> bool:
    """Server shutdown or terminated backend (57P01-57P03), connection failure (class 08), or
    an OperationalError without SQLSTATE from COMMIT (the socket just closed)."""
    code = _pgcode(exc) or ""
    if code.startswith("08") or code in ("57P01", "57P02", "57P03"):
        return True
    return stage == "committing" and isinstance(exc, OperationalError) and not code


def _database(alias: str) -> str:
    entry = connections[alias].settings_dict
    where = entry.get("HOST") or "local socket"
    return f"{alias!r} ({entry.get('NAME')} on {where})"


def _lost_message(alias: str, stage: str, exc: BaseException, *, nested: bool) -> str:
    if stage == "committing":
        state = (
            "The commit may or may not have happened: `pgtrigger ls --check` tells; a new "
            "reconcile finishes whatever is left."
        )
    else:
        state = "Nothing was applied: the reconcile's transaction never committed."
    if nested:
        state += " The caller's transaction was lost with it, so it is not retried here."
    return (
        f"Database {_database(alias)}: the connection was lost while {stage} "
        f"({_first_line(exc)}). {state}"
    )


#: Lock modes (as pg_locks names them) each mode we take conflicts with.
_CONFLICTS = {
    operations.SHARE_UPDATE_EXCLUSIVE: {
        "ShareUpdateExclusiveLock",
        "ShareLock",
        "ShareRowExclusiveLock",
        "ExclusiveLock",
        "AccessExclusiveLock",
    },
    operations.SHARE_ROW_EXCLUSIVE: {
        "RowExclusiveLock",
        "ShareUpdateExclusiveLock",
        "ShareLock",
        "ShareRowExclusiveLock",
        "ExclusiveLock",
        "AccessExclusiveLock",
    },
    operations.ACCESS_EXCLUSIVE: {
        "AccessShareLock",
        "RowShareLock",
        "RowExclusiveLock",
        "ShareUpdateExclusiveLock",
        "ShareLock",
        "ShareRowExclusiveLock",
        "ExclusiveLock",
        "AccessExclusiveLock",
    },
}

_HOLDERS = r"""
SELECT l.relation::bigint, pg_catalog.format('%%I.%%I', n.nspname, c.relname), l.pid, l.mode,
       l.granted, a.state, extract(epoch FROM pg_catalog.clock_timestamp() - a.xact_start)::float8,
       pg_catalog.left(pg_catalog.regexp_replace(a.query, '\s+', ' ', 'g'), 80)
  FROM pg_catalog.pg_locks l
  JOIN pg_catalog.pg_class c ON c.oid = l.relation
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'relation' AND l.relation = ANY(%s::oid[])
   AND l.pid IS DISTINCT FROM pg_catalog.pg_backend_pid()
 ORDER BY a.xact_start NULLS FIRST, l.pid
"""


def lock_modes(plan: Plan) -> dict[int, str]:
    """Table oid -> the strongest lock mode the plan's operations take on it."""
    modes: dict[int, str] = {}
    for action in plan.actions:
        mode = operations.strongest([action.lock, modes.get(action.table.oid)])
        if mode is not None:
            modes[action.table.oid] = mode
    return modes


def _busy_message(
    alias: str, exc: BaseException, plan: Plan | None, attempts: int, scopes: Sequence[Scope]
) -> str:
    """Say which table stayed busy, who holds it and how to retry (one catalog query)."""
    modes = lock_modes(plan) if plan is not None else {}
    busy = _busy_oid(exc)
    if busy is not None:
        modes = {busy: modes.get(busy, operations.ACCESS_EXCLUSIVE)}
    holders: list[str] = []
    tables: list[str] = []
    if modes:
        with connections[alias].cursor() as cursor:
            cursor.execute(_HOLDERS, [sorted(modes)])
            rows = cursor.fetchall()
        for oid, table, pid, mode, granted, state, age, query in rows:
            if mode not in _CONFLICTS[modes[oid]]:
                continue
            if table not in tables:
                tables.append(table)
            held = "holds" if granted else "waits for"
            if pid is None:
                what = "a prepared transaction (see pg_prepared_xacts)"
            elif state is None:  # another role's session: its details need pg_read_all_stats
                what = "details hidden from this role"
            else:
                what = f"{state}, transaction open {age or 0:.1f} s" if age is not None else state
            holders.append(f"  pid {pid} ({what}, {held} {mode} on {table}): {query or '?'}")
    table_text = ", ".join(tables) if tables else "a table"
    retry = reporting.command(
        database=alias, schemas=[s.schema for s in scopes if s.schema is not None]
    )
    lines = [
        f"Database {_database(alias)}: {table_text} stayed busy for "
        f"{conf.lock_deadline_s():g} s (PGTRIGGER_LIVE_LOCK_DEADLINE_S; {attempts} attempts, "
        f"each waiting at most {conf.lock_timeout_ms()} ms). Nothing was changed.",
        *(["Blocking (pg_locks):", *holders] if holders else [f"  {_first_line(exc)}"]),
        f"Retry when they are done: {retry}",
    ]
    return "\n".join(lines)


def _advisory_lock(alias: str) -> None:
    """Wait (at most RECONCILE_WAIT_MS) for any other process reconciling this database."""
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
    except DatabaseError as exc:
        if _pgcode(exc) != _LOCK_NOT_AVAILABLE:
            raise
        raise _ReconcileBusy(
            f"Database {alias!r}: another process kept reconciling triggers for more than "
            f"{conf.reconcile_wait_ms()} ms (PGTRIGGER_LIVE_RECONCILE_WAIT_MS). Nothing was "
            "changed."
        ) from exc


def round_trips(plan: Plan, batch: int | None = None, *, growing: bool = True) -> list[list[str]]:
    """The statements the applier sends for ``plan``, grouped by round trip.

    The table locks first, then the actions' statements in round trips (``trips``; of
    growing size where the next one can be rendered meanwhile, see ``grows``), each group's
    triggers signed by one statement at its end. ``install --dry-run --json`` shows them
    (``round_trips``): exactly what a run sends after its catalog read.
    """
    lock = ddl.lock_tables(sorted(lock_modes(plan).items()))
    size = BATCH_ACTIONS if batch is None else batch
    return [
        list(_statements(plan.actions[part], lock if number == 0 else None))
        for number, part in enumerate(trips(len(plan.actions), size, growing=growing))
    ]


def grows(alias: str) -> bool:
    """Whether a plan's round trips grow on this database: psycopg2, whose wait callback
    renders the next one while the server runs the one before (in a process where it may:
    ``overlap.green``; elsewhere each is rendered before it is sent). Under psycopg 3 nothing
    can (``_run``): its round trips are as few as ``batch`` allows. Asks the backend's driver
    module (every backend has one), never the connection: a dry run opens none."""
    driver = getattr(connections[alias], "Database", None)
    return getattr(driver, "__name__", "") == "psycopg2"


def prerender(plan: Plan, alias: str) -> None:
    """Render the triggers of the plan's first round trip not rendered yet: run while the
    server reads the catalog under the lock, so that round trip does not wait for them.
    Under psycopg 3 that is every action (up to BATCH_ACTIONS): nothing else can overlap."""
    first = FIRST_ACTIONS if grows(alias) else BATCH_ACTIONS
    for action in plan.actions[:first]:
        action.signature  # noqa: B018 - rendering it is the point


def trips(actions: int, batch: int = BATCH_ACTIONS, *, growing: bool = True) -> list[slice]:
    """How ``actions`` actions are split into round trips: ``growing``, FIRST_ACTIONS, then
    twice as many each time, at most ``batch``; else ``batch`` each (a batch of 1: one action
    per round trip)."""
    parts: list[slice] = []
    start, size = 0, min(FIRST_ACTIONS, batch) if growing else batch
    while start < actions:
        parts.append(slice(start, min(start + size, actions)))
        start += size
        size = min(size * 2, batch)
    return parts


def _statements(chunk: Sequence[Action], lock: str | None) -> Iterator[str]:
    """One round trip's statements, each action's rendered (if it was not yet) when reached."""
    if lock:
        yield lock
    for action in chunk:
        yield from action.statements
    signed = [(a.table, a.pgid, a.signature) for a in chunk if a.signature is not None]
    if signed:
        yield ddl.sign(signed)


def _run(alias: str, plan: Plan, batch: int, *, separately: bool = False) -> None:
    """Run the plan's DDL; ``separately`` sends one statement per round trip.

    A first install's triggers are rendered here: under psycopg2 the next round trip while
    the server runs the one before (``overlap.during``); psycopg 3 offers no such hook for
    a multi-statement string (a pipeline takes one statement per message, which costs the
    server more than the rendering saves: bench/PERF.md), so it renders each round trip
    before sending it. Citus forwards a DDL statement's whole query string to the workers,
    which refuse a string holding several commands: on a Citus coordinator each statement
    goes alone.
    """
    connection = connections[alias]
    actions = plan.actions
    parts = trips(len(actions), batch, growing=grows(alias))
    lock = ddl.lock_tables(sorted(lock_modes(plan).items()))
    following = list(_statements(actions[parts[0]], lock)) if parts else []
    with connection.cursor() as cursor:
        # The statements carry no parameters, so several can share one round trip.
        for number, part in enumerate(parts):
            chunk, statements = actions[part], following
            text = ";\n".join(statements)
            after = parts[number + 1] if number + 1 < len(parts) else None

            def render(after: slice | None = after) -> list[str] | Exception:
                # An error is kept, then raised after the DDL's own: raised inside the try
                # below, a rendering error that is a DatabaseError too (NotSupportedError)
                # would be taken for a failed statement of this round trip.
                try:
                    return list(_statements(actions[after], None)) if after is not None else []
                except Exception as exc:
                    return exc

            try:
                if separately:
                    for one in statements:
                        cursor.execute(one)
                    rendered = render()
                elif after is None:
                    cursor.execute(text)
                    rendered = []
                else:
                    _, rendered = overlap.during(
                        connection.connection, functools.partial(cursor.execute, text), render
                    )
            except DatabaseError as exc:
                if _pgcode(exc) == _LOCK_NOT_AVAILABLE or _connection_lost(alias):
                    raise
                if len(chunk) > 1:
                    raise _BatchFailed from exc
                (action,) = chunk
                raise InstallError(
                    f"{action.kind} {action.uri} on database {alias!r} failed: {exc}\n"
                    f"SQL:\n{text}\nNothing was changed: the reconcile was rolled back."
                ) from exc
            if isinstance(rendered, Exception):
                raise rendered
            following = rendered
