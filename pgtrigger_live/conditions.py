"""Trigger conditions: raw SQL, Django-style ``Q``/``F`` over ``old__``/``new__``, change sets.

Conditions are declarations: ``resolve(model, connection)`` turns one into the SQL of a WHEN
clause. The connection is only used to compile (quoting, lookup SQL); nothing is executed.
"""

from __future__ import annotations

import datetime
import decimal
import math
import re
import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models.expressions import Expression
from django.db.models.lookups import Lookup
from django.db.models.sql.query import Query

from pgtrigger_live import sql
from pgtrigger_live.exceptions import DeclarationError

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler

_SIDES = {"old": "OLD", "new": "NEW"}
_REFERENCES = re.compile(r"\b(OLD|NEW)\s*\.", re.IGNORECASE)


def referenced_sides(condition_sql: str) -> frozenset[str]:
    """Which of OLD / NEW a compiled condition reads (used to validate against operations)."""
    return frozenset(m.upper() for m in _REFERENCES.findall(condition_sql))


def _default_connection(connection: BaseDatabaseWrapper | None) -> BaseDatabaseWrapper:
    return connection if connection is not None else connections[DEFAULT_DB_ALIAS]


def local_field(model: type[models.Model], name: str, *, what: str) -> models.Field[Any, Any]:
    """Return the concrete field ``name`` stored in ``model``'s own table, or raise."""
    from django.core.exceptions import FieldDoesNotExist

    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        raise DeclarationError(
            f'{what} references "{name}", which is not a field of {model._meta.label}.'
        ) from None
    if field.many_to_many or field.one_to_many or not getattr(field, "concrete", False):
        raise DeclarationError(
            f'{what} references "{name}", which has no column in {model._meta.label}\'s table '
            "(many-to-many and reverse relations cannot be used in a trigger)."
        )
    concrete = model._meta.concrete_model
    assert concrete is not None
    owner = field.model._meta.concrete_model
    if owner is not concrete:
        raise DeclarationError(
            f'{what} references "{name}", which is stored in the parent table '
            f'"{field.model._meta.db_table}" (multi-table inheritance), not in '
            f'"{concrete._meta.db_table}". A trigger can only read its own table\'s columns; '
            f"declare the trigger on {field.model._meta.label} instead."
        )
    return field  # type: ignore[return-value]


class Condition:
    """A WHEN condition written in SQL (``OLD.``/``NEW.`` refer to the row)."""

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

    def __and__(self, other: Condition) -> Condition:
        return _Combined("AND", (self, other))

    def __or__(self, other: Condition) -> Condition:
        return _Combined("OR", (self, other))

    def __invert__(self) -> Condition:
        return _Negated(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.sql!r})"


class _Combined(Condition):
    def __init__(self, connector: str, children: Sequence[Condition]) -> None:
        for child in children:
            if not isinstance(child, Condition | models.Q):
                raise DeclarationError(f"Cannot combine a condition with {child!r}.")
        self.connector = connector
        self.children = tuple(children)
        self.sql = f"<{connector}>"

    def resolve(
        self, model: type[models.Model], connection: BaseDatabaseWrapper | None = None
    ) -> str:
        parts = [_resolve_any(child, model, connection) for child in self.children]
        return f" {self.connector} ".join(f"({p})" for p in parts)

    def __repr__(self) -> str:
        return f" {self.connector} ".join(repr(c) for c in self.children)


class _Negated(Condition):
    def __init__(self, child: Condition) -> None:
        self.child = child
        self.sql = "<NOT>"

    def resolve(
        self, model: type[models.Model], connection: BaseDatabaseWrapper | None = None
    ) -> str:
        return f"NOT ({_resolve_any(self.child, model, connection)})"

    def __repr__(self) -> str:
        return f"~{self.child!r}"


def _resolve_any(
    node: object, model: type[models.Model], connection: BaseDatabaseWrapper | None
) -> str:
    if isinstance(node, Condition):
        return node.resolve(model, connection)
    if isinstance(node, models.Q):
        return _QCompiler(model, _default_connection(connection)).compile(node)
    raise DeclarationError(f"{node!r} is not a trigger condition.")


