"""A throwaway Citus cluster (coordinator + 2 workers on loopback) for tests/test_citus.py.

Reuses pgtrigger_live/testing/postgres.py's helpers (initdb as an unprivileged user when root, free ports, the
postmaster dying with pytest). Citus is found as ``citus.so`` in the lib directory of a
PostgreSQL install (``CITUS_PG_BINDIR``, else any ``/usr/lib/postgresql/*/bin``); build it with
../shared/tools/build-citus.sh (README: "Citus tests").
"""

from __future__ import annotations

import atexit
import importlib
import os
import tempfile
from pathlib import Path
from typing import Any

from pgtrigger_live.testing import postgres as pgtest


def find_citus_bindir() -> Path | None:
    """The bin directory of a PostgreSQL whose lib directory holds citus.so, or None."""
    candidates = [Path(p) for p in [os.environ.get("CITUS_PG_BINDIR", "")] if p]
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for bindir in candidates:
        if pgtest._has_server(bindir) and (bindir.parent / "lib" / "citus.so").is_file():
            return bindir
    return None


def _start_node(bindir: Path, user: pgtest.RunAs) -> pgtest.Server:
    server = pgtest.Server(url="", directory=Path(tempfile.mkdtemp(prefix="pgtest-citus-")))
    if user is not None:
        os.chown(server.directory, *user)
    pgtest._initdb(bindir, server.directory / "data", user)
    with open(server.directory / "data" / "postgresql.conf", "a") as conf:
        conf.write("\nshared_preload_libraries = 'citus'\nmax_connections = 200\n")
        # Node-to-node connections without TLS: as root the client would try /root/.postgresql.
        conf.write("citus.node_conninfo = 'sslmode=disable'\n")
    server.log = open(server.directory / "server.log", "ab")  # noqa: SIM115 - stop() closes
    for _ in range(10):
        if pgtest._start_postmaster(server, bindir, user, 60.0):
            atexit.register(server.stop)  # as pgtest does: gone at exit even without stop()
            return server
    raise RuntimeError(f"no free port:\n{pgtest._tail(server.directory / 'server.log')}")


def _port(server: pgtest.Server) -> int:
    return int(server.url.rsplit(":", 1)[1].split("/")[0])


def _execute(url: str, *statements: str) -> None:
    driver: Any
    try:
        driver = importlib.import_module("psycopg2")
    except ImportError:
        driver = importlib.import_module("psycopg")
    conn = driver.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        conn.close()


def start_cluster(bindir: Path) -> list[pgtest.Server]:
    """Coordinator first, then two workers; every node runs ``CREATE EXTENSION citus``."""
    user = pgtest._server_user()
    nodes: list[pgtest.Server] = []
    try:
        usable = pgtest._usable_bindir(bindir, user, Path(tempfile.mkdtemp()) / "citus-install")
        for _ in range(3):
            nodes.append(_start_node(usable, user))
        for node in nodes:
            _execute(node.url, "CREATE EXTENSION citus")
        coordinator, *workers = nodes
        _execute(
            coordinator.url,
            f"SELECT citus_set_coordinator_host('127.0.0.1', {_port(coordinator)})",
            *(f"SELECT citus_add_node('127.0.0.1', {_port(w)})" for w in workers),
        )
    except BaseException:
        for node in nodes:
            node.stop()
        raise
    return nodes


def create_database(nodes: list[pgtest.Server], name: str) -> str:
    """A database of its own on every node, with Citus and the workers registered; its URL on
    the coordinator (each scenario gets a clean one)."""
    for node in nodes:
        _execute(node.url, f'CREATE DATABASE "{name}"')
        _execute(_with_database(node.url, name), "CREATE EXTENSION citus")
    coordinator, *workers = nodes
    url = _with_database(coordinator.url, name)
    _execute(
        url,
        f"SELECT citus_set_coordinator_host('127.0.0.1', {_port(coordinator)})",
        *(f"SELECT citus_add_node('127.0.0.1', {_port(w)})" for w in workers),
    )
    return url


def _with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


def stop_cluster(nodes: list[pgtest.Server]) -> None:
    for node in nodes:
        node.stop()
