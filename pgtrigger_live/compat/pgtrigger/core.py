"""``pgtrigger.core``: the names django-pgtrigger's core module had that other code reads.

``_Change`` is pgtrigger_live's change-condition base class itself, so
``isinstance(condition, pgtrigger.core._Change)`` (django-pghistory) holds for ours.
"""

from __future__ import annotations

from pgtrigger_live.declare.changes import (
    AllChange,
    AllDontChange,
    AnyChange,
    AnyDontChange,
    _Change,
)
from pgtrigger_live.declare.clauses import (
    After,
    Before,
    Deferred,
    Delete,
    Immediate,
    Insert,
    InsteadOf,
    Level,
    Operation,
    Operations,
    Referencing,
    Row,
    Statement,
    Timing,
    Truncate,
    Update,
    UpdateOf,
    When,
)
from pgtrigger_live.declare.conditions import Condition, F, IsDistinctFrom, IsNotDistinctFrom, Q
from pgtrigger_live.declare.triggers import Func, Trigger

# django-pgtrigger: the longest name a trigger may have (ours: longer ids are shortened).
from pgtrigger_live.naming import MAX_DECLARED_NAME_LENGTH as MAX_NAME_LENGTH
from pgtrigger_live.reconcile.state import Status

#: The status strings of ``Trigger.get_installation_status``.
INSTALLED = Status.INSTALLED.value
UNINSTALLED = Status.UNINSTALLED.value
OUTDATED = Status.OUTDATED.value
PRUNE = Status.PRUNE.value
UNALLOWED = Status.UNALLOWED.value

__all__ = [
    "INSTALLED",
    "MAX_NAME_LENGTH",
    "OUTDATED",
    "PRUNE",
    "UNALLOWED",
    "UNINSTALLED",
    "After",
    "AllChange",
    "AllDontChange",
    "AnyChange",
    "AnyDontChange",
    "Before",
    "Condition",
    "Deferred",
    "Delete",
    "F",
    "Func",
    "Immediate",
    "Insert",
    "InsteadOf",
    "IsDistinctFrom",
    "IsNotDistinctFrom",
    "Level",
    "Operation",
    "Operations",
    "Q",
    "Referencing",
    "Row",
    "Statement",
    "Timing",
    "Trigger",
    "Truncate",
    "Update",
    "UpdateOf",
    "When",
    "_Change",
]
