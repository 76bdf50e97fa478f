"""Built-in triggers on real rows: row and statement level, ORM, bulk operations and raw SQL."""

from __future__ import annotations

import datetime
import itertools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection, models, transaction
from django.db.models.functions import Now

import pgtrigger_live as pgtrigger
from pgtrigger_live import sql
from pgtrigger_live.exceptions import DeclarationError
from pgtrigger_live.reconcile.compiler import IGNORE_GUC, compile_trigger
from pgtrigger_live.runtime import errors
from pgtrigger_live.runtime.errors import InvalidTransitionError, ProtectedError, ReadOnlyError
from tests.testapp.models import (
    Account,
    CompositeThing,
    ConditionHit,
    CondRow,
    Invoice,
    Odd,
    Plain,
    SearchDoc,
)

pytestmark = pytest.mark.django_db
AddTrigger = Callable[[type[models.Model], pgtrigger.Trigger], str]
HOSTILE = "x'); DROP TABLE t; -- $$ $x$ \\ % {y} ;"


@pytest.fixture(autouse=True)
def _typed_errors() -> None:
    errors.install_translation()  # what the app config does at startup


@pytest.fixture
def add(extra_trigger: AddTrigger) -> Callable[..., str]:
    """Register triggers on a model for this test and install them."""

    def add(model: type[models.Model], *triggers: pgtrigger.Trigger) -> str:
        uris = [extra_trigger(model, t) for t in triggers]
        pgtrigger.install(*uris)
        return uris[0]

    return add


@contextmanager
def refused(
    error: type[Exception] = ProtectedError, match: str | None = None
) -> Iterator[pytest.ExceptionInfo[Any]]:
    """Expect a refusal; the savepoint keeps the test's transaction usable."""
    with pytest.raises(error, match=match) as info, transaction.atomic():
        yield info


