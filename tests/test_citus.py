"""Citus end to end: a coordinator and two workers on loopback, started only when citus.so is
installed (tests/citus_cluster.py; README "Citus tests"), the scenario in a child process."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests import citus_cluster
from tests.conftest import ROOT

BINDIR = citus_cluster.find_citus_bindir()

pytestmark = pytest.mark.skipif(
    BINDIR is None,
    reason="Citus is not installed (no citus.so next to a PostgreSQL server; see README)",
)


@pytest.fixture(scope="session")
def citus_nodes() -> Iterator[list[citus_cluster.pgtest.Server]]:
    assert BINDIR is not None
    nodes = citus_cluster.start_cluster(BINDIR)
    try:
        yield nodes
    finally:
        citus_cluster.stop_cluster(nodes)


def run_scenario(module: str, url: str, settings: str, driver: str | None = None) -> str:
    """Run ``module`` in a child process against ``url``; its stdout (asserts it passed)."""
    env = dict(
        os.environ,
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE=settings,
        PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    )
    env.pop("PGTRIGGER_LIVE_TEST_DRIVER", None)
    if driver is not None:
        env["PGTRIGGER_LIVE_TEST_DRIVER"] = driver
    done = subprocess.run(
        [sys.executable, "-m", module],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr[-6000:]}"
    return done.stdout


def test_citus_distributed_and_reference_tables(
    citus_nodes: list[citus_cluster.pgtest.Server],
) -> None:
    """Install, no-op, change, uninstall/install and Protect on rows on both workers."""
    out = run_scenario("tests.citusproject.scenario", citus_nodes[0].url, "tests.settings")
    assert "scenario passed" in out


@pytest.mark.parametrize("driver", ["psycopg", "psycopg2"])
def test_citus_runtime_blocks_reach_the_workers(
    citus_nodes: list[citus_cluster.pgtest.Server], driver: str
) -> None:
    """A project whose migrations distribute its tables: ignore(), schema() and constraints()
    on rows of both workers, in autocommit and in transactions (runtime_scenario.py)."""
    pytest.importorskip(driver)
    url = citus_cluster.create_database(citus_nodes, f"shop_{driver}")
    out = run_scenario(
        "tests.citusproject.runtime_scenario", url, "tests.citusproject.settings", driver
    )
    assert "runtime scenario passed" in out


def test_citus_refusals_and_measured_behaviour_of_each_kind_of_trigger(
    citus_nodes: list[citus_cluster.pgtest.Server],
) -> None:
    """SoftDelete on a reference table is refused before any DDL (migrate, install, dry run);
    what works and what fails at write time on each table kind (probe_scenario.py)."""
    url = citus_cluster.create_database(citus_nodes, "probe")
    out = run_scenario(
        "tests.citusproject.probe_scenario", url, "tests.citusproject.probe_settings"
    )
    assert "probe scenario passed" in out


def test_a_database_without_the_extension_on_a_citus_server_gets_the_plain_forms(
    citus_nodes: list[citus_cluster.pgtest.Server], django_db_blocker: Any
) -> None:
    """The Citus library is loaded there (search_path reported, citus.version set) but the
    database has no extension: one query tells, and the blocks send what a plain server gets."""
    from django.db import connections, transaction

    import pgtrigger_live as pgtrigger
    from pgtrigger_live import citus
    from pgtrigger_live.runtime import wrapper
    from pgtrigger_live.testing.postgres import parse_database_url
    from tests.test_citus_question import URI, assert_plain_write, fresh, recorded, write

    coordinator = citus_nodes[0]
    citus_cluster._execute(coordinator.url, 'CREATE DATABASE "no_extension"')
    url = citus_cluster._with_database(coordinator.url, "no_extension")
    citus_cluster._execute(
        url, "CREATE TABLE testapp_protected (id bigserial PRIMARY KEY, name text)"
    )
    entry = copy.deepcopy(connections["default"].settings_dict)
    entry.update(parse_database_url(url), OPTIONS={})
    connections.settings["citus_plain"] = entry
    wrapper.forget_citus()
    try:
        with django_db_blocker.unblock():
            runtime = fresh("citus_plain")
            block = pgtrigger.ignore(URI, databases=["citus_plain"])
            with recorded("citus_plain") as sent, block, transaction.atomic(using="citus_plain"):
                write("citus_plain")
            assert len(sent) == 3, sent
            assert sent[0].endswith(f"{citus.LOADED} FROM (SELECT current_setting("
                                    "'pgtrigger.ignore', true) AS p0 OFFSET 0) AS s")  # fmt: skip
            assert sent[1] == citus.HAS_CITUS  # the library is there: is the extension?
            assert sent[2].startswith('INSERT INTO "testapp_protected"')
            assert (runtime.citus, runtime.citus_sure) == (False, True)

            wrapper.forget_citus()
            fresh("citus_plain")
            with recorded("citus_plain") as sent, pgtrigger.ignore(URI, databases=["citus_plain"]):
                write("citus_plain")
            assert sent[0] == citus.HAS_CITUS
            assert_plain_write(sent[1:])
    finally:
        wrapper.forget_citus()
        with django_db_blocker.unblock():
            connections["citus_plain"].close()
        del connections["citus_plain"]
        connections.settings.pop("citus_plain")
