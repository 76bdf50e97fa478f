"""Declared firing order on plain data: ids, the ignore check, reorder plans, E005. No database."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools

import pytest
from django.db import models

import pgtrigger_live as pgtrigger
from pgtrigger_live import naming
from pgtrigger_live.declare import ordering
from pgtrigger_live.declare.triggers import ignore_id
from pgtrigger_live.exceptions import DeclarationError
from pgtrigger_live.reconcile.compiler import IGNORE_CHECK, compile_trigger
from pgtrigger_live.reconcile.digest import Digester
from pgtrigger_live.reconcile.operations import (
    ACCESS_EXCLUSIVE,
    CreateFunction,
    CreateTrigger,
    DropFunction,
    DropTrigger,
    RenameConstraint,
    RenameFunction,
    RenameTrigger,
    SetEnabled,
)
from pgtrigger_live.reconcile.planner import ActionKind, Desired, plan_set_enabled, statuses
from pgtrigger_live.reconcile.state import (
    CompiledTrigger,
    Enabled,
    Owner,
    Scope,
    ScopeView,
    Status,
)
from tests.test_planner import PG13, TABLE, install, install_plan, one, only_action
from tests.testapp.models import Plain, Protected

PG14, PG15 = 140000, 150000


def trigger(name: str = "t", order: int | None = None, **kwargs: object) -> pgtrigger.Trigger:
    options: dict[str, object] = {
        "when": pgtrigger.Before,
        "operation": pgtrigger.Update,
        "func": "RETURN NEW;",
    }
    options.update(kwargs)
    return pgtrigger.Trigger(name=name, order=order, **options)  # type: ignore[arg-type]


def compiled(name: str = "t", order: int | None = None, **kwargs: object) -> CompiledTrigger:
    return compile_trigger(Plain, trigger(name, order, **kwargs))


# -- ids --------------------------------------------------------------------------------------


def django_pgtrigger_id(uri: str, name: str) -> str:
    """django-pgtrigger 4.17's rule, written out: a database it manages is adopted as is."""
    return f"pgtrigger_{name}_{hashlib.sha1(uri.encode()).hexdigest()[:5]}".lower()


@pytest.mark.parametrize("name", ["t", "Protect-Deletes", "x" * 47, "_", "0first", "-dash"])
def test_without_an_order_ids_are_django_pgtriggers(name: str) -> None:
    uri = f"testapp.Plain:{name}"
    assert naming.make_pgid(uri, name) == django_pgtrigger_id(uri, name)
    assert naming.make_pgid(uri, name, None) == django_pgtrigger_id(uri, name)
    assert naming.order_of(django_pgtrigger_id(uri, name)) is None
    assert trigger(name).get_pgid(Plain) == django_pgtrigger_id(uri, name)


def test_an_order_is_carried_by_the_id() -> None:
    uri = "testapp.Plain:t"
    tail = hashlib.sha1(uri.encode()).hexdigest()[:5]
    assert naming.make_pgid(uri, "t", 0) == f"pgtrigger_$0000_t_{tail}"
    assert naming.make_pgid(uri, "t", 10) == f"pgtrigger_$0010_t_{tail}"
    assert naming.make_pgid(uri, "t", 9999) == f"pgtrigger_$9999_t_{tail}"
    assert [naming.order_of(naming.make_pgid(uri, "t", n)) for n in (0, 7, 9999)] == [0, 7, 9999]
    assert trigger("t", 10).get_pgid(Plain) == f"pgtrigger_$0010_t_{tail}"


@pytest.mark.parametrize("length", [40, 41, 42, 47, 48, 100])
def test_ordered_ids_of_long_names_fit_and_stay_distinct(length: int) -> None:
    name = "n" * length
    uri = f"testapp.Plain:{name}"
    ids = {naming.make_pgid(uri, name, order) for order in (0, 1, 9999)}
    assert len(ids) == 3
    for pgid in ids:
        assert len(pgid.encode()) <= naming.MAX_IDENTIFIER_BYTES
        assert pgid.endswith(hashlib.sha1(uri.encode()).hexdigest()[:5])
    # Every order of one trigger has one key, which no other trigger's ids share.
    assert len({naming.order_key(pgid) for pgid in ids}) == 1
    other = naming.make_pgid(f"testapp.Other:{name}", name, 0)
    assert naming.order_key(other) not in {naming.order_key(pgid) for pgid in ids}
    # Short names keep the name whole; longer ones a prefix and a digest of the full name.
    assert (name in naming.make_pgid(uri, name, 1)) == (length <= 41)


