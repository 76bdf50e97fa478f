"""Declare Postgres triggers on Django models and reconcile them at deploy time.

``import pgtrigger_live as pgtrigger`` gives django-pgtrigger 4.17's public names.
"""

from __future__ import annotations

from pgtrigger_live.declare import meta as _meta  # noqa: F401  (enables Meta.triggers; see meta.py)
from pgtrigger_live.declare.changes import AllChange, AllDontChange, AnyChange, AnyDontChange
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
from pgtrigger_live.declare.contrib import (
    FSM,
    Composer,
    Protect,
    ReadOnly,
    SoftDelete,
    UpdateSearchVector,
)
from pgtrigger_live.declare.raising import raise_sql
from pgtrigger_live.declare.registry import register, registered
from pgtrigger_live.declare.triggers import Func, Trigger
from pgtrigger_live.exceptions import (
    ConnectionLostError,
    DeclarationError,
    InstallError,
    LockTimeoutError,
    PgTriggerLiveError,
    UnknownTriggerError,
)
from pgtrigger_live.reconcile.installation import (
    disable,
    enable,
    install,
    prunable,
    prune,
    status,
    uninstall,
)
from pgtrigger_live.reconcile.state import Status
from pgtrigger_live.reconcile.stats import stats
from pgtrigger_live.runtime import (
    NotInTransactionError,
    constraints,
    ignore,
    is_ignored,
    local_sql,
    schema,
    set_local,
)
from pgtrigger_live.runtime.errors import (
    InvalidTransitionError,
    ProtectedError,
    ReadOnlyError,
    TriggerError,
    translate_errors,
)

__version__ = "0.1.0"

__all__ = [
    "FSM",
    "After",
    "AllChange",
    "AllDontChange",
    "AnyChange",
    "AnyDontChange",
    "Before",
    "Composer",
    "Condition",
    "ConnectionLostError",
    "DeclarationError",
    "Deferred",
    "Delete",
    "F",
    "Func",
    "Immediate",
    "Insert",
    "InstallError",
    "InsteadOf",
    "InvalidTransitionError",
    "IsDistinctFrom",
    "IsNotDistinctFrom",
    "Level",
    "LockTimeoutError",
    "NotInTransactionError",
    "Operation",
    "Operations",
    "PgTriggerLiveError",
    "Protect",
    "ProtectedError",
    "Q",
    "ReadOnly",
    "ReadOnlyError",
    "Referencing",
    "Row",
    "SoftDelete",
    "Statement",
    "Status",
    "Timing",
    "Trigger",
    "TriggerError",
    "Truncate",
    "UnknownTriggerError",
    "Update",
    "UpdateOf",
    "UpdateSearchVector",
    "When",
    "__version__",
    "constraints",
    "disable",
    "enable",
    "ignore",
    "install",
    "is_ignored",
    "local_sql",
    "prunable",
    "prune",
    "raise_sql",
    "register",
    "registered",
    "schema",
    "set_local",
    "stats",
    "status",
    "translate_errors",
    "uninstall",
]
