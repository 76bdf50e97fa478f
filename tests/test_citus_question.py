"""What ignore() and schema() send to learn whether a database has Citus: on a database without
it, nothing of their own (docs/citus.md, "Is Citus there?").

Each test opens a fresh connection and records every statement the driver sends on it:
psycopg 3's libpq trace (one line per message), or under psycopg2 a cursor class given to the
driver connection (every statement, Django's and the runtime's, goes through a cursor of it).
The suite's server is PostgreSQL 18, which reports ``search_path`` at connect time like a
server with Citus loaded; ``old_server`` is a PostgreSQL 17 or older without Citus (skipped
when none is installed), which does not.
"""

from __future__ import annotations

import contextlib
import copy
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections, transaction
from django.db.backends.postgresql.psycopg_any import is_psycopg3

import pgtrigger_live as pgtrigger
from pgtrigger_live import citus
from pgtrigger_live.runtime import wrapper
from pgtrigger_live.testing import postgres as pgtest
from tests.conftest import libpq_trace
from tests.testapp.models import Protected

URI = "testapp.Protected:protect_delete"
#: What a connection's driver-level BEGIN and COMMIT look like in the trace (psycopg2 sends
#: them without a cursor): left out, so both drivers give the same lists.
TRANSACTION_CONTROL = ("BEGIN", "COMMIT")


@contextlib.contextmanager
def recorded(alias: str) -> Iterator[list[str]]:
    """Every statement sent on ``alias``'s connection (opened if needed) inside the block.

    The list is filled when the block exits."""
    connection = connections[alias]
    connection.ensure_connection()
    raw = connection.connection
    sent: list[str] = []
    if is_psycopg3:
        with libpq_trace(raw) as traced:
            yield sent
        sent.extend(traced)
    else:
        import psycopg2.extensions

        class Recording(psycopg2.extensions.cursor):  # type: ignore[misc]
            def execute(self, query: Any, params: Any = None) -> Any:
                sent.append(query if isinstance(query, str) else query.as_string(self))
                return super().execute(query, params)

        before = raw.cursor_factory
        raw.cursor_factory = Recording
        try:
            yield sent
        finally:
            raw.cursor_factory = before
    sent[:] = [s for s in sent if s.strip().rstrip(";").upper() not in TRANSACTION_CONTROL]


def fresh(alias: str) -> wrapper.ConnectionRuntime:
    """A new connection on ``alias``, and its runtime wrapper."""
    connection = connections[alias]
    connection.close()
    connection.ensure_connection()
    runtime = wrapper.runtime_of(connection)
    assert runtime is not None
    assert runtime.citus is None  # nothing is learnt at connection time
    return runtime


def server_of(alias: str) -> tuple[object, ...]:
    return wrapper._server(connections[alias].connection)


@pytest.fixture
def cold() -> Iterator[None]:
    """This process has learnt nothing of any database's Citus."""
    wrapper.forget_citus()
    yield
    wrapper.forget_citus()


def write(alias: str) -> None:
    Protected.objects.using(alias).create()


def assert_plain_write(sent: list[str]) -> None:
    """One message: the SET LOCAL prefix, then the INSERT, as before Citus support existed."""
    assert len(sent) == 1, sent
    assert sent[0].startswith("SET LOCAL pgtrigger.ignore TO '{\"pgtrigger_protect_delete_")
    assert 'INSERT INTO "testapp_protected"' in sent[0]


# -- the suite's server: PostgreSQL 18 reports search_path whether or not Citus is loaded ------


@pytest.mark.django_db(transaction=True)
def test_in_a_transaction_the_question_rides_in_the_set_config_statement(cold: None) -> None:
    runtime = fresh("default")
    with recorded("default") as sent, pgtrigger.ignore(URI), transaction.atomic():
        write("default")
    assert len(sent) == 2, sent  # as before Citus support: one set_config, then the INSERT
    assert sent[0].startswith("SELECT s.p0, set_config('pgtrigger.ignore', '{")
    assert sent[0].endswith(f", true), {citus.LOADED} FROM (SELECT current_setting("
                            "'pgtrigger.ignore', true) AS p0 OFFSET 0) AS s")  # fmt: skip
    assert sent[1].startswith('INSERT INTO "testapp_protected"')
    assert (runtime.citus, runtime.citus_sure) == (False, True)
    assert server_of("default") in wrapper._NO_CITUS  # new connections will not ask

    with recorded("default") as sent, pgtrigger.ignore(URI), transaction.atomic():
        write("default")
    assert len(sent) == 2, sent
    assert "citus" not in sent[0]  # learnt for this connection: not asked again
    with recorded("default") as sent, pgtrigger.ignore(URI):
        write("default")
    assert_plain_write(sent)