@pytest.mark.parametrize(
    "names", [("b", "a", "c"), ("zz", "0aa", "-x", "_y"), ("longer_name", "a", "a-b")]
)
def test_postgres_name_order_is_the_declared_order_then_unordered_by_name(
    names: tuple[str, ...],
) -> None:
    """Postgres fires one event's triggers in byte order of their names (type name, C
    collation): the ids sort by order first, and every ordered id before every other one."""
    ordered = [
        naming.make_pgid(f"a.M:{n}", n, order)
        for order, n in zip((9999, 10, 2), names[:3], strict=True)
    ]
    unordered = [naming.make_pgid(f"a.M:{n}x", f"{n}x") for n in names]
    by_bytes = sorted(ordered + unordered, key=str.encode)
    assert by_bytes[:3] == [ordered[2], ordered[1], ordered[0]]
    assert by_bytes[3:] == sorted(unordered, key=str.encode)


@pytest.mark.parametrize("bad", [-1, 10000, True, 1.0, "10"])
def test_an_order_that_is_not_a_small_whole_number_is_refused_at_declaration(bad: object) -> None:
    with pytest.raises(DeclarationError, match=r'Trigger "t": order must be a whole number'):
        trigger("t", bad)  # type: ignore[arg-type]
    with pytest.raises(DeclarationError, match="order must be"):
        naming.make_pgid("a.M:t", "t", bad)  # type: ignore[arg-type]


def test_no_order_leaves_the_instance_and_its_digest_as_before() -> None:
    # The declaration digest covers instance attributes: an unset order must add none, or
    # every installed trigger would be re-signed after the upgrade.
    assert "order" not in vars(trigger("t"))
    assert vars(trigger("t", 5))["order"] == 5
    digester = Digester("postgresql", 16)
    digests = {digester.digest(Plain, trigger("t", order)) for order in (None, 1, 2)}
    assert None not in digests
    assert len(digests) == 3


def test_builtins_take_an_order() -> None:
    made = [
        pgtrigger.Protect(name="p", operation=pgtrigger.Delete, order=3),
        pgtrigger.SoftDelete(name="s", field="value", order=3),
        pgtrigger.FSM(name="f", field="label", transitions=[("a", "b")], order=3),
        pgtrigger.UpdateSearchVector(
            name="u", vector_field="label", document_fields=["label"], order=3
        ),
    ]
    assert [t.order for t in made] == [3, 3, 3, 3]
    assert all(naming.order_of(t.get_pgid(Plain)) == 3 for t in made)


# -- the ignore check -------------------------------------------------------------------------


def test_the_function_of_an_ordered_trigger_compares_its_unordered_id() -> None:
    plain, ordered = compiled("t"), compiled("t", 10)
    unordered_id = naming.make_pgid("testapp.Plain:t", "t")
    assert IGNORE_CHECK in (plain.body or "")
    assert "TG_NAME" not in (ordered.body or "")
    assert f"'{unordered_id}' = ANY(current_setting(" in (ordered.body or "")
    assert ignore_id(trigger("t", 10), Plain) == ignore_id(trigger("t"), Plain) == unordered_id


def test_a_reorder_changes_neither_the_clause_nor_the_body() -> None:
    ten, twenty = compiled("t", 10), compiled("t", 20)
    assert ten.pgid != twenty.pgid
    assert (ten.signature.clause_hash, ten.signature.body_md5) == (
        twenty.signature.clause_hash,
        twenty.signature.body_md5,
    )
    # Adding an order changes the body (the ignore check), not the clause.
    none = compiled("t")
    assert none.signature.clause_hash == ten.signature.clause_hash
    assert none.signature.body_md5 != ten.signature.body_md5


class CustomId(pgtrigger.Trigger):
    def get_pgid(self, model: type[models.Model]) -> str:
        return "pgtrigger_custom_id"


def test_a_class_with_its_own_ids_keeps_tg_name() -> None:
    custom = CustomId(
        name="c", when=pgtrigger.Before, operation=pgtrigger.Update, func="RETURN NEW;", order=4
    )
    assert ignore_id(custom, Plain) == "pgtrigger_custom_id"
    assert IGNORE_CHECK in (compile_trigger(Plain, custom).body or "")


