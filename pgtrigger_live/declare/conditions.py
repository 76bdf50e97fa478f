"""Trigger conditions: raw SQL and Django-style ``Q``/``F`` over ``old__``/``new__``, and the
compiler that turns a ``Q`` into SQL (the two call each other: a Q may hold conditions).
Change sets are in ``changes.py``, row references in ``references.py``, fields in ``fields.py``.

Conditions are declarations: ``resolve(model, connection)`` turns one into the SQL of a WHEN
clause, with ``OLD.``/``NEW.`` for the row. The connection is only used to compile (quoting,
lookup SQL); nothing is executed. Without an explicit connection, the connection of the
database being compiled for (``compiling_for``) is used, and only outside any compilation the
default alias. Every value is inlined as a quoted literal: trigger DDL takes no parameters.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import decimal
import json
import math
import uuid
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, cast

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models.expressions import Expression
from django.db.models.lookups import FieldGetDbPrepValueMixin, Lookup
from django.db.models.sql.query import Query

from pgtrigger_live import sql
from pgtrigger_live.declare.fields import local_field
from pgtrigger_live.exceptions import DeclarationError

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler, _AsSqlType

_SIDES = {"old": "OLD", "new": "NEW"}
#: Lookups that are NULL-safe by themselves: negating them needs no ``IS NOT NULL`` guard.
_NULL_SAFE_LOOKUPS = frozenset({"isnull", "df", "ndf"})
_DISTINCT = {"df": "IS DISTINCT FROM", "ndf": "IS NOT DISTINCT FROM"}

_compile_connection: ContextVar[BaseDatabaseWrapper | None] = ContextVar(
    "pgtrigger_live_compile_connection", default=None
)


@contextlib.contextmanager
def compiling_for(connection: BaseDatabaseWrapper | None) -> Iterator[None]:
    """Make ``connection`` the one conditions compile with when none is passed explicitly."""
    token = _compile_connection.set(connection)
    try:
        yield
    finally:
        _compile_connection.reset(token)


def current_connection(connection: BaseDatabaseWrapper | None = None) -> BaseDatabaseWrapper:
    """``connection``, else the one being compiled for (``compiling_for``), else ``default``."""
    if connection is not None:
        return connection
    current = _compile_connection.get()
    return current if current is not None else connections[DEFAULT_DB_ALIAS]


# -- conditions -----------------------------------------------------------------------------


class Condition:
    """A WHEN condition written in SQL (``OLD.``/``NEW.`` refer to the row).

    Conditions of every kind combine with ``&``, ``|`` and ``~``, with each other and with
    ``Q`` objects.
    """

    sql: str | None = None
    conditional = True  # lets Django's Q combine with us

    def __init__(self, sql: str | None = None) -> None:
        self.sql = sql or self.sql
        if not self.sql:
            raise DeclarationError("Must provide SQL to condition.")

    def resolve(
        self, model: type[models.Model], connection: BaseDatabaseWrapper | None = None
    ) -> str:
        """Return the SQL of the condition for ``model``."""
        assert self.sql is not None
        return self.sql

    def copy(self) -> Condition:
        return copy.copy(self)

    def __and__(self, other: Condition | models.Q) -> Condition:
        return _Combined("AND", (self, other))

    def __rand__(self, other: Condition | models.Q) -> Condition:
        return _Combined("AND", (other, self))

    def __or__(self, other: Condition | models.Q) -> Condition:
        return _Combined("OR", (self, other))

    def __ror__(self, other: Condition | models.Q) -> Condition:
        return _Combined("OR", (other, self))

    def __invert__(self) -> Condition:
        return _Negated(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.sql!r})"


class _Combined(Condition):
    def __init__(self, connector: str, children: Sequence[Condition | models.Q]) -> None:
        for child in children:
            if not isinstance(child, Condition | models.Q):
                raise DeclarationError(f"Cannot combine a condition with {child!r}.")
        self.connector = connector
        self.children = tuple(children)
        self.sql = f"<{connector}>"

    def resolve(
        self, model: type[models.Model], connection: BaseDatabaseWrapper | None = None
    ) -> str:
        parts = [resolve_condition(child, model, connection) for child in self.children]
        return f" {self.connector} ".join(f"({p})" for p in parts)

    def __repr__(self) -> str:
        return "(" + f" {self.connector} ".join(repr(c) for c in self.children) + ")"


class _Negated(Condition):
    def __init__(self, child: Condition) -> None:
        self.child = child
        self.sql = "<NOT>"

    def resolve(
        self, model: type[models.Model], connection: BaseDatabaseWrapper | None = None
    ) -> str:
        return f"NOT ({resolve_condition(self.child, model, connection)})"

    def __invert__(self) -> Condition:
        return self.child

    def __repr__(self) -> str:
        return f"~{self.child!r}"


def resolve_condition(
    node: object, model: type[models.Model], connection: BaseDatabaseWrapper | None = None
) -> str:
    """The SQL of a Condition or (Django or pgtrigger_live) Q for ``model``."""
    if isinstance(node, Condition):
        return node.resolve(model, connection)
    if isinstance(node, models.Q):
        return _QCompiler(model, current_connection(connection)).compile(node)
    raise DeclarationError(f"{node!r} is not a trigger condition.")


class F(models.F):
    """A reference to ``old__<field>`` or ``new__<field>`` inside a ``Q`` condition."""

    name: str

    def __init__(self, name: str) -> None:
        super().__init__(name)
        if not isinstance(name, str) or not name.startswith(("old__", "new__")):
            raise DeclarationError(f'F("{name}") must reference old__<field> or new__<field>.')

    @property
    def resolved_name(self) -> str:
        """``OLD."field"`` (django-pgtrigger compatibility; Q conditions use the column)."""
        side, _, name = self.name.partition("__")
        return f"{_SIDES[side]}.{sql.quote_ident(name)}"


class Q(models.Q, Condition):
    """Django ``Q`` syntax over ``old__<field>`` and ``new__<field>``.

    ``Q(old__status="draft", new__status="published")`` compiles to
    ``OLD."status" = 'draft' AND NEW."status" = 'published'``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        models.Q.__init__(self, *args, **kwargs)

    def resolve(
        self, model: type[models.Model], connection: BaseDatabaseWrapper | None = None
    ) -> str:
        return _QCompiler(model, current_connection(connection)).compile(self)

    def copy(self) -> Q:
        return models.Q.copy(self)

    # models.Q's operators keep the Q type and accept any "conditional" operand, Condition
    # objects included; Condition's would lose the tree shape.
    __and__ = models.Q.__and__  # type: ignore[assignment]
    __or__ = models.Q.__or__  # type: ignore[assignment]
    __invert__ = models.Q.__invert__  # type: ignore[assignment]

    def __rand__(self, other: Any) -> Any:
        # A subclass's reflected operator runs before models.Q.__and__ of the left operand;
        # decline, so models.Q(...) & Q(...) stays a Q tree.
        return NotImplemented

    def __ror__(self, other: Any) -> Any:
        return NotImplemented

    def __repr__(self) -> str:
        return models.Q.__repr__(self)


