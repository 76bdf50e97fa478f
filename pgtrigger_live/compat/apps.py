"""The ``pgtrigger_live.compat`` app. Django imports this module while it reads
INSTALLED_APPS, in order: from here on ``import pgtrigger`` returns pgtrigger_live's."""

from __future__ import annotations

import sys

from django.apps import AppConfig, apps
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from pgtrigger_live.compat import alias

alias.activate()


class PgTriggerLiveCompatConfig(AppConfig):
    name = "pgtrigger_live.compat"
    label = "pgtrigger_live_compat"
    verbose_name = "pgtrigger_live (django-pgtrigger compatibility)"

    def ready(self) -> None:
        # An app listed before this one may have imported django-pgtrigger's package; its
        # app config would then be the real one.
        if apps.is_installed("pgtrigger"):
            config = apps.get_app_config("pgtrigger")
            if not alias.is_ours(config.module) or not alias.is_ours(sys.modules.get("pgtrigger")):
                raise ImproperlyConfigured(
                    "INSTALLED_APPS lists django-pgtrigger's 'pgtrigger' before "
                    "'pgtrigger_live.compat': move 'pgtrigger_live.compat' above it so that "
                    "'pgtrigger' is served by pgtrigger_live (docs/migrating.md)."
                )
        checks.register(check_installed)


def check_installed(app_configs: object = None, **kwargs: object) -> list[checks.CheckMessage]:
    """The compatibility layer serves the API; the reconciler must be installed to run it."""
    if apps.is_installed("pgtrigger_live"):
        return []
    return [
        checks.Error(
            'Add "pgtrigger_live" to INSTALLED_APPS: pgtrigger_live.compat only provides the '
            "names of django-pgtrigger; pgtrigger_live installs the triggers.",
            id="pgtrigger_live.E101",
        )
    ]