def execute(statement: str, params: list[Any] | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return int(cursor.rowcount)


def hits() -> list[tuple[int, str]]:
    return sorted(ConditionHit.objects.values_list("row_id", "condition"))


HIT_TABLE = sql.quote_ident(ConditionHit._meta.db_table)


# -- Protect -----------------------------------------------------------------------------------


def test_protect_delete_at_row_level(add: Callable[..., str]) -> None:
    add(Plain, pgtrigger.Protect(name="no_delete", operation=pgtrigger.Delete))
    first = Plain.objects.bulk_create(Plain(value=i) for i in range(3))[0]
    message = "pgtrigger: Cannot delete rows from testapp_plain table"
    with refused(match=message):
        first.delete()
    with refused(match=message):
        Plain.objects.filter(value__gte=1).delete()
    with refused(match=message):
        execute("DELETE FROM testapp_plain")
    assert Plain.objects.count() == 3


def test_protect_insert_and_update_including_bulk_operations(add: Callable[..., str]) -> None:
    obj = Plain.objects.create(value=1)
    add(Plain, pgtrigger.Protect(name="frozen", operation=pgtrigger.Insert | pgtrigger.Update))
    match = "Cannot insert or update rows"
    with refused(match=match):
        Plain.objects.create()
    with refused(match=match):
        Plain.objects.bulk_create([Plain(), Plain()])
    with refused(match=match):
        Plain.objects.update(value=2)
    obj.value = 3
    with refused(match=match):
        Plain.objects.bulk_update([obj], ["value"])
    with refused(match=match):
        execute("UPDATE testapp_plain SET value = 5")
    assert list(Plain.objects.values_list("value", flat=True)) == [1]
    obj.delete()  # not protected


def test_protect_with_condition_and_custom_message_declared_in_meta() -> None:
    draft, paid = Invoice.objects.bulk_create([Invoice(number="1"), Invoice(number="2")])
    Invoice.objects.filter(pk=paid.pk).update(status="open")
    Invoice.objects.filter(pk=paid.pk).update(status="paid")
    with refused(match="^Paid invoices cannot be deleted"):
        Invoice.objects.all().delete()  # one paid row refuses the whole statement
    draft.delete()
    assert list(Invoice.objects.values_list("number", flat=True)) == ["2"]


def test_protect_at_statement_level(add: Callable[..., str]) -> None:
    protect = pgtrigger.Protect(
        name="no_update_stmt", level=pgtrigger.Statement, operation=pgtrigger.Update
    )
    assert protect.when == pgtrigger.After  # statement-level refusals run AFTER
    add(Plain, protect)
    Plain.objects.bulk_create(Plain(value=i) for i in range(3))
    assert Plain.objects.filter(value=99).update(value=1) == 0  # no row: nothing to refuse
    with refused(match="Cannot update rows from testapp_plain"):
        Plain.objects.update(value=7)
    with refused():
        execute("UPDATE testapp_plain SET id = id + 1000")  # changed keys are seen too
    assert sorted(Plain.objects.values_list("value", flat=True)) == [0, 1, 2]


def test_protect_at_statement_level_with_conditions(add: Callable[..., str]) -> None:
    add(
        Plain,
        pgtrigger.Protect(
            name="cap",
            level=pgtrigger.Statement,
            operation=pgtrigger.Update,
            condition=pgtrigger.Q(new__value__gt=10),
        ),
        pgtrigger.Protect(
            name="keep",
            level=pgtrigger.Statement,
            operation=pgtrigger.Delete,
            condition=pgtrigger.Q(old__label="keep"),
        ),
        pgtrigger.Protect(
            name="grows",
            level=pgtrigger.Statement,
            operation=pgtrigger.Update,
            condition=pgtrigger.Q(new__value__lt=pgtrigger.F("old__value")),
            message=HOSTILE,  # braces too: the statement-level body is a Func template
        ),
    )
    Plain.objects.bulk_create([Plain(value=1, label="keep"), Plain(value=2)])
    assert Plain.objects.update(value=5) == 2
    with refused(match="Cannot update rows"):
        Plain.objects.filter(label="").update(value=11)
    with refused(match=re.escape(HOSTILE)):
        execute("UPDATE testapp_plain SET value = value - 1 WHERE label = ''")
    assert Plain.objects.exclude(label="keep").delete()[0] == 1
    with refused(match="Cannot delete rows"):
        Plain.objects.all().delete()


def test_protect_truncate_at_statement_level(add: Callable[..., str]) -> None:
    add(
        ConditionHit,
        pgtrigger.Protect(
            name="no_truncate", level=pgtrigger.Statement, operation=pgtrigger.Truncate
        ),
    )
    ConditionHit.objects.create(row_id=1, condition="x")
    with refused(match="Cannot truncate rows"):
        execute(f"TRUNCATE {HIT_TABLE}")
    assert ConditionHit.objects.count() == 1


def test_protect_declaration_errors() -> None:
    with pytest.raises(DeclarationError, match="TRUNCATE triggers must be statement-level"):
        pgtrigger.Protect(name="t", operation=pgtrigger.Truncate)
    combined = pgtrigger.Protect(
        name="t",
        level=pgtrigger.Statement,
        operation=pgtrigger.Update | pgtrigger.Delete,
        condition=pgtrigger.Q(old__value=1),
    )
    with pytest.raises(DeclarationError, match="needs transition tables"):
        compile_trigger(Plain, combined, connection)
    with pytest.raises(DeclarationError, match='"message" must be a non-empty string'):
        pgtrigger.Protect(name="t", operation=pgtrigger.Delete, message="")
    with pytest.raises(DeclarationError, match="not of pgtrigger_live's class"):
        pgtrigger.Protect(name="t", operation=pgtrigger.Delete, sqlstate="P0001")


# -- ReadOnly ----------------------------------------------------------------------------------


def test_readonly_fields_declared_in_meta() -> None:
    invoice = Invoice.objects.create(number="A-1")
    invoice.total = 10
    invoice.save()  # total is not read-only on a draft
    invoice.number = "A-2"
    with refused(ReadOnlyError, match="Cannot update rows from testapp_invoice") as info:
        invoice.save()
    assert isinstance(info.value, ProtectedError)  # ReadOnly is a Protect
    Invoice.objects.filter(pk=invoice.pk).update(number="A-1")  # unchanged value: allowed
    with refused(ReadOnlyError):
        Invoice.objects.bulk_update([invoice], ["number"])
    with refused(ReadOnlyError):
        execute("UPDATE testapp_invoice SET number = number || 'x'")


def test_readonly_condition_is_honoured() -> None:
    invoice = Invoice.objects.create(number="B-1", total=5)
    Invoice.objects.filter(pk=invoice.pk).update(total=6)  # draft: allowed
    Invoice.objects.filter(pk=invoice.pk).update(status="open")
    Invoice.objects.filter(pk=invoice.pk).update(status="paid")
    with refused(ReadOnlyError, match="^The total of a paid invoice cannot change"):
        Invoice.objects.filter(pk=invoice.pk).update(total=7)
    assert Invoice.objects.get().total == 6


def test_readonly_exclude_and_whole_row(add: Callable[..., str]) -> None:
    add(Plain, pgtrigger.ReadOnly(name="only_label", exclude=["label"]))
    obj = Plain.objects.create(value=1)
    Plain.objects.update(label="changed")
    with refused(ReadOnlyError):
        Plain.objects.update(value=2)
    add(CondRow, pgtrigger.ReadOnly(name="whole_row"))
    row = CondRow.objects.create(a=None)
    execute("UPDATE testapp_condrow SET a = NULL")  # NULL to NULL is no change
    with refused(ReadOnlyError):
        execute("UPDATE testapp_condrow SET a = 1")
    assert CondRow.objects.get(pk=row.pk).a is None
    assert Plain.objects.get(pk=obj.pk).value == 1


def test_readonly_at_statement_level(add: Callable[..., str]) -> None:
    add(
        Plain,
        pgtrigger.ReadOnly(name="value_stmt", level=pgtrigger.Statement, fields=["value"]),
    )
    Plain.objects.bulk_create(Plain(value=i) for i in range(3))
    Plain.objects.update(label="ok")
    with refused(ReadOnlyError):
        Plain.objects.filter(value=1).update(value=10)
    with refused(ReadOnlyError):  # the key changes too: the join misses it, the guard doesn't
        execute("UPDATE testapp_plain SET id = id + 1000, value = value + 1")
    with refused(ReadOnlyError):  # values swapped between rows: the join sees it
        execute("UPDATE testapp_plain SET value = 2 - value WHERE value IN (0, 2)")
    add(CondRow, pgtrigger.ReadOnly(name="row_stmt", level=pgtrigger.Statement))
    CondRow.objects.create(a=1)
    with refused(ReadOnlyError):
        execute("UPDATE testapp_condrow SET id = id + 1000")
    execute("UPDATE testapp_condrow SET a = a")


def test_readonly_declaration_errors() -> None:
    with pytest.raises(DeclarationError, match='only one of "fields" or "exclude"'):
        pgtrigger.ReadOnly(name="r", fields=["value"], exclude=["label"])
    with pytest.raises(DeclarationError, match="list of field names"):
        pgtrigger.ReadOnly(name="r", fields="value")
    for trigger in (
        pgtrigger.ReadOnly(name="r", fields=["nope"]),
        pgtrigger.ReadOnly(name="r", exclude=["nope"]),
    ):
        with pytest.raises(DeclarationError, match='has no field named "nope"'):
            compile_trigger(Plain, trigger, connection)
    everything = pgtrigger.ReadOnly(name="r", exclude=["id", "value", "label"])
    with pytest.raises(DeclarationError, match="leaves no field"):
        compile_trigger(Plain, everything, connection)


# -- SoftDelete --------------------------------------------------------------------------------


def test_soft_delete_declared_in_meta() -> None:
    accounts = Account.objects.bulk_create(Account(name=str(i)) for i in range(3))
    accounts[0].delete()
    assert Account.objects.filter(is_active=False).count() == 1
    Account.objects.filter(name__in=["1", "2"]).delete()
    execute("DELETE FROM testapp_account")
    assert list(Account.objects.values_list("is_active", flat=True)) == [False] * 3


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("gone", HOSTILE, HOSTILE),
        ("gone", None, None),
        ("gone", "", ""),
        ("level", -7, -7),
        ("data", {"deleted": True, "why": "it's $$"}, {"deleted": True, "why": "it's $$"}),
        (
            "when",
            datetime.datetime(2024, 5, 6, 7, 8, tzinfo=datetime.timezone.utc),
            datetime.datetime(2024, 5, 6, 7, 8, tzinfo=datetime.timezone.utc),
        ),
    ],
    ids=["hostile-string", "null", "empty", "int", "json", "datetime"],
)
def test_soft_delete_any_value_type_safely_quoted(
    add: Callable[..., str], field: str, value: Any, expected: Any
) -> None:
    add(Odd, pgtrigger.SoftDelete(name="soft", field=field, value=value))
    obj = Odd.objects.create(gone="present", level=1, data={"a": 1})
    pk = obj.pk
    obj.delete()  # Django sets obj.pk to None, believing the row is gone
    assert getattr(Odd.objects.get(pk=pk), field) == expected


