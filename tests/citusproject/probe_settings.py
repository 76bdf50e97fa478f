"""tests/citusproject/settings.py plus the probe app (the triggers measured on Citus)."""

from __future__ import annotations

from tests.citusproject.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.citusproject.probe"]  # noqa: F405
