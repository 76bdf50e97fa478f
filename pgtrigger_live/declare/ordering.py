"""Declared firing orders that cannot be honoured: ties, and orders Postgres contradicts.

Pure: reads declarations only. ``manage.py check`` reports each problem (pgtrigger_live.E005)
before anything reaches a database.

Postgres fires the triggers of one event on one table in phases whose sequence no name can
change (BEFORE STATEMENT, then BEFORE/INSTEAD OF ROW, then AFTER ROW at the end of the
statement, then AFTER STATEMENT, then deferred constraint triggers at commit), and within a
phase by name, which is what an order sets. Two triggers whose orders say the opposite of
their phases, or that share an order in one phase, are reported, naming both.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import models

from pgtrigger_live import naming
from pgtrigger_live.declare.clauses import Deferred, Row
from pgtrigger_live.declare.triggers import Trigger

#: Phase names, in the sequence Postgres fires them.
_PHASES = (
    "BEFORE STATEMENT",
    "BEFORE ROW",
    "INSTEAD OF ROW",
    "AFTER ROW",
    "AFTER STATEMENT",
    "deferred to commit",
)


@dataclass(frozen=True, slots=True)
class Conflict:
    """One problem: the model to report it on, the message, and how to fix it."""

    model: type[models.Model]
    message: str
    hint: str


@dataclass(frozen=True, slots=True)
class _Ordered:
    uri: str
    model: type[models.Model]
    order: int
    phase: int
    events: frozenset[str]


def _phase(trigger: Trigger) -> int:
    level = "ROW" if trigger.level == Row else "STATEMENT"
    if trigger.timing == Deferred:
        return _PHASES.index("deferred to commit")
    return _PHASES.index(f"{trigger.when} {level}")


def _ordered(
    items: Iterable[tuple[str, type[models.Model], Trigger]], conflicts: list[Conflict]
) -> dict[str, list[_Ordered]]:
    """Triggers with an order, by table; an order the trigger's id does not carry (a class
    that overrides ``get_pgid``) is a conflict of its own."""
    tables: dict[str, list[_Ordered]] = {}
    for uri, model, trigger in items:
        if trigger.order is None:
            continue
        if naming.order_of(trigger.get_pgid(model)) != trigger.order:
            conflicts.append(
                Conflict(
                    model,
                    f"Trigger {uri} declares order={trigger.order}, but its class overrides "
                    "get_pgid(), so its Postgres name cannot carry the order.",
                    "Remove the order, or the get_pgid() override.",
                )
            )
            continue
        assert trigger.operation is not None  # Trigger.validate
        entry = _Ordered(uri, model, trigger.order, _phase(trigger), trigger.operation.events)
        tables.setdefault(model._meta.db_table, []).append(entry)
    return tables


def conflicts(items: Iterable[tuple[str, type[models.Model], Trigger]]) -> list[Conflict]:
    """Every pair of ordered triggers of one table and event whose order cannot be honoured."""
    found: list[Conflict] = []
    for table, ordered in _ordered(items, found).items():
        for a, b in itertools.combinations(sorted(ordered, key=lambda o: o.uri), 2):
            shared = a.events & b.events
            if not shared:
                continue
            event = " or ".join(sorted(shared))
            if a.phase == b.phase and a.order == b.order:
                found.append(
                    Conflict(
                        a.model,
                        f"Triggers {a.uri} and {b.uri} both declare order={a.order} for "
                        f'{_PHASES[a.phase]} {event} on table "{table}": Postgres would '
                        "fire them by name, not in a declared order.",
                        "Give one of them another order.",
                    )
                )
                continue
            first, then = sorted((a, b), key=lambda o: o.phase)
            if first.phase != then.phase and first.order > then.order:
                found.append(
                    Conflict(
                        a.model,
                        f"Triggers {first.uri} (order={first.order}) and {then.uri} "
                        f'(order={then.order}) on table "{table}" contradict Postgres: for '
                        f"{event}, {_PHASES[first.phase]} triggers always fire before "
                        f"{_PHASES[then.phase]} ones, whatever their names.",
                        f"Give {first.uri} an order below {then.order}, or drop one of the "
                        "orders (an order only ranks triggers within one phase).",
                    )
                )
    return found
