"""Built-in triggers: Composer, Protect, ReadOnly, SoftDelete, FSM, UpdateSearchVector."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django.db import models

from pgtrigger_live import sql
from pgtrigger_live.clauses import (
    After,
    Before,
    Delete,
    Insert,
    Operation,
    Referencing,
    Row,
    Statement,
    Update,
    UpdateOf,
)
from pgtrigger_live.conditions import Condition, F, Q, local_field
from pgtrigger_live.exceptions import DeclarationError
from pgtrigger_live.triggers import Func, Trigger

_OLD_REF = re.compile(r"\bOLD\.", re.IGNORECASE)
_NEW_REF = re.compile(r"\bNEW\.", re.IGNORECASE)


class Composer(Trigger):
    """A trigger written once for row or statement level.

    At statement level the condition cannot go in WHEN (Postgres forbids row values there), so
    it is exposed to ``func`` as ``{cond_old_values}``, ``{cond_new_values}`` and
    ``{cond_joined_values}``: the transition tables filtered by the condition.
    ``func`` may be a dict ``{Row: ..., Statement: ...}``.
    """

    def __init__(self, **kwargs: Any) -> None:
        if kwargs.get("referencing") is not None:
            raise DeclarationError("Composer triggers do not support referencing declarations.")
        func = kwargs.get("func")
        if isinstance(func, dict):
            self.func_by_level = func
            kwargs.pop("func")
        super().__init__(**kwargs)
        if self.level == Statement:
            self.referencing = self._transition_tables()
            self.validate()

    func_by_level: dict[Any, Func | str] | None = None

    def _transition_tables(self) -> Referencing | None:
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
            return self.func_by_level[self.level]
        return super().get_func(model)

    def get_condition(self, model: type[models.Model]) -> Condition | models.Q | None:
        # At statement level the condition is rendered into the transition-table templates.
        return None if self.level == Statement else self.condition

    def _statement_condition(self, model: type[models.Model]) -> str:
        if self.condition is None:
            return ""
        condition = self.condition
        text = (
            condition.resolve(model)
            if isinstance(condition, Condition)
            else Q(condition).resolve(model)
        )
        text = _OLD_REF.sub("old_values.", text)
        return _NEW_REF.sub("new_values.", text)

    def get_func_template_kwargs(self, model: type[models.Model]) -> dict[str, Any]:
        kwargs = super().get_func_template_kwargs(model)
        if self.level != Statement:
            return kwargs
        cond = self._statement_condition(model)
        where = f" WHERE {cond}" if cond else ""
        pk = [model._meta.pk.column] if model._meta.pk is not None else []
        old_pk = ", ".join(f"old_values.{sql.quote_ident(c)}" for c in pk)
        new_pk = ", ".join(f"new_values.{sql.quote_ident(c)}" for c in pk)
        joined = f"old_values JOIN new_values ON ({old_pk}) = ({new_pk}){where}"
        uses_old = bool(_OLD_REF.search(cond) or "old_values." in cond)
        uses_new = bool("new_values." in cond)
        kwargs["cond_joined_values"] = joined
        kwargs["cond_old_values"] = f"old_values{where}" if not uses_new else joined
        kwargs["cond_new_values"] = f"new_values{where}" if not uses_old else joined
        return kwargs

    def render_func(self, model: type[models.Model]) -> str:
        text = super().render_func(model)
        refs = self.referencing
        if "new_values." in text and (refs is None or not refs.new):
            raise DeclarationError(
                f'Composer trigger "{self.name}" on {model._meta.label} references NEW values, '
                f'but operation "{self.operation}" doesn\'t allow for that.'
            )
        if "old_values." in text and (refs is None or not refs.old):
            raise DeclarationError(
                f'Composer trigger "{self.name}" on {model._meta.label} references OLD values, '
                f'but operation "{self.operation}" doesn\'t allow for that.'
            )
        return text


class Protect(Composer):
    """Refuse an operation: ``Protect(name="no_delete", operation=Delete)``."""

    when = Before

    def __init__(self, **kwargs: Any) -> None:
        if kwargs.get("level") == Statement:
            kwargs["when"] = After
        super().__init__(**kwargs)

    def _message(self) -> str:
        assert self.operation is not None
        return f"pgtrigger: Cannot {str(self.operation).lower()} rows from % table"

    def get_func(self, model: type[models.Model]) -> Func | str:
        raise_sql = f"RAISE EXCEPTION {sql.quote_literal(self._message())}, TG_TABLE_NAME;"
        if self.level == Row:
            return raise_sql
        refs = self.referencing
        source = (
            "{cond_joined_values}" if refs and refs.old and refs.new
            else "{cond_new_values}" if refs and refs.new
            else "{cond_old_values}"
        )
        if refs is None:
            return f"{raise_sql} RETURN NULL;"
        return Func(
            "IF EXISTS (SELECT 1 FROM " + source + ") THEN "
            + raise_sql.replace("{", "{{").replace("}", "}}")
            + " END IF; RETURN NULL;"
        )


class ReadOnly(Protect):
    """Refuse updates of some fields (``fields=``), or of all but some (``exclude=``)."""

    operation: Operation | None = Update

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
        if kwargs.get("condition") is not None:
            raise DeclarationError(
                "ReadOnly builds its own condition from fields/exclude; a condition cannot be "
                "given to it (use Protect with a condition instead)."
            )
        self.fields = list(fields or [])
        self.exclude = list(exclude or [])
        super().__init__(**kwargs)

    def get_condition(self, model: type[models.Model]) -> Condition | models.Q | None:
        return None if self.level == Statement else self._readonly_condition(model)

    def _readonly_condition(self, model: type[models.Model]) -> Condition | models.Q:
        if not self.fields and not self.exclude:
            return Condition("OLD.* IS DISTINCT FROM NEW.*")
        concrete = model._meta.concrete_model
        assert concrete is not None
        if self.fields:
            names = [local_field(model, f, what=f"ReadOnly {self.name}").name for f in self.fields]
        else:
            excluded = {local_field(model, f, what=f"ReadOnly {self.name}").name for f in self.exclude}
            names = [f.name for f in concrete._meta.local_concrete_fields if f.name not in excluded]
        q = models.Q()
        for name in names:
            q |= Q(**{f"old__{name}__df": F(f"new__{name}")})
        return Q(q)

    def _statement_condition(self, model: type[models.Model]) -> str:
        self.condition = self._readonly_condition(model)
        try:
            return super()._statement_condition(model)
        finally:
            self.condition = None


class SoftDelete(Trigger):
    """Turn a DELETE into an UPDATE of ``field`` to ``value`` (``None``, bool, int, str...)."""

    when = Before
    operation = Delete
    level = Row
    field: str | None = None
    value: Any = False

    def __init__(
        self,
        *,
        name: str | None = None,
        condition: Condition | models.Q | None = None,
        field: str | None = None,
        value: Any = False,
    ) -> None:
        self.field = field or self.field
        self.value = value
        if not self.field:
            raise DeclarationError('Must provide "field" for soft delete.')
        super().__init__(name=name, condition=condition)

    def _literal(self) -> str:
        from pgtrigger_live.conditions import _literal

        return _literal(self.value)

    def get_func(self, model: type[models.Model]) -> str:
        assert self.field is not None
        column = local_field(model, self.field, what=f"SoftDelete {self.name}").column
        pk = model._meta.pk
        assert pk is not None
        pk_cols = [f.column for f in getattr(pk, "fields", None) or [pk]]
        match = " AND ".join(f"{sql.quote_ident(c)} = OLD.{sql.quote_ident(c)}" for c in pk_cols)
        table = sql.quote_ident(model._meta.db_table)
        return (
            f"UPDATE {table} SET {sql.quote_ident(column)} = {self._literal()} "
            f"WHERE {match}; RETURN NULL;"
        )


class FSM(Trigger):
    """Allow only the listed ``(from, to)`` transitions of ``field``."""

    when = Before
    operation = Update
    level = Row

    def __init__(
        self,
        *,
        name: str | None = None,
        condition: Condition | models.Q | None = None,
        field: str | None = None,
        transitions: Sequence[tuple[Any, Any]] | None = None,
        separator: str | None = None,
    ) -> None:
        self.field = field
        self.transitions = list(transitions or [])
        self.separator = separator or ":"
        if not self.field:
            raise DeclarationError('Must provide "field" for FSM.')
        if not self.transitions:
            raise DeclarationError('Must provide "transitions" for FSM.')
        if len(self.separator) != 1:
            raise DeclarationError(f'Separator "{self.separator}" must be a single character.')
        super().__init__(name=name, condition=condition)

    def get_func(self, model: type[models.Model]) -> str:
        from pgtrigger_live.conditions import _literal

        assert self.field is not None
        column = sql.quote_ident(local_field(model, self.field, what=f"FSM {self.name}").column)
        pairs = " OR ".join(
            f"(OLD.{column} IS NOT DISTINCT FROM {_literal(a)} "
            f"AND NEW.{column} IS NOT DISTINCT FROM {_literal(b)})"
            for a, b in self.transitions
        )
        message = sql.quote_literal(
            f'pgtrigger: Invalid transition of field "{self.field}" from "%" to "%" on table %'
        )
        return (
            f"IF OLD.{column} IS DISTINCT FROM NEW.{column} AND NOT ({pairs}) THEN "
            f"RAISE EXCEPTION {message}, OLD.{column}, NEW.{column}, TG_TABLE_NAME; "
            "END IF; RETURN NEW;"
        )


class UpdateSearchVector(Trigger):
    """Keep a tsvector column up to date from document fields (honours ``ignore``)."""

    when = Before
    level = Row

    def __init__(
        self,
        *,
        name: str | None = None,
        vector_field: str | None = None,
        document_fields: Sequence[str] | None = None,
        config_name: str | None = None,
    ) -> None:
        self.vector_field = vector_field
        self.document_fields = list(document_fields or [])
        self.config_name = config_name or "pg_catalog.english"
        if not self.vector_field:
            raise DeclarationError('Must provide "vector_field" to update search vector.')
        if not self.document_fields:
            raise DeclarationError('Must provide "document_fields" to update search vector.')
        super().__init__(
            name=name, operation=Insert | UpdateOf(*self.document_fields)
        )

    def get_func(self, model: type[models.Model]) -> str:
        assert self.vector_field is not None
        what = f"UpdateSearchVector {self.name}"
        vector = sql.quote_ident(local_field(model, self.vector_field, what=what).column)
        docs = " || ' ' || ".join(
            f"coalesce(NEW.{sql.quote_ident(local_field(model, f, what=what).column)}::text, '')"
            for f in self.document_fields
        )
        config = sql.quote_literal(self.config_name)
        return f"NEW.{vector} := to_tsvector({config}::regconfig, {docs}); RETURN NEW;"
