"""Runtime controls: ignore triggers, set the schema, set constraint timing, per context.

Modules: ``statements`` (pure statement classification and SQL text), ``context`` (the
ContextVar and its immutable values), ``wrapper`` (the per-connection execute wrapper),
``api`` (the public functions), ``errors`` (typed trigger errors and their translation).
How it works and what it cannot see: docs/runtime.md.
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
