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
def citus_coordinator() -> Iterator[str]:
    assert BINDIR is not None
    nodes = citus_cluster.start_cluster(BINDIR)
    try:
        yield nodes[0].url
    finally:
        citus_cluster.stop_cluster(nodes)


def test_citus_distributed_and_reference_tables(citus_coordinator: str) -> None:
    """Install, no-op, change, uninstall/install and Protect on rows on both workers."""
    env = dict(
        os.environ,
        DATABASE_URL=citus_coordinator,
        DJANGO_SETTINGS_MODULE="tests.settings",
        PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    )
    env.pop("PGTRIGGER_LIVE_TEST_DRIVER", None)
    done = subprocess.run(
        [sys.executable, "-m", "tests.citusproject.scenario"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr[-6000:]}"
    assert "scenario passed" in done.stdout
