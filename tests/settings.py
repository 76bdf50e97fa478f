"""Django settings for the test suite.

The server comes from ``DATABASE_URL``. When it is unset, the root ``conftest.py`` starts a
throwaway PostgreSQL (see ``pgtrigger_live/testing/postgres.py``), exports its URL and rewrites ``DATABASES``
in place; until then a placeholder that nothing listens on is used.
"""

from __future__ import annotations

import os
import sys
from typing import Any

if os.environ.get("PGTRIGGER_LIVE_TEST_DRIVER") == "psycopg2":
    # The whole suite on psycopg2 (Django prefers psycopg 3 when both are installed, and picks
    # its driver when its backend is first imported, right after these settings). psycopg 3 is
    # hidden only for that import, so the tests' own probe sessions can still use it.
    sys.modules["psycopg"] = None  # type: ignore[assignment]
    import django.db.backends.postgresql.base  # noqa: F401

    del sys.modules["psycopg"]

from pgtrigger_live.testing.postgres import parse_database_url

PLACEHOLDER_URL = "postgresql://postgres@/postgres?host=/nonexistent/pgtest-placeholder"


def build_databases(url: str) -> dict[str, dict[str, Any]]:
    """``default`` and ``other``: two databases on the same server, as Django settings."""
    default, other = parse_database_url(url), parse_database_url(url)
    other["NAME"] += "_other"
    for entry in (default, other):
        # Explicit test names; pytest-django appends _gw0, _gw1, ... for xdist workers.
        entry["TEST"] = {"NAME": f"test_{entry['NAME']}"}
    return {"default": default, "other": other}


SECRET_KEY = "pgtrigger-live-tests-not-secret"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "pgtrigger_live",
    "tests.testapp",
    "tests.migrapp",
]
DATABASES = build_databases(os.environ.get("DATABASE_URL") or PLACEHOLDER_URL)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
