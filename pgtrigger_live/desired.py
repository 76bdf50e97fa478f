"""Registry + database alias -> what that database should hold (compiled, or not allowed)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections, models, router

from pgtrigger_live import registry
from pgtrigger_live.compiler import compile_trigger
from pgtrigger_live.planner import Desired
from pgtrigger_live.triggers import Trigger


def is_postgres(alias: str) -> bool:
    return connections[alias].vendor == "postgresql"


def allowed(model: type[models.Model], alias: str) -> bool:
    """django-pgtrigger's rule: a Postgres alias the router lets the concrete model migrate to.

    ``router.allow_migrate`` (not ``allow_migrate_model``) so unmanaged models and views can
    carry triggers too.
    """
    concrete = model._meta.concrete_model
    assert concrete is not None
    return is_postgres(alias) and bool(
        router.allow_migrate(alias, concrete._meta.app_label, model_name=concrete._meta.model_name)
    )


def collect(
    alias: str, items: Sequence[tuple[str, type[models.Model], Trigger]] | None = None
) -> list[Desired]:
    """Compile every registered trigger (or ``items``) for ``alias``."""
    connection = connections[alias]
    result = []
    for uri, model, trigger in items if items is not None else registry.select():
        compiled = compile_trigger(model, trigger, connection) if allowed(model, alias) else None
        pgid = compiled.pgid if compiled is not None else trigger.get_pgid(model)
        result.append(Desired(uri, pgid, model._meta.db_table, compiled))
    return result
