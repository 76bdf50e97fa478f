"""Condition algebra and literals on plain data: the SQL text, without a database.

tests/test_conditions.py checks what these conditions select in a real PostgreSQL.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Any

import pytest
from django.db import models

import pgtrigger_live as pgtrigger
from pgtrigger_live.declare.conditions import inline_literal, resolve_condition
from pgtrigger_live.exceptions import DeclarationError
from tests.testapp.models import CondRow

LITERALS = [
    (None, "NULL"),
    (True, "true"),
    (False, "false"),
    (3, "3"),
    (1.5, "1.5"),
    (float("nan"), "'nan'::float8"),
    (float("inf"), "'inf'::float8"),
    (decimal.Decimal("1.20"), "1.20"),
    (decimal.Decimal("NaN"), "'NaN'::numeric"),
    ("it's", "'it''s'"),
    (datetime.date(2024, 2, 3), "'2024-02-03'"),
    (datetime.time(4, 5), "'04:05:00'"),
    (datetime.timedelta(minutes=1), "'60.0 seconds'::interval"),
    (uuid.UUID(int=1), "'00000000-0000-0000-0000-000000000001'"),
    (b"\x01\xff", "E'\\\\x01ff'::bytea"),
    ([1, "a"], "ARRAY[1, 'a']"),
    ((None,), "ARRAY[NULL]"),
]


@pytest.mark.parametrize(("value", "text"), LITERALS, ids=[repr(v) for v, _ in LITERALS])
def test_inline_literal(value: Any, text: str) -> None:
    assert inline_literal(value) == text


def test_a_value_without_a_literal_form_is_refused() -> None:
    with pytest.raises(DeclarationError, match=r"^Cannot write <object .*> \(object\) as an SQL"):
        inline_literal(object())


def test_condition_algebra() -> None:
    a, b = pgtrigger.Condition("NEW.a > 1"), pgtrigger.Condition("NEW.b > 2")
    q = models.Q(new__a=5)
    assert resolve_condition(a & b, CondRow) == "(NEW.a > 1) AND (NEW.b > 2)"
    assert resolve_condition(a | b, CondRow) == "(NEW.a > 1) OR (NEW.b > 2)"
    assert resolve_condition(q & a, CondRow) == 'NEW."a" = 5 AND (NEW.a > 1)'  # Django's Q
    assert resolve_condition(a & q, CondRow) == '(NEW.a > 1) AND (NEW."a" = 5)'
    assert resolve_condition(a | q, CondRow) == '(NEW.a > 1) OR (NEW."a" = 5)'
    assert resolve_condition(~a, CondRow) == "NOT (NEW.a > 1)"
    assert ~~a is a
    assert repr(a) == "Condition('NEW.a > 1')"
    assert repr(a & ~b) == "(Condition('NEW.a > 1') AND ~Condition('NEW.b > 2'))"
    assert repr(pgtrigger.AnyChange("a", exclude=["b"], exclude_auto=True)) == (
        "AnyChange('a', exclude=['b'], exclude_auto=True)"
    )
    assert repr(pgtrigger.AllDontChange()) == "AllDontChange()"


def test_bad_conditions_are_refused() -> None:
    with pytest.raises(DeclarationError, match="^Must provide SQL to condition.$"):
        pgtrigger.Condition()
    with pytest.raises(DeclarationError, match="^Cannot combine a condition with 3.$"):
        pgtrigger.Condition("x") & 3  # type: ignore[operator]
    with pytest.raises(DeclarationError, match="^Cannot combine a condition with 3.$"):
        3 & pgtrigger.Condition("x")  # type: ignore[operator]
    with pytest.raises(DeclarationError, match="^Cannot combine a condition with 3.$"):
        3 | pgtrigger.Condition("x")  # type: ignore[operator]
    with pytest.raises(DeclarationError, match="^'x' is not a trigger condition.$"):
        resolve_condition("x", CondRow)


@pytest.mark.parametrize(
    ("q", "message"),
    [
        (models.Q(new__a__nope__gt=1), 'Condition new__a__nope__gt: unknown transform "nope".'),
        (models.Q(new__a__nope=1), 'Condition new__a__nope: unknown lookup "nope".'),
        (models.Q(new__a__gt=None), "Condition new__a__gt: None is only allowed with exact."),
        (
            models.Q(new__a=pgtrigger.F("old__s__lower")),
            'F("old__s__lower") in new__a: transforms and joins are not supported',
        ),
    ],
)
def test_bad_lookups(q: models.Q, message: str) -> None:
    with pytest.raises(DeclarationError) as info:
        resolve_condition(q, CondRow)
    assert str(info.value).startswith(message)


def test_none_with_exact_is_is_null() -> None:
    assert resolve_condition(models.Q(new__a=None), CondRow) == 'NEW."a" IS NULL'


def test_a_transform_as_the_last_lookup_means_exact() -> None:
    text = resolve_condition(models.Q(new__stamp__year=2024), CondRow)
    assert text.startswith('NEW."stamp" BETWEEN \'2024-01-01T00:00:00')


def test_negated_transform_on_a_nullable_column_also_requires_a_value() -> None:
    text = resolve_condition(~models.Q(new__stamp__year=2024), CondRow)
    assert text.startswith('NOT ((NEW."stamp" BETWEEN')
    assert text.endswith(
        "AND EXTRACT(YEAR FROM NEW.\"stamp\" AT TIME ZONE 'America/Chicago') IS NOT NULL))"
    )


@pytest.mark.parametrize(
    ("model", "field", "message"),
    [
        ("auth.User", "groups", 'references "groups", a many-to-many field or reverse relation'),
        (
            "testapp.CondRow",
            "nope",
            'references "nope": testapp.CondRow has no field named "nope".',
        ),
    ],
)
def test_fields_without_a_column_are_refused(model: str, field: str, message: str) -> None:
    from django.apps import apps

    with pytest.raises(DeclarationError) as info:
        pgtrigger.AnyChange(field).resolve(apps.get_model(model))
    assert f"AnyChange {message}" in str(info.value)


def test_sides_are_read_outside_literals_even_at_the_start() -> None:
    from pgtrigger_live.declare.references import referenced_sides

    assert referenced_sides("'OLD.x' = NEW.y") == {"NEW"}
    assert referenced_sides('"OLD" = 1') == set()


def test_meta_triggers_is_added_once() -> None:
    from django.db.models import options

    from pgtrigger_live.declare.meta import enable_meta_triggers

    enable_meta_triggers()
    assert options.DEFAULT_NAMES.count("triggers") == 1
