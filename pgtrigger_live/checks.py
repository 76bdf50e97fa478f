"""System checks: every declaration is compiled at ``manage.py check`` (and before migrate).

IDs are stable so they can be silenced (SILENCED_SYSTEM_CHECKS) and asserted in tests:

* ``pgtrigger_live.E001`` a trigger does not compile for its model (bad field, bad combination).
* ``pgtrigger_live.W001`` a model's own ``Meta`` drops triggers its abstract parent declares.
* ``pgtrigger_live.E002`` ``PGTRIGGER_LIVE_PRE_MIGRATE`` is unknown or cannot work as set.
* ``pgtrigger_live.E005`` declared firing orders that cannot be honoured (ties, contradictions).
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.checks import CheckMessage, Error, Warning
from django.db import DEFAULT_DB_ALIAS, connections

from pgtrigger_live import conf
from pgtrigger_live.declare import ordering, registry
from pgtrigger_live.exceptions import DeclarationError
from pgtrigger_live.reconcile.compiler import compile_trigger
from pgtrigger_live.routing import allowed


def check_triggers(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    aliases = list(connections)
    for uri, model, trigger in registry.select():
        if app_configs is not None and model._meta.app_config not in app_configs:
            continue
        alias = next((a for a in aliases if allowed(model, a)), DEFAULT_DB_ALIAS)
        try:
            compile_trigger(model, trigger, connections[alias])
        except DeclarationError as exc:
            messages.append(
                Error(
                    f"Trigger {uri} cannot be installed: {exc}",
                    hint="Fix the trigger declaration; nothing was sent to the database.",
                    obj=model,
                    id="pgtrigger_live.E001",
                )
            )
    return messages


def check_orders(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Orders two triggers share, or that Postgres' own firing phases contradict."""
    return [
        Error(conflict.message, hint=conflict.hint, obj=conflict.model, id="pgtrigger_live.E005")
        for conflict in ordering.conflicts(registry.select())
        if app_configs is None or conflict.model._meta.app_config in app_configs
    ]


def check_inherited_meta(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for model in apps.get_models():
        if app_configs is not None and model._meta.app_config not in app_configs:
            continue
        if hasattr(model._meta, "triggers"):
            continue  # inherited, or deliberately declared by the model itself
        for parent in model.__mro__[1:]:
            parent_meta = getattr(parent, "_meta", None)
            if parent_meta is None or not parent_meta.abstract:
                continue
            lost = [t.name for t in getattr(parent_meta, "triggers", None) or ()]
            if lost:
                messages.append(
                    Warning(
                        f"{model._meta.label} does not inherit triggers {', '.join(lost)} "
                        f"declared on abstract {parent_meta.label}.",
                        hint=f"Write `class Meta({parent.__name__}.Meta):` so Meta.triggers "
                        "is inherited.",
                        obj=model,
                        id="pgtrigger_live.W001",
                    )
                )
    return messages


def check_schemas(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """PGTRIGGER_LIVE_SCHEMAS that cannot be used: reported before any command needs it.

    Only the shape is checked here (a callable may query the database, so it is not called).
    """
    from pgtrigger_live.exceptions import SchemaError
    from pgtrigger_live.reconcile import schemas

    value = conf.schemas()
    hint = (
        'A list of schema names, {"alias": [...]}, a callable (alias) -> list, its dotted '
        f'path, or "{schemas.DJANGO_TENANTS}". See docs/tenants.md.'
    )
    problem = None
    if value == schemas.DJANGO_TENANTS:
        from django.apps import apps

        if not apps.is_installed("django_tenants"):
            problem = (
                'PGTRIGGER_LIVE_SCHEMAS = "django_tenants" but django_tenants is not installed.'
            )
    elif value is not None:
        try:
            source = schemas.source()
            if isinstance(source, schemas.Listed) and not callable(source.value):
                values = source.value.values() if isinstance(source.value, dict) else [source.value]
                for names in values:
                    if not callable(names):
                        schemas._names(names, "PGTRIGGER_LIVE_SCHEMAS")
        except SchemaError as exc:
            problem = str(exc)
    if problem is None:
        return []
    return [Error(problem, hint=hint, id="pgtrigger_live.E003")]


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Settings whose combination cannot work: reported before any migrate runs."""
    policy = conf.pre_migrate()
    if policy not in conf.PRE_MIGRATE_POLICIES:
        allowed_values = ", ".join(repr(p) for p in conf.PRE_MIGRATE_POLICIES)
        return [
            Error(
                f"PGTRIGGER_LIVE_PRE_MIGRATE is {policy!r}; expected one of {allowed_values}.",
                id="pgtrigger_live.E002",
            )
        ]
    if policy == "drop" and not conf.install_on_migrate():
        return [
            Error(
                'PGTRIGGER_LIVE_PRE_MIGRATE = "drop" needs PGTRIGGER_LIVE_INSTALL_ON_MIGRATE: '
                "the triggers it drops before migrating are re-created after it.",
                hint='Set PGTRIGGER_LIVE_INSTALL_ON_MIGRATE = True or PRE_MIGRATE = "keep".',
                id="pgtrigger_live.E002",
            )
        ]
    return []


def check_no_django_pgtrigger(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """django-pgtrigger's own app next to pgtrigger_live: two libraries installing, replacing
    and pruning the same ``pgtrigger_*`` triggers, each undoing the other at every deploy."""
    from django.apps import apps

    from pgtrigger_live.compat import alias

    if not apps.is_installed("pgtrigger"):
        return []
    if alias.is_ours(apps.get_app_config("pgtrigger").module):
        return []  # pgtrigger_live.compat serves "pgtrigger": one library
    return [
        Error(
            "django-pgtrigger ('pgtrigger') and pgtrigger_live are both installed: both would "
            "install, replace and prune the same pgtrigger_* triggers.",
            hint="Remove 'pgtrigger' from INSTALLED_APPS, or (for django-pghistory) list "
            "'pgtrigger_live.compat' above it so that pgtrigger_live serves it "
            "(docs/migrating.md).",
            id="pgtrigger_live.E004",
        )
    ]
