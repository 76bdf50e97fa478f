"""Behind a real PgBouncer in transaction mode, two clients share one server connection.

One client ignores triggers (and sets a schema), the other never sees any of it, before,
during or after, in autocommit and in transactions. PgBouncer runs with one server connection
per database (tests/pgbouncer.py), so a value left on the server session by one client would
show in the other. Skipped when pgbouncer is not installed.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from django.db import connections, transaction

from pgtrigger_live.runtime import ignore, schema
from tests.test_runtime import (  # noqa: F401  (fixtures, found by pytest by name)
    STAMP_URI,
    Route,
    assert_enforced,
    assert_ignored,
    both_databases,
    bouncer,
    clean,
    database_access,
    guc,
    new_row,
    pooled,
    run,
)

T = TypeVar("T")


class Client:
    """A thread of its own (so a context of its own) that runs the calls it is given."""

    def __init__(self) -> None:
        self.calls: queue.Queue[tuple[Callable[[], Any] | None, queue.Queue[Any]]] = queue.Queue()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            func, reply = self.calls.get()
            if func is None:
                connections.close_all()
                reply.put(None)
                return
            try:
                reply.put((True, func()))
            except BaseException as exc:  # handed to the caller
                reply.put((False, exc))

    def __call__(self, func: Callable[[], T]) -> T:
        reply: queue.Queue[Any] = queue.Queue()
        self.calls.put((func, reply))
        ok, value = reply.get(timeout=30)
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def close(self) -> None:
        reply: queue.Queue[Any] = queue.Queue()
        self.calls.put((None, reply))
        reply.get(timeout=30)
        self.thread.join(10)


@pytest.fixture
def route(request: pytest.FixtureRequest) -> Route:
    request.getfixturevalue("clean")
    pooled_route: Route = request.getfixturevalue("pooled")
    return pooled_route


@pytest.fixture
def clients(route: Route) -> Iterator[tuple[Client, Client]]:
    one, two = Client(), Client()
    try:
        yield one, two
    finally:
        one.close()
        two.close()


def test_one_client_ignores_the_other_is_never_affected(
    route: Route, clients: tuple[Client, Client]
) -> None:
    alias = route.main
    a, b = clients
    backend = "SELECT pg_backend_pid()"
    assert a(lambda: run(alias, backend)) == b(lambda: run(alias, backend))  # one server conn
    default_path = b(lambda: run(alias, "SHOW search_path"))
    pk = a(lambda: new_row(alias))

    def in_transaction() -> None:
        with transaction.atomic(using=alias):
            assert_ignored(alias, pk)
            assert_ignored(alias, pk)

    block = ignore(STAMP_URI)
    a(block.__enter__)
    for _ in range(2):
        a(lambda: assert_ignored(alias, pk))
        b(lambda: assert_enforced(alias, pk))
        assert b(lambda: guc(alias)) == ""
        a(in_transaction)
        b(lambda: assert_enforced(alias, pk))
        assert b(lambda: guc(alias)) == ""
    a(lambda: block.__exit__(None, None, None))
    a(lambda: assert_enforced(alias, pk))

    tenant = schema("rt_tenant")
    a(tenant.__enter__)
    assert a(lambda: run(alias, "SHOW search_path")) == [("rt_tenant",)]
    assert b(lambda: run(alias, "SHOW search_path")) == default_path
    a(lambda: tenant.__exit__(None, None, None))

    # Nothing was set at session level on the shared server connection.
    assert a(lambda: run(alias, backend)) == b(lambda: run(alias, backend))
    assert b(lambda: guc(alias)) == ""
    assert b(lambda: run(alias, "SHOW search_path")) == default_path
    sources = "SELECT source FROM pg_settings WHERE name = 'search_path'"
    assert b(lambda: run(alias, sources)) != [("session",)]
