"""Run Python work while the server answers a query: the reconcile's reads and DDL round trips
wait on the server far longer than compiling takes, so compiling goes in that wait.

One function, ``during``, for psycopg2 (psycopg 3 pipelines its catalog reads instead:
``catalog.reading``; its DDL round trips have no such hook). psycopg2's wait callback (the
hook green-thread libraries use) is called in the calling thread once the query is sent: the
work runs there, then the callback waits as psycopg2 itself would. The callback is
process-wide, so it is used only in a process with one Python thread and no wait callback of
someone else's (gevent, eventlet); otherwise the work runs first, then the query. Not a
thread: a busy Python thread makes every wake-up of the waiting one wait for the GIL
(psycopg 3 ran a DDL round trip ten times slower beside one, psycopg2 1.3 times;
bench/PERF.md). An exception of the work is raised here, after the query: inside psycopg2's
callback it would close the connection.
"""

from __future__ import annotations

import importlib
import select
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

_R = TypeVar("_R")
_W = TypeVar("_W")


def during(raw: Any, send: Callable[[], _R], work: Callable[[], _W]) -> tuple[_R, _W]:
    """``send()`` (a query on the driver connection ``raw``) and ``work()``, at once when
    psycopg2's wait callback is ours to use; both results. ``work`` must not use the
    connection. An error of ``send`` wins over one of ``work`` (the database's error is the
    one to report)."""
    extensions = green(raw)
    if extensions is None:
        done = work()
        return send(), done
    return _with_callback(extensions, send, work)


def pipelines(connection: BaseDatabaseWrapper) -> bool:
    """Whether the connection's driver sends queries in pipeline mode (psycopg 3, on a libpq
    that has it): the server then runs them while this thread goes on."""
    connection.ensure_connection()
    pipeline = getattr(connection.connection, "pipeline", None)
    if pipeline is None:  # psycopg2
        return False
    from psycopg import Pipeline

    return bool(Pipeline.is_supported())


def has_wait_callback(raw: Any) -> bool:
    """Whether the driver connection ``raw`` is psycopg2's, whose wait callback ``during``
    may use (whether it can now depends on the process: ``green``)."""
    return type(raw).__module__.split(".")[0] == "psycopg2"


def green(raw: Any) -> Any:
    """psycopg2's extensions module when its wait callback is ours to use; else None (psycopg
    3, a wait callback someone else installed, or other Python threads: a query another
    thread started meanwhile would fail if the callback were taken away while it waits)."""
    if not has_wait_callback(raw) or threading.active_count() > 1:
        return None
    extensions: Any = importlib.import_module("psycopg2.extensions")
    return extensions if extensions.get_wait_callback() is None else None


class _Outcome:
    """What ``work`` gave, or raised, once it ran."""

    __slots__ = ("error", "ran", "value")

    def __init__(self) -> None:
        self.ran = False
        self.value: Any = None
        self.error: BaseException | None = None

    def run(self, work: Callable[[], Any]) -> None:
        self.ran = True
        try:
            self.value = work()
        except BaseException as exc:  # re-raised by the caller's thread, after the query
            self.error = exc

    def result(self, work: Callable[[], _W]) -> _W:
        if not self.ran:  # the driver never waited (an answer already there): run it now
            self.run(work)
        if self.error is not None:
            raise self.error
        value: _W = self.value
        return value


def _with_callback(
    extensions: Any, send: Callable[[], _R], work: Callable[[], _W]
) -> tuple[_R, _W]:
    outcome = _Outcome()

    def wait(conn: Any) -> None:
        # psycopg2 may wait more than once per query: the work runs on the first wait only.
        if not outcome.ran:
            outcome.run(work)
        while True:
            state = conn.poll()
            if state == extensions.POLL_OK:
                return
            if state == extensions.POLL_READ:
                select.select([conn.fileno()], [], [])
            elif state == extensions.POLL_WRITE:
                select.select([], [conn.fileno()], [])
            else:  # pragma: no cover - psycopg2 knows no other state
                raise extensions.OperationalError(f"bad state from poll: {state}")

    extensions.set_wait_callback(wait)
    try:
        sent = send()
    finally:
        extensions.set_wait_callback(None)
    return sent, outcome.result(work)
