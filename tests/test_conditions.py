"""Conditions: compiled SQL (pure) and truth tables on real rows, NULLs included."""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from django.core import checks
from django.db import connection, connections, models
from django.db.utils import ConnectionHandler

import pgtrigger_live as pgtrigger
from pgtrigger_live import sql
from pgtrigger_live.checks import check_triggers
from pgtrigger_live.declare import conditions
from pgtrigger_live.declare.references import referenced_sides, rename_sides
from pgtrigger_live.exceptions import DeclarationError
from pgtrigger_live.reconcile.compiler import compile_trigger
from tests.testapp.models import ConditionHit, CondRow, MtiChild, Plain

AddTrigger = Callable[[type[models.Model], pgtrigger.Trigger], str]
Row = dict[str, Any]


def resolve(condition: pgtrigger.Condition | models.Q, model: type[models.Model] = CondRow) -> str:
    return conditions.resolve_condition(condition, model, connection)


# -- compiled SQL ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (pgtrigger.Q(old__a=1, new__a=2), 'NEW."a" = 2 AND OLD."a" = 1'),
        (pgtrigger.Q(old__a__df=pgtrigger.F("new__a")), 'OLD."a" IS DISTINCT FROM (NEW."a")'),
        (pgtrigger.Q(old__a__ndf=None), 'OLD."a" IS NOT DISTINCT FROM NULL'),
        (pgtrigger.Q(new__a=None), 'NEW."a" IS NULL'),
        (~pgtrigger.Q(old__a=1), 'NOT ((OLD."a" = 1 AND OLD."a" IS NOT NULL))'),
        (
            ~pgtrigger.Q(old__a__df=pgtrigger.F("new__a")),
            'NOT (OLD."a" IS DISTINCT FROM (NEW."a"))',
        ),
        (pgtrigger.Q(new__a__gt=pgtrigger.F("old__a") + 1), 'NEW."a" > (OLD."a" + 1)'),
        (pgtrigger.Q(new__a__in=[1, 2]), 'NEW."a" IN (1, 2)'),
        (pgtrigger.Q(old__fk_id=pgtrigger.F("new__fk_id")), 'OLD."fk_id" = (NEW."fk_id")'),
        (
            pgtrigger.Q(old__fk__df=pgtrigger.F("new__fk")),
            'OLD."fk_id" IS DISTINCT FROM (NEW."fk_id")',
        ),
        (pgtrigger.Q(new__fk__id=3), 'NEW."fk_id" = 3'),
        (pgtrigger.Q(new__fk=Plain(pk=4)), 'NEW."fk_id" = 4'),
        (pgtrigger.Q(new__fk__isnull=True), 'NEW."fk_id" IS NULL'),
        (pgtrigger.Q(old__pk__df=pgtrigger.F("new__pk")), 'OLD."id" IS DISTINCT FROM (NEW."id")'),
        (
            pgtrigger.Q(
                new__stamp__gte=datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone.utc)
            ),
            "NEW.\"stamp\" >= '2024-01-02T00:00:00+00:00'",
        ),
        (
            pgtrigger.Q(new__stamp__hour__gt=5),
            "EXTRACT(HOUR FROM NEW.\"stamp\" AT TIME ZONE 'America/Chicago') > 5",
        ),
        (
            pgtrigger.AnyChange("a", "b"),
            '(OLD."a" IS DISTINCT FROM (NEW."a") OR OLD."b" IS DISTINCT FROM (NEW."b"))',
        ),
        (
            pgtrigger.AllDontChange("b", "a"),
            '(OLD."a" IS NOT DISTINCT FROM (NEW."a") AND OLD."b" IS NOT DISTINCT FROM (NEW."b"))',
        ),
        (pgtrigger.AnyChange(), "OLD.* IS DISTINCT FROM NEW.*"),
        (pgtrigger.AnyDontChange(), "OLD.* IS NOT DISTINCT FROM NEW.*"),
        (pgtrigger.AnyChange("fk_id"), 'OLD."fk_id" IS DISTINCT FROM (NEW."fk_id")'),
    ],
    ids=lambda v: v if isinstance(v, str) else repr(v)[:40],
)
def test_compiled_sql(condition: pgtrigger.Condition, expected: str) -> None:
    assert resolve(condition) == expected


