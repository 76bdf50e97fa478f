"""A project whose migrations make Citus distributed and reference tables (tests/test_citus.py).

Run by tests/citusproject/runtime_scenario.py against the coordinator in ``DATABASE_URL``.
"""

from __future__ import annotations

import os
import sys

if os.environ.get("PGTRIGGER_LIVE_TEST_DRIVER") == "psycopg2":
    # As tests/settings.py: Django picks psycopg2 when psycopg 3 cannot be imported.
    sys.modules["psycopg"] = None  # type: ignore[assignment]
    import django.db.backends.postgresql.base  # noqa: F401

    del sys.modules["psycopg"]

from pgtrigger_live.testing.postgres import parse_database_url

SECRET_KEY = "pgtrigger-live-citus-not-secret"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = ["django.contrib.contenttypes", "pgtrigger_live", "tests.citusproject.shop"]
DATABASES = {
    "default": parse_database_url(os.environ.get("DATABASE_URL", "postgresql://postgres@/postgres"))
}
