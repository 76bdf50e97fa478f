"""Pure tests of declarations and the compiler: no database is touched."""

from __future__ import annotations

import pytest
from django.db import connection

import pgtrigger_live as pgtrigger
from pgtrigger_live.exceptions import DeclarationError
from pgtrigger_live.reconcile.compiler import compile_trigger
from tests.testapp.models import Order, Plain, Versioned


def trig(**kwargs: object) -> pgtrigger.Trigger:
    defaults: dict[str, object] = {
        "name": "t",
        "when": pgtrigger.Before,
        "operation": pgtrigger.Update,
        "func": "RETURN NEW;",
    }
    defaults.update(kwargs)
    return pgtrigger.Trigger(**defaults)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "bad.name"}, "invalid characters"),
        ({"name": None}, 'must have "name"'),
        ({"when": "BEFORE"}, 'Invalid "when"'),
        ({"operation": "UPDATE"}, 'Invalid "operation"'),
        ({"level": "ROW"}, 'Invalid "level"'),
        ({"operation": pgtrigger.Truncate}, "statement-level"),
        ({"referencing": pgtrigger.Referencing(old="o")}, "Row-level triggers cannot"),
        ({"timing": pgtrigger.Deferred}, 'must have "when" attribute as After'),
        (
            {"timing": pgtrigger.Deferred, "when": pgtrigger.After, "level": pgtrigger.Statement},
            'must have "level"',
        ),
        (
            {"when": pgtrigger.InsteadOf, "condition": pgtrigger.Condition("true")},
            "INSTEAD OF triggers cannot have a condition",
        ),
        (
            {
                "level": pgtrigger.Statement,
                "when": pgtrigger.Before,
                "referencing": pgtrigger.Referencing(new="n"),
            },
            "need when=After",
        ),
        (
            {
                "level": pgtrigger.Statement,
                "when": pgtrigger.After,
                "operation": pgtrigger.Insert,
                "referencing": pgtrigger.Referencing(old="o"),
            },
            "no OLD transition table",
        ),
    ],
)
def test_invalid_declarations_fail_at_definition(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(DeclarationError, match=message):
        trig(**kwargs)


def test_duplicate_events_are_rejected() -> None:
    with pytest.raises(DeclarationError, match="more than once"):
        pgtrigger.Update | pgtrigger.Delete | pgtrigger.Update


def test_clause_values_have_real_equality() -> None:
    assert pgtrigger.Level("ROW") == pgtrigger.Row
    assert pgtrigger.UpdateOf("a") == pgtrigger.UpdateOf("a")
    assert pgtrigger.Insert | pgtrigger.Delete == pgtrigger.Insert | pgtrigger.Delete
    assert str(pgtrigger.Delete | pgtrigger.Update) == "DELETE OR UPDATE"
    assert pgtrigger.Update in (pgtrigger.Update | pgtrigger.Delete)


def test_q_condition_compiles_to_old_new_columns() -> None:
    condition = pgtrigger.Q(old__value=0, new__value=1) | ~pgtrigger.Q(new__version__gt=5)
    sql = condition.resolve(Versioned, connection)
    assert sql == '(NEW."value" = 1 AND OLD."value" = 0) OR (NOT (NEW."version" > 5))'


def test_q_uses_db_column_and_quotes_literals() -> None:
    sql = pgtrigger.Q(new__amount__lt=0, new__status="it's").resolve(Order, connection)
    assert sql == "NEW.\"Amount Column\" < 0 AND NEW.\"status\" = 'it''s'"


def test_df_and_f_compile() -> None:
    sql = pgtrigger.Q(old__value__df=pgtrigger.F("new__value")).resolve(Versioned, connection)
    # The same shape django-pgtrigger produces (Django parenthesises expression operands).
    assert sql == 'OLD."value" IS DISTINCT FROM (NEW."value")'


def test_q_on_unknown_field_names_model_and_field() -> None:
    with pytest.raises(DeclarationError, match='testapp.Plain has no field named "nope"'):
        pgtrigger.Q(new__nope=1).resolve(Plain, connection)


def test_f_must_name_old_or_new() -> None:
    with pytest.raises(DeclarationError, match="old__<field> or new__<field>"):
        pgtrigger.F("value")


def test_condition_reading_old_on_insert_is_rejected_at_compile() -> None:
    t = trig(operation=pgtrigger.Insert, condition=pgtrigger.Q(old__value=1))
    with pytest.raises(DeclarationError, match="testapp.Plain:t.*reads OLD"):
        compile_trigger(Plain, t, connection)


def test_update_of_translates_field_names_to_columns() -> None:
    t = trig(operation=pgtrigger.UpdateOf("amount"))
    compiled = compile_trigger(Order, t, connection)
    assert compiled.events == 'UPDATE OF "Amount Column"'
    t = trig(operation=pgtrigger.UpdateOf("missing"))
    with pytest.raises(DeclarationError, match='UpdateOf\\("missing"\\) names no column'):
        compile_trigger(Order, t, connection)


def test_hash_is_stable_and_covers_clause_and_body_separately() -> None:
    a = compile_trigger(Plain, trig(), connection)
    assert a.signature == compile_trigger(Plain, trig(), connection).signature
    body_changed = compile_trigger(Plain, trig(func="NEW.value := 1; RETURN NEW;"), connection)
    assert body_changed.signature.clause_hash == a.signature.clause_hash
    assert body_changed.signature.body_md5 != a.signature.body_md5
    clause_changed = compile_trigger(Plain, trig(operation=pgtrigger.Delete), connection)
    assert clause_changed.signature.clause_hash != a.signature.clause_hash
    assert clause_changed.signature.body_md5 == a.signature.body_md5


def test_generated_function_checks_ignore_without_exception_block() -> None:
    compiled = compile_trigger(Plain, trig(), connection)
    assert compiled.body is not None
    assert "current_setting('pgtrigger.ignore', true)" in compiled.body
    assert "EXCEPTION" not in compiled.body.upper()


def test_func_template_variables() -> None:
    t = trig(func=pgtrigger.Func("RAISE NOTICE '{meta.db_table} {columns.value}'; RETURN NEW;"))
    compiled = compile_trigger(Plain, t, connection)
    assert compiled.body is not None
    assert "testapp_plain value" in compiled.body
    bad = trig(func=pgtrigger.Func("SELECT {unknown};"))
    with pytest.raises(DeclarationError, match="cannot render func template"):
        compile_trigger(Plain, bad, connection)