class OldNewColumn(Expression):
    """``OLD."col"`` or ``NEW."col"`` as a Django expression, so lookups compile against it."""

    def __init__(self, side: str, field: models.Field[Any, Any]) -> None:
        super().__init__(output_field=field)
        self.side = side
        self.model_field = field

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> _AsSqlType:
        assert self.model_field.column is not None
        return f"{self.side}.{sql.quote_ident(self.model_field.column)}", ()

    def get_group_by_cols(self) -> list[Any]:
        return []

    def __repr__(self) -> str:
        return f"{self.side}.{self.model_field.column}"


def inline_literal(value: Any) -> str:
    """Write one value as an SQL literal (trigger DDL cannot take parameters)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return f"{sql.quote_literal(repr(value))}::float8"
        return repr(value)
    if isinstance(value, decimal.Decimal):
        return str(value) if value.is_finite() else f"{sql.quote_literal(str(value))}::numeric"
    if isinstance(value, str):
        return sql.quote_literal(str(value))
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return sql.quote_literal(value.isoformat())
    if isinstance(value, datetime.timedelta):
        return f"{sql.quote_literal(f'{value.total_seconds()} seconds')}::interval"
    if isinstance(value, uuid.UUID):
        return sql.quote_literal(str(value))
    if isinstance(value, bytes | bytearray | memoryview):
        return f"{sql.quote_literal(chr(92) + 'x' + bytes(value).hex())}::bytea"
    if isinstance(value, list | tuple):
        return "ARRAY[" + ", ".join(inline_literal(v) for v in value) + "]"
    if hasattr(value, "dumps"):  # psycopg 3 Jsonb / psycopg2 Json, from JSONField
        obj = value.obj if hasattr(value, "obj") else getattr(value, "adapted", None)
        return f"{sql.quote_literal(json.dumps(obj))}::jsonb"
    raise DeclarationError(
        f"Cannot write {value!r} ({type(value).__name__}) as an SQL literal in a trigger; "
        "use a plain value, or a Condition with SQL."
    )


def compile_expression(
    expression: Any, model: type[models.Model], connection: BaseDatabaseWrapper | None = None
) -> str:
    """SQL of a Django expression that reads no column (e.g. ``Now()``, ``Value(...)``)."""
    query = Query(model)
    resolved = expression.resolve_expression(query, allow_joins=False)
    compiler = query.get_compiler(connection=current_connection(connection))
    text, params = compiler.compile(resolved)
    return str(text % tuple(inline_literal(p) for p in params))


class _QCompiler:
    """Compile a Q tree over ``old__``/``new__`` into SQL for one model and connection."""

    def __init__(self, model: type[models.Model], connection: BaseDatabaseWrapper) -> None:
        self.model = model
        self.connection = connection
        self.compiler = Query(model).get_compiler(connection=connection)

    def compile(self, q: models.Q, negated: bool = False) -> str:
        negated = negated ^ q.negated
        parts: list[str] = []
        for child in q.children:
            if isinstance(child, models.Q):
                text = self.compile(child, negated)
                parts.append(f"({text})" if len(child.children) > 1 or child.negated else text)
            elif isinstance(child, Condition):
                parts.append(f"({child.resolve(self.model, self.connection)})")
            else:
                key, value = cast(tuple[str, Any], child)
                parts.append(self._leaf(key, value, negated))
        if not parts:
            raise DeclarationError("An empty Q() cannot be a trigger condition.")
        text = f" {q.connector} ".join(parts)
        if q.negated:
            return f"NOT ({text})"
        return text

    def _column(self, path: str, what: str) -> tuple[OldNewColumn, list[str]]:
        side, _, rest = path.partition("__")
        if side not in _SIDES or not rest:
            raise DeclarationError(
                f'{what}: "{path}" must start with old__ or new__ (in {self.model._meta.label}).'
            )
        name, *lookups = rest.split("__")
        field = local_field(self.model, name, what=f"Condition {what}")
        if lookups and field.is_relation and field.many_to_one:
            # fk__id / fk__pk name the foreign key's own column, as in querysets.
            target = field.target_field  # type: ignore[attr-defined]
            if lookups[0] in ("pk", target.name, target.attname):
                lookups = lookups[1:]
            elif field.get_lookup(lookups[0]) is None and field.get_transform(lookups[0]) is None:
                raise DeclarationError(
                    f'Condition {what}: "{name}__{lookups[0]}" follows a relation; a trigger '
                    "condition can only read the row's own columns (Postgres allows no joins "
                    f'in WHEN). Compare "{field.attname}" instead, or join in the function body.'
                )
        return OldNewColumn(_SIDES[side], field), lookups

    def _expression(self, value: Any, what: str) -> Any:
        if isinstance(value, models.F):
            name = str(getattr(value, "name", ""))
            column, extra = self._column(name, what)
            if extra:
                raise DeclarationError(
                    f'F("{name}") in {what}: transforms and joins are not supported; '
                    "a trigger condition can only read the row's own columns."
                )
            return column
        if hasattr(value, "get_source_expressions") and hasattr(value, "copy"):
            value = value.copy()
            value.set_source_expressions(
                [self._expression(e, what) for e in value.get_source_expressions()]
            )
        return value

    def _leaf(self, key: str, value: Any, negated: bool) -> str:
        column, lookups = self._column(key, key)
        if lookups in (["df"], ["ndf"]) and type(value) in (F, models.F):
            # The hot path (ReadOnly, AnyChange, ...): column against column, NULL-safe. This
            # is the exact text the lookup classes below produce, without Django's machinery
            # (tests/test_conditions.py pins the equality for every field type).
            rhs = self._expression(value, key)
            if isinstance(rhs, OldNewColumn):
                op = _DISTINCT[lookups[0]]
                return f"{column.as_sql(self.compiler, self.connection)[0]} {op} " + (
                    f"({rhs.as_sql(self.compiler, self.connection)[0]})"
                )
        lhs: Any = column
        *transforms, lookup_name = lookups or ["exact"]
        for name in transforms:
            transform = lhs.get_transform(name)
            if transform is None:
                raise DeclarationError(f'Condition {key}: unknown transform "{name}".')
            lhs = transform(lhs)
        lookup_class = lhs.get_lookup(lookup_name)
        if lookup_class is None:
            transform = lhs.get_transform(lookup_name)
            if transform is None:
                raise DeclarationError(f'Condition {key}: unknown lookup "{lookup_name}".')
            lhs = transform(lhs)
            lookup_name = "exact"
            lookup_class = lhs.get_lookup("exact")
        rhs = self._expression(value, key)
        lookup: Lookup[Any] = lookup_class(lhs, rhs)
        if lookup.rhs is None and not lookup.can_use_none_as_rhs:
            if lookup_name not in ("exact", "iexact"):
                raise DeclarationError(f"Condition {key}: None is only allowed with exact.")
            lookup = lhs.get_lookup("isnull")(lhs, True)
            lookup_name = "isnull"
        text = self._sql(lookup)
        if negated and lookup_name not in _NULL_SAFE_LOOKUPS:
            # Django's exclude() semantics: a negated comparison on a nullable column also
            # requires it to be non-NULL, so ~Q(...) matches the rows a queryset would.
            extra = []
            if lookup.rhs is not None and self._nullable(lhs):
                extra.append(f"{self._sql(lhs)} IS NOT NULL")
            if isinstance(rhs, OldNewColumn) and rhs.model_field.null:
                extra.append(f"{self._sql(rhs)} IS NOT NULL")
            if extra:
                return "(" + " AND ".join([text, *extra]) + ")"
        return text

    @staticmethod
    def _nullable(expr: Any) -> bool:
        base = expr
        while not isinstance(base, OldNewColumn):
            sources = base.get_source_expressions()
            if not sources:
                return False
            base = sources[0]
        return bool(base.model_field.null)

    def _sql(self, expression: Any) -> str:
        text, params = self.compiler.compile(expression)
        # Parameters are inlined: DDL cannot be parameterised. Each one is quoted here.
        return str(text % tuple(inline_literal(p) for p in params))


if TYPE_CHECKING:
    _Lookup = Lookup[Any]
else:
    _Lookup = Lookup


class IsDistinctFrom(FieldGetDbPrepValueMixin, _Lookup):
    """``field__df=value``: ``IS DISTINCT FROM`` (NULL-safe inequality)."""

    lookup_name = "df"
    can_use_none_as_rhs = True

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> _AsSqlType:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} IS DISTINCT FROM {rhs}", (*lhs_params, *rhs_params)


class IsNotDistinctFrom(FieldGetDbPrepValueMixin, _Lookup):
    """``field__ndf=value``: ``IS NOT DISTINCT FROM`` (NULL-safe equality)."""

    lookup_name = "ndf"
    can_use_none_as_rhs = True

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> _AsSqlType:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} IS NOT DISTINCT FROM {rhs}", (*lhs_params, *rhs_params)


def _register_lookups() -> None:
    # Registered on Field (as django-pgtrigger does), so ``df``/``ndf`` also work in querysets;
    # relations look lookups up from ForeignObject down only, so they get their own.
    for base in (models.Field, models.ForeignObject):
        for lookup in (IsDistinctFrom, IsNotDistinctFrom):
            if lookup.lookup_name not in base.__dict__.get("class_lookups", {}):
                base.register_lookup(lookup)


_register_lookups()