def test_hostile_values_are_quoted_literals() -> None:
    hostile = "x'; DROP TABLE t; -- $$ \\ OLD.a"
    text = resolve(pgtrigger.Q(new__s=hostile))
    assert text == "NEW.\"s\" = E'x''; DROP TABLE t; -- $$ \\\\ OLD.a'"
    assert referenced_sides(text) == {"NEW"}  # the OLD. inside the literal is not a reference
    assert rename_sides(text, {"NEW": "n", "OLD": "o"}) == text.replace('NEW."s"', 'n."s"')
    like = resolve(pgtrigger.Q(new__s__contains="50%_"))
    assert like == "NEW.\"s\"::text LIKE E'%50\\\\%\\\\_%'"


def test_rename_and_sides_skip_identifiers_comments_and_dollar_quotes() -> None:
    text = 'OLD."NEW.x" = $q$OLD.$q$ /* NEW. */ AND new . "b" -- OLD.\n'
    assert referenced_sides(text) == {"OLD", "NEW"}
    assert rename_sides(text, {"OLD": "o", "NEW": "n"}) == (
        'o."NEW.x" = $q$OLD.$q$ /* NEW. */ AND n . "b" -- OLD.\n'
    )


def test_combinations_across_kinds() -> None:
    q = pgtrigger.Q(new__a=1)
    assert isinstance(q & pgtrigger.Q(new__b=1), pgtrigger.Q)
    assert isinstance(models.Q(new__a=1) | pgtrigger.Q(new__b=1), models.Q)
    both = q & pgtrigger.AnyChange("b")
    assert resolve(both) == 'NEW."a" = 1 AND (OLD."b" IS DISTINCT FROM (NEW."b"))'
    assert resolve(pgtrigger.AnyChange("b") | q) == (
        '(OLD."b" IS DISTINCT FROM (NEW."b")) OR (NEW."a" = 1)'
    )
    assert resolve(~pgtrigger.AnyChange("a")) == 'NOT (OLD."a" IS DISTINCT FROM (NEW."a"))'
    assert resolve(~~pgtrigger.AnyChange("a")) == 'OLD."a" IS DISTINCT FROM (NEW."a")'
    raw = pgtrigger.Condition("OLD.a IS NULL")
    # ~ on a Q follows Django's exclude(): a nullable column must also be non-NULL inside.
    assert resolve(raw & ~q) == (
        '(OLD.a IS NULL) AND (NOT ((NEW."a" = 1 AND NEW."a" IS NOT NULL)))'
    )
    assert resolve(models.Q() & raw) == "OLD.a IS NULL"
    with pytest.raises(DeclarationError, match="Cannot combine"):
        raw & "OLD.a"  # type: ignore[operator]


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (pgtrigger.Q(a=1), "must start with old__ or new__"),
        (pgtrigger.Q(old__nope=1), 'has no field named "nope"'),
        (pgtrigger.Q(old__a__nope=1), 'unknown lookup "nope"'),
        (pgtrigger.Q(old__a__gt=None), "None is only allowed with exact"),
        (pgtrigger.Q(old__fk__value=1), '"fk__value" follows a relation'),
        (pgtrigger.Q(), "empty Q"),
        (pgtrigger.AnyChange("nope"), 'has no field named "nope"'),
        (pgtrigger.AnyChange(exclude=["a", "b", "s", "fk", "stamp", "id"]), "selects no field"),
    ],
)
def test_invalid_conditions_are_declaration_errors(
    condition: pgtrigger.Condition, message: str
) -> None:
    with pytest.raises(DeclarationError, match=message):
        resolve(condition)