# -- plans ------------------------------------------------------------------------------------


def view_of(*installed: object) -> ScopeView:
    return ScopeView(
        Scope("public"), home="public", tables={"testapp_plain": TABLE}, triggers=list(installed)
    )


def entries(declared: list[CompiledTrigger], *installed: object) -> list:  # type: ignore[type-arg]
    desired = [Desired(c.uri, c.pgid, c.db_table, c) for c in declared]
    return statuses(desired, view_of(*installed), lambda _: Owner.HERE)


REORDER_CASES = [
    # (id, declared, installed, status, reason, kind, operation types)
    (
        "order changed",
        compiled("t", 20),
        compiled("t", 10),
        Status.OUTDATED,
        "firing order changed (10 -> 20): renamed in place",
        ActionKind.REORDER,
        [RenameTrigger, DropFunction, RenameFunction],
    ),
    (
        "order added",
        compiled("t", 20),
        compiled("t"),
        Status.OUTDATED,
        "firing order changed (none -> 20); function body changed",
        ActionKind.REPLACE,
        [RenameTrigger, DropFunction, RenameFunction, CreateFunction],
    ),
    (
        "order removed",
        compiled("t"),
        compiled("t", 10),
        Status.OUTDATED,
        "firing order changed (10 -> none); function body changed",
        ActionKind.REPLACE,
        [RenameTrigger, DropFunction, RenameFunction, CreateFunction],
    ),
    (
        "order and events changed",
        compiled("t", 20, operation=pgtrigger.Insert),
        compiled("t", 10),
        Status.OUTDATED,
        "firing order changed (10 -> 20); the trigger was altered in the database "
        "(timing, level, events or deferrability)",
        ActionKind.REPLACE,
        [RenameTrigger, DropFunction, RenameFunction, CreateFunction, CreateTrigger],
    ),
]


@pytest.mark.parametrize(
    ("declared", "installed", "status", "reason", "kind", "ops"),
    [case[1:] for case in REORDER_CASES],
    ids=[case[0] for case in REORDER_CASES],
)
def test_a_trigger_under_another_orders_name_is_renamed_in_place(
    declared: CompiledTrigger,
    installed: CompiledTrigger,
    status: Status,
    reason: str,
    kind: ActionKind,
    ops: list[type],
) -> None:
    entry = one(entries([declared], install(installed)))
    assert (entry.status, entry.reason) == (status, reason)
    assert entry.installed is not None
    assert entry.installed.pgid == installed.pgid
    action = only_action(install_plan([entry]))
    assert action.kind is kind
    assert [type(op) for op in action.ops] == ops
    rename = action.ops[0]
    assert isinstance(rename, RenameTrigger)
    assert (rename.old, rename.new, rename.table) == (installed.pgid, declared.pgid, TABLE)
    leftover = action.ops[1]  # a function already called so (DROP TABLE keeps them)
    assert leftover == DropFunction("public", declared.pgid)
    function = action.ops[2]
    assert isinstance(function, RenameFunction)
    assert (function.schema, function.old, function.new) == (
        "public",
        installed.pgid,
        declared.pgid,
    )
    assert action.lock == ACCESS_EXCLUSIVE
    assert action.signature == declared.comment
    assert action.statements[0] == (
        f'ALTER TRIGGER "{installed.pgid}" ON "public"."testapp_plain" RENAME TO "{declared.pgid}"'
    )
    assert action.statements[1] == f'DROP FUNCTION IF EXISTS "public"."{declared.pgid}"()'
    assert action.statements[2] == (
        f'ALTER FUNCTION "public"."{installed.pgid}"() RENAME TO "{declared.pgid}"'
    )
    # Whatever follows names the trigger by its new name.
    for op in action.ops[3:]:
        assert getattr(op, "pgid", declared.pgid) == declared.pgid
        if isinstance(op, CreateFunction):
            assert op.name == declared.pgid


