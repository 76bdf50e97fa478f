"""Fixtures shared by the database tests."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections, models

from pgtrigger_live.declare import registry
from pgtrigger_live.declare.triggers import Trigger

pytest_plugins = ["tests.coverage_gate"]


@pytest.fixture
def extra_trigger() -> Iterator[Callable[[type[models.Model], Trigger], str]]:
    """Register triggers for one test only; returns the URI."""
    added: list[tuple[type[models.Model], Trigger]] = []

    def add(model: type[models.Model], trigger: Trigger) -> str:
        registry.add(model, trigger)
        added.append((model, trigger))
        return trigger.get_uri(model)

    yield add
    for model, trigger in reversed(added):
        if registry._registry.get(trigger.get_uri(model), (None, None))[1] is trigger:
            registry.remove(model, trigger)


@pytest.fixture
def empty_registry() -> Iterator[None]:
    """Run a test as if no trigger were declared."""
    saved = (dict(registry._registry), dict(registry._by_pgid), dict(registry._by_table_name))
    for mapping in (registry._registry, registry._by_pgid, registry._by_table_name):
        mapping.clear()
    yield
    for mapping, values in zip(
        (registry._registry, registry._by_pgid, registry._by_table_name), saved, strict=True
    ):
        mapping.clear()
        mapping.update(values)  # type: ignore[attr-defined]


def catalog_state(alias: str = "default") -> dict[str, dict[str, Any]]:
    """pgid -> identity and version of the trigger row, its function row and its comment."""
    with connections[alias].cursor() as cursor:
        cursor.execute(
            """
            SELECT t.tgname, t.oid::bigint, t.xmin::text, t.ctid::text, t.tgenabled::text,
                   obj_description(t.oid, 'pg_trigger'), p.oid::bigint, p.xmin::text,
                   c.relname
              FROM pg_trigger t
              JOIN pg_class c ON c.oid = t.tgrelid
              LEFT JOIN pg_proc p ON p.oid = t.tgfoid
             WHERE t.tgname LIKE 'pgtrigger\\_%%' AND t.tgparentid = 0
            """
        )
        rows = cursor.fetchall()
    return {
        r[0]: {
            "trigger": (r[1], r[2], r[3]),
            "enabled": r[4],
            "comment": r[5],
            "function": (r[6], r[7]),
            "table": r[8],
        }
        for r in rows
    }


def function_exists(name: str, alias: str = "default") -> bool:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_proc WHERE proname = %s", [name])
        return bool(cursor.fetchone()[0])  # type: ignore[index]


ROOT = Path(__file__).resolve().parent.parent


def database_url(alias: str = "default", name: str | None = None) -> str:
    """A URL for the test database behind ``alias`` (or database ``name`` on that server)."""
    s = connections[alias].settings_dict
    return (
        f"postgresql://{s['USER']}:{s['PASSWORD'] or ''}@{s['HOST'] or 'localhost'}:"
        f"{s['PORT'] or 5432}/{name or s['NAME']}"
    )


def subprocess_env(alias: str = "default") -> dict[str, str]:
    """Environment for a child Python that uses the same test database with tests.settings."""
    env = dict(
        os.environ, DATABASE_URL=database_url(alias), DJANGO_SETTINGS_MODULE="tests.settings"
    )
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def run_scenario(module: str, settings_module: str, prefix: str) -> None:
    """Run ``python -m module`` with ``settings_module`` against a database of its own.

    For projects whose settings cannot share this process (django-tenants' backend, several
    aliases on one database): the scenario asserts step by step and prints "scenario passed".
    """
    import subprocess
    import sys

    from django.db import connection

    name = f"{prefix}_{os.getpid()}"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        cursor.execute(f"CREATE DATABASE {name}")
    try:
        env = dict(
            os.environ,
            DATABASE_URL=database_url(name=name),
            DJANGO_SETTINGS_MODULE=settings_module,
            PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        )
        env.pop("PGTRIGGER_LIVE_TEST_DRIVER", None)
        done = subprocess.run(
            [sys.executable, "-m", module],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"{done.stdout}\n{done.stderr[-6000:]}"
        assert "scenario passed" in done.stdout
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextlib.contextmanager
def libpq_trace(raw: Any) -> Iterator[list[str]]:
    """The queries psycopg 3's libpq sends on the raw connection ``raw`` in the block (its
    protocol trace: what goes over the wire, whatever the cursor). Filled when the block exits."""
    from psycopg import pq

    sent: list[str] = []
    with tempfile.TemporaryFile("w+") as trace:
        raw.pgconn.trace(trace.fileno())
        raw.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            yield sent
        finally:
            raw.pgconn.untrace()
            trace.seek(0)
            for line in trace.read().splitlines():
                parts = line.split("\t")
                if len(parts) > 3 and parts[0] == "F" and parts[2] in ("Query", "Parse"):
                    sent.append(parts[3].strip().strip('"'))
