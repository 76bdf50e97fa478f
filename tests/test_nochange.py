"""The no-op verdict (reconcile/nochange.py) on plain data: when it may say "nothing to do".

Each case starts from declarations installed exactly as signed and changes one thing the
catalog could show. The verdict may only ever be stricter than the planner: every case where
it says "unchanged" is also planned by ``statuses`` + ``plan_install`` from the same rows, fed
as a reconcile feeds them (one signature per digest across scopes), and that plan must be
empty. Then the same through the database.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

import pgtrigger_live as pgtrigger
from pgtrigger_live.declare import registry
from pgtrigger_live.exceptions import InstallError, SchemaError
from pgtrigger_live.reconcile import catalog
from pgtrigger_live.reconcile.compiler import compile_trigger, deferred_trigger, trigger_shape
from pgtrigger_live.reconcile.installation import _signed_by_digest, _verdict_inputs
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
    Status,
    TableRef,
)
from tests.conftest import catalog_state
from tests.testapp.models import CondRow, Plain

AddTrigger = Callable[[type[Any], pgtrigger.Trigger], str]

PUBLIC, TENANT = 2200, 3000
SCHEMAS = {PUBLIC: "public", TENANT: "tenant"}
TABLE = TableRef("public", "testapp_plain", 41)
OTHER = TableRef("public", "testapp_other", 42)
TENANT_TABLE = TableRef("tenant", "testapp_plain", 43)
QUALIFIED = TableRef("public", "pgtl_qualified_row", 44)
TABLES = {t.oid: t for t in (TABLE, OTHER, TENANT_TABLE, QUALIFIED)}
FP = "18.123456789"
DIGEST = "a" * 24
TRIGGER = pgtrigger.Trigger(
    name="t", when=pgtrigger.Before, operation=pgtrigger.Update, func="RETURN NEW;"
)
COMPILED = compile_trigger(Plain, TRIGGER, digest=DIGEST)
PGID = COMPILED.pgid
SIGNED = f"{COMPILED.comment}:{FP}"
DECLARED = Declared("testapp_plain", PGID, DIGEST, trigger_shape(TRIGGER))
BASE = Sighting(
    TABLE.oid, PUBLIC, PGID, SIGNED, True, COMPILED.signature.body_md5, COMPILED.shape, FP
)
PRUNABLE = Sighting(
    TABLE.oid, PUBLIC, "pgtrigger_gone_0a1b2c", SIGNED.replace(DIGEST, "b" * 24), True, "x", 6, FP
)
SECOND = BASE._replace(pgid=PGID + "2", comment=SIGNED.replace(DIGEST, "c" * 24))
DECLARED_SECOND = Declared("testapp_plain", PGID + "2", "c" * 24, DECLARED.shape)
#: The same declaration installed in a tenant's schema (its own table).
IN_TENANT = BASE._replace(table_oid=TENANT_TABLE.oid, schema_oid=TENANT)


def _with(**changes: object) -> Sighting:
    return BASE._replace(**changes)


def _comment(part: int, value: str, comment: str = SIGNED) -> str:
    parts = comment.split(":")
    parts[part] = value
    return ":".join(parts)


def _public(rows: list[Sighting], declared: list[Declared]) -> tuple[list[Declared], Glance]:
    tables = {"testapp_plain": TABLE.oid, "testapp_other": OTHER.oid}
    return declared, Glance(tables, rows, PUBLIC, frozenset({QUALIFIED.oid}))


def _tenant(rows: list[Sighting], declared: list[Declared]) -> tuple[list[Declared], Glance]:
    tables = {"testapp_plain": TENANT_TABLE.oid, "testapp_other": OTHER.oid}
    return declared, Glance(tables, rows, TENANT, frozenset({QUALIFIED.oid}))


Scopes = list[tuple[list[Declared], Glance]]


def one(rows: list[Sighting], declared: list[Declared] | None = None) -> Scopes:
    return [_public(rows, [DECLARED] if declared is None else declared)]


#: (case, scopes, prune, verdict)
CASES: list[tuple[str, Scopes, bool, bool]] = [
    ("installed as signed", one([BASE]), True, True),
    ("nothing declared, nothing installed", one([], []), True, True),
    ("two installed as signed", one([SECOND, BASE], [DECLARED, DECLARED_SECOND]), True, True),
    ("one of two installed", one([BASE], [DECLARED, DECLARED_SECOND]), True, False),
    ("not installed", one([]), True, False),
    ("installed under another name", one([_with(pgid=PGID + "x")]), False, False),
    ("on another table", one([_with(table_oid=OTHER.oid)]), False, False),
    ("no comment", one([_with(comment=None)]), True, False),
    ("django-pgtrigger's comment", one([_with(comment="f" * 40)]), True, False),
    ("another hash format", one([_with(comment=_comment(1, "2"))]), True, False),
    ("another digest", one([_with(comment=_comment(4, "d" + "b" * 24))]), True, False),
    ("no digest recorded", one([_with(comment=SIGNED.replace(f":d{DIGEST}", ""))]), True, False),
    ("no fingerprint recorded", one([_with(comment=SIGNED.removesuffix(f":{FP}"))]), True, False),
    ("fingerprint changed", one([_with(definition="18.99")]), True, False),
    ("fingerprint of another major", one([_with(definition="17.123456789")]), True, False),
    ("no fingerprint now", one([_with(definition=None)]), True, False),
    (
        "no fingerprint now, 'None' recorded",
        one([_with(definition=None, comment=_comment(5, "None"))]),
        True,
        False,
    ),
    ("function body edited", one([_with(function_md5="0" * 32)]), True, False),
    ("no function", one([_with(function_md5=None)]), True, False),
    (
        "no function, 'None' recorded",
        one([_with(function_md5=None, comment=_comment(3, "None"))]),
        True,
        False,
    ),
    ("another body recorded", one([_with(comment=_comment(3, "0" * 32))]), True, False),
    ("runs another function", one([_with(own_function=False)]), True, False),
    ("events altered", one([_with(shape=BASE.shape ^ 4)]), True, False),
    ("a colon too many", one([_with(comment=SIGNED + ":x")]), True, False),
    ("no such table", one([BASE], [dataclasses.replace(DECLARED, db_table="nope")]), True, False),
    ("declared twice", one([BASE], [DECLARED, DECLARED]), True, False),
    ("another shape declared", one([BASE], [dataclasses.replace(DECLARED, shape=1)]), True, False),
    ("one of ours left over, pruning", one([BASE, PRUNABLE]), True, False),
    ("one of ours left over, not pruning", one([BASE, PRUNABLE]), False, True),
    ("one of ours left over first, not pruning", one([PRUNABLE, BASE]), False, True),
    (
        "django-pgtrigger's left over, pruning",
        one([BASE, PRUNABLE._replace(comment="e" * 40)]),
        True,
        False,
    ),
    (
        "django-pgtrigger's left over, not pruning",
        one([BASE, PRUNABLE._replace(comment="e" * 40)]),
        False,
        True,
    ),
    ("unsigned left over, pruning", one([BASE, PRUNABLE._replace(comment="by hand")]), True, True),
    ("no comment left over, pruning", one([BASE, PRUNABLE._replace(comment=None)]), True, True),
    (
        "no comment left over first, pruning",
        one([PRUNABLE._replace(comment=None), BASE]),
        True,
        True,
    ),
    (
        "ours left over outside the home schema, pruning",
        one([BASE, PRUNABLE._replace(table_oid=TENANT_TABLE.oid, schema_oid=TENANT)]),
        True,
        True,
    ),
    (
        "ours left over on a schema-qualified table, pruning",
        one([BASE, PRUNABLE._replace(table_oid=QUALIFIED.oid, schema_oid=TENANT)]),
        True,
        False,
    ),
    (
        "left over with the declared digest, same clause and body",
        one([BASE, PRUNABLE._replace(comment=SIGNED)]),
        False,
        True,
    ),
    (
        "left over with the declared digest, another clause",
        one([PRUNABLE._replace(comment=_comment(2, "f" * 40)), BASE]),
        False,
        False,
    ),
    (
        "left over with the declared digest in an older format",
        one([PRUNABLE._replace(comment=_comment(1, "0", _comment(2, "f" * 40))), BASE]),
        False,
        True,
    ),
    (
        "two schemas as signed",
        [_public([BASE], [DECLARED]), _tenant([IN_TENANT], [DECLARED])],
        True,
        True,
    ),
    (
        "two schemas, one clause edited",
        [
            _public([BASE], [DECLARED]),
            _tenant([IN_TENANT._replace(comment=_comment(2, "f" * 40))], [DECLARED]),
        ],
        True,
        False,
    ),
    (
        "two schemas, one body and its record edited alike",
        [
            _public([BASE], [DECLARED]),
            _tenant(
                [IN_TENANT._replace(comment=_comment(3, "0" * 32), function_md5="0" * 32)],
                [DECLARED],
            ),
        ],
        True,
        False,
    ),
    (
        "a tenant sees the public trigger unclaimed (its model is not allowed there)",
        [_public([BASE], [DECLARED]), _tenant([BASE], [])],
        True,
        True,
    ),
    (
        "an unclaimed tenant trigger carries the public declaration's digest, another clause",
        [
            _public([BASE], [DECLARED]),
            _tenant([IN_TENANT._replace(comment=_comment(2, "f" * 40))], []),
        ],
        False,
        False,
    ),
    (
        "the tenant's table is missing",
        [_public([BASE], [DECLARED]), ([DECLARED], Glance({}, [], TENANT))],
        True,
        False,
    ),
]


@pytest.mark.parametrize(("case", "scopes", "prune", "verdict"), CASES, ids=[c[0] for c in CASES])
def test_verdict(case: str, scopes: Scopes, prune: bool, verdict: bool) -> None:
    assert unchanged(scopes, prune=prune) is verdict, case


def _installed(row: Sighting) -> InstalledTrigger:
    """The catalog row as the planner reads it (catalog._snapshot gives the same fields)."""
    table = TABLES[row.table_oid]
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


def _owner(glance: Glance) -> Callable[[TableRef], Owner]:
    """Ownership as owner_of decides it here: qualified tables and the home schema's are the
    project's (HERE), tables a scope reaches through its path are another scope's (UNKNOWN)."""

    def decide(table: TableRef) -> Owner:
        home = SCHEMAS.get(glance.home or 0)
        return (
            Owner.HERE if table.oid in glance.qualified or table.schema == home else Owner.UNKNOWN
        )

    return decide


def _plan(scopes: Scopes, prune: bool) -> bool:
    """Whether the planner, fed as a reconcile feeds it, plans nothing in every scope."""
    views = []
    for _, glance in scopes:
        tables = {name: TABLES[oid] if oid else None for name, oid in glance.tables.items()}
        home = SCHEMAS.get(glance.home or 0)
        triggers = [_installed(r) for r in glance.triggers]
        views.append(ScopeView(Scope(home), home=home, tables=tables, triggers=triggers))
    signed = _signed_by_digest(Snapshot(views))
    empty = True
    for (declared, glance), view in zip(scopes, views, strict=True):
        desired = []
        for item in declared:
            if item.digest in signed:
                compiled = deferred_trigger(
                    Plain, TRIGGER, None, signed[item.digest], pgid=item.pgid
                )
            else:
                compiled = compile_trigger(Plain, TRIGGER, digest=item.digest)
            desired.append(Desired(compiled.uri, item.pgid, item.db_table, compiled))
        entries = statuses(desired, view, _owner(glance))
        empty &= plan_install(entries, None, prune=prune, server_version=180000).is_empty
    return empty


@pytest.mark.parametrize(
    ("case", "scopes", "prune", "verdict"),
    [c for c in CASES if c[3]],
    ids=[c[0] for c in CASES if c[3]],
)
def test_unchanged_means_the_planner_plans_nothing(
    case: str, scopes: Scopes, prune: bool, verdict: bool
) -> None:
    assert _plan(scopes, prune), case


REFUSED = [
    "function body edited",
    "fingerprint changed",
    "no fingerprint recorded",
    "another digest",
    "runs another function",
    "events altered",
    "one of ours left over, pruning",
    "ours left over on a schema-qualified table, pruning",
    "two schemas, one clause edited",
    "two schemas, one body and its record edited alike",
    "left over with the declared digest, another clause",
]


@pytest.mark.parametrize(
    ("case", "scopes", "prune", "verdict"),
    [c for c in CASES if c[0] in REFUSED],
    ids=[c[0] for c in CASES if c[0] in REFUSED],
)
def test_what_the_verdict_refuses_the_planner_acts_on(
    case: str, scopes: Scopes, prune: bool, verdict: bool
) -> None:
    # The control of the equivalence above: the same helper sees these changes too, so an
    # empty plan there is the planner's word, not a blind spot of the helper.
    assert not verdict
    assert not _plan(scopes, prune), case


def test_a_declaration_without_a_digest_leaves_it_to_the_planner() -> None:
    items = [("testapp.Plain:t", Plain, TRIGGER), ("testapp.Plain:u", Plain, TRIGGER)]
    flags = [[True, True], [True, False]]
    assert _verdict_inputs(items, flags, [DIGEST, None], [PGID, "x"]) is None
    assert _verdict_inputs(items, [[True, False]], [DIGEST, None], [PGID, None]) == [[DECLARED]]
    # Scopes the router answers alike share one list.
    shared = _verdict_inputs(items, [[True, False], [True, False]], [DIGEST, None], [PGID, None])
    assert shared is not None
    assert shared[0] is shared[1]


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
def test_a_comment_edited_in_one_schema_is_seen_across_schemas(
    extra_trigger: AddTrigger, two_schemas: list[str]
) -> None:
    # Found by review: each schema's trigger confirmed on its own, but the planner compares
    # every schema's with the first signature carrying the digest. The edited clause hash in
    # the second schema must make the install act there, as `status` says it would.
    uri = extra_trigger(Plain, _base())
    pgid = _base().get_pgid(Plain)
    pgtrigger.install(uri, all_schemas=True)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT obj_description(t.oid, 'pg_trigger') FROM pg_trigger t "
            "WHERE t.tgname = %s AND t.tgrelid = '\"verdict_b\".testapp_plain'::regclass",
            [pgid],
        )
        parts = cursor.fetchone()[0].split(":")  # type: ignore[index]
        parts[2] = "0" * 40
        cursor.execute(
            f'COMMENT ON TRIGGER "{pgid}" ON "verdict_b".testapp_plain IS %s', [":".join(parts)]
        )
    found = {e.scope: e.status for e in pgtrigger.status(uri, all_schemas=True)}
    assert found == {"verdict_a": Status.INSTALLED, "verdict_b": Status.OUTDATED}
    plan = pgtrigger.install(uri, all_schemas=True)
    assert [(a.kind, a.table.schema) for a in plan.actions] == [(ActionKind.REPLACE, "verdict_b")]
    assert pgtrigger.install(uri, all_schemas=True).actions == ()


@pytest.mark.django_db
@pytest.mark.usefixtures("empty_registry")
def test_a_schema_that_does_not_exist_fails_even_with_nothing_declared() -> None:
    # Nothing to compare, so nothing to do, but the schema asked for is not there: the
    # verdict leaves it to the planner, which says so.
    with pytest.raises(SchemaError, match="verdict_missing"):
        pgtrigger.install(schemas=["verdict_missing"])


@pytest.mark.django_db
def test_glances_see_what_the_snapshot_sees(
    extra_trigger: AddTrigger, two_schemas: list[str]
) -> None:
    # catalog.Fetched.glances re-reads the rows _snapshot reads: per scope, the same tables,
    # the same triggers in the same order, the same answer to "runs its own function".
    uri = extra_trigger(Plain, _base())
    shared = extra_trigger(CondRow, _base(name="shared", func="RETURN NEW;"))
    pgtrigger.install(uri, shared, all_schemas=True)
    with connection.cursor() as cursor:  # one trigger of ours running a function elsewhere
        cursor.execute('CREATE SCHEMA "verdict_fn"')
        cursor.execute(
            'CREATE FUNCTION "verdict_fn".f() RETURNS trigger LANGUAGE plpgsql '
            "AS $$ BEGIN RETURN NEW; END $$"
        )
        cursor.execute(
            f'CREATE OR REPLACE TRIGGER "{_base().get_pgid(Plain)}" BEFORE UPDATE ON '
            '"verdict_a".testapp_plain FOR EACH ROW EXECUTE FUNCTION "verdict_fn".f()'
        )
    scopes = [Scope(s) for s in two_schemas]
    tables = ["testapp_plain", "testapp_condrow", '"public"."pgtl_qualified_row"']
    with catalog.reading(connection, tables, scopes) as finish:
        fetched = finish()
    glances = fetched.glances()
    assert glances is not None
    views = fetched.snapshot().views
    for glance, view in zip(glances, views, strict=True):
        assert glance.tables == {k: v.oid if v else None for k, v in view.tables.items()}
        assert [(s.table_oid, s.pgid) for s in glance.triggers] == [
            (t.table.oid, t.pgid) for t in view.triggers
        ]
        assert [s.own_function for s in glance.triggers] == [t.owns_function for t in view.triggers]
        assert [s.comment for s in glance.triggers] == [t.comment for t in view.triggers]
    owns = {
        t.table.schema: t.owns_function
        for v in views
        for t in v.triggers
        if t.pgid.startswith("pgtrigger_verdict")
    }
    assert owns == {"verdict_a": False, "verdict_b": True}


@pytest.mark.django_db
def test_a_comment_edited_in_the_first_schema_names_its_repair(
    extra_trigger: AddTrigger, two_schemas: list[str]
) -> None:
    # The first schema's comment is the signature the planner takes for the declaration: its
    # SQL then differs from what that comment records, and nothing is changed; the repair the
    # error gives (drop that comment) makes the next install replace the trigger in place.
    uri = extra_trigger(Plain, _base())
    pgid = _base().get_pgid(Plain)
    pgtrigger.install(uri, all_schemas=True)
    table = '"verdict_a".testapp_plain'

    def oid() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT oid FROM pg_trigger WHERE tgname = %s AND tgrelid = %s::regclass",
                [pgid, table],
            )
            return int(cursor.fetchone()[0])  # type: ignore[index]

    before = oid()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT obj_description(t.oid, 'pg_trigger') FROM pg_trigger t "
            "WHERE t.tgname = %s AND t.tgrelid = %s::regclass",
            [pgid, table],
        )
        parts = cursor.fetchone()[0].split(":")  # type: ignore[index]
        parts[2] = "0" * 40
        cursor.execute(f'COMMENT ON TRIGGER "{pgid}" ON {table} IS %s', [":".join(parts)])
    with pytest.raises(InstallError, match=f'COMMENT ON TRIGGER "{pgid}" ON <its table> IS NULL'):
        pgtrigger.install(uri, all_schemas=True)
    with connection.cursor() as cursor:
        cursor.execute(f'COMMENT ON TRIGGER "{pgid}" ON {table} IS NULL')
    plan = pgtrigger.install(uri, all_schemas=True)
    assert [(a.kind, a.table.schema) for a in plan.actions] == [(ActionKind.REPLACE, "verdict_a")]
    assert oid() == before  # replaced in place (CREATE OR REPLACE TRIGGER)
    assert pgtrigger.install(uri, all_schemas=True).actions == ()
