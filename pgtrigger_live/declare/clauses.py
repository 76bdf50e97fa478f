"""The clause vocabulary of CREATE TRIGGER: level, when, operation, timing, referencing.

Unlike django-pgtrigger these are values with real equality (``Level("ROW") == Row``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pgtrigger_live import sql
from pgtrigger_live.exceptions import DeclarationError


class _Primitive:
    values: ClassVar[tuple[str, ...]] = ()

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        if name not in self.values:
            raise DeclarationError(
                f"{type(self).__name__} must be one of {', '.join(self.values)}; got {name!r}."
            )
        self.name = name

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, _Primitive) and type(other) is type(self) and other.name == self.name
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.name))


class Level(_Primitive):
    """FOR EACH ROW or FOR EACH STATEMENT."""

    values = ("ROW", "STATEMENT")


Row = Level("ROW")
Statement = Level("STATEMENT")


class When(_Primitive):
    """When the trigger fires relative to the operation."""

    values = ("BEFORE", "AFTER", "INSTEAD OF")


Before = When("BEFORE")
After = When("AFTER")
InsteadOf = When("INSTEAD OF")


class Operation(_Primitive):
    """One event (INSERT, UPDATE, DELETE, TRUNCATE); combine with ``|``."""

    values = ("UPDATE", "DELETE", "TRUNCATE", "INSERT")

    @property
    def parts(self) -> tuple[Operation, ...]:
        """The single events this operation is made of, in declaration order."""
        return (self,)

    @property
    def events(self) -> frozenset[str]:
        """The event names (``UPDATE OF`` counts as ``UPDATE``)."""
        return frozenset(part.name for part in self.parts)

    def __or__(self, other: Operation) -> Operations:
        if not isinstance(other, Operation):
            return NotImplemented
        return Operations(*self.parts, *other.parts)

    def __contains__(self, other: object) -> bool:
        return isinstance(other, Operation) and all(p in self.parts for p in other.parts)

    def __iter__(self) -> Iterator[Operation]:
        return iter(self.parts)

    def render(self) -> str:
        """The SQL of the event list (``UPDATE OF "a" OR DELETE``)."""
        return self.name


class Operations(Operation):
    """Several events joined by OR, in the order given."""

    __slots__ = ("_parts",)

    def __init__(self, *operations: Operation) -> None:
        parts: list[Operation] = []
        for op in operations:
            if not isinstance(op, Operation):
                raise DeclarationError(f"Cannot combine {op!r} with trigger operations.")
            parts.extend(op.parts)
        names = [p.name for p in parts]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise DeclarationError(
                f"Operation {' OR '.join(names)} names {', '.join(duplicates)} more than once."
            )
        self._parts = tuple(parts)
        self.name = " OR ".join(names)

    @property
    def parts(self) -> tuple[Operation, ...]:
        return self._parts

    def render(self) -> str:
        return " OR ".join(part.render() for part in self._parts)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Operations) and other.parts == self.parts

    def __hash__(self) -> int:
        return hash(self.parts)

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return " | ".join(repr(p) for p in self._parts)


Update = Operation("UPDATE")
Delete = Operation("DELETE")
Truncate = Operation("TRUNCATE")
Insert = Operation("INSERT")


class UpdateOf(Operation):
    """UPDATE OF the given columns (database column names; field names are translated)."""

    __slots__ = ("columns",)

    def __init__(self, *columns: str) -> None:
        if not columns:
            raise DeclarationError("UpdateOf: Must provide at least one column.")
        for column in columns:
            if not isinstance(column, str) or not column:
                raise DeclarationError(f"UpdateOf columns must be strings; got {column!r}.")
        self.name = "UPDATE"
        self.columns = tuple(columns)

    def render(self) -> str:
        return "UPDATE OF " + ", ".join(sql.quote_ident(c) for c in self.columns)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UpdateOf) and other.columns == self.columns

    def __hash__(self) -> int:
        return hash(("UPDATE OF", self.columns))

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"UpdateOf({', '.join(map(repr, self.columns))})"


class Timing(_Primitive):
    """Makes the trigger a deferrable CONSTRAINT trigger, initially IMMEDIATE or DEFERRED."""

    values = ("IMMEDIATE", "DEFERRED")


Immediate = Timing("IMMEDIATE")
Deferred = Timing("DEFERRED")


class Referencing:
    """Transition tables of a statement-level trigger: ``REFERENCING OLD TABLE AS ...``."""

    __slots__ = ("new", "old")

    def __init__(self, *, old: str | None = None, new: str | None = None) -> None:
        if not old and not new:
            raise DeclarationError(
                'Must provide either "old" and/or "new" to the referencing construct of a trigger.'
            )
        self.old = old
        self.new = new

    def render(self) -> str:
        parts = ["REFERENCING"]
        if self.old:
            parts.append(f"OLD TABLE AS {sql.quote_ident(self.old)}")
        if self.new:
            parts.append(f"NEW TABLE AS {sql.quote_ident(self.new)}")
        return " ".join(parts)

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"Referencing(old={self.old!r}, new={self.new!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Referencing) and (other.old, other.new) == (self.old, self.new)

    def __hash__(self) -> int:
        return hash((self.old, self.new))
