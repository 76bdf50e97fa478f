"""The project the documentation's examples run in (tests/test_docs_examples.py).

A child process of its own, on a database of its own, so the docs' models and triggers never
show in the rest of the suite's listings.
"""

from __future__ import annotations

import os
import sys

if os.environ.get("PGTRIGGER_LIVE_TEST_DRIVER") == "psycopg2":
    # As tests/settings.py: the examples run on the driver the suite runs on.
    sys.modules["psycopg"] = None  # type: ignore[assignment]
    import django.db.backends.postgresql.base  # noqa: F401

    del sys.modules["psycopg"]

from pgtrigger_live.testing.postgres import parse_database_url

SECRET_KEY = "pgtrigger-live-docs-not-secret"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# django.contrib.postgres: SearchVectorField needs it (a system check from Django 6.1 on).
INSTALLED_APPS = ["django.contrib.postgres", "pgtrigger_live", "tests.docsproject.shop"]
DATABASES = {
    "default": parse_database_url(os.environ.get("DATABASE_URL", "postgresql://postgres@/postgres"))
}
