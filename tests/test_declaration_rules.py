"""Declaration rules and clause values on plain data: each bad combination, its exact error.

Postgres' CREATE TRIGGER rules are checked when the Trigger is built (or, for conditions,
when it is compiled), before any database is involved. No database.
"""

from __future__ import annotations

from typing import Any

import pytest

import pgtrigger_live as pgtrigger
from pgtrigger_live.declare.triggers import AttrDict
from pgtrigger_live.exceptions import DeclarationError
from pgtrigger_live.reconcile.compiler import compile_trigger
from tests.testapp.models import Plain

OK: dict[str, Any] = {
    "name": "t",
    "when": pgtrigger.After,
    "operation": pgtrigger.Update,
    "func": "RETURN NULL;",
}
ST = pgtrigger.Statement

BAD = [
    ({"timing": "DEFERRED"}, "Invalid \"timing\" attribute: 'DEFERRED'."),
    ({"referencing": "old"}, "Invalid \"referencing\" attribute: 'old'."),
    ({"condition": "NEW.x > 0"}, "Invalid \"condition\" attribute: 'NEW.x > 0'."),
    ({"level": "ROW"}, "Invalid \"level\" attribute: 'ROW'."),
    ({"when": "AFTER"}, "Invalid \"when\" attribute: 'AFTER'."),
    ({"operation": "UPDATE"}, "Invalid \"operation\" attribute: 'UPDATE'."),
    ({"operation": pgtrigger.Truncate}, "TRUNCATE triggers must be statement-level"),
    ({"referencing": pgtrigger.Referencing(old="o")}, "Row-level triggers cannot have"),
    ({"timing": pgtrigger.Deferred, "level": ST}, 'Deferrable triggers must have "level"'),
    (
        {"timing": pgtrigger.Deferred, "when": pgtrigger.Before},
        'Deferrable triggers must have "when" attribute as After.',
    ),
    ({"when": pgtrigger.InsteadOf, "level": ST}, "INSTEAD OF triggers must be row-level."),
    (
        {"when": pgtrigger.InsteadOf, "condition": pgtrigger.Q(new__id=1)},
        "INSTEAD OF triggers cannot have a condition.",
    ),
    (
        {"when": pgtrigger.InsteadOf, "operation": pgtrigger.UpdateOf("id")},
        "INSTEAD OF triggers cannot use UpdateOf.",
    ),
    (
        {"level": ST, "when": pgtrigger.Before, "referencing": pgtrigger.Referencing(old="o")},
        "Transition tables (referencing) need when=After.",
    ),
    (
        {
            "level": ST,
            "operation": pgtrigger.Update | pgtrigger.Delete,
            "referencing": pgtrigger.Referencing(old="o"),
        },
        "Transition tables (referencing) need a single operation.",
    ),
    (
        {
            "level": ST,
            "operation": pgtrigger.UpdateOf("id"),
            "referencing": pgtrigger.Referencing(old="o"),
        },
        "Transition tables cannot be used with UpdateOf or Truncate.",
    ),
    (
        {
            "level": ST,
            "operation": pgtrigger.Truncate,
            "referencing": pgtrigger.Referencing(old="o"),
        },
        "Transition tables cannot be used with UpdateOf or Truncate.",
    ),
    (
        {
            "level": ST,
            "operation": pgtrigger.Insert,
            "referencing": pgtrigger.Referencing(old="o"),
        },
        "An INSERT trigger has no OLD transition table.",
    ),
    (
        {
            "level": ST,
            "operation": pgtrigger.Delete,
            "referencing": pgtrigger.Referencing(new="n"),
        },
        "A DELETE trigger has no NEW transition table.",
    ),
]


