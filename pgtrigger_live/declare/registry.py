"""The in-memory map of URI -> (model, trigger), filled by ``Meta.triggers`` and register()."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator
from typing import TypeVar

from django.db import models

from pgtrigger_live import naming
from pgtrigger_live.declare.triggers import Trigger
from pgtrigger_live.exceptions import (
    DeclarationError,
    DuplicateTriggerError,
    UnknownTriggerError,
    did_you_mean,
)

M = TypeVar("M", bound=type[models.Model])

# URI -> (model, trigger), in registration order. Keyed lookups by pgid and table keep
# registration linear in the number of triggers (django-pgtrigger's was quadratic).
_registry: dict[str, tuple[type[models.Model], Trigger]] = {}
_by_pgid: dict[str, str] = {}
_by_table_name: dict[tuple[str, str], str] = {}


def _table_key(model: type[models.Model], trigger: Trigger) -> tuple[str, str]:
    return (model._meta.db_table, trigger.name or "")


def add(model: type[models.Model], trigger: Trigger) -> None:
    """Register ``trigger`` on ``model``; raise DeclarationError naming both on a clash."""
    if not isinstance(trigger, Trigger):
        raise DeclarationError(
            f"{model._meta.label}: Meta.triggers and register() take Trigger instances, "
            f"got {trigger!r}."
        )
    if model._meta.abstract:
        raise DeclarationError(
            f'Trigger "{trigger.name}" cannot be registered on abstract model '
            f"{model._meta.label}; declare it in Meta.triggers so concrete children inherit it."
        )
    uri = trigger.get_uri(model)
    existing = _registry.get(uri)
    if existing is not None:
        if existing[1] is trigger and existing[0] is model:
            return
        raise DuplicateTriggerError(
            f'Trigger "{uri}" is already registered (name already used); names must be unique.'
        )
    table_key = _table_key(model, trigger)
    if table_key in _by_table_name:
        raise DuplicateTriggerError(
            f'Trigger name "{trigger.name}" on {model._meta.label} is already used on table '
            f'"{model._meta.db_table}" by "{_by_table_name[table_key]}" (a proxy and its '
            "concrete model share a table); use a different name."
        )
    pgid = trigger.get_pgid(model)
    if pgid in _by_pgid:
        raise DuplicateTriggerError(
            f'Trigger "{uri}" has Postgres id "{pgid}", already in use by "{_by_pgid[pgid]}"; '
            "use a different name."
        )
    _registry[uri] = (model, trigger)
    _by_pgid[pgid] = uri
    _by_table_name[table_key] = uri


def remove(model: type[models.Model], trigger: Trigger) -> None:
    """Unregister; unknown pairs raise UnknownTriggerError."""
    uri = trigger.get_uri(model)
    if _registry.get(uri, (None, None))[1] is not trigger:
        raise UnknownTriggerError(f'URI "{uri}" not found in pgtrigger registry')
    del _registry[uri]
    _by_pgid.pop(trigger.get_pgid(model), None)
    _by_table_name.pop(_table_key(model, trigger), None)


def register(*triggers: Trigger) -> Callable[[M], M]:
    """Class decorator (or ``register(t)(Model)``) adding triggers to a model you don't own."""

    def decorator(model: M) -> M:
        for trigger in triggers:
            add(model, trigger)
        return model

    return decorator


def _all() -> Iterator[tuple[str, type[models.Model], Trigger]]:
    for uri, (model, trigger) in _registry.items():
        yield uri, model, trigger


def select(*selectors: str | type[models.Model]) -> list[tuple[str, type[models.Model], Trigger]]:
    """Resolve URIs, wildcards (``app.Model:*``, ``*:name``) and model classes, in order.

    No selector means every registered trigger. A selector that matches nothing raises
    UnknownTriggerError: a typo must never silently select nothing.
    """
    if not selectors:
        return list(_all())
    chosen: dict[str, tuple[str, type[models.Model], Trigger]] = {}
    for selector in selectors:
        matched = _match(selector)
        if not matched:
            wanted = _describe(selector)
            hint = did_you_mean(wanted, _registry) if isinstance(selector, str) else ""
            raise UnknownTriggerError(f'URI "{wanted}" not found in pgtrigger registry{hint}')
        for item in matched:
            chosen.setdefault(item[0], item)
    return list(chosen.values())


def _describe(selector: str | type[models.Model]) -> str:
    return selector if isinstance(selector, str) else selector._meta.label


def _match(selector: str | type[models.Model]) -> list[tuple[str, type[models.Model], Trigger]]:
    if isinstance(selector, type) and issubclass(selector, models.Model):
        return [item for item in _all() if item[1] is selector]
    if not isinstance(selector, str):
        raise DeclarationError(f"Cannot select triggers with {selector!r}.")
    if "*" in selector or "?" in selector or "[" in selector:
        return [item for item in _all() if fnmatch.fnmatchcase(item[0], selector)]
    naming.split_uri(selector)
    item = _registry.get(selector)
    return [(selector, *item)] if item else []


def registered(*uris: str) -> list[tuple[type[models.Model], Trigger]]:
    """``[(model, trigger), ...]`` for the URIs given, or for every registered trigger."""
    return [(model, trigger) for _, model, trigger in select(*uris)]


def entry(uri: str) -> tuple[type[models.Model], Trigger] | None:
    """The registered ``(model, trigger)`` for an exact URI, or None (no wildcard, no error)."""
    return _registry.get(uri)


def uri_of(pgid: str) -> str | None:
    """The URI of the registered trigger whose PostgreSQL name is ``pgid``, or None.

    Also under the name of another order (or of none): between a deploy that changes a
    trigger's order and its reconcile, code and database name it differently. That case
    scans the registry (rare: an error raised by a trigger named otherwise than declared).
    """
    uri = _by_pgid.get(pgid)
    if uri is not None or not pgid.startswith(naming.PREFIX):
        return uri
    # Without an order an id is its own key: one membership test covers both cases.
    key = naming.order_key(pgid)
    for uri, (_, trigger) in _registry.items():
        if key in naming.names_of(uri, trigger.name or ""):
            return uri
    return None