def test_f_must_name_a_side() -> None:
    with pytest.raises(DeclarationError, match="must reference old__"):
        pgtrigger.F("a")
    assert pgtrigger.F("old__a").resolved_name == 'OLD."a"'


def test_inherited_field_is_a_definition_time_error(extra_trigger: AddTrigger) -> None:
    # MtiChild's table has parent_ptr_id and extra, not name: say so before any SQL is sent.
    trigger = pgtrigger.Trigger(
        name="child_name_changed",
        when=pgtrigger.Before,
        operation=pgtrigger.Update,
        condition=pgtrigger.AnyChange("name"),
        func="RETURN NEW;",
    )
    with pytest.raises(DeclarationError, match='"name", which is stored in the parent table'):
        compile_trigger(MtiChild, trigger, connection)
    for condition in (pgtrigger.Q(old__name="x"), pgtrigger.AnyChange(exclude=["name"])):
        with pytest.raises(DeclarationError, match="parent table"):
            resolve(condition, MtiChild)
    assert resolve(pgtrigger.AnyChange("extra"), MtiChild).startswith('OLD."extra"')
    extra_trigger(MtiChild, trigger)
    errors = [m for m in check_triggers() if m.id == "pgtrigger_live.E001"]
    assert [m.level for m in errors] == [checks.ERROR]
    assert "testapp.MtiChild:child_name_changed" in errors[0].msg


def test_conditions_compile_with_the_connection_being_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sqlite = ConnectionHandler({"default": {"ENGINE": "django.db.backends.sqlite3"}})["default"]
    monkeypatch.setattr(conditions, "connections", {"default": sqlite})
    q = pgtrigger.Q(new__s__icontains="x")
    assert "ESCAPE" in q.resolve(CondRow)  # without a connection: the default alias (sqlite)
    assert q.resolve(CondRow, connections["other"]) == "UPPER(NEW.\"s\"::text) LIKE UPPER('%x%')"
    composer = pgtrigger.Composer(
        name="composed",
        level=pgtrigger.Statement,
        when=pgtrigger.After,
        operation=pgtrigger.Insert,
        condition=q,
        func=pgtrigger.Func("PERFORM 1 FROM {cond_new_values}; RETURN NULL;"),
    )
    compiled = compile_trigger(CondRow, composer, connections["other"])
    assert compiled.body is not None
    assert "UPPER(new_values.\"s\"::text) LIKE UPPER('%x%')" in compiled.body


def test_df_and_ndf_lookups_work_in_querysets() -> None:
    assert " IS DISTINCT FROM " in str(CondRow.objects.filter(a__df=1).query)
    assert " IS NOT DISTINCT FROM " in str(CondRow.objects.filter(fk__ndf=None).query)


# -- truth tables on real rows -----------------------------------------------------------------

HOSTILE = "it's 50% $$; \\ done"


def changed(o: Row, n: Row, *names: str) -> list[bool]:
    return [o[name] != n[name] for name in names]


