"""The operations a plan is made of: what to do, on which object. Plain values, no SQL.

The planner decides operations; ``ddl.render`` turns each into its one statement, and the
applier derives from them the table locks to take first. Keeping them as data (alembic's
compare -> ops -> render) means ``ls``, ``--dry-run``, ``--json`` and the applier read the
same plan, and a decision can be asserted without parsing SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from pgtrigger_live.reconcile.state import CompiledTrigger, Enabled, TableRef

#: Table lock modes a reconcile takes, weakest first (the strongest one a table needs wins).
SHARE_UPDATE_EXCLUSIVE = "SHARE UPDATE EXCLUSIVE"  # COMMENT ON TRIGGER (signing)
SHARE_ROW_EXCLUSIVE = "SHARE ROW EXCLUSIVE"  # CREATE [OR REPLACE] TRIGGER, ENABLE/DISABLE
ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE"  # DROP TRIGGER, ALTER TRIGGER ... RENAME
LOCK_MODES = (SHARE_UPDATE_EXCLUSIVE, SHARE_ROW_EXCLUSIVE, ACCESS_EXCLUSIVE)


@dataclass(frozen=True, slots=True)
class CreateFunction:
    """CREATE OR REPLACE FUNCTION ``schema.<pgid>()`` with the trigger's body: no table lock.

    It holds the compiled trigger, not its text: a body whose rendering was deferred (the
    digest said it is unchanged) is rendered only when this operation is.
    """

    schema: str
    trigger: CompiledTrigger

    @property
    def name(self) -> str:
        return self.trigger.pgid

    @property
    def lock(self) -> str | None:
        return None


@dataclass(frozen=True, slots=True)
class CreateTrigger:
    """CREATE [OR REPLACE] [CONSTRAINT] TRIGGER; ``replace`` keeps the trigger's OID."""

    table: TableRef
    trigger: CompiledTrigger
    replace: bool

    @property
    def lock(self) -> str | None:
        return SHARE_ROW_EXCLUSIVE


@dataclass(frozen=True, slots=True)
class DropTrigger:
    table: TableRef
    pgid: str

    @property
    def lock(self) -> str | None:
        return ACCESS_EXCLUSIVE


@dataclass(frozen=True, slots=True)
class DropFunction:
    """Only ever a trigger's own function (same name as the trigger, in its table's schema)."""

    schema: str
    name: str

    @property
    def lock(self) -> str | None:
        return None


@dataclass(frozen=True, slots=True)
class SetEnabled:
    """ALTER TABLE ... ENABLE/DISABLE/ENABLE ALWAYS/ENABLE REPLICA TRIGGER."""

    table: TableRef
    pgid: str
    mode: Enabled

    @property
    def lock(self) -> str | None:
        return SHARE_ROW_EXCLUSIVE


@dataclass(frozen=True, slots=True)
class RenameTrigger:
    """ALTER TRIGGER ... RENAME: a change of order, keeping the trigger's OID and state."""

    table: TableRef
    old: str
    new: str

    @property
    def lock(self) -> str | None:
        return ACCESS_EXCLUSIVE


@dataclass(frozen=True, slots=True)
class RenameConstraint:
    """ALTER TABLE ... RENAME CONSTRAINT: a constraint trigger's constraint, with its trigger."""

    table: TableRef
    old: str
    new: str

    @property
    def lock(self) -> str | None:
        return ACCESS_EXCLUSIVE


@dataclass(frozen=True, slots=True)
class RenameFunction:
    """ALTER FUNCTION ... RENAME, with its trigger: only ever the trigger's own function."""

    schema: str
    old: str
    new: str

    @property
    def lock(self) -> str | None:
        return None


Operation: TypeAlias = (
    CreateFunction
    | CreateTrigger
    | DropTrigger
    | DropFunction
    | SetEnabled
    | RenameTrigger
    | RenameConstraint
    | RenameFunction
)


def strongest(modes: list[str | None]) -> str | None:
    """The strongest of several lock modes (None: no table lock at all)."""
    known = [m for m in modes if m is not None]
    return max(known, key=LOCK_MODES.index) if known else None