def test_soft_delete_to_an_expression_and_with_a_condition(add: Callable[..., str]) -> None:
    add(Odd, pgtrigger.SoftDelete(name="soft_now", field="when", value=Now()))
    obj = Odd.objects.create()
    execute(f"DELETE FROM {sql.quote_ident(Odd._meta.db_table)}")
    assert Odd.objects.get(pk=obj.pk).when is not None
    add(
        CompositeThing,
        pgtrigger.SoftDelete(
            name="soft_once",
            field="is_active",
            value=False,
            condition=pgtrigger.Q(old__is_active=True),
        ),
    )
    CompositeThing.objects.bulk_create(
        [CompositeThing(part_a=1, part_b=1), CompositeThing(part_a=1, part_b=2)]
    )
    CompositeThing.objects.filter(part_b=1).delete()
    assert list(CompositeThing.objects.order_by("part_b").values_list("part_b", "is_active")) == [
        (1, False),
        (2, True),
    ]
    CompositeThing.objects.filter(part_b=1).delete()  # already inactive: really deleted
    assert list(CompositeThing.objects.values_list("part_b", flat=True)) == [2]


def test_soft_delete_declaration_errors() -> None:
    with pytest.raises(DeclarationError, match='Must provide "field"'):
        pgtrigger.SoftDelete(name="s")
    bad = pgtrigger.SoftDelete(name="s", field="level", value="not a number")
    with pytest.raises(DeclarationError, match="does not suit field"):
        compile_trigger(Odd, bad, connection)


