"""What the current context wants: immutable per-alias state held in one ContextVar.

A ``with ignore(...)`` or ``with schema(...)`` block pushes a new ``RuntimeState`` whose
``parent`` is the one it replaced, and pops it on exit. Values are never mutated, so a copied
context (a thread started by asgiref's ``sync_to_async``, an asyncio task) sees a consistent
snapshot, and one thread's or task's block never shows in another.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import MappingProxyType

from django.db import connections, models

from pgtrigger_live.declare import registry
from pgtrigger_live.declare.triggers import Trigger, ignore_id
from pgtrigger_live.exceptions import DeclarationError, UnknownTriggerError
from pgtrigger_live.runtime import statements

Selector = str | type[models.Model]


@dataclass(frozen=True)
class AliasState:
    """What one database alias wants: the ignored trigger ids and the schema list."""

    ignored: frozenset[str]
    schemas: tuple[str, ...]
    #: ``pgtrigger.ignore`` as text, None when nothing is ignored.
    ignore_value: str | None = field(init=False, compare=False)
    #: ``search_path`` as text, None when no schema() is active.
    path_value: str | None = field(init=False, compare=False)
    #: ``SET LOCAL ...;`` statements for writes and for other statements, each + one space.
    write_prefix: str = field(init=False, compare=False)
    read_prefix: str = field(init=False, compare=False)
    #: How many statements each prefix holds: psycopg 3 must step over that many results.
    write_sets: int = field(init=False, compare=False)
    read_sets: int = field(init=False, compare=False)

    def __post_init__(self) -> None:
        ignore = statements.ignore_value(self.ignored) if self.ignored else None
        path = statements.search_path_value(self.schemas) if self.schemas else None
        write = statements.set_local(ignore, self.schemas or None)
        read = statements.set_local(None, self.schemas or None)
        object.__setattr__(self, "ignore_value", ignore)
        object.__setattr__(self, "path_value", path)
        object.__setattr__(self, "write_prefix", f"{write} " if write else "")
        object.__setattr__(self, "read_prefix", f"{read} " if read else "")
        object.__setattr__(self, "write_sets", (ignore is not None) + bool(self.schemas))
        object.__setattr__(self, "read_sets", int(bool(self.schemas)))

    def value(self, guc: str) -> str | None:
        return self.ignore_value if guc == statements.IGNORE else self.path_value


@functools.lru_cache(maxsize=256)
def alias_state(ignored: frozenset[str], schemas: tuple[str, ...]) -> AliasState:
    """Interned AliasState: re-entering the same block costs a cache hit, not string building."""
    return AliasState(ignored, schemas)


class RuntimeState:
    """The state of one context: per-alias values, and the state to go back to on exit.

    Never mutated after construction (a plain slotted class: cheaper to build than a frozen
    dataclass, and this is built on every block entry).
    """

    __slots__ = ("aliases", "owner", "parent")

    def __init__(
        self,
        aliases: Mapping[str, AliasState],
        parent: RuntimeState | None = None,
        owner: object = None,
    ) -> None:
        self.aliases = aliases
        self.parent = parent
        self.owner = owner


EMPTY = RuntimeState(MappingProxyType({}))
CURRENT: ContextVar[RuntimeState] = ContextVar("pgtrigger_live_runtime", default=EMPTY)


def push(owner: object, aliases: Sequence[str], change: AliasChange) -> RuntimeState:
    """Make and activate the state ``change`` gives for ``aliases``; return it."""
    current = CURRENT.get()
    updated = dict(current.aliases)
    for alias in aliases:
        before = current.aliases.get(alias) or alias_state(frozenset(), ())
        updated[alias] = change(before)
    state = RuntimeState(MappingProxyType(updated), parent=current, owner=owner)
    CURRENT.set(state)
    return state


def pop(owner: object) -> RuntimeState:
    """Deactivate the innermost state, which ``owner`` must have pushed; return the new one."""
    current = CURRENT.get()
    if current.owner is not owner or current.parent is None:
        raise RuntimeError(
            "pgtrigger_live runtime blocks were exited out of order: exit the innermost "
            "ignore()/schema() block first (or the block was entered in another context)."
        )
    CURRENT.set(current.parent)
    return current.parent


class AliasChange:
    """How a block changes one alias' state (a callable so ``push`` stays generic)."""

    def __call__(self, before: AliasState) -> AliasState:  # pragma: no cover - abstract
        raise NotImplementedError


