"""The only DDL writer: runs a plan under an advisory lock, atomically, with lock timeouts.

The plan is recomputed from a fresh catalog read *after* the lock is taken, so processes that
reconcile at the same time serialise and the later ones find nothing left to do.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from django.db import DatabaseError, connections, transaction

from pgtrigger_live import catalog, conf, ddl
from pgtrigger_live.catalog import Snapshot
from pgtrigger_live.exceptions import InstallError, LockTimeoutError
from pgtrigger_live.planner import Plan
from pgtrigger_live.state import Scope

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
def local_settings(alias: str, **values: str | None) -> Iterator[None]:
    """Set run-time parameters transaction-locally for the block, then put the old values back.

    SET LOCAL inside a savepoint would otherwise last until the caller's transaction ends
    (a reconcile run inside the caller's ``atomic`` must not change its lock_timeout).
    """
    wanted = {name: value for name, value in values.items() if value is not None}
    if not wanted:
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


#: Actions sent per round trip. A failing batch is re-run one action per round trip, in a
#: fresh transaction, so the error names the trigger that failed.
BATCH_ACTIONS = 100


class _ReconcileBusy(LockTimeoutError):
    """Another process held the reconcile lock too long; not retried (it already waited)."""


class _BatchFailed(Exception):
    """A multi-action batch failed: re-run one action at a time to name the culprit."""


def apply(
    alias: str,
    db_tables: Sequence[str],
    make_plan: Callable[[Snapshot], Plan],
    *,
    scopes: Sequence[Scope] = (),
    seen: tuple[Snapshot, Plan] | None = None,
) -> Plan:
    """Plan from a fresh read under the lock and run it; return the plan that ran.

    ``seen`` is the snapshot read (and plan made) before the lock: when the catalog under the
    lock is identical, that plan is reused instead of recomputed. Everything happens in one
    transaction: a failure leaves the database as it was. A lock timeout rolls back and
    retries with backoff, up to ``PGTRIGGER_LIVE_LOCK_RETRIES`` times.
    """
    connection = connections[alias]
    retries = conf.lock_retries()
    batch = BATCH_ACTIONS
    attempt = 0
    settings = {"lock_timeout": f"{conf.reconcile_wait_ms()}ms"}
    while True:
        try:
            with transaction.atomic(using=alias), local_settings(alias, **settings):
                _advisory_lock(alias)
                _set(alias, {"lock_timeout": f"{conf.lock_timeout_ms()}ms"})
                snapshot = catalog.read(connection, db_tables, scopes)
                unchanged = seen is not None and seen[0] == snapshot
                plan = seen[1] if seen is not None and unchanged else make_plan(snapshot)
                _run(alias, plan, batch)
            for action in plan.actions:
                logger.info("pgtrigger_live: %s", action.describe())
            return plan
        except _BatchFailed:
            batch = 1  # rolled back; run again action by action to report precisely
        except DatabaseError as exc:
            if _pgcode(exc) != _LOCK_NOT_AVAILABLE:
                raise
            if attempt == retries:
                raise LockTimeoutError(
                    f"Database {alias!r}: a table stayed locked through {retries + 1} attempts "
                    f"to reconcile triggers ({exc}). A long transaction may hold it; see "
                    "pg_stat_activity and retry. Nothing was changed."
                ) from exc
            delay = 0.2 * (2**attempt)
            attempt += 1
            logger.warning("pgtrigger_live: lock timeout on %r, retrying in %.1fs", alias, delay)
            time.sleep(delay)


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


def _run(alias: str, plan: Plan, batch: int) -> None:
    connection = connections[alias]
    actions = plan.actions
    with connection.cursor() as cursor:
        for start in range(0, len(actions), batch):
            chunk = actions[start : start + batch]
            # The statements carry no parameters, so several can share one round trip; the
            # triggers of the batch are signed by one statement at its end.
            statements = [s for action in chunk for s in action.statements]
            signed = [(a.table, a.pgid, a.signature) for a in chunk if a.signature is not None]
            if signed:
                statements.append(ddl.sign(signed))
            text = ";\n".join(statements)
            try:
                cursor.execute(text)
            except DatabaseError as exc:
                if _pgcode(exc) == _LOCK_NOT_AVAILABLE:
                    raise
                if len(chunk) > 1:
                    raise _BatchFailed from exc
                (action,) = chunk
                raise InstallError(
                    f"{action.kind} {action.uri} on database {alias!r} failed: {exc}\n"
                    f"SQL:\n{text}\nNothing was changed: the reconcile was rolled back."
                ) from exc
