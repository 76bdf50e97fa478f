"""Citus end to end: a coordinator and two workers on loopback, started only when citus.so is
installed (tests/citus_cluster.py; README "Citus tests"), the scenario in a child process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

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