class F(models.F):
    """A reference to ``old__<field>`` or ``new__<field>`` inside a ``Q`` condition."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.name.startswith(("old__", "new__")):
            raise DeclarationError(
                f'F("{self.name}") must reference old__<field> or new__<field>.'
            )

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
        return _QCompiler(model, _default_connection(connection)).compile(self)

    # models.Q's operators keep the Q type; Condition's would lose the tree shape.
    __and__ = models.Q.__and__  # type: ignore[assignment]
    __or__ = models.Q.__or__  # type: ignore[assignment]
    __invert__ = models.Q.__invert__  # type: ignore[assignment]

    def __repr__(self) -> str:
        return models.Q.__repr__(self)


class OldNewColumn(Expression):
    """``OLD."col"`` or ``NEW."col"`` as a Django expression, so lookups compile against it."""

    def __init__(self, side: str, field: models.Field[Any, Any]) -> None:
        super().__init__(output_field=field)
        self.side = side
        self.model_field = field

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, list[Any]]:
        return f"{self.side}.{sql.quote_ident(self.model_field.column)}", []

    def get_group_by_cols(self) -> list[Any]:
        return []

    def __repr__(self) -> str:
        return f"{self.side}.{self.model_field.column}"


def _literal(value: Any) -> str:
    """Inline one compiled parameter as an SQL literal (trigger DDL cannot take parameters)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return f"{sql.quote_literal(repr(value))}::float8"
        return repr(value)
    if isinstance(value, decimal.Decimal):
        return f"{sql.quote_literal(str(value))}::numeric" if not value.is_finite() else str(value)
    if isinstance(value, str):
        return sql.quote_literal(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return sql.quote_literal(value.isoformat())
    if isinstance(value, datetime.timedelta):
        return f"{sql.quote_literal(f'{value.total_seconds()} seconds')}::interval"
    if isinstance(value, uuid.UUID):
        return sql.quote_literal(str(value))
    if isinstance(value, bytes | bytearray | memoryview):
        return f"{sql.quote_literal(chr(92) + 'x' + bytes(value).hex())}::bytea"
    if isinstance(value, list | tuple):
        return "ARRAY[" + ", ".join(_literal(v) for v in value) + "]"
    dumped = getattr(value, "dumps", None) or getattr(value, "adapted", None)
    if dumped is not None:  # psycopg2 Json / psycopg Jsonb wrappers
        import json

        obj = getattr(value, "obj", None)
        if obj is None:
            obj = getattr(value, "adapted", None)
        return f"{sql.quote_literal(json.dumps(obj))}::jsonb"
    raise DeclarationError(
        f"Cannot write {value!r} ({type(value).__name__}) as an SQL literal in a trigger "
        "condition; use a plain value or a Condition with SQL."
    )


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
                key, value = child
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
        return OldNewColumn(_SIDES[side], field), lookups

    def _expression(self, value: Any, what: str) -> Any:
        if isinstance(value, models.F):
            column, extra = self._column(value.name, what)
            if extra:
                raise DeclarationError(
                    f'F("{value.name}") in {what}: transforms and joins are not supported; '
                    "a trigger condition can only read the row's own columns."
                )
            return column
        if isinstance(value, Expression) or hasattr(value, "get_source_expressions"):
            value = value.copy()
            value.set_source_expressions(
                [self._expression(e, what) for e in value.get_source_expressions()]
            )
        return value

    def _leaf(self, key: str, value: Any, negated: bool) -> str:
        lhs, lookups = self._column(key, key)
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
        if negated:
            # Same NULL handling as Django's exclude(): a negated comparison on a nullable
            # column also requires it to be non-NULL, so the truth tables match querysets.
            extra = []
            if lookup_name != "isnull" and lookup.rhs is not None and self._nullable(lhs):
                extra.append(f"{self._sql_of(lhs)} IS NOT NULL")
            if isinstance(rhs, OldNewColumn) and rhs.model_field.null:
                extra.append(f"{self._sql_of(rhs)} IS NOT NULL")
            if extra:
                text = " AND ".join([text, *extra])
                return f"({text})"
        return text

    @staticmethod
    def _nullable(expr: Any) -> bool:
        base = expr
        while not isinstance(base, OldNewColumn):
            sources = base.get_source_expressions() if hasattr(base, "get_source_expressions") else []
            if not sources:
                return False
            base = sources[0]
        return bool(base.model_field.null)

    def _sql_of(self, expr: Any) -> str:
        text, params = self.compiler.compile(expr)
        return text % tuple(_literal(p) for p in params) if params else text.replace("%%", "%")

    def _sql(self, lookup: Lookup[Any]) -> str:
        text, params = self.compiler.compile(lookup)
        # Parameters are inlined: DDL cannot be parameterised. Each one is quoted by _literal.
        return text % tuple(_literal(p) for p in params)


class IsDistinctFrom(Lookup):  # type: ignore[type-arg]
    """``field__df=value``: ``IS DISTINCT FROM`` (NULL-safe inequality)."""

    lookup_name = "df"

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} IS DISTINCT FROM {rhs}", [*lhs_params, *rhs_params]


