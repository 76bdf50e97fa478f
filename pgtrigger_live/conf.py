"""Settings, read lazily so tests can override them and importing never touches Django settings.

Every setting also answers to its django-pgtrigger name where one exists, so a project that
switches with ``import pgtrigger_live as pgtrigger`` keeps its configuration.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _get(name: str, legacy: str | None, default: Any) -> Any:
    if hasattr(settings, name):
        return getattr(settings, name)
    if legacy and hasattr(settings, legacy):
        return getattr(settings, legacy)
    return default


def install_on_migrate() -> bool:
    """Reconcile after ``migrate`` (and ``flush``) for the migrated database."""
    return bool(_get("PGTRIGGER_LIVE_INSTALL_ON_MIGRATE", "PGTRIGGER_INSTALL_ON_MIGRATE", True))


def prune_on_install() -> bool:
    """A full install (no URIs) also drops our triggers that are no longer declared."""
    return bool(_get("PGTRIGGER_LIVE_PRUNE_ON_INSTALL", "PGTRIGGER_PRUNE_ON_INSTALL", True))


def model_meta() -> bool:
    """Register the triggers declared in ``Meta.triggers`` when apps are ready."""
    return bool(_get("PGTRIGGER_LIVE_MODEL_META", "PGTRIGGER_MODEL_META", True))


def lock_timeout_ms() -> int:
    """How long one attempt may wait for a table lock (each LOCK and DDL statement).

    This bounds how long application queries queue behind a deploy: while a reconcile waits
    for a table lock, every conflicting query that arrives after it waits too.
    """
    return int(_get("PGTRIGGER_LIVE_LOCK_TIMEOUT_MS", None, 50))


def lock_deadline_s() -> float:
    """How long a reconcile keeps retrying busy tables (jittered backoff) before it fails."""
    return float(_get("PGTRIGGER_LIVE_LOCK_DEADLINE_S", None, 30))


#: Values of PGTRIGGER_LIVE_ON_BUSY_TABLE.
ON_BUSY_TABLE = ("fail", "defer")


def on_busy_table() -> str:
    """What a reconcile does with a table still busy at the lock deadline.

    "fail" (default): all or nothing, ``LockTimeoutError`` and nothing changed. "defer": the
    rest of the plan is applied at once and the busy table's actions are reported as
    deferred (``ls --check`` fails until a later reconcile finishes them).
    """
    value = str(_get("PGTRIGGER_LIVE_ON_BUSY_TABLE", None, "fail"))
    if value not in ON_BUSY_TABLE:
        raise ImproperlyConfigured(
            f"PGTRIGGER_LIVE_ON_BUSY_TABLE must be one of {', '.join(ON_BUSY_TABLE)}, "
            f"not {value!r}."
        )
    return value


def reconcile_wait_ms() -> int:
    """How long to wait for another process that is reconciling the same database."""
    return int(_get("PGTRIGGER_LIVE_RECONCILE_WAIT_MS", None, 120_000))


#: Values of PGTRIGGER_LIVE_PRE_MIGRATE.
PRE_MIGRATE_POLICIES = ("keep", "drop")


def pre_migrate() -> str:
    """What ``migrate`` does with our triggers on the tables its plan touches, beforehand.

    "keep" (default): nothing; the migrations run with today's triggers. "drop": they are
    dropped before the first migration and re-created by the post_migrate reconcile, so
    historical migrations never run today's triggers against yesterday's tables. Checked
    by ``pgtrigger_live.E002``.
    """
    return str(_get("PGTRIGGER_LIVE_PRE_MIGRATE", None, "keep"))


def schemas() -> object:
    """Every schema an alias's triggers live in, for ``--all-schemas`` (see schemas.py)."""
    return _get("PGTRIGGER_LIVE_SCHEMAS", None, None)