@pytest.mark.parametrize(("change", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_combination(change: dict[str, Any], message: str) -> None:
    with pytest.raises(DeclarationError) as info:
        pgtrigger.Trigger(**{**OK, **change})
    assert str(info.value).startswith(f'Trigger "t": {message}')


CONDITION_ERRORS = [
    (
        {"level": ST, "condition": pgtrigger.Q(new__id=1)},
        "a statement-level trigger's condition cannot read OLD or NEW row values",
    ),
    (
        {"operation": pgtrigger.Insert, "condition": pgtrigger.Q(old__id=1)},
        "the condition reads OLD, which an INSERT does not have.",
    ),
    (
        {"operation": pgtrigger.Delete, "condition": pgtrigger.Q(new__id=1)},
        "the condition reads NEW, which a DELETE does not have.",
    ),
]


@pytest.mark.parametrize(("change", "message"), CONDITION_ERRORS)
def test_condition_that_cannot_hold(change: dict[str, Any], message: str) -> None:
    with pytest.raises(DeclarationError) as info:
        compile_trigger(Plain, pgtrigger.Trigger(**{**OK, **change}))
    assert f'Trigger "t": on testapp.Plain: {message}' in str(info.value)


def test_a_plain_django_q_is_a_condition() -> None:
    from django.db.models import Q

    trigger = pgtrigger.Trigger(**{**OK, "condition": Q(new__id__gt=1)})
    assert compile_trigger(Plain, trigger).condition == 'NEW."id" > 1'


def test_missing_func_names_the_model() -> None:
    trigger = pgtrigger.Trigger(**{**OK, "func": None})
    with pytest.raises(DeclarationError, match=r"Must define func attribute .*\(testapp\.Plain\)"):
        compile_trigger(Plain, trigger)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: pgtrigger.UpdateOf(), "UpdateOf: Must provide at least one column."),
        (lambda: pgtrigger.UpdateOf("a", 3), "UpdateOf columns must be strings; got 3."),
        (lambda: pgtrigger.UpdateOf(""), "UpdateOf columns must be strings; got ''."),
        (lambda: pgtrigger.Referencing(), 'Must provide either "old" and/or "new"'),
        (
            lambda: pgtrigger.Timing("LATER"),
            "Timing must be one of IMMEDIATE, DEFERRED; got 'LATER'.",
        ),
        (
            lambda: pgtrigger.Insert | pgtrigger.Insert,
            "Operation INSERT OR INSERT names INSERT more",
        ),
        (
            lambda: pgtrigger.Operations(pgtrigger.Insert, "DELETE"),
            "Cannot combine 'DELETE' with trigger operations.",
        ),
    ],
)
def test_bad_clause_values(build: Any, message: str) -> None:
    with pytest.raises(DeclarationError) as info:
        build()
    assert str(info.value).startswith(message)


def test_clause_values_compare_print_and_hash() -> None:
    assert repr(pgtrigger.Deferred) == "Timing('DEFERRED')"
    assert repr(pgtrigger.Insert | pgtrigger.Delete) == "Operation('INSERT') | Operation('DELETE')"
    assert repr(pgtrigger.UpdateOf("a", "b")) == "UpdateOf('a', 'b')"
    assert str(pgtrigger.UpdateOf("a")) == 'UPDATE OF "a"'
    assert pgtrigger.UpdateOf("a") == pgtrigger.UpdateOf("a") != pgtrigger.UpdateOf("b")
    assert len({pgtrigger.UpdateOf("a"), pgtrigger.UpdateOf("a")}) == 1
    both = pgtrigger.Insert | pgtrigger.Delete
    assert both == pgtrigger.Insert | pgtrigger.Delete
    assert len({both, pgtrigger.Insert | pgtrigger.Delete}) == 1
    assert list(both) == [pgtrigger.Insert, pgtrigger.Delete]
    assert pgtrigger.Insert.__or__("x") is NotImplemented  # type: ignore[operator]
    ref = pgtrigger.Referencing(old="o")
    assert repr(ref) == "Referencing(old='o', new=None)"
    assert str(ref) == 'REFERENCING OLD TABLE AS "o"'
    assert ref == pgtrigger.Referencing(old="o") != pgtrigger.Referencing(new="o")
    assert len({ref, pgtrigger.Referencing(old="o")}) == 1
    func = pgtrigger.Func("RETURN {meta.db_table};")
    assert repr(func) == "Func('RETURN {meta.db_table};')"
    assert func == pgtrigger.Func("RETURN {meta.db_table};") != pgtrigger.Func("x")
    assert len({func, pgtrigger.Func("RETURN {meta.db_table};")}) == 1
    trigger = pgtrigger.Trigger(**OK)
    assert repr(trigger) == "<Trigger t>"


def test_attrdict_missing_key_is_an_attribute_error() -> None:
    columns = AttrDict(a="col_a")
    assert columns.a == "col_a"
    with pytest.raises(AttributeError, match="^b$"):
        _ = columns.b