def test_a_reordered_constraint_trigger_has_its_constraint_renamed_too() -> None:
    """SET CONSTRAINTS (constraints()) finds a constraint trigger by its constraint's name,
    which ALTER TRIGGER ... RENAME leaves as it was."""
    declared = compiled("t", 2, when=pgtrigger.After, timing=pgtrigger.Deferred)
    installed = compiled("t", 1, when=pgtrigger.After, timing=pgtrigger.Deferred)
    entry = one(entries([declared], install(installed)))
    assert entry.reason == "firing order changed (1 -> 2): renamed in place"
    action = only_action(install_plan([entry]))
    assert [type(op) for op in action.ops] == [
        RenameTrigger,
        RenameConstraint,
        DropFunction,
        RenameFunction,
    ]
    assert action.statements[1] == (
        f'ALTER TABLE "public"."testapp_plain" RENAME CONSTRAINT "{installed.pgid}" '
        f'TO "{declared.pgid}"'
    )
    assert action.ops[1].lock == ACCESS_EXCLUSIVE
    # A plain trigger has no constraint to rename.
    plain = only_action(install_plan(entries([compiled("t", 2)], install(compiled("t", 1)))))
    assert RenameConstraint not in [type(op) for op in plain.ops]


@pytest.mark.parametrize("version", [PG13, PG14])
def test_before_pg15_a_reorder_drops_and_creates(version: int) -> None:
    """ALTER TRIGGER ... RENAME renames a partitioned table's clones only from PostgreSQL 15."""
    declared, old = compiled("t", 2), compiled("t", 1)
    installed = install(old, enabled=Enabled.ALWAYS)
    action = only_action(install_plan(entries([declared], installed), version))
    assert action.kind is ActionKind.REPLACE
    assert action.ops == (
        DropTrigger(TABLE, old.pgid),
        DropFunction("public", old.pgid),
        CreateFunction("public", declared),
        CreateTrigger(TABLE, declared, replace=False),
        SetEnabled(TABLE, declared.pgid, Enabled.ALWAYS),
    )
    assert action.signature == declared.comment
    # From 15 on, the same change is a rename.
    assert only_action(install_plan(entries([declared], installed), PG15)).kind is (
        ActionKind.REORDER
    )


def test_enable_and_disable_name_the_trigger_as_installed() -> None:
    """Between a deploy that changes an order and its reconcile, the database still has the
    old name: enable/disable must use it."""
    declared, old = compiled("t", 2), compiled("t", 1)
    plan = plan_set_enabled(entries([declared], install(old)), None, enabled=False)
    (action,) = plan.actions
    assert action.ops == (SetEnabled(TABLE, old.pgid, Enabled.DISABLED),)


class OwnIds(pgtrigger.Trigger):
    def get_pgid(self, model: type[models.Model]) -> str:
        return f"pgtrigger_own_{self.name}"


def test_a_class_with_its_own_ids_is_never_matched_by_the_naming_rule() -> None:
    own = compile_trigger(
        Plain,
        OwnIds(name="t", when=pgtrigger.Before, operation=pgtrigger.Update, func="RETURN NEW;"),
    )
    default_named = install(compiled("t"))  # what the default rule would have called it
    found = entries([own], default_named)
    assert [(e.pgid, e.status) for e in found] == [
        (own.pgid, Status.UNINSTALLED),
        (default_named.pgid, Status.PRUNE),
    ]


def test_a_trigger_running_another_function_has_only_the_trigger_renamed() -> None:
    declared, old = compiled("t", 2), compiled("t", 1)
    installed = install(old, function=("lib", "audit"))
    action = only_action(install_plan(entries([declared], installed)))
    # It ran someone else's function: ours is created under the new name, theirs kept.
    assert [type(op) for op in action.ops][:2] == [RenameTrigger, CreateFunction]


def test_a_trigger_another_declaration_claims_by_name_is_not_taken() -> None:
    # "t" is declared with order 1 and installed so; a second declaration "t" elsewhere
    # cannot exist (URIs are unique), but an exact claim must win over a rename anyway.
    one_, two = compiled("t", 1), compiled("t", 2)
    found = entries([one_, two], install(one_))
    assert [(e.pgid, e.status) for e in found] == [
        (one_.pgid, Status.INSTALLED),
        (two.pgid, Status.UNINSTALLED),
    ]


def test_an_unsigned_trigger_under_another_orders_name_is_adopted() -> None:
    """Its name holds the URI's hash, as for an unsigned trigger under the exact name (a
    comment lost to pg_dump --no-comments): left alone it would fire next to the new one."""
    declared, old = compiled("t", 2), compiled("t", 1)
    unsigned = install(old, comment=None)
    (entry,) = entries([declared], unsigned)
    assert entry.status is Status.OUTDATED
    assert entry.reason == (
        "firing order changed (1 -> 2); installed without a pgtrigger_live signature"
    )
    action = only_action(install_plan([entry]))
    assert action.kind is ActionKind.REPLACE
    assert isinstance(action.ops[0], RenameTrigger)


