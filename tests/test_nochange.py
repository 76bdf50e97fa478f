"""The no-op verdict (reconcile/nochange.py) on plain data: when it may say "nothing to do".

Each case starts from one declaration installed exactly as signed and changes one thing the
catalog could show. The verdict may only ever be stricter than the planner: every case where
it says "unchanged" is also planned by ``statuses`` + ``plan_install`` from the same rows, and
that plan must be empty.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

import pgtrigger_live as pgtrigger
from pgtrigger_live.declare import registry
from pgtrigger_live.exceptions import SchemaError
from pgtrigger_live.reconcile import catalog
from pgtrigger_live.reconcile.compiler import compile_trigger, deferred_trigger, trigger_shape
from pgtrigger_live.reconcile.installation import _signed_by_digest
from pgtrigger_live.reconcile.nochange import unchanged
from pgtrigger_live.reconcile.planner import ActionKind, plan_install, statuses
from pgtrigger_live.reconcile.state import (
    Declared,
    Desired,
    Enabled,
    Glance,
    InstalledTrigger,
    Owner,
    Scope,
    ScopeView,
    Sighting,
    Signature,
    Snapshot,
    TableRef,
)
from tests.conftest import catalog_state
from tests.testapp.models import CondRow, Plain

AddTrigger = Callable[[type[Any], pgtrigger.Trigger], str]

TABLE = TableRef("public", "testapp_plain", 41)
OTHER = TableRef("public", "testapp_other", 42)
FP = "18.123456789"
DIGEST = "a" * 24
TRIGGER = pgtrigger.Trigger(
    name="t", when=pgtrigger.Before, operation=pgtrigger.Update, func="RETURN NEW;"
)
COMPILED = compile_trigger(Plain, TRIGGER, digest=DIGEST)
PGID = COMPILED.pgid
SIGNED = f"{COMPILED.comment}:{FP}"
DECLARED = Declared("testapp_plain", PGID, DIGEST, trigger_shape(TRIGGER))
BASE = Sighting(TABLE.oid, PGID, SIGNED, True, COMPILED.signature.body_md5, COMPILED.shape, FP)
PRUNABLE = Sighting(
    TABLE.oid, "pgtrigger_gone_0a1b2c3d", SIGNED.replace(DIGEST, "b" * 24), True, "x", 6, FP
)


SECOND = BASE._replace(pgid=PGID + "2", comment=SIGNED.replace(DIGEST, "c" * 24))
DECLARED_SECOND = Declared("testapp_plain", PGID + "2", "c" * 24, DECLARED.shape)


def _with(**changes: object) -> Sighting:
    return BASE._replace(**changes)


def _comment(part: int, value: str) -> str:
    parts = SIGNED.split(":")
    parts[part] = value
    return ":".join(parts)


#: (case, rows, declared, prune, verdict)
CASES: list[tuple[str, list[Sighting], list[Declared], bool, bool]] = [
    ("installed as signed", [BASE], [DECLARED], True, True),
    ("nothing declared, nothing installed", [], [], True, True),
    ("two installed as signed", [SECOND, BASE], [DECLARED, DECLARED_SECOND], True, True),
    ("one of two installed", [BASE], [DECLARED, DECLARED_SECOND], True, False),
    ("not installed", [], [DECLARED], True, False),
    ("installed under another name", [_with(pgid=PGID + "x")], [DECLARED], False, False),
    ("on another table", [_with(table_oid=OTHER.oid)], [DECLARED], False, False),
    ("no comment", [_with(comment=None)], [DECLARED], True, False),
    ("django-pgtrigger's comment", [_with(comment="f" * 40)], [DECLARED], True, False),
    ("another hash format", [_with(comment=_comment(1, "2"))], [DECLARED], True, False),
    ("another digest", [_with(comment=_comment(4, "d" + "b" * 24))], [DECLARED], True, False),
    (
        "no digest recorded",
        [_with(comment=SIGNED.replace(f":d{DIGEST}", ""))],
        [DECLARED],
        True,
        False,
    ),
    (
        "no fingerprint recorded",
        [_with(comment=SIGNED.removesuffix(f":{FP}"))],
        [DECLARED],
        True,
        False,
    ),
    ("fingerprint changed", [_with(definition="18.99")], [DECLARED], True, False),
    ("fingerprint of another major", [_with(definition="17.123456789")], [DECLARED], True, False),
    ("no fingerprint now", [_with(definition=None)], [DECLARED], True, False),
    (
        "no fingerprint now, 'None' recorded",
        [_with(definition=None, comment=_comment(5, "None"))],
        [DECLARED],
        True,
        False,
    ),
    ("function body edited", [_with(function_md5="0" * 32)], [DECLARED], True, False),
    ("no function", [_with(function_md5=None)], [DECLARED], True, False),
    (
        "no function, 'None' recorded",
        [_with(function_md5=None, comment=_comment(3, "None"))],
        [DECLARED],
        True,
        False,
    ),
    ("another body recorded", [_with(comment=_comment(3, "0" * 32))], [DECLARED], True, False),
    ("runs another function", [_with(own_function=False)], [DECLARED], True, False),
    ("events altered", [_with(shape=BASE.shape ^ 4)], [DECLARED], True, False),
    ("a colon too many", [_with(comment=SIGNED + ":x")], [DECLARED], True, False),
    ("no digest declared", [BASE], [dataclasses.replace(DECLARED, digest=None)], True, False),
    ("no such table", [BASE], [dataclasses.replace(DECLARED, db_table="nope")], True, False),
    ("declared twice", [BASE], [DECLARED, DECLARED], True, False),
    ("another shape declared", [BASE], [dataclasses.replace(DECLARED, shape=1)], True, False),
    ("one of ours left over, pruning", [BASE, PRUNABLE], [DECLARED], True, False),
    ("one of ours left over, not pruning", [BASE, PRUNABLE], [DECLARED], False, True),
    ("one of ours left over first, not pruning", [PRUNABLE, BASE], [DECLARED], False, True),
    (
        "django-pgtrigger's left over, pruning",
        [BASE, PRUNABLE._replace(comment="e" * 40)],
        [DECLARED],
        True,
        False,
    ),
    (
        "django-pgtrigger's left over, not pruning",
        [BASE, PRUNABLE._replace(comment="e" * 40)],
        [DECLARED],
        False,
        True,
    ),
    (
        "unsigned left over, pruning",
        [BASE, PRUNABLE._replace(comment="by hand")],
        [DECLARED],
        True,
        True,
    ),
    (
        "no comment left over, pruning",
        [BASE, PRUNABLE._replace(comment=None)],
        [DECLARED],
        True,
        True,
    ),
    (
        "left over with the declared digest",
        [BASE, PRUNABLE._replace(comment=SIGNED)],
        [DECLARED],
        False,
        False,
    ),
]


@pytest.mark.parametrize(
    ("case", "rows", "declared", "prune", "verdict"), CASES, ids=[c[0] for c in CASES]
)
def test_verdict(
    case: str, rows: list[Sighting], declared: list[Declared], prune: bool, verdict: bool
) -> None:
    glance = Glance({"testapp_plain": TABLE.oid, "testapp_other": OTHER.oid}, rows)
    assert unchanged(declared, glance, prune=prune) is verdict, case


def _installed(row: Sighting) -> InstalledTrigger:
    """The catalog row as the planner reads it (catalog._snapshot gives the same fields)."""
    table = TABLE if row.table_oid == TABLE.oid else OTHER
    function = (table.schema, row.pgid) if row.own_function else ("lib", "audit")
    return InstalledTrigger(
        table,
        row.pgid,
        Enabled.ENABLED,
        row.comment,
        False,
        function[0],
        function[1],
        row.function_md5,
        row.shape,
        row.definition,
    )


def _plan(rows: list[Sighting], declared: list[Declared], prune: bool) -> bool:
    """Whether the planner, fed as a reconcile feeds it, plans nothing."""
    view = ScopeView(
        Scope(), home="public", tables={"testapp_plain": TABLE, "testapp_other": OTHER}
    )
    view.triggers = [_installed(r) for r in rows]
    signed = _signed_by_digest(Snapshot([view]))
    desired = []
    for item in declared:
        if item.digest in signed:
            compiled = deferred_trigger(Plain, TRIGGER, None, signed[item.digest], pgid=item.pgid)
        else:
            compiled = compile_trigger(Plain, TRIGGER, digest=item.digest)
        desired.append(Desired(compiled.uri, item.pgid, item.db_table, compiled))
    entries = statuses(desired, view, lambda _: Owner.HERE)
    return plan_install(entries, None, prune=prune, server_version=180000).is_empty


@pytest.mark.parametrize(
    ("case", "rows", "declared", "prune", "verdict"),
    [c for c in CASES if c[4]],
    ids=[c[0] for c in CASES if c[4]],
)
def test_unchanged_means_the_planner_plans_nothing(
    case: str, rows: list[Sighting], declared: list[Declared], prune: bool, verdict: bool
) -> None:
    assert _plan(rows, declared, prune), case


@pytest.mark.parametrize(
    ("case", "rows", "expect_empty"),
    [
        ("function body edited", [_with(function_md5="0" * 32)], False),
        ("fingerprint changed", [_with(definition="18.99")], False),
        ("no fingerprint recorded", [_with(comment=SIGNED.removesuffix(f":{FP}"))], False),
        ("another digest", [_with(comment=_comment(4, "d" + "b" * 24))], False),
        ("runs another function", [_with(own_function=False)], False),
        ("events altered", [_with(shape=BASE.shape ^ 4)], False),
    ],
)
def test_what_the_verdict_refuses_the_planner_acts_on(
    case: str, rows: list[Sighting], expect_empty: bool
) -> None:
    # The control of the equivalence above: the same helper sees these changes too, so an
    # empty plan there is the planner's word, not a blind spot of the helper.
    assert _plan(rows, [DECLARED], prune=True) is expect_empty, case


CONFIRMS: list[tuple[str, Callable[[str], str], bool]] = [
    ("as written", lambda c: c, True),
    ("another version", lambda c: c.replace("pgtrigger_live:1:", "pgtrigger_live:11:"), False),
    ("another prefix", lambda c: "x" + c, False),
    ("empty clause hash", lambda c: _comment(2, ""), True),
    ("extra part", lambda c: c + ":more", False),
    ("a colon in the clause hash", lambda c: _comment(2, "ab:cd"), False),
    ("missing part", lambda c: c.replace(f":{COMPILED.signature.clause_hash}", ""), False),
]


@pytest.mark.parametrize(("case", "edit", "expected"), CONFIRMS, ids=[c[0] for c in CONFIRMS])
def test_confirms_agrees_with_parse(case: str, edit: Callable[[str], str], expected: bool) -> None:
    comment = edit(SIGNED)
    confirmed = Signature.confirms(comment, COMPILED.signature.body_md5, DIGEST, FP)
    assert confirmed is expected, case
    parsed = Signature.parse(comment)
    parsed_ok = (
        parsed is not None
        and parsed.version == 1
        and parsed.body_md5 == COMPILED.signature.body_md5
        and parsed.digest == DIGEST
        and parsed.definition == FP
    )
    assert confirmed is parsed_ok, case


def test_confirms_needs_a_comment_and_a_function() -> None:
    assert not Signature.confirms(None, COMPILED.signature.body_md5, DIGEST, FP)
    assert not Signature.confirms(SIGNED, None, DIGEST, FP)


# -- through the database: the verdict decides a no-op, and never hides a change ---------------


def _base(**changes: object) -> pgtrigger.Trigger:
    kwargs: dict[str, object] = {
        "name": "verdict",
        "when": pgtrigger.Before,
        "operation": pgtrigger.Update,
        "func": "NEW.label := 'v'; RETURN NEW;",
    }
    return pgtrigger.Trigger(**(kwargs | changes))  # type: ignore[arg-type]


@pytest.fixture
def snapshots_built(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the Snapshots a reconcile builds from its rows (the verdict builds none)."""
    built: list[int] = []
    real = catalog.Fetched.snapshot

    def counted(self: catalog.Fetched) -> Snapshot:
        built.append(len(self.rows))
        return real(self)

    monkeypatch.setattr(catalog.Fetched, "snapshot", counted)
    return built


