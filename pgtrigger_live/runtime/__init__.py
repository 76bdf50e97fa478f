"""Runtime controls: ignore triggers, set the schema, set constraint timing, per context.

Modules: ``sqltext`` (pure statement classification and SQL text), ``state`` (the ContextVar
and its immutable values), ``wrapper`` (the per-connection execute wrapper), ``api`` (the
public functions). How it works and what it cannot see: docs/runtime.md.
"""

from __future__ import annotations

from pgtrigger_live.runtime.api import (
    NotInTransactionError,
    constraints,
    ignore,
    is_ignored,
    local_sql,
    schema,
    set_local,
)
from pgtrigger_live.runtime.wrapper import install, on_connection_created

__all__ = [
    "NotInTransactionError",
    "constraints",
    "ignore",
    "install",
    "is_ignored",
    "local_sql",
    "on_connection_created",
    "schema",
    "set_local",
]
