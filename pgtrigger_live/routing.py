"""Where a model's triggers belong: PostgreSQL aliases the database router allows it on.

Shared by the reconcile (what to install where) and the runtime (which aliases an
``ignore()`` applies to), so it sits below both.
"""

from __future__ import annotations

from django.db import connections, models, router


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