@pytest.mark.django_db
def test_an_install_in_sync_is_decided_from_the_rows(
    extra_trigger: AddTrigger, snapshots_built: list[int]
) -> None:
    uri = extra_trigger(Plain, _base())
    assert [a.kind for a in pgtrigger.install(uri).actions] == [ActionKind.CREATE]
    snapshots_built.clear()
    sent: list[str] = []
    with connection.execute_wrapper(lambda ex, sql, *a: sent.append(sql) or ex(sql, *a)):
        assert pgtrigger.install(uri).actions == ()
    assert snapshots_built == []  # nothing built: the verdict said "in sync"
    assert len(sent) == 1  # the catalog query, nothing else
    pgtrigger.status(uri)
    assert len(snapshots_built) == 1  # status always plans in full (its entries need it)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("schema", "name"), [("public", "verdict_other"), ("verdict_elsewhere", None)]
)
def test_a_trigger_pointed_at_another_function_by_hand_is_replaced(
    extra_trigger: AddTrigger, schema: str, name: str | None
) -> None:
    # A copy of its function (same source) under another name, or under its own name in
    # another schema: only the function's identity tells them apart.
    uri = extra_trigger(Plain, _base())
    pgtrigger.install(uri)
    pgid = _base().get_pgid(Plain)
    before = catalog_state()[pgid]
    with connection.cursor() as cursor:  # the same trigger, a copy of its function; comment kept
        cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = %s", [pgid])
        (source,) = cursor.fetchone()  # type: ignore[misc]
        cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        function = f'"{schema}"."{name or pgid}"'
        cursor.execute(
            f"SELECT format('CREATE FUNCTION {function}() RETURNS trigger "
            "LANGUAGE plpgsql AS %%L', %s::text)",
            [source],
        )
        cursor.execute(cursor.fetchone()[0])  # type: ignore[index]
        cursor.execute(
            f'CREATE OR REPLACE TRIGGER "{pgid}" BEFORE UPDATE ON testapp_plain '
            f"FOR EACH ROW EXECUTE FUNCTION {function}()"
        )
    hand = catalog_state()[pgid]
    assert hand["comment"] == before["comment"]  # what makes this case hard to see
    assert hand["function"] != before["function"]
    plan = pgtrigger.install(uri)
    assert [a.kind for a in plan.actions] == [ActionKind.REPLACE]
    assert "executes another function" in plan.actions[0].reason
    assert catalog_state()[pgid]["function"][0] == before["function"][0]  # ours again
    assert pgtrigger.install(uri).actions == ()


