"""Several aliases on one physical database, each migrated in turn, twice: no trigger is ever
dropped (tests/multialias/scenario.py in a child process, on a database of its own)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.db import connection

from tests.conftest import ROOT, database_url


@pytest.mark.django_db(transaction=True)
def test_three_aliases_on_one_database() -> None:
    name = f"pgtrigger_multialias_{os.getpid()}"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        cursor.execute(f"CREATE DATABASE {name}")
    try:
        env = dict(
            os.environ,
            DATABASE_URL=database_url(name=name),
            DJANGO_SETTINGS_MODULE="tests.multialias.settings",
            PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        )
        done = subprocess.run(
            [sys.executable, "-m", "tests.multialias.scenario"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"{done.stdout}\n{done.stderr[-6000:]}"
        assert "scenario passed" in done.stdout
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