class AddIgnored(AliasChange):
    def __init__(self, pgids: frozenset[str]) -> None:
        self.pgids = pgids

    def __call__(self, before: AliasState) -> AliasState:
        return alias_state(before.ignored | self.pgids, before.schemas)


class AddSchemas(AliasChange):
    def __init__(self, schemas: tuple[str, ...]) -> None:
        self.schemas = schemas

    def __call__(self, before: AliasState) -> AliasState:
        added = tuple(s for s in self.schemas if s not in before.schemas)
        return alias_state(before.ignored, before.schemas + added)


# -- resolution --------------------------------------------------------------------------------


#: (alias, id of its settings entry) for every alias -> the PostgreSQL aliases among them.
_POSTGRES: tuple[tuple[tuple[str, int], ...], list[str]] = ((), [])


def postgres_aliases(databases: Iterable[str] | None) -> list[str]:
    """The aliases a block applies to: ``databases`` (each must be Postgres) or all Postgres."""
    global _POSTGRES
    if databases is None:
        key = tuple((alias, id(entry)) for alias, entry in connections.settings.items())
        if _POSTGRES[0] != key:  # DATABASES changed (tests, override_settings): look again
            found = [alias for alias, _ in key if connections[alias].vendor == "postgresql"]
            _POSTGRES = (key, found)
        return _POSTGRES[1]
    if isinstance(databases, str):
        raise DeclarationError(
            f"databases= takes a list of aliases, not a string: use databases=[{databases!r}]."
        )
    aliases = list(dict.fromkeys(databases))
    for alias in aliases:
        if alias not in connections.settings:
            raise DeclarationError(f'Database alias "{alias}" is not in settings.DATABASES.')
        if connections[alias].vendor != "postgresql":
            raise DeclarationError(
                f'Database "{alias}" is not PostgreSQL ({connections[alias].vendor}); '
                "pgtrigger_live's runtime controls only apply to PostgreSQL."
            )
    return aliases


def resolve(selectors: Sequence[Selector]) -> list[tuple[str, type[models.Model], str, Trigger]]:
    """``(uri, model, pgid, trigger)`` for selectors; unknown ones raise UnknownTriggerError."""
    return [
        (uri, model, trigger.get_pgid(model), trigger)
        for uri, model, trigger in registry.select(*selectors)
    ]


#: Exact URI -> (the registry's entry it was resolved from, pgid). An entry is reused only
#: while the registry still holds that very (model, trigger) tuple for the URI.
_PGIDS: dict[str, tuple[object, str]] = {}


def _ignore_ids(selectors: Sequence[Selector]) -> frozenset[str]:
    return frozenset(ignore_id(trigger, model) for _, model, _, trigger in resolve(selectors))


def pgids(selectors: Sequence[Selector]) -> frozenset[str]:
    """The ids ``ignore()`` sets for what ``selectors`` select (``triggers.ignore_id``: the
    Postgres id, or for a trigger with an order the id it would have without one).
    Resolved each time, memoized for URIs."""
    if not selectors or not all(isinstance(s, str) and ":" in s for s in selectors):
        return _ignore_ids(selectors)
    found = []
    for uri in selectors:
        assert isinstance(uri, str)
        entry = registry.entry(uri)
        cached = _PGIDS.get(uri)
        if entry is None and not any(c in uri for c in "*?["):
            # django-pgtrigger's registry: any "...:..." it does not hold is a KeyError
            # ("doesnot:exist" too, which is not in the app_label.Model format).
            raise UnknownTriggerError(f'URI "{uri}" not found in pgtrigger registry')
        if cached is None or entry is None or cached[0] is not entry:
            resolved = resolve([uri])  # raises for malformed selectors
            if entry is None or len(resolved) != 1 or resolved[0][0] != uri:
                return _ignore_ids(selectors)  # a wildcard
            _, model, _, trigger = resolved[0]
            cached = _PGIDS[uri] = (entry, ignore_id(trigger, model))
        found.append(cached[1])
    return frozenset(found)
