"""The columns a declaration may name: concrete fields stored in the model's own table."""

from __future__ import annotations

from typing import Any

from django.db import models

from pgtrigger_live.exceptions import DeclarationError, UnknownFieldError

# (model, name) -> field, for names that passed the checks below (models never change).
_LOCAL_FIELDS: dict[tuple[type[models.Model], str], models.Field[Any, Any]] = {}


def local_field(model: type[models.Model], name: str, *, what: str) -> models.Field[Any, Any]:
    """Return the concrete field ``name`` stored in ``model``'s own table, or raise."""
    found = _LOCAL_FIELDS.get((model, name))
    if found is not None:
        return found
    field = _check_local_field(model, name, what)
    _LOCAL_FIELDS[(model, name)] = field
    return field


def _check_local_field(model: type[models.Model], name: str, what: str) -> models.Field[Any, Any]:
    from django.core.exceptions import FieldDoesNotExist

    try:
        field = model._meta.pk if name == "pk" else model._meta.get_field(name)
        if field is None:
            raise FieldDoesNotExist(name)
    except FieldDoesNotExist:
        raise UnknownFieldError(
            f'{what} references "{name}": {model._meta.label} has no field named "{name}".'
        ) from None
    if field.many_to_many or field.one_to_many or not getattr(field, "concrete", False):
        raise DeclarationError(
            f'{what} references "{name}", a many-to-many field or reverse relation with no '
            f"column in {model._meta.label}'s table; a trigger can only read its own columns."
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
    if not isinstance(field, models.Field) or getattr(field, "column", None) is None:
        raise DeclarationError(
            f'{what} references "{name}", which has no single column in {model._meta.label}.'
        )
    return field


def table_fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    """The concrete fields stored in the model's own table (MTI parents' fields excluded)."""
    concrete = model._meta.concrete_model
    assert concrete is not None
    return [f for f in concrete._meta.local_concrete_fields if f.column is not None]
