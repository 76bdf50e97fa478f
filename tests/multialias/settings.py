"""Three aliases on ONE database: ``default`` (public), ``sales`` (search_path sales, public)
and ``admin`` (public, like default). A router sends each app to one alias.

Used by tests/test_multialias.py through tests/multialias/scenario.py in a child process.
"""

from __future__ import annotations

import os

from pgtrigger_live.testing.postgres import parse_database_url

SECRET_KEY = "pgtrigger-live-multialias-not-secret"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = [
    "pgtrigger_live",
    "tests.multialias.billing",
    "tests.multialias.sales",
    "tests.multialias.audit",
]
_base = parse_database_url(os.environ.get("DATABASE_URL", "postgresql://postgres@/postgres"))
DATABASES = {
    "default": dict(_base),
    "sales": {**_base, "OPTIONS": {"options": "-c search_path=sales,public"}},
    "admin": dict(_base),
}
DATABASE_ROUTERS = ["tests.multialias.settings.ByApp"]


class ByApp:
    """Each app migrates to one alias only."""

    ROUTES = {"billing": "default", "sales": "sales", "audit": "admin"}

    def allow_migrate(self, db: str, app_label: str, **hints: object) -> bool | None:
        if app_label in self.ROUTES:
            return db == self.ROUTES[app_label]
        return None
