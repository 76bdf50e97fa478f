"""Settings of the sample project.

The database is ``DATABASE_URL`` when set; otherwise an embedded PostgreSQL is started on
first use, with its data kept in ``sample_project/.pgdata`` (stop it with
``python -m pgtrigger_live.testing.postgres --datadir sample_project/.pgdata --stop``).
"""

from __future__ import annotations

import os
from pathlib import Path

from pgtrigger_live.testing import postgres as pgtest

BASE_DIR = Path(__file__).resolve().parent.parent

#: The data directory of the embedded server, or None when DATABASE_URL chose the database.
EMBEDDED_PGDATA = None if os.environ.get("DATABASE_URL") else BASE_DIR / ".pgdata"
DATABASE_URL = os.environ.get("DATABASE_URL") or pgtest.persistent_server(BASE_DIR / ".pgdata")
DATABASES = {"default": pgtest.parse_database_url(DATABASE_URL)}

SECRET_KEY = "sample-project-not-secret"
DEBUG = True
ALLOWED_HOSTS = ["*"]
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "pgtrigger_live",
    "shop",
]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ROOT_URLCONF = "sample.urls"

# pgtrigger_live's defaults, spelled out for the reader:
PGTRIGGER_LIVE_INSTALL_ON_MIGRATE = True  # reconcile after every migrate
PGTRIGGER_LIVE_PRUNE_ON_INSTALL = True  # drop our triggers that the code no longer declares
PGTRIGGER_LIVE_LOCK_TIMEOUT_MS = 3000  # a DDL statement waits at most this long for a lock

LOGGING = {
    "version": 1,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"pgtrigger_live": {"handlers": ["console"], "level": "INFO"}},
}
