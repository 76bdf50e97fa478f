"""Branch coverage is enforced by the test command (``pytest --cov``), on whole-suite runs.

coverage.py's ``fail_under`` weighs statements and branches together; the figure we hold
ourselves to is the branch figure alone. It is checked only when the whole suite ran, so a
single test file run with ``--cov`` is not failed for what it does not exercise.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

#: The least share of branches of ``pgtrigger_live`` the suite must take (docs/testing.md).
MIN_BRANCH_COVERAGE = 95.0


def branch_share(totals: dict[str, Any]) -> float:
    """Percentage of branches taken, from coverage.py's JSON ``totals``."""
    branches = totals.get("num_branches", 0)
    return 100.0 if not branches else 100.0 * totals["covered_branches"] / branches


def _whole_suite(config: pytest.Config) -> bool:
    chosen = [Path(a.split("::")[0]).resolve() for a in config.args]
    tests = (config.rootpath / "tests").resolve()
    everything = not chosen or chosen in ([tests], [config.rootpath.resolve()])
    return everything and not config.option.keyword and not config.option.markexpr


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> Generator[None, None, None]:
    yield  # pytest-cov has written its report by now (its wrapper runs inside this one)
    plugin = session.config.pluginmanager.getplugin("_cov")
    controller = getattr(plugin, "cov_controller", None)
    if controller is None or getattr(plugin, "cov_total", None) is None:
        return
    if not _whole_suite(session.config) or session.testsfailed:
        return
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "coverage.json"
        controller.cov.json_report(outfile=str(out))
        share = branch_share(json.loads(out.read_text())["totals"])
    reporter = session.config.pluginmanager.getplugin("terminalreporter")
    if share < MIN_BRANCH_COVERAGE:
        reporter.write(
            f"\nERROR: branch coverage {share:.1f} % is under {MIN_BRANCH_COVERAGE:g} % "
            "(tests/coverage_gate.py); `pytest --cov` lists the branches not taken.\n",
            red=True,
            bold=True,
        )
        session.testsfailed += 1
    else:
        reporter.write(f"\nBranch coverage {share:.1f} % (at least {MIN_BRANCH_COVERAGE:g} %).\n")