# -- FSM ---------------------------------------------------------------------------------------


def test_fsm_declared_in_meta() -> None:
    invoice = Invoice.objects.create(number="C-1")
    Invoice.objects.filter(pk=invoice.pk).update(status="open")
    invoice.refresh_from_db()
    invoice.save()  # same status: no transition
    expected = (
        'pgtrigger: Invalid transition of field "status" from "open" to "draft" on table '
        "testapp_invoice"
    )
    invoice.status = "draft"
    with refused(InvalidTransitionError, match=f"^{expected}") as info:
        invoice.save()
    assert (info.value.field, info.value.old_value, info.value.new_value) == (
        "status",
        "open",
        "draft",
    )
    with refused(InvalidTransitionError):
        Invoice.objects.update(status="void")  # open -> void is fine, draft -> void is not
        Invoice.objects.create(number="C-2")
        Invoice.objects.update(status="void")
    with refused(InvalidTransitionError):
        execute("UPDATE testapp_invoice SET status = 'nope'")
    Invoice.objects.update(status="paid")
    assert Invoice.objects.get().status == "paid"


def test_fsm_integer_field_with_nulls(add: Callable[..., str]) -> None:
    add(CondRow, pgtrigger.FSM(name="a_flow", field="a", transitions=[(None, 0), (0, 1)]))
    row = CondRow.objects.create(a=None)
    CondRow.objects.update(a=0)
    CondRow.objects.update(a=1)
    with refused(InvalidTransitionError, match='from "1" to "<NULL>"') as info:
        CondRow.objects.update(a=None)
    assert (info.value.old_value, info.value.new_value) == (1, None)  # JSON keeps the types
    with refused(InvalidTransitionError):
        execute("UPDATE testapp_condrow SET a = 0")
    assert CondRow.objects.get(pk=row.pk).a == 1


def test_fsm_values_with_quotes_commas_braces_and_dollars(add: Callable[..., str]) -> None:
    states = ["a'b", "c,d", "{e}", "$$;\\", HOSTILE]
    add(
        Odd,
        pgtrigger.FSM(name="odd_flow", field="state", transitions=list(itertools.pairwise(states))),
    )
    obj = Odd.objects.create(state=states[0])
    for state in states[1:]:
        Odd.objects.filter(pk=obj.pk).update(state=state)
    assert Odd.objects.get().state == HOSTILE
    with refused(InvalidTransitionError) as info:
        Odd.objects.update(state="c,d")
    assert info.value.old_value == HOSTILE
    assert info.value.table == "odd 'table'; --"


