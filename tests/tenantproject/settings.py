"""A django-tenants project: a shared app in ``public`` and a tenant app in every tenant.

Used by tests/test_tenants.py, which runs tests/tenantproject/scenario.py in a child process
against a database of its own (``DATABASE_URL``).
"""

from __future__ import annotations

import os

from pgtrigger_live.testing.postgres import parse_database_url

SECRET_KEY = "pgtrigger-live-tenants-not-secret"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

SHARED_APPS = [
    "django_tenants",
    "django.contrib.contenttypes",
    "pgtrigger_live",
    "tests.tenantproject.customers",
]
TENANT_APPS = ["django.contrib.contenttypes", "tests.tenantproject.notes"]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "customers.Client"
TENANT_DOMAIN_MODEL = "customers.Domain"
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
DATABASES = {
    "default": {
        **parse_database_url(os.environ.get("DATABASE_URL", "postgresql://postgres@/postgres")),
        "ENGINE": "django_tenants.postgresql_backend",
    }
}

# The whole integration: --all-schemas means public and every tenant.
PGTRIGGER_LIVE_SCHEMAS = "django_tenants"
