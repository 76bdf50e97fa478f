"""The app labelled ``pgtrigger`` that django-pghistory's check (pghistory.E001) asks for.

It has no models, no migrations and no ``ready`` work: pgtrigger_live's own app does the
registering and installing.
"""

from __future__ import annotations

from django.apps import AppConfig


class PgTriggerCompatAppConfig(AppConfig):
    name = "pgtrigger"
    label = "pgtrigger"
    verbose_name = "pgtrigger (served by pgtrigger_live)"
    default = True