def test_fsm_custom_message_and_declaration_errors(add: Callable[..., str]) -> None:
    add(
        Odd,
        pgtrigger.FSM(name="lvl", field="level", transitions=[(0, 1)], message=HOSTILE),
    )
    Odd.objects.create(level=0)
    with refused(InvalidTransitionError) as info:
        Odd.objects.update(level=2)
    assert info.value.message == HOSTILE
    with pytest.raises(DeclarationError, match='Must provide "transitions"'):
        pgtrigger.FSM(name="f", field="level")
    with pytest.raises(DeclarationError, match="pairs"):
        pgtrigger.FSM(name="f", field="level", transitions=[(1, 2, 3)])  # type: ignore[list-item]
    with pytest.raises(DeclarationError, match="single character"):
        pgtrigger.FSM(name="f", field="level", transitions=[(1, 2)], separator="::")


# -- UpdateSearchVector ------------------------------------------------------------------------


def vector_matches(pk: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT vector IS NOT NULL AND vector = to_tsvector('pg_catalog.english', "
            "\"Title Col\" || ' ' || body) FROM testapp_searchdoc WHERE id = %s",
            [pk],
        )
        row = cursor.fetchone()
        assert row is not None
        return bool(row[0])


def test_update_search_vector_uses_columns_and_honours_ignore(add: Callable[..., str]) -> None:
    trigger = pgtrigger.UpdateSearchVector(
        name="search", vector_field="vector", document_fields=["title", "body"]
    )
    assert compile_trigger(SearchDoc, trigger, connection).events == (
        'INSERT OR UPDATE OF "Title Col", "body"'
    )
    add(SearchDoc, trigger)
    doc = SearchDoc.objects.create(title="Quick foxes", body="were jumping")
    assert vector_matches(doc.pk)
    bulk = SearchDoc.objects.bulk_create([SearchDoc(title="a b"), SearchDoc(body="it's $$")])
    assert all(vector_matches(d.pk) for d in bulk)
    SearchDoc.objects.filter(pk=doc.pk).update(title="Lazy dogs")
    assert vector_matches(doc.pk)
    execute("UPDATE testapp_searchdoc SET vector = NULL, other = 1")  # not a document column
    assert not vector_matches(doc.pk)
    execute("UPDATE testapp_searchdoc SET body = body")
    assert vector_matches(doc.pk)
    pgid = trigger.get_pgid(SearchDoc)
    with transaction.atomic():
        execute("SELECT set_config(%s, %s, true)", [IGNORE_GUC, f"{{{pgid}}}"])
        ignored = SearchDoc.objects.create(title="ignored")
        transaction.set_rollback(False)
    assert SearchDoc.objects.get(pk=ignored.pk).vector is None
    with pytest.raises(DeclarationError, match="vector_field"):
        pgtrigger.UpdateSearchVector(name="s", document_fields=["body"])
    with pytest.raises(DeclarationError, match="document_fields"):
        pgtrigger.UpdateSearchVector(name="s", vector_field="vector", document_fields="body")


# -- Composer ----------------------------------------------------------------------------------


def recorder(label: str, source: str, column: str = "id") -> pgtrigger.Func:
    """A Func recording (column, label) for each row of ``source`` (a template variable)."""
    return pgtrigger.Func(
        f"INSERT INTO {HIT_TABLE} (row_id, condition) SELECT {column}, "
        f"{sql.quote_literal(label)} FROM {source}; RETURN NULL;"
    )


def test_composer_statement_level_template_variables(add: Callable[..., str]) -> None:
    def composer(name: str, operation: pgtrigger.Operation, condition: Any, source: str) -> Any:
        column = "new_values.id" if source == "{cond_joined_values}" else "id"
        return pgtrigger.Composer(
            name=name,
            level=pgtrigger.Statement,
            when=pgtrigger.After,
            operation=operation,
            condition=condition,
            func=recorder(name, source, column),
        )

    add(
        CondRow,
        composer("ins", pgtrigger.Insert, pgtrigger.Q(new__a__gt=0), "{cond_new_values}"),
        composer(
            "grew",
            pgtrigger.Update,
            pgtrigger.Q(new__a__gt=pgtrigger.F("old__a")),
            "{cond_joined_values}",
        ),
        composer("was_neg", pgtrigger.Update, pgtrigger.Q(old__a__lt=0), "{cond_old_values}"),
        composer("del", pgtrigger.Delete, pgtrigger.Q(old__s="it's"), "{cond_old_values}"),
    )
    rows = CondRow.objects.bulk_create(CondRow(a=a, s="it's") for a in (-1, 1, 2))
    ids = [r.pk for r in rows]
    assert hits() == [(ids[1], "ins"), (ids[2], "ins")]
    ConditionHit.objects.all().delete()
    execute("UPDATE testapp_condrow SET a = a + 1 WHERE a < 2")
    assert hits() == [(ids[0], "grew"), (ids[0], "was_neg"), (ids[1], "grew")]
    ConditionHit.objects.all().delete()
    CondRow.objects.filter(pk=ids[0]).delete()
    assert hits() == [(ids[0], "del")]


def test_composer_func_by_level_and_composite_keys(add: Callable[..., str]) -> None:
    by_level = {
        pgtrigger.Row: f"INSERT INTO {HIT_TABLE} (row_id, condition) VALUES (NEW.part_b, 'row'); "
        "RETURN NULL;",
        pgtrigger.Statement: recorder("stmt", "{cond_joined_values}", "new_values.part_a"),
    }
    add(
        CompositeThing,
        pgtrigger.Composer(
            name="rows",
            when=pgtrigger.After,
            operation=pgtrigger.Update,
            func=by_level,
            condition=pgtrigger.Q(new__label="x"),
        ),
        pgtrigger.Composer(
            name="stmt",
            when=pgtrigger.After,
            operation=pgtrigger.Update,
            func=by_level,
            level=pgtrigger.Statement,
            condition=pgtrigger.AnyChange("label"),
        ),
    )
    CompositeThing.objects.bulk_create(
        [CompositeThing(part_a=1, part_b=1), CompositeThing(part_a=2, part_b=1)]
    )
    with connection.cursor() as cursor:  # the join is on both key columns: no cross pairs
        cursor.execute("UPDATE testapp_compositething SET label = 'x' WHERE part_a = 1")
    assert hits() == [(1, "row"), (1, "stmt")]


def test_composer_statement_level_errors() -> None:
    cases = [
        (
            {
                "operation": pgtrigger.Insert,
                "condition": pgtrigger.Q(old__a=1),
                "func": pgtrigger.Func("PERFORM 1 FROM {cond_joined_values}; RETURN NULL;"),
            },
            "references OLD values",
        ),
        (
            {
                "operation": pgtrigger.Update,
                "condition": pgtrigger.Q(old__a=1),
                "func": "RETURN NULL;",
            },
            "the condition would be ignored",
        ),
        (
            {
                "operation": pgtrigger.Delete,
                "func": "PERFORM 1 FROM new_values WHERE new_values.a > 0; RETURN NULL;",
            },
            "references NEW values",
        ),
    ]
    for kwargs, message in cases:
        trigger = pgtrigger.Composer(
            name="c",
            level=pgtrigger.Statement,
            when=pgtrigger.After,
            **kwargs,
        )
        with pytest.raises(DeclarationError, match=message):
            compile_trigger(CondRow, trigger, connection)
    with pytest.raises(DeclarationError, match="do not support referencing"):
        pgtrigger.Composer(name="c", referencing=pgtrigger.Referencing(old="o"))
    # a literal that merely mentions new_values. is not a reference
    literal = pgtrigger.Composer(
        name="c",
        level=pgtrigger.Statement,
        when=pgtrigger.After,
        operation=pgtrigger.Delete,
        func="RAISE NOTICE 'new_values.x'; RETURN NULL;",
    )
    assert compile_trigger(CondRow, literal, connection).body is not None


# -- hostile names -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a'b", "a;b", "a$$b", 'a"b', "a b", "a.b", "a\\b"])
def test_hostile_trigger_names_are_rejected_at_definition(name: str) -> None:
    with pytest.raises(DeclarationError, match="invalid characters"):
        pgtrigger.Protect(name=name, operation=pgtrigger.Delete)