@pytest.mark.django_db(transaction=True)
def test_a_write_in_autocommit_asks_once_per_process_and_database(cold: None) -> None:
    """The one place a statement is sent: a write in autocommit on a server that reports
    search_path, the first time in the process. New connections then send the plain form."""
    fresh("default")
    with recorded("default") as sent, pgtrigger.ignore(URI):
        write("default")
    assert sent[0] == citus.HAS_CITUS
    assert_plain_write(sent[1:])

    runtime = fresh("default")
    with recorded("default") as sent, pgtrigger.ignore(URI):
        write("default")
        write("default")
    assert len(sent) == 2
    assert_plain_write(sent[:1])
    assert (runtime.citus, runtime.citus_sure) == (False, False)  # another connection's word

    # A transaction checks that word for free: the set_config statement asks again.
    with recorded("default") as sent, pgtrigger.ignore(URI), transaction.atomic():
        write("default")
    assert len(sent) == 2, sent
    assert sent[0].endswith(f", true), {citus.LOADED} FROM (SELECT current_setting("
                            "'pgtrigger.ignore', true) AS p0 OFFSET 0) AS s")  # fmt: skip
    assert (runtime.citus, runtime.citus_sure) == (False, True)


@pytest.mark.django_db(transaction=True)
def test_reads_and_schema_never_ask(cold: None) -> None:
    runtime = fresh("default")
    with recorded("default") as sent, pgtrigger.schema("public"), pgtrigger.ignore(URI):
        list(Protected.objects.all())
    assert len(sent) == 1, sent
    assert sent[0].startswith('SET LOCAL search_path TO "public"; SELECT')
    assert runtime.citus is None


@pytest.mark.django_db(transaction=True)
def test_constraints_does_not_take_another_connections_no(cold: None) -> None:
    """constraints() refuses triggers of Citus tables: a stale "no" would let it do nothing."""
    fresh("default")
    wrapper._NO_CITUS.add(server_of("default"))
    connection = connections["default"]
    runtime = wrapper.runtime_of(connection)
    assert runtime is not None
    with recorded("default") as sent:
        assert runtime.learn_citus(connection) is False  # a write in autocommit takes it
    assert sent == []
    with recorded("default") as sent:
        assert runtime.learn_citus(connection, stale_ok=False) is False
        assert runtime.learn_citus(connection, stale_ok=False) is False  # now known
    assert sent == [citus.HAS_CITUS]


# -- a server that does not report search_path: PostgreSQL 17 or older, Citus not loaded ------


def _old_bindir() -> Path | None:
    for bindir in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        major = bindir.parent.name
        if major.isdigit() and int(major) < 18 and pgtest._has_server(bindir):
            return bindir
    return None


OLD_BINDIR = _old_bindir()


@pytest.fixture(scope="module")
def old_server(django_db_blocker: Any) -> Iterator[str]:
    """An alias on a PostgreSQL older than 18 (no Citus loaded), with the testapp table."""
    if OLD_BINDIR is None:
        pytest.skip("no PostgreSQL older than 18 under /usr/lib/postgresql")
    user = pgtest._server_user()
    server = pgtest.Server(url="", directory=Path(tempfile.mkdtemp(prefix="pgtest-old-")))
    if user is not None:
        import os

        os.chown(server.directory, *user)
    pgtest._initdb(OLD_BINDIR, server.directory / "data", user)
    server.log = open(server.directory / "server.log", "ab")  # noqa: SIM115 - stop() closes
    assert pgtest._start_postmaster(server, OLD_BINDIR, user, 60.0), "old server did not start"
    entry = copy.deepcopy(connections["default"].settings_dict)
    entry.update(pgtest.parse_database_url(server.url))
    entry["OPTIONS"] = {}
    connections.settings["old"] = entry
    try:
        with django_db_blocker.unblock():
            with connections["old"].cursor() as cursor:
                cursor.execute(
                    "CREATE TABLE testapp_protected (id bigserial PRIMARY KEY, name text)"
                )
            yield "old"
    finally:
        with django_db_blocker.unblock():
            connections["old"].close()
        del connections["old"]
        connections.settings.pop("old")
        server.stop()


def test_a_server_that_does_not_report_search_path_is_never_asked(
    old_server: str, cold: None, django_db_blocker: Any
) -> None:
    with django_db_blocker.unblock():
        runtime = fresh(old_server)
        assert connections[old_server].connection.info.server_version < 180000
        with recorded(old_server) as sent, pgtrigger.ignore(URI, databases=[old_server]):
            write(old_server)
        assert_plain_write(sent)
        assert (runtime.citus, runtime.citus_sure) == (False, True)

        fresh(old_server)
        block = pgtrigger.ignore(URI, databases=[old_server])
        with recorded(old_server) as sent, block, transaction.atomic(using=old_server):
            write(old_server)
        assert len(sent) == 2, sent
        assert sent[0].startswith("SELECT s.p0, set_config('pgtrigger.ignore', '{")
        assert "citus" not in sent[0]

        runtime = fresh(old_server)
        with recorded(old_server) as sent:
            assert runtime.learn_citus(connections[old_server], stale_ok=False) is False
        assert sent == []
        assert server_of(old_server) not in wrapper._NO_CITUS  # nothing asked, nothing kept
