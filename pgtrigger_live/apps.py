"""The app config: registers ``Meta.triggers``, the system checks, the post_migrate hook and
the typed-error translation."""

from __future__ import annotations

from django.apps import AppConfig, apps
from django.core import checks
from django.db.models.signals import post_migrate

from pgtrigger_live import conf, registry


class PgTriggerLiveConfig(AppConfig):
    name = "pgtrigger_live"
    label = "pgtrigger_live"
    verbose_name = "pgtrigger_live"

    def ready(self) -> None:
        from pgtrigger_live import checks as trigger_checks
        from pgtrigger_live.installation import on_post_migrate

        if conf.model_meta():
            register_meta_triggers()
        checks.register(trigger_checks.check_triggers)
        checks.register(trigger_checks.check_inherited_meta)
        # No sender filter: the handler acts once, on the last app (see on_post_migrate).
        post_migrate.connect(on_post_migrate, dispatch_uid="pgtrigger_live.post_migrate")
        # Typed trigger errors (ProtectedError, ...); PGTRIGGER_LIVE_TYPED_ERRORS=False disables.
        from pgtrigger_live import errors

        errors.install_translation()


def register_meta_triggers() -> None:
    """Register every model's ``Meta.triggers`` (abstract parents' ones are inherited)."""
    for model in apps.get_models():
        for trigger in getattr(model._meta, "triggers", None) or ():
            registry.add(model, trigger)
