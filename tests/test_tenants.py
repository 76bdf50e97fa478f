"""django-tenants from PyPI, end to end: tests/tenantproject/scenario.py in a child process
against a database of its own (django-tenants' settings cannot share this process)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.db import connection

from tests.conftest import ROOT, database_url

pytest.importorskip("django_tenants")


@pytest.mark.django_db(transaction=True)
def test_django_tenants_end_to_end() -> None:
    name = f"pgtrigger_tenants_{os.getpid()}"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        cursor.execute(f"CREATE DATABASE {name}")
    try:
        env = dict(
            os.environ,
            DATABASE_URL=database_url(name=name),
            DJANGO_SETTINGS_MODULE="tests.tenantproject.settings",
            PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        )
        done = subprocess.run(
            [sys.executable, "-m", "tests.tenantproject.scenario"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"{done.stdout}\n{done.stderr[-6000:]}"
        assert "scenario passed" in done.stdout
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