@pytest.mark.django_db
def test_a_leftover_of_ours_is_pruned_by_a_full_install(
    extra_trigger: AddTrigger, snapshots_built: list[int]
) -> None:
    # install() with no URIs prunes: one leftover of ours on a project table is enough to
    # make the verdict hand over to the planner, which drops it.
    uri = extra_trigger(Plain, _base())
    pgtrigger.install()
    pgid = _base().get_pgid(Plain)
    registry.remove(Plain, registry._registry[uri][1])
    assert pgid in catalog_state()
    plan = pgtrigger.install()
    assert [(a.kind, a.pgid) for a in plan.actions] == [(ActionKind.PRUNE, pgid)]
    assert pgid not in catalog_state()
    snapshots_built.clear()
    assert pgtrigger.install().actions == ()


@pytest.fixture
def two_schemas(settings: Any) -> list[str]:
    names = ["verdict_a", "verdict_b"]
    with connection.cursor() as cursor:
        for schema in names:
            cursor.execute(f'CREATE SCHEMA "{schema}"')
            cursor.execute(
                f'CREATE TABLE "{schema}".testapp_plain (LIKE public.testapp_plain INCLUDING ALL)'
            )
    settings.PGTRIGGER_LIVE_SCHEMAS = names
    return names


@pytest.mark.django_db
def test_every_schema_in_sync_is_decided_from_the_rows(
    extra_trigger: AddTrigger, snapshots_built: list[int], two_schemas: list[str]
) -> None:
    uri = extra_trigger(Plain, _base())
    pgid = _base().get_pgid(Plain)
    # CondRow's table is in public only: each scope reaches it through its search path.
    shared = extra_trigger(CondRow, _base(name="shared", func="RETURN NEW;"))
    first = pgtrigger.install(uri, shared, all_schemas=True)
    assert sorted(a.table.schema for a in first.actions) == ["public", *two_schemas]
    snapshots_built.clear()
    assert pgtrigger.install(uri, shared, all_schemas=True).actions == ()
    assert snapshots_built == []
    # One schema's function edited by hand: the verdict hands over, the planner acts there only.
    with connection.cursor() as cursor:
        cursor.execute(
            f'CREATE OR REPLACE FUNCTION "verdict_b"."{pgid}"() RETURNS trigger '
            "LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$"
        )
    plan = pgtrigger.install(uri, all_schemas=True)
    assert [(a.kind, a.table.schema) for a in plan.actions] == [(ActionKind.REPLACE, "verdict_b")]
    assert len(snapshots_built) == 2  # planned in full, then read again under the lock
    snapshots_built.clear()
    assert pgtrigger.install(uri, all_schemas=True).actions == ()
    assert snapshots_built == []


@pytest.mark.django_db
@pytest.mark.usefixtures("empty_registry")
def test_a_schema_that_does_not_exist_fails_even_with_nothing_declared() -> None:
    # Nothing to compare, so nothing to do, but the schema asked for is not there: the
    # verdict leaves it to the planner, which says so.
    with pytest.raises(SchemaError, match="verdict_missing"):
        pgtrigger.install(schemas=["verdict_missing"])