#: name -> (condition, expected truth given OLD and NEW as dicts). NULL is None; a WHEN whose
#: value is NULL does not fire, so "unknown" rows are expected False.
TRUTH: dict[str, tuple[pgtrigger.Condition | models.Q, Callable[[Row, Row], bool]]] = {
    "q_exact": (pgtrigger.Q(old__a=1), lambda o, n: o["a"] == 1),
    "q_gt_f": (
        pgtrigger.Q(new__a__gt=pgtrigger.F("old__a")),
        lambda o, n: o["a"] is not None and n["a"] is not None and n["a"] > o["a"],
    ),
    "q_not_exact": (~pgtrigger.Q(old__a=1), lambda o, n: o["a"] != 1),
    "q_not_eq_f": (
        ~pgtrigger.Q(old__a=pgtrigger.F("new__a")),
        lambda o, n: o["a"] is None or n["a"] is None or o["a"] != n["a"],
    ),
    "q_isnull": (pgtrigger.Q(old__a__isnull=True), lambda o, n: o["a"] is None),
    "q_none": (pgtrigger.Q(new__a=None), lambda o, n: n["a"] is None),
    "q_in": (pgtrigger.Q(old__a__in=[0, 1]), lambda o, n: o["a"] in (0, 1)),
    "q_or": (
        pgtrigger.Q(old__a=1) | pgtrigger.Q(new__b=1),
        lambda o, n: o["a"] == 1 or n["b"] == 1,
    ),
    "df": (pgtrigger.Q(old__a__df=pgtrigger.F("new__a")), lambda o, n: o["a"] != n["a"]),
    "ndf": (pgtrigger.Q(old__a__ndf=pgtrigger.F("new__a")), lambda o, n: o["a"] == n["a"]),
    "not_df": (~pgtrigger.Q(old__a__df=pgtrigger.F("new__a")), lambda o, n: o["a"] == n["a"]),
    "df_none": (pgtrigger.Q(new__b__df=None), lambda o, n: n["b"] is not None),
    "fk_df": (pgtrigger.Q(old__fk__df=pgtrigger.F("new__fk")), lambda o, n: o["fk"] != n["fk"]),
    "fk_id_null": (pgtrigger.Q(new__fk_id=None), lambda o, n: n["fk"] is None),
    "any_ab": (pgtrigger.AnyChange("a", "b"), lambda o, n: any(changed(o, n, "a", "b"))),
    "all_ab": (pgtrigger.AllChange("a", "b"), lambda o, n: all(changed(o, n, "a", "b"))),
    "anydont_ab": (
        pgtrigger.AnyDontChange("a", "b"),
        lambda o, n: not all(changed(o, n, "a", "b")),
    ),
    "alldont_ab": (
        pgtrigger.AllDontChange("a", "b"),
        lambda o, n: not any(changed(o, n, "a", "b")),
    ),
    "any_all": (pgtrigger.AnyChange(), lambda o, n: any(changed(o, n, "a", "b", "fk", "stamp"))),
    "any_auto": (
        pgtrigger.AnyChange(exclude_auto=True),
        lambda o, n: any(changed(o, n, "a", "b", "fk")),
    ),
    "any_excl": (
        pgtrigger.AnyChange(exclude=["b", "stamp"]),
        lambda o, n: any(changed(o, n, "a", "fk")),
    ),
    # Over every column AnyDontChange() means "nothing changed" (django-pgtrigger's result)...
    "anydont_all": (
        pgtrigger.AnyDontChange(),
        lambda o, n: not any(changed(o, n, "a", "b", "fk", "stamp")),
    ),
    "alldont_all": (
        pgtrigger.AllDontChange(),
        lambda o, n: not any(changed(o, n, "a", "b", "fk", "stamp")),
    ),
    # ...over a subset "some of them did not change"; here "id" never changes.
    "anydont_excl": (pgtrigger.AnyDontChange(exclude=["a"]), lambda o, n: True),
    "all_fields": (
        pgtrigger.AllChange(exclude=["id", "s", "stamp"]),
        lambda o, n: all(changed(o, n, "a", "b", "fk")),
    ),
    "and_kinds": (
        pgtrigger.AnyChange("a") & pgtrigger.Q(new__b=1),
        lambda o, n: o["a"] != n["a"] and n["b"] == 1,
    ),
    "or_kinds": (
        pgtrigger.Q(new__b=1) | pgtrigger.AnyChange("a"),
        lambda o, n: n["b"] == 1 or o["a"] != n["a"],
    ),
    "not_or": (
        # ~ on a Condition is SQL's NOT: NOT (false OR NULL) is NULL, so a NULL a never fires.
        ~(pgtrigger.AnyChange("b") | pgtrigger.Q(old__a=1)),
        lambda o, n: o["b"] == n["b"] and o["a"] == 0,
    ),
    "raw_and_not": (
        pgtrigger.Condition('OLD."a" IS NULL') & ~pgtrigger.Q(new__a=None),
        lambda o, n: o["a"] is None and n["a"] is not None,
    ),
    "hostile_eq": (pgtrigger.Q(new__s=HOSTILE), lambda o, n: True),
    "hostile_like": (pgtrigger.Q(old__s__contains="50% $$"), lambda o, n: True),
    "hostile_not": (~pgtrigger.Q(new__s__startswith="it'"), lambda o, n: False),
}


