"""The sample project's one documented command works end to end (in a database of its own)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import database_url

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def sample_database_url(django_db_blocker: pytest.FixtureRequest) -> Iterator[str]:
    name = f"sample_{uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        yield database_url(name=name)
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_demo_command(sample_database_url: str) -> None:
    env = dict(os.environ, DATABASE_URL=sample_database_url)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "sample_project/manage.py", "demo", "--no-color"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "delete Account 1: refused by the database" in out
    assert "after delete(): {'name': 'Ada', 'is_active': False}" in out
    assert "paid -> cart: refused by the database" in out
    assert "planned actions: 0" in out
    digested = re.search(
        r"(\d+) of (\d+) triggers found unchanged by their declaration digest", out
    )
    assert digested is not None
    assert 0 < int(digested[1]) <= int(digested[2])
    assert re.search(r"INSTALLED ENABLED +shop.Account:protect_deletes", out)
    assert "inside ignore(): deleted, accounts left: 0" in out
    assert "right after the block, delete again: refused by the database" in out
    assert "hard-deleted inactive customers, left: 0" in out
    assert "shop.Product:count_price_changes: OUTDATED (the trigger was altered" in out
    assert "install repaired 1 trigger(s)" in out
    assert "trail: normalize > price > audit" in out
    assert re.search(r"INSTALLED ENABLED  order 10   shop.Shipment:normalize", out)
    assert "was NOT refused" not in out
    # The tenant-style tour: a plan with reasons, then two schemas installed, public untouched.
    assert "create   shop.Account:protect_deletes on tenant_a.shop_account: not installed" in out
    assert "tenant_b: shop.Account:protect_deletes" in out
    assert "Nothing: the demo used DATABASE_URL's server." in out
    # track_functions was off on the fresh database: the demo turned it on and measured itself.
    assert "track_functions was off: ran ALTER DATABASE" in out
    stats = out.split("what each trigger cost during this demo", 1)[1]
    calls = {
        line.split()[-3]: int(line.split()[0].replace(",", ""))
        for line in stats.splitlines()
        if line.endswith(".shop_product") or line.endswith(".shop_account")
    }
    # One Product saved with a new price ran the conditional trigger once (the refused SKU
    # change left the price alone: its WHEN clause was false); the read-only trigger's one
    # call raised, and a call that ends in an error is not counted.
    assert calls["shop.Product:count_price_changes"] == 1, stats
    assert calls["shop.Product:sku_read_only"] == 0, stats


def test_stop_says_what_it_did(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pgtrigger_live.testing.postgres", "--datadir", str(tmp_path / "none"), "--stop"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "no PostgreSQL server was running" in done.stdout
    assert "(the directory does not exist)" in done.stdout


def test_a_missing_driver_names_the_extras() -> None:
    """Both drivers hidden: django.setup() stops with the install line, not a traceback."""
    code = (
        "import sys; sys.modules['psycopg'] = None; sys.modules['psycopg2'] = None\n"
        "import django\n"
        "try:\n"
        "    django.setup()\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="tests.settings")
    env.pop("PGTRIGGER_LIVE_TEST_DRIVER", None)  # that switch loads the backend in settings
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert "ImproperlyConfigured pgtrigger_live: no PostgreSQL driver" in done.stdout, done
    assert 'pip install "pgtrigger-live[psycopg]"' in done.stdout
