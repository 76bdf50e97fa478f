"""django-pghistory 3.9 (from PyPI) on pgtrigger_live through ``pgtrigger_live.compat``.

The project (tests/historyapp) runs in subprocesses: its INSTALLED_APPS (the compatibility
app, django-pghistory) differ from the main suite's. Its migration files are the ones
django-pgtrigger's makemigrations wrote.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from tests.conftest import database_url

ROOT = Path(__file__).resolve().parent.parent
# Never import pghistory here: it imports django-pgtrigger, whose lookups would then be
# registered in this process. The subprocesses import it behind the compatibility app.
if importlib.util.find_spec("pghistory") is None:
    pytest.skip(
        "django-pghistory is not installed (pip install -e '.[test]')", allow_module_level=True
    )


@pytest.fixture
def history_database_url(django_db_blocker: Any) -> Iterator[str]:
    name = f"history_{uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        yield database_url(name=name)
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def run(code: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(
        [sys.executable, *code],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def scenario(url: str, variant: str) -> dict[str, Any]:
    done = run(
        ["-m", "tests.historyapp.scenario"],
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="tests.historyapp.settings",
        HISTORYAPP_VARIANT=variant,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_pghistory_project_switches(history_database_url: str) -> None:
    first = scenario(history_database_url, "base")
    # `import pgtrigger` anywhere gives pgtrigger_live; django-pgtrigger is never imported.
    assert first["pgtrigger_is_ours"] is True
    assert first["change_base_is_ours"] is True
    assert first["real_pgtrigger_loaded"] is False
    # The reconciler installed every tracker; the old AddTrigger operations ran no SQL of
    # theirs (django-pgtrigger's shared ignore function would exist otherwise).
    installed = first["after_first"]
    assert sorted(installed["triggers"]) == [
        "pgtrigger_balance_raised_update_ef193",
        "pgtrigger_delete_delete_f80c4",
        "pgtrigger_insert_insert_a4bb5",
        "pgtrigger_update_update_a49f5",
    ]
    assert installed["should_ignore_functions"] == 0
    assert first["applied"] == ["0001_initial", "0002_change_trackers"]
    assert first["second_migrate_ddl"] == []  # nothing changed: no DDL at all
    # Snapshots on insert and update, the conditional event only for the raise, the delete.
    assert first["labels"] == ["insert", "balance_raised", "update", "update", "delete"]

    changed = scenario(history_database_url, "changed")
    after = changed["after_first"]
    before_triggers = installed["triggers"]
    # The changed tracker is replaced in place: same trigger OID.
    name = "pgtrigger_balance_raised_update_ef193"
    assert after["triggers"][name]["oid"] == before_triggers[name]["oid"]
    # The removed tracker is pruned, with its function; the others are untouched.
    assert "pgtrigger_delete_delete_f80c4" not in after["triggers"]
    assert "pgtrigger_delete_delete_f80c4" not in after["functions"]
    for kept in ("pgtrigger_insert_insert_a4bb5", "pgtrigger_update_update_a49f5"):
        assert after["triggers"][kept] == before_triggers[kept]
    assert changed["second_migrate_ddl"] == []


SETUP = """
import django
from django.conf import settings
settings.configure(INSTALLED_APPS={apps!r})
django.setup()
import pgtrigger
print(pgtrigger.__name__)
"""


@pytest.mark.parametrize(
    "apps",
    [
        # django-pgtrigger's own app before the compatibility app.
        ["pgtrigger_live", "pgtrigger", "pgtrigger_live.compat", "pghistory"],
        # An app that imports pgtrigger (pghistory) before the compatibility app.
        ["pgtrigger_live", "pghistory", "pgtrigger_live.compat", "pgtrigger"],
    ],
)
def test_refuses_to_shadow_django_pgtrigger(apps: list[str]) -> None:
    done = run(["-c", SETUP.format(apps=apps)])
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr
    assert "list 'pgtrigger_live.compat' in INSTALLED_APPS before 'pgtrigger'" in done.stderr


def test_opt_in_only() -> None:
    """Without the compatibility app, ``pgtrigger`` stays django-pgtrigger's."""
    done = run(["-c", SETUP.format(apps=["pgtrigger_live", "pgtrigger"])])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "pgtrigger"
    with_compat = run(["-c", SETUP.format(apps=["pgtrigger_live", "pgtrigger_live.compat"])])
    assert with_compat.returncode == 0, with_compat.stderr
    assert with_compat.stdout.strip() == "pgtrigger_live.compat.pgtrigger"


def test_compat_without_pgtrigger_live_is_reported() -> None:
    code = SETUP.format(apps=["pgtrigger_live.compat"]) + (
        "from django.core import checks\nprint([m.id for m in checks.run_checks()])\n"
    )
    done = run(["-c", code])
    assert done.returncode == 0, done.stderr
    assert "pgtrigger_live.E101" in done.stdout
