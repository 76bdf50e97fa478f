"""The app config: registers ``Meta.triggers``, the system checks, the migrate hooks, and the
one ``connection_created`` receiver that puts the runtime's execute wrappers on every
connection (see ``on_connection_created`` for their order)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.apps import AppConfig, apps
from django.core import checks
from django.core.signals import setting_changed
from django.db import connections
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate, pre_migrate

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

from pgtrigger_live import conf
from pgtrigger_live.declare import registry


class PgTriggerLiveConfig(AppConfig):
    name = "pgtrigger_live"
    label = "pgtrigger_live"
    verbose_name = "pgtrigger_live"

    def ready(self) -> None:
        from pgtrigger_live import checks as trigger_checks
        from pgtrigger_live.reconcile.installation import on_post_migrate, on_pre_migrate

        if conf.model_meta():
            register_meta_triggers()
        checks.register(trigger_checks.check_triggers)
        checks.register(trigger_checks.check_orders)
        checks.register(trigger_checks.check_inherited_meta)
        # No sender filter: the handler acts once, on the last app (see on_post_migrate).
        post_migrate.connect(on_post_migrate, dispatch_uid="pgtrigger_live.post_migrate")
        pre_migrate.connect(on_pre_migrate, dispatch_uid="pgtrigger_live.pre_migrate")
        checks.register(trigger_checks.check_settings)
        checks.register(trigger_checks.check_schemas)
        checks.register(trigger_checks.check_no_django_pgtrigger)
        install_runtime()


def install_runtime() -> None:
    """The execute wrappers on every new connection, and on the ones already open; idempotent.

    Typed trigger errors (ProtectedError, ...) are translated unless
    ``PGTRIGGER_LIVE_TYPED_ERRORS = False``; changing that setting (``override_settings``)
    turns the translation on or off for open connections too.
    """
    from pgtrigger_live.runtime import errors

    errors.install_translation()
    connection_created.connect(on_connection_created, dispatch_uid="pgtrigger_live.connections")
    setting_changed.connect(on_setting_changed, dispatch_uid="pgtrigger_live.settings")
    for connection in connections.all(initialized_only=True):
        on_connection_created(sender=None, connection=connection)


def on_connection_created(sender: object, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """The one ``connection_created`` receiver. Order (each is inserted first in Django's
    ``execute_wrappers``, so the later one ends up outermost):

    1. the runtime wrapper (``ignore()``, ``schema()``, ``constraints()``): a new session
       starts with nothing set;
    2. the typed-error translation, outermost, so it also sees errors raised by the
       statements the runtime prefixes.
    """
    from pgtrigger_live.runtime import errors, wrapper

    wrapper.on_connection_created(sender, connection)
    if errors.active():
        errors.add_to_connection(connection)


def on_setting_changed(setting: str, **kwargs: Any) -> None:
    """Settings are read when used (``conf``); the one applied at start-up is re-applied."""
    from pgtrigger_live.runtime import errors

    if setting == errors.SETTING:
        errors.uninstall_translation()
        errors.install_translation()


def register_meta_triggers() -> None:
    """Register every model's ``Meta.triggers`` (abstract parents' ones are inherited)."""
    for model in apps.get_models():
        for trigger in getattr(model._meta, "triggers", None) or ():
            registry.add(model, trigger)


def check_driver() -> None:
    """Fail with the install hint when a PostgreSQL alias has no driver to load.

    Without it the first command fails later, in Django's backend import, with "Error loading
    psycopg2 or psycopg module" and no word on what to install.
    """
    from importlib.util import find_spec

    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    engines = [str(db.get("ENGINE", "")) for db in settings.DATABASES.values()]
    if not any(
        "postgres" in engine or "postgis" in engine or "django_tenants" in engine
        for engine in engines
    ):
        return
    for driver in ("psycopg", "psycopg2"):
        try:
            if find_spec(driver) is not None:
                return
        except (ImportError, ValueError):  # a module set to None in sys.modules
            continue
    raise ImproperlyConfigured(
        "pgtrigger_live: no PostgreSQL driver is installed. Install one with the library: "
        'pip install "pgtrigger-live[psycopg]" (psycopg 3) or "pgtrigger-live[psycopg2]".'
    )


# Django loads database backends while it imports models (the first model class asks the
# connection for its features), before any ready(): the driver is checked when Django
# imports this app config, the earliest moment it can be.
from django.conf import settings as _settings  # noqa: E402

if _settings.configured:
    check_driver()
