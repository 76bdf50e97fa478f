"""Settings of a django-pghistory project switched to pgtrigger_live (docs/migrating.md)."""

from __future__ import annotations

import os

from pgtrigger_live.testing.postgres import parse_database_url

SECRET_KEY = "pgtrigger-live-history-tests"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "pgtrigger_live",
    "pgtrigger_live.compat",  # before "pgtrigger" and "pghistory"
    "pgtrigger",  # served by pgtrigger_live.compat; django-pghistory's check wants it
    "pghistory",
    "tests.historyapp",
]
DATABASES = {"default": parse_database_url(os.environ["DATABASE_URL"])}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