def hit_recorder(name: str, condition: pgtrigger.Condition | models.Q) -> pgtrigger.Trigger:
    table = sql.quote_ident(ConditionHit._meta.db_table)
    return pgtrigger.Trigger(
        name=f"hit_{name}",
        when=pgtrigger.After,
        operation=pgtrigger.Update,
        condition=condition,
        func=f"INSERT INTO {table} (row_id, condition) VALUES (NEW.id, "
        f"{sql.quote_literal(name)}); RETURN NULL;",
    )


@pytest.mark.django_db
def test_truth_tables_on_real_rows(extra_trigger: AddTrigger) -> None:
    uris = [extra_trigger(CondRow, hit_recorder(n, c)) for n, (c, _) in TRUTH.items()]
    pgtrigger.install(*uris)
    target = Plain.objects.create()
    domain_a, domain_b, domain_fk = (None, 0, 1), (None, 1), (None, target.pk)
    cases = [
        ({"a": oa, "b": ob, "fk": ofk}, {"a": na, "b": nb, "fk": nfk}, bump)
        for oa, ob, ofk, na, nb, nfk, bump in itertools.product(
            domain_a, domain_b, domain_fk, domain_a, domain_b, domain_fk, (False, True)
        )
    ]
    rows = CondRow.objects.bulk_create(
        CondRow(a=o["a"], b=o["b"], fk_id=o["fk"], s=HOSTILE) for o, _, _ in cases
    )
    ids = [r.pk for r in rows]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE testapp_condrow AS t SET a = v.a, b = v.b, fk_id = v.fk, stamp = CASE "
            "WHEN v.bump THEN t.stamp + interval '1 day' ELSE t.stamp END "
            "FROM unnest(%s::bigint[], %s::int[], %s::int[], %s::bigint[], %s::bool[]) "
            "AS v(id, a, b, fk, bump) WHERE t.id = v.id",
            [
                ids,
                *([n[k] for _, n, _ in cases] for k in ("a", "b", "fk")),
                [bump for _, _, bump in cases],
            ],
        )
    hits: dict[int, set[str]] = {pk: set() for pk in ids}
    for row_id, name in ConditionHit.objects.values_list("row_id", "condition"):
        hits[row_id].add(name)
    mismatches = []
    for pk, (old, new, bump) in zip(ids, cases, strict=True):
        o, n = {**old, "stamp": 0}, {**new, "stamp": int(bump)}
        expected = {name for name, (_, truth) in TRUTH.items() if truth(o, n)}
        if hits[pk] != expected:
            mismatches.append((old, new, bump, sorted(hits[pk] ^ expected)))
    assert not mismatches, mismatches[:5]
    assert len(cases) == 288


@pytest.mark.parametrize("lookup", ["df", "ndf"])
def test_column_comparison_fast_path_matches_the_lookup_classes(lookup: str) -> None:
    from django.apps import apps
    from django.db import connection

    from pgtrigger_live.declare.conditions import (
        IsDistinctFrom,
        IsNotDistinctFrom,
        OldNewColumn,
        _QCompiler,
    )

    lookup_class = IsDistinctFrom if lookup == "df" else IsNotDistinctFrom
    checked = 0
    for model in apps.get_app_config("testapp").get_models():
        if model._meta.proxy:
            continue
        qc = _QCompiler(model, connection)
        for field in model._meta.local_concrete_fields:
            fast = qc._leaf(
                f"old__{field.name}__{lookup}", pgtrigger.F(f"new__{field.name}"), False
            )
            slow = qc._sql(lookup_class(OldNewColumn("OLD", field), OldNewColumn("NEW", field)))
            assert fast == slow, (model, field)
            checked += 1
    assert checked > 20