class IsNotDistinctFrom(Lookup):  # type: ignore[type-arg]
    """``field__ndf=value``: ``IS NOT DISTINCT FROM`` (NULL-safe equality)."""

    lookup_name = "ndf"

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} IS NOT DISTINCT FROM {rhs}", [*lhs_params, *rhs_params]


def _register_lookups() -> None:
    # Registered on Field (as django-pgtrigger does), so ``df``/``ndf`` also work in querysets.
    for lookup in (IsDistinctFrom, IsNotDistinctFrom):
        if lookup.lookup_name not in models.Field.get_class_lookups():
            models.Field.register_lookup(lookup)


_register_lookups()


class _Change(Condition):
    """Base of the change conditions: compare OLD and NEW over a set of fields.

    ``fields`` stays a public mutable attribute: django-pghistory sets it on a copy.
    """

    #: ``df`` (changed) or ``ndf`` (unchanged).
    lookup: str = "df"
    #: "OR" for Any*, "AND" for All*.
    connector: str = "OR"

    def __init__(
        self,
        *fields: str,
        exclude: Iterable[str] | None = None,
        exclude_auto: bool | None = None,
    ) -> None:
        self.fields = list(fields)
        self.exclude = list(exclude or [])
        self.exclude_auto = bool(exclude_auto)
        self.sql = f"<{type(self).__name__}>"

    def _all_fields(self, model: type[models.Model]) -> list[models.Field[Any, Any]]:
        concrete = model._meta.concrete_model
        assert concrete is not None
        return [f for f in concrete._meta.local_concrete_fields]

    def selected(self, model: type[models.Model]) -> tuple[list[str], bool]:
        """Names of the compared fields, and whether they are all of the table's fields."""
        what = f"{type(self).__name__}"
        every = self._all_fields(model)
        if self.fields:
            chosen = [local_field(model, f, what=what) for f in self.fields]
        else:
            chosen = list(every)
        excluded = {local_field(model, f, what=what).name for f in self.exclude}
        names = []
        for field in chosen:
            if field.name in excluded:
                continue
            if self.exclude_auto and (
                getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
            ):
                continue
            if field.name not in names:
                names.append(field.name)
        if not names:
            raise DeclarationError(f"{what} on {model._meta.label} selects no field.")
        return sorted(names), set(names) == {f.name for f in every}

    def resolve(
        self, model: type[models.Model], connection: BaseDatabaseWrapper | None = None
    ) -> str:
        names, everything = self.selected(model)
        if everything and self.connector == "OR":
            op = "IS DISTINCT FROM" if self.lookup == "df" else "IS NOT DISTINCT FROM"
            return f"OLD.* {op} NEW.*"
        q = models.Q()
        for name in names:
            leaf = models.Q(**{f"old__{name}__{self.lookup}": F(f"new__{name}")})
            q = q | leaf if self.connector == "OR" else q & leaf
        return _QCompiler(model, _default_connection(connection)).compile(q)


class AnyChange(_Change):
    """True when any of the fields changed (all fields by default)."""

    lookup, connector = "df", "OR"


class AllChange(_Change):
    """True when every one of the fields changed."""

    lookup, connector = "df", "AND"


class AnyDontChange(_Change):
    """True when any of the fields did not change.

    With no fields (nor exclusions) this is ``OLD.* IS NOT DISTINCT FROM NEW.*``, i.e. *no*
    field changed: django-pgtrigger's documented meaning, kept for compatibility.
    """

    lookup, connector = "ndf", "OR"


class AllDontChange(_Change):
    """True when none of the fields changed."""

    lookup, connector = "ndf", "AND"
