"""The reconciler on another PostgreSQL major version than the bundled one, in the same run.

The stored form of trigger conditions differs between majors (before 17 it records character
positions), which is exactly what the fingerprint must survive. When the machine has Debian's
server packages (/usr/lib/postgresql/<major>/bin), the reconcile and migrate tests run again
in a subprocess against the oldest of them; otherwise this is skipped with the reason.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
GUARD = "PGTRIGGER_LIVE_TESTS_OTHER_SERVER"


def oldest_system_server() -> Path | None:
    found = [
        p.parent
        for p in Path("/usr/lib/postgresql").glob("*/bin/postgres")
        if p.parent.parent.name.isdigit()
    ]
    return min(found, key=lambda p: int(p.parent.name)) if found else None


BINDIR = oldest_system_server()


@pytest.mark.skipif(os.environ.get(GUARD) == "1", reason="already the other server's run")
@pytest.mark.skipif(BINDIR is None, reason="no /usr/lib/postgresql/<major>/bin on this machine")
@pytest.mark.django_db
def test_reconcile_and_migrate_tests_pass_on_the_system_server() -> None:
    assert BINDIR is not None
    if int(BINDIR.parent.name) == connection.pg_version // 10000:  # type: ignore[attr-defined]
        pytest.skip(f"the system server ({BINDIR}) is the suite's own major version")
    drop = ("DATABASE_URL", "PG_BINDIR", "PYTEST_ADDOPTS", "DJANGO_SETTINGS_MODULE")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(PG_BINDIR=str(BINDIR), **{GUARD: "1"})
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "tests/test_reconcile.py", "tests/test_pre_migrate.py"]  # fmt: skip
    try:
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"PostgreSQL from {BINDIR}: timed out\n{exc.stdout!r}\n{exc.stderr!r}")
    output = f"PostgreSQL from {BINDIR}:\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}"
    assert done.returncode == 0, output
    assert " passed" in done.stdout, output
