"""Built-in triggers: Composer, Protect, ReadOnly, SoftDelete, FSM, UpdateSearchVector.

Every value a built-in writes into SQL (SoftDelete values, FSM states, custom messages, column
names) goes through ``sql.quote_literal``/``sql.quote_ident`` or the condition compiler, so
quotes, backslashes, ``$$`` or semicolons in them are data, never SQL. Refusals (Protect,
ReadOnly, FSM) raise typed errors (SQLSTATE class TG, JSON detail; see ``errors``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import models

from pgtrigger_live import sql
from pgtrigger_live.declare import raising
from pgtrigger_live.declare.clauses import (
    After,
    Before,
    Delete,
    Insert,
    Level,
    Operation,
    Referencing,
    Row,
    Statement,
    Update,
    UpdateOf,
)
from pgtrigger_live.declare.conditions import (
    Condition,
    F,
    Q,
    compile_expression,
    current_connection,
    inline_literal,
    resolve_condition,
)
from pgtrigger_live.declare.fields import local_field, table_fields
from pgtrigger_live.declare.references import referenced_sides, rename_sides, sql_code
from pgtrigger_live.declare.triggers import Func, Trigger
from pgtrigger_live.exceptions import DeclarationError

_TRANSITION_TABLES = {"OLD": "old_values", "NEW": "new_values"}
_TEMPLATE_VARS = ("{cond_old_values}", "{cond_new_values}", "{cond_joined_values}")
AnyCondition = Condition | models.Q


def _braces(text: str) -> str:
    """Escape SQL text for inclusion in a ``Func`` template."""
    return text.replace("{", "{{").replace("}", "}}")


def _column(field: models.Field[Any, Any]) -> str:
    assert field.column is not None  # local_field() only returns fields with a column
    return field.column


def _pk_columns(model: type[models.Model]) -> list[str]:
    pk = model._meta.pk
    assert pk is not None
    fields = getattr(pk, "fields", None) or [pk]  # CompositePrimaryKey (Django 5.2+)
    return [f.column for f in fields]


def _and(*conditions: AnyCondition | None) -> AnyCondition | None:
    present = [c for c in conditions if c is not None]
    if not present:
        return None
    result = present[0]
    for condition in present[1:]:
        result = result & condition
    return result


def _message(message: str | None, what: str) -> str | None:
    if message is not None and (not isinstance(message, str) or not message):
        raise DeclarationError(f'{what}: "message" must be a non-empty string.')
    return message


class Composer(Trigger):
    """A trigger written once for row or statement level.

    At statement level the condition cannot go in WHEN (Postgres forbids row values there), so
    it is exposed to ``func`` as ``{cond_old_values}``, ``{cond_new_values}`` and
    ``{cond_joined_values}``: the transition tables filtered by the condition. ``func`` may be
    a dict ``{Row: ..., Statement: ...}``.
    """

    func_by_level: Mapping[Level, Func | str] | None = None

    def __init__(self, **kwargs: Any) -> None:
        if kwargs.get("referencing") is not None:
            raise DeclarationError("Composer triggers do not support referencing declarations.")
        func = kwargs.get("func")
        if isinstance(func, Mapping):
            self.func_by_level = dict(kwargs.pop("func"))
        super().__init__(**kwargs)
        if self.level == Statement:
            self.referencing = self._transition_tables()
            self.validate()

    def _transition_tables(self) -> Referencing | None:
        # Postgres allows transition tables only for a single INSERT, UPDATE or DELETE event.
        op = self.operation
        if op == Update:
            return Referencing(old="old_values", new="new_values")
        if op == Delete:
            return Referencing(old="old_values")
        if op == Insert:
            return Referencing(new="new_values")
        return None

    def get_func(self, model: type[models.Model]) -> Func | str:
        if self.func_by_level is not None:
            if self.level not in self.func_by_level:
                raise self._fail(f"func has no entry for level {self.level}.")
            return self.func_by_level[self.level]
        return super().get_func(model)

    def get_condition(self, model: type[models.Model]) -> AnyCondition | None:
        # At statement level the condition is rendered into the transition-table templates.
        return None if self.level == Statement else self.get_row_condition(model)

    def get_row_condition(self, model: type[models.Model]) -> AnyCondition | None:
        """The condition of the row (OLD/NEW); subclasses add theirs here."""
        return self.condition

    def _statement_condition(self, model: type[models.Model]) -> tuple[str, frozenset[str]]:
        """The condition over the transition tables, and which of OLD/NEW it reads."""
        condition = self.get_row_condition(model)
        if condition is None:
            return "", frozenset()
        text = resolve_condition(condition, model)
        return rename_sides(text, _TRANSITION_TABLES), referenced_sides(text)

    def get_func_template_kwargs(self, model: type[models.Model]) -> dict[str, Any]:
        kwargs = super().get_func_template_kwargs(model)
        if self.level != Statement:
            return kwargs
        cond, sides = self._statement_condition(model)
        where = f" WHERE {cond}" if cond else ""
        pk = _pk_columns(model)
        old_pk = ", ".join(f"old_values.{sql.quote_ident(c)}" for c in pk)
        new_pk = ", ".join(f"new_values.{sql.quote_ident(c)}" for c in pk)
        joined = f"old_values JOIN new_values ON ({old_pk}) = ({new_pk}){where}"
        kwargs["cond_joined_values"] = joined
        kwargs["cond_old_values"] = joined if "NEW" in sides else f"old_values{where}"
        kwargs["cond_new_values"] = joined if "OLD" in sides else f"new_values{where}"
        return kwargs

    def render_func(self, model: type[models.Model]) -> str:
        if self.level == Statement and self.get_row_condition(model) is not None:
            if self.referencing is None:
                raise self._fail(
                    f"on {model._meta.label}: a statement-level condition references NEW/OLD "
                    "rows, so it needs transition tables, which Postgres only gives a single "
                    f'INSERT, UPDATE or DELETE operation, not "{self.operation}".'
                )
            func = self.get_func(model)
            template = func.func if isinstance(func, Func) else ""
            if not any(var in template for var in _TEMPLATE_VARS):
                raise self._fail(
                    f"on {model._meta.label}: a statement-level condition is applied through "
                    "{cond_old_values}, {cond_new_values} or {cond_joined_values} in a Func; "
                    "this func uses none of them, so the condition would be ignored."
                )
        text = super().render_func(model)
        if "_values." not in text:  # fast path: no transition table is mentioned at all
            return text
        code = sql_code(text)
        refs = self.referencing
        if "new_values." in code and (refs is None or not refs.new):
            raise self._fail(
                f"on {model._meta.label}: Composer trigger references NEW values, but "
                f'operation "{self.operation}" doesn\'t allow for that.'
            )
        if "old_values." in code and (refs is None or not refs.old):
            raise self._fail(
                f"on {model._meta.label}: Composer trigger references OLD values, but "
                f'operation "{self.operation}" doesn\'t allow for that.'
            )
        return text


class Protect(Composer):
    """Refuse an operation: ``Protect(name="no_delete", operation=Delete)``.

    Row level (default) refuses in a BEFORE trigger; statement level refuses in an AFTER
    trigger when the statement touched at least one row matching the condition. Raises
    ``ProtectedError`` (SQLSTATE TG001) with ``message`` or a django-pgtrigger-style default.
    """

    when = Before
    message: str | None = None
    sqlstate: str = raising.PROTECTED

    def __init__(
        self, *, message: str | None = None, sqlstate: str | None = None, **kwargs: Any
    ) -> None:
        if (kwargs.get("level") or type(self).level) == Statement:
            kwargs["when"] = After  # statement-level triggers see transition tables only AFTER
        self.message = _message(message, type(self).__name__) or self.message
        self.sqlstate = raising.validate_sqlstate(sqlstate or self.sqlstate)
        super().__init__(**kwargs)

    def _default_message(self) -> str:
        assert self.operation is not None
        verb = self.operation.name.lower()
        return f"'pgtrigger: Cannot {verb} rows from ' || TG_TABLE_NAME || ' table'"

    def render_raise(self, model: type[models.Model]) -> str:
        """The RAISE statement of this refusal."""
        message_sql = sql.quote_literal(self.message) if self.message else self._default_message()
        return raising.raise_sql(
            sqlstate=self.sqlstate, uri=self.get_uri(model), message_sql=message_sql
        )

    def _statement_source(self, model: type[models.Model]) -> str:
        """The template variable naming the (filtered) rows that make the statement refused."""
        refs = self.referencing
        assert refs is not None
        condition = self.get_row_condition(model)
        sides = referenced_sides(resolve_condition(condition, model)) if condition else set()
        if refs.old and "NEW" not in sides:
            return "{cond_old_values}"
        if refs.new and "OLD" not in sides:
            return "{cond_new_values}"
        return "{cond_joined_values}"

    def statement_test(self, model: type[models.Model]) -> str:
        """The statement-level refusal test (a Func template over the transition tables)."""
        return f"EXISTS (SELECT 1 FROM {self._statement_source(model)})"

    def get_func(self, model: type[models.Model]) -> Func | str:
        raise_sql = self.render_raise(model)
        if self.level == Row:
            return raise_sql
        if self.referencing is None:  # combined operations, TRUNCATE: no rows to look at
            return Func(_braces(raise_sql) + " RETURN NULL;")
        return Func(
            f"IF {self.statement_test(model)} THEN {_braces(raise_sql)} END IF; RETURN NULL;"
        )


class ReadOnly(Protect):
    """Refuse updates of some fields (``fields=``), of all but some (``exclude=``), or of any.

    A ``condition`` narrows the refusal: ``ReadOnly(fields=["total"],
    condition=Q(old__status="paid"))`` freezes the total of paid rows only. Raises
    ``ReadOnlyError`` (a ``ProtectedError``, SQLSTATE TG002).
    """

    operation: Operation | None = Update
    sqlstate = raising.READ_ONLY

    def __init__(
        self,
        *,
        fields: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if fields and exclude:
            raise DeclarationError(
                'Must provide only one of "fields" or "exclude" to ReadOnly trigger.'
            )
        for names in (fields, exclude):
            if isinstance(names, str):
                raise DeclarationError("ReadOnly fields/exclude must be a list of field names.")
        self.fields = list(fields or [])
        self.exclude = list(exclude or [])
        super().__init__(**kwargs)

    def protected_fields(self, model: type[models.Model]) -> list[models.Field[Any, Any]] | None:
        """The fields that may not change; None means the whole row."""
        what = f"ReadOnly {self.name}"
        if self.fields:
            return [local_field(model, f, what=what) for f in self.fields]
        if not self.exclude:
            return None
        excluded = {local_field(model, f, what=what).name for f in self.exclude}
        fields = [f for f in table_fields(model) if f.name not in excluded]
        if not fields:
            raise self._fail(f"on {model._meta.label}: exclude leaves no field to protect.")
        return fields

    def readonly_condition(self, model: type[models.Model]) -> AnyCondition:
        """True when a protected field changed."""
        fields = self.protected_fields(model)
        if fields is None:
            return Condition("OLD.* IS DISTINCT FROM NEW.*")
        q: models.Q = Q()
        for field in fields:
            q |= Q(**{f"old__{field.name}__df": F(f"new__{field.name}")})
        return q

    def get_row_condition(self, model: type[models.Model]) -> AnyCondition | None:
        return _and(self.readonly_condition(model), self.condition)

    def statement_test(self, model: type[models.Model]) -> str:
        test = super().statement_test(model)
        if self.condition is not None:
            return test
        # The primary-key join misses rows whose key changed: also refuse when the multiset of
        # protected values differs between the transition tables (sound: unchanged protected
        # columns give equal multisets).
        fields = self.protected_fields(model)
        cols = "*" if fields is None else ", ".join(sql.quote_ident(_column(f)) for f in fields)
        guard = f"EXISTS (SELECT {cols} FROM old_values EXCEPT ALL SELECT {cols} FROM new_values)"
        return f"({test} OR {_braces(guard)})"


class SoftDelete(Trigger):
    """Turn a DELETE into an UPDATE of ``field`` to ``value``.

    ``value`` may be any value the field accepts (None, bool, str, int, datetime, dict for
    JSON...) or a Django expression that reads no column, e.g. ``Now()``.
    """

    when = Before
    operation = Delete
    level = Row
    field: str | None = None
    value: Any = False

    def __init__(
        self,
        *,
        name: str | None = None,
        condition: AnyCondition | None = None,
        field: str | None = None,
        value: Any = False,
        order: int | None = None,
    ) -> None:
        self.field = field or self.field
        self.value = value
        if not self.field:
            raise DeclarationError('Must provide "field" for soft delete.')
        super().__init__(name=name, condition=condition, order=order)

    def render_value(self, model: type[models.Model]) -> str:
        """The SQL of ``value``, prepared by the field as for a save, then quoted."""
        assert self.field is not None
        field = local_field(model, self.field, what=f"SoftDelete {self.name}")
        if hasattr(self.value, "resolve_expression"):
            return compile_expression(self.value, model)
        try:
            prepared = field.get_db_prep_save(self.value, connection=current_connection())
        except (TypeError, ValueError) as exc:
            raise self._fail(
                f"on {model._meta.label}: value {self.value!r} does not suit field "
                f'"{self.field}" ({exc}).'
            ) from exc
        return inline_literal(prepared)

    def get_func(self, model: type[models.Model]) -> str:
        assert self.field is not None
        column = _column(local_field(model, self.field, what=f"SoftDelete {self.name}"))
        match = " AND ".join(
            f"{sql.quote_ident(c)} = OLD.{sql.quote_ident(c)}" for c in _pk_columns(model)
        )
        table = sql.quote_table(model._meta.db_table)
        return (
            f"UPDATE {table} SET {sql.quote_ident(column)} = {self.render_value(model)} "
            f"WHERE {match}; RETURN NULL;"
        )


class FSM(Trigger):
    """Allow only the listed ``(from, to)`` transitions of ``field`` (any field type).

    The trigger only runs when the field changes (its WHEN checks that, NULL-safely); any
    change not listed raises ``InvalidTransitionError`` (SQLSTATE TG003), whose ``old_value``
    and ``new_value`` say which. ``None`` may appear in transitions for nullable fields.
    ``separator`` is accepted for django-pgtrigger compatibility and not needed any more.
    """

    when = Before
    operation = Update
    level = Row

    def __init__(
        self,
        *,
        name: str | None = None,
        condition: AnyCondition | None = None,
        field: str | None = None,
        transitions: Sequence[tuple[Any, Any]] | None = None,
        separator: str | None = None,
        message: str | None = None,
        sqlstate: str | None = None,
        order: int | None = None,
    ) -> None:
        self.field = field
        self.transitions = [tuple(t) for t in transitions or []]
        self.separator = separator or ":"
        self.message = _message(message, "FSM")
        self.sqlstate = raising.validate_sqlstate(sqlstate or raising.INVALID_TRANSITION)
        if not self.field:
            raise DeclarationError('Must provide "field" for FSM.')
        if not self.transitions:
            raise DeclarationError('Must provide "transitions" for FSM.')
        if any(len(t) != 2 for t in self.transitions):
            raise DeclarationError('FSM "transitions" must be (from, to) pairs.')
        if not isinstance(self.separator, str) or len(self.separator) != 1:
            raise DeclarationError(f'Separator "{self.separator}" must be a single character.')
        super().__init__(name=name, condition=condition, order=order)

    def get_condition(self, model: type[models.Model]) -> AnyCondition | None:
        assert self.field is not None
        changed = Q(**{f"old__{self.field}__df": F(f"new__{self.field}")})
        return _and(changed, self.condition)

    def get_func(self, model: type[models.Model]) -> str:
        assert self.field is not None
        column = sql.quote_ident(_column(local_field(model, self.field, what=f"FSM {self.name}")))
        allowed: models.Q = Q()
        for old, new in self.transitions:
            allowed |= Q(**{f"old__{self.field}__ndf": old}) & Q(**{f"new__{self.field}__ndf": new})
        allowed_sql = resolve_condition(allowed, model)
        if self.message is not None:
            message_sql = sql.quote_literal(self.message)
        else:
            prefix = f'pgtrigger: Invalid transition of field "{self.field}" from "'
            message_sql = (
                f"{sql.quote_literal(prefix)} || coalesce(OLD.{column}::text, '<NULL>')"
                f" || '\" to \"' || coalesce(NEW.{column}::text, '<NULL>')"
                " || '\" on table ' || TG_TABLE_NAME"
            )
        raise_sql = raising.raise_sql(
            sqlstate=self.sqlstate,
            uri=self.get_uri(model),
            message_sql=message_sql,
            detail={
                "field": sql.quote_literal(self.field),
                "old": f"OLD.{column}",
                "new": f"NEW.{column}",
            },
        )
        return f"IF NOT ({allowed_sql}) THEN {raise_sql} END IF; RETURN NEW;"


class UpdateSearchVector(Trigger):
    """Keep a tsvector column up to date from document fields.

    Unlike django-pgtrigger's, it runs in its own function, so ``ignore`` applies to it, and
    its ``UPDATE OF`` lists the fields' columns (``db_column``). The vector equals what
    Postgres' ``tsvector_update_trigger`` computes.
    """

    when = Before
    level = Row

    def __init__(
        self,
        *,
        name: str | None = None,
        vector_field: str | None = None,
        document_fields: Sequence[str] | None = None,
        config_name: str | None = None,
        order: int | None = None,
    ) -> None:
        self.vector_field = vector_field
        self.document_fields = list(document_fields or [])
        self.config_name = config_name or "pg_catalog.english"
        if not self.vector_field:
            raise DeclarationError('Must provide "vector_field" to update search vector.')
        if not self.document_fields or isinstance(document_fields, str):
            raise DeclarationError('Must provide "document_fields" to update search vector.')
        super().__init__(name=name, operation=Insert | UpdateOf(*self.document_fields), order=order)

    def get_func(self, model: type[models.Model]) -> str:
        assert self.vector_field is not None
        what = f"UpdateSearchVector {self.name}"
        vector = _column(local_field(model, self.vector_field, what=what))
        docs = []
        for name in self.document_fields:
            column = _column(local_field(model, name, what=what))
            docs.append(f"coalesce(NEW.{sql.quote_ident(column)}::text, '')")
        config = sql.quote_literal(self.config_name)
        document = " || ' ' || ".join(docs)
        target = f"NEW.{sql.quote_ident(vector)}"
        return f"{target} := to_tsvector({config}::regconfig, {document}); RETURN NEW;"
