"""``pgtrigger.compiler``: what migration files written by django-pgtrigger construct, and
what ``Trigger.compile()`` returns.

``Trigger`` and ``UpsertTriggerSql`` accept what those files pass and keep it, so the files
import and deconstruct; the SQL they carry is never executed (the reconciler owns the
triggers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pgtrigger_live.reconcile import ddl
from pgtrigger_live.reconcile import state as live_state
from pgtrigger_live.reconcile.state import Enabled, TableRef


class UpsertTriggerSql:
    """The arguments of django-pgtrigger's install template, kept as given."""

    def __init__(self, *, pgid: str, table: str, hash: str | None = None, **kwargs: Any) -> None:
        self.pgid = pgid
        self.table = table
        self.hash = hash
        self.kwargs = {"pgid": pgid, "table": table, **{k: str(v) for k, v in kwargs.items()}}

    def __str__(self) -> str:
        return f"-- {self.pgid} on {self.table}: installed by pgtrigger_live, not by this SQL"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, UpsertTriggerSql)
            and other.kwargs == self.kwargs
            and other.hash == self.hash
        )

    def __hash__(self) -> int:
        return hash((self.pgid, self.table, self.hash))

    def deconstruct(self) -> tuple[str, Sequence[Any], dict[str, Any]]:
        return f"{__name__}.UpsertTriggerSql", [], {**self.kwargs, "hash": self.hash}


class Trigger:
    """A trigger as an old migration file recorded it: a name and its install SQL."""

    def __init__(self, *, name: str | None, sql: UpsertTriggerSql) -> None:
        self.name = name
        self.sql = sql

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Trigger) and (other.name, other.sql) == (self.name, self.sql)

    def __hash__(self) -> int:
        return hash((self.name, self.sql))

    @property
    def hash(self) -> str | None:
        return self.sql.hash

    def deconstruct(self) -> tuple[str, Sequence[Any], dict[str, Any]]:
        return f"{__name__}.Trigger", [], {"name": self.name, "sql": self.sql}


@dataclass(frozen=True)
class CompiledTrigger:
    """``Trigger.compile(model)``: the statements pgtrigger_live would run for the trigger.

    The table is left unqualified (resolved through search_path, as django-pgtrigger did);
    ``hash`` is the signature pgtrigger_live records in the trigger's comment.
    """

    name: str | None
    compiled: live_state.CompiledTrigger

    @property
    def _table(self) -> TableRef:
        return TableRef(schema="", name=self.compiled.db_table, oid=0)

    @property
    def hash(self) -> str:
        return self.compiled.comment

    @property
    def install_sql(self) -> str:
        body = [ddl.create_function(self.compiled, self._table)] if self.compiled.body else []
        create = ddl.create_trigger(self.compiled, self._table, replace=True)
        return ";\n".join([*body, create]) + ";"

    @property
    def uninstall_sql(self) -> str:
        return ddl.drop_trigger(self.compiled.pgid, self._table) + ";"

    @property
    def enable_sql(self) -> str:
        return ddl.set_enabled(self.compiled.pgid, self._table, mode=Enabled.ENABLED) + ";"

    @property
    def disable_sql(self) -> str:
        return ddl.set_enabled(self.compiled.pgid, self._table, mode=Enabled.DISABLED) + ";"