def test_only_the_same_uri_is_renamed() -> None:
    declared = compiled("t", 2)
    other = compile_trigger(Protected, trigger("t", 1))
    moved = dataclasses.replace(install(other), table=TABLE)  # same table, other URI's hash
    statuses_ = [(e.uri, e.status) for e in entries([declared], moved)]
    assert statuses_ == [
        (declared.uri, Status.UNINSTALLED),
        (f"public.testapp_plain:{other.pgid}", Status.PRUNE),
    ]


def test_a_reorder_of_an_installed_trigger_is_a_noop_once_done() -> None:
    declared = compiled("t", 20)
    assert install_plan(entries([declared], install(declared))).is_empty


# -- E005 -------------------------------------------------------------------------------------


def found(*declared: tuple[type[models.Model], pgtrigger.Trigger]) -> list[ordering.Conflict]:
    return ordering.conflicts((t.get_uri(m), m, t) for m, t in declared)


def conflicts(*declared: tuple[type[models.Model], pgtrigger.Trigger]) -> list[str]:
    return [c.message for c in found(*declared)]


def test_two_triggers_sharing_an_order_and_an_event_are_a_tie() -> None:
    (message,) = conflicts((Plain, trigger("a", 10)), (Plain, trigger("b", 10)))
    assert message == (
        "Triggers testapp.Plain:a and testapp.Plain:b both declare order=10 for BEFORE ROW "
        'UPDATE on table "testapp_plain": Postgres would fire them by name, not in a declared '
        "order."
    )


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (trigger("a", 10), trigger("b", 11)),  # different orders
        (trigger("a", 10), trigger("b", 10, operation=pgtrigger.Insert)),  # no shared event
        (trigger("a", 10), trigger("b")),  # one without an order
        (trigger("a", 10), trigger("b", 10, when=pgtrigger.After)),  # other phases
    ],
    ids=["orders differ", "events differ", "unordered", "phases differ"],
)
def test_what_is_not_a_conflict(first: pgtrigger.Trigger, second: pgtrigger.Trigger) -> None:
    assert conflicts((Plain, first), (Plain, second)) == []


def test_a_tie_needs_the_same_table() -> None:
    assert conflicts((Plain, trigger("a", 10)), (Protected, trigger("b", 10))) == []


def test_an_order_postgres_phases_contradict_names_both() -> None:
    deferred = trigger("late", 1, when=pgtrigger.After, timing=pgtrigger.Deferred)
    after = trigger("now", 2, when=pgtrigger.After, operation=pgtrigger.Update | pgtrigger.Insert)
    (message,) = conflicts((Plain, deferred), (Plain, after))
    assert message == (
        "Triggers testapp.Plain:now (order=2) and testapp.Plain:late (order=1) on table "
        '"testapp_plain" contradict Postgres: for UPDATE, AFTER ROW triggers always fire before '
        "deferred to commit ones, whatever their names."
    )
    statement = trigger("stmt", 5, level=pgtrigger.Statement)
    row = trigger("row", 4)
    (message,) = conflicts((Plain, row), (Plain, statement))
    assert "BEFORE STATEMENT triggers always fire before BEFORE ROW ones" in message
    # Orders that agree with the phases are fine.
    assert conflicts((Plain, trigger("row", 6)), (Plain, statement)) == []


def test_all_pairs_of_a_group_are_reported() -> None:
    three = [(Plain, trigger(n, 1)) for n in "abc"]
    assert len(conflicts(*three)) == len(list(itertools.combinations(three, 2)))


def test_an_order_the_id_cannot_carry_is_reported() -> None:
    custom = CustomId(
        name="c", when=pgtrigger.Before, operation=pgtrigger.Update, func="RETURN NEW;", order=4
    )
    (message,) = conflicts((Plain, custom))
    assert "declares order=4, but its class overrides get_pgid()" in message


