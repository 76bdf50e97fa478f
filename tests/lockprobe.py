"""Measure what a deploy costs the application: the longest wait of its queries meanwhile.

Used by tests/test_deploy.py (bounds asserted with wide margins) and bench/bench_deploy.py
(exact figures). Application sessions and lock holders are plain psycopg connections of
their own, so they queue for table locks exactly as a web worker would.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql


def connect(params: dict[str, Any]) -> psycopg.Connection[Any]:
    """A new autocommit session with Django's connection parameters."""
    keep = {k: v for k, v in params.items() if k not in ("cursor_factory", "context")}
    return psycopg.connect(**keep, autocommit=True)


@dataclass
class Waits:
    """The longest (and every) duration of the application's statements, in seconds."""

    select: list[float] = field(default_factory=list)
    update: list[float] = field(default_factory=list)

    @property
    def longest(self) -> float:
        return max(self.select + self.update, default=0.0)

    def summary(self) -> dict[str, float | int]:
        return {
            "select_max_ms": round(max(self.select, default=0.0) * 1000, 1),
            "update_max_ms": round(max(self.update, default=0.0) * 1000, 1),
            "statements": len(self.select) + len(self.update),
        }


@contextmanager
def application(params: dict[str, Any], table: str, row_id: int) -> Iterator[Waits]:
    """Two sessions in a loop until the block ends: a SELECT over the table and an UPDATE of
    one row (autocommit, 2 ms apart), each statement timed."""
    waits = Waits()
    stop = threading.Event()
    name = sql.Identifier(table)
    statements = {
        "select": (sql.SQL("SELECT count(*) FROM {}").format(name), ()),
        "update": (sql.SQL("UPDATE {} SET label = 'probe' WHERE id = %s").format(name), (row_id,)),
    }

    def loop(kind: str) -> None:
        query, args = statements[kind]
        with connect(params) as conn:
            while not stop.is_set():
                start = time.perf_counter()
                conn.execute(query, args)
                getattr(waits, kind).append(time.perf_counter() - start)
                time.sleep(0.002)

    threads = [threading.Thread(target=loop, args=(k,), daemon=True) for k in statements]
    for thread in threads:
        thread.start()
    time.sleep(0.05)  # both sessions connected and running
    try:
        yield waits
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)


#: What a holder session runs ({t}: the table); it keeps its transaction open for the time
#: given, except ``reader``, whose statement itself lasts that long.
HOLDERS = {
    "writer": "UPDATE {t} SET value = value WHERE id = %s /* probe writer */",  # a request
    "reader": "SELECT pg_sleep(%s), count(*) FROM {t} /* probe reader */",  # a report
    "lock": "LOCK TABLE {t} IN SHARE MODE /* probe lock */",  # a held table lock
    "advisory": "SELECT pg_advisory_xact_lock(%s) /* probe advisory */",  # another reconcile
}


@contextmanager
def holder(
    params: dict[str, Any], kind: str, table: str, arg: Any, seconds: float
) -> Iterator[int]:
    """Another session holding ``table`` (or the lock ``arg``) for ``seconds``, in a thread;
    yields its pid once it holds it. ``arg``: the row (writer) or the advisory key."""
    statement = sql.SQL(HOLDERS[kind]).format(t=sql.Identifier(table))  # type: ignore[arg-type]
    args = [] if kind == "lock" else [seconds if kind == "reader" else arg]
    ready = threading.Event()
    pid: list[int] = []

    def run() -> None:
        with connect(params) as conn:
            pid.append(conn.info.backend_pid)
            if kind == "reader":
                ready.set()
                conn.execute(statement, args)
                return
            with conn.transaction():
                conn.execute(statement, args)
                ready.set()
                time.sleep(seconds)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    time.sleep(0.05)  # the reader's statement has started
    try:
        yield pid[0]
    finally:
        thread.join(timeout=60)