def test_each_conflict_names_its_model_and_the_fix() -> None:
    (tie,) = found((Protected, trigger("a", 1)), (Protected, trigger("b", 1)))
    assert (tie.model, tie.hint) == (Protected, "Give one of them another order.")
    deferred = trigger("late", 1, when=pgtrigger.After, timing=pgtrigger.Deferred)
    after = trigger("now", 2, when=pgtrigger.After)
    (contradiction,) = found((Protected, deferred), (Protected, after))
    assert contradiction.model is Protected
    assert contradiction.hint == (
        "Give testapp.Protected:now an order below 1, or drop one of the orders (an order only "
        "ranks triggers within one phase)."
    )
    custom = CustomId(
        name="c", when=pgtrigger.Before, operation=pgtrigger.Update, func="RETURN NEW;", order=4
    )
    (override,) = found((Protected, custom))
    assert (override.model, override.message, override.hint) == (
        Protected,
        "Trigger testapp.Protected:c declares order=4, but its class overrides get_pgid(), so "
        "its Postgres name cannot carry the order.",
        "Remove the order, or the get_pgid() override.",
    )


def test_triggers_before_a_conflict_do_not_hide_it() -> None:
    custom = CustomId(
        name="c", when=pgtrigger.Before, operation=pgtrigger.Update, func="RETURN NEW;", order=4
    )
    messages = conflicts(
        (Plain, trigger("u")),  # no order
        (Plain, custom),  # an order its id cannot carry
        (Plain, trigger("a", 1, operation=pgtrigger.Insert)),  # shares no event with b, d
        (Plain, trigger("b", 5)),
        (Plain, trigger("d", 5)),
    )
    assert len(messages) == 2
    assert messages[0].startswith("Trigger testapp.Plain:c declares order=4")
    assert messages[1].startswith("Triggers testapp.Plain:b and testapp.Plain:d both declare")


def test_shared_events_are_named() -> None:
    both = pgtrigger.Insert | pgtrigger.Update
    (message,) = conflicts(
        (Plain, trigger("a", 1, operation=both)), (Plain, trigger("b", 1, operation=both))
    )
    assert "BEFORE ROW INSERT or UPDATE on table" in message


def test_an_order_out_of_range_is_refused_with_the_range() -> None:
    with pytest.raises(DeclarationError) as info:
        naming.validate_order(10000)
    assert str(info.value) == (
        "order must be a whole number from 0 to 9999 (got 10000): triggers of one table, "
        "timing and event fire in ascending order."
    )


def test_an_error_from_a_trigger_named_for_another_order_finds_its_uri() -> None:
    """Typed errors map TG_NAME back to a URI; around a reorder the database's name is the
    one of another order (or of none)."""
    from pgtrigger_live.declare import registry

    ordered = trigger("errs", 20)
    registry.add(Plain, ordered)
    try:
        uri = ordered.get_uri(Plain)
        assert registry.uri_of(ordered.get_pgid(Plain)) == uri
        assert registry.uri_of(naming.make_pgid(uri, "errs", 3)) == uri
        assert registry.uri_of(naming.make_pgid(uri, "errs")) == uri
        assert registry.uri_of(naming.make_pgid("testapp.Plain:other", "other", 3)) is None
        assert registry.uri_of("not_ours") is None
    finally:
        registry.remove(Plain, ordered)


def test_a_reordered_constraint_trigger_whose_timing_changed_is_renamed_then_recreated() -> None:
    installed = compiled("t", 1, when=pgtrigger.After, timing=pgtrigger.Deferred)
    changed = compiled("t", 2, when=pgtrigger.After, timing=pgtrigger.Immediate)
    action = only_action(install_plan(entries([changed], install(installed))))
    assert [type(op) for op in action.ops] == [
        RenameTrigger,
        RenameConstraint,
        DropFunction,
        RenameFunction,
        DropTrigger,
        CreateFunction,
        CreateTrigger,
    ]
    drop = action.ops[4]
    assert isinstance(drop, DropTrigger)
    assert drop.pgid == changed.pgid  # renamed first: the drop names the new name


def test_a_class_with_its_own_ids_is_found_by_its_exact_name() -> None:
    from pgtrigger_live.declare import registry

    custom = CustomId(
        name="own", when=pgtrigger.Before, operation=pgtrigger.Update, func="RETURN NEW;"
    )
    registry.add(Plain, custom)
    try:
        assert registry.uri_of("pgtrigger_custom_id") == custom.get_uri(Plain)
    finally:
        registry.remove(Plain, custom)
