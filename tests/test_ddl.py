"""The exact text of every statement ddl.py renders, and the quoting helpers it uses. No database.

ddl.sign's rollback on a missing trigger is shown end to end in tests/test_reconcile.py.
"""

from __future__ import annotations

import dataclasses

import pytest

import pgtrigger_live as pgtrigger
from pgtrigger_live import sql
from pgtrigger_live.reconcile import ddl, operations
from pgtrigger_live.reconcile.catalog import regclass_name, split_table
from pgtrigger_live.reconcile.compiler import compile_trigger
from pgtrigger_live.reconcile.fingerprint import DEFINITION_FINGERPRINT
from pgtrigger_live.reconcile.state import (
    Enabled,
    InstalledTrigger,
    Scope,
    ScopeView,
    Snapshot,
    TableRef,
)
from tests.testapp.models import Plain

TABLE = TableRef("Sales", 'odd "t"', 7)


def compiled(**kw: object):  # type: ignore[no-untyped-def]
    base = {
        "name": "t",
        "when": pgtrigger.After,
        "operation": pgtrigger.Insert,
        "func": "RETURN NULL;",
    }
    return compile_trigger(Plain, pgtrigger.Trigger(**{**base, **kw}))


T = compiled()
FN = f'"Sales"."{T.pgid}"'


def test_create_function() -> None:
    assert ddl.create_function(T, TABLE) == (
        f"CREATE OR REPLACE FUNCTION {FN}() RETURNS TRIGGER LANGUAGE plpgsql AS "
        f"$pgtrigger_live${T.body}$pgtrigger_live$"
    )


@pytest.mark.parametrize(
    ("kw", "replace", "text"),
    [
        (
            {},
            False,
            f'CREATE TRIGGER "{T.pgid}" AFTER INSERT ON "Sales"."odd ""t""" FOR EACH ROW '
            f"EXECUTE FUNCTION {FN}()",
        ),
        (
            {},
            True,
            f'CREATE OR REPLACE TRIGGER "{T.pgid}" AFTER INSERT ON "Sales"."odd ""t""" '
            f"FOR EACH ROW EXECUTE FUNCTION {FN}()",
        ),
        (
            {"timing": pgtrigger.Deferred, "condition": pgtrigger.Q(new__id__gt=0)},
            False,
            f'CREATE CONSTRAINT TRIGGER "{T.pgid}" AFTER INSERT ON "Sales"."odd ""t""" '
            'DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW."id" > 0) '
            f"EXECUTE FUNCTION {FN}()",
        ),
        (
            {
                "level": pgtrigger.Statement,
                "operation": pgtrigger.Update,
                "referencing": pgtrigger.Referencing(old="o", new="n"),
            },
            False,
            f'CREATE TRIGGER "{T.pgid}" AFTER UPDATE ON "Sales"."odd ""t""" '
            'REFERENCING OLD TABLE AS "o" NEW TABLE AS "n" FOR EACH STATEMENT '
            f"EXECUTE FUNCTION {FN}()",
        ),
    ],
    ids=["create", "or replace", "constraint", "referencing"],
)
def test_create_trigger(kw: dict[str, object], replace: bool, text: str) -> None:
    assert ddl.create_trigger(compiled(**kw), TABLE, replace=replace) == text


def test_create_trigger_with_a_custom_function() -> None:
    custom = compiled()
    sql = dataclasses.replace(custom.rendered, execute='"lib"."f"(\'x\')', body=None)
    object.__setattr__(custom, "sql", sql)
    assert ddl.create_trigger(custom, TABLE, replace=False).endswith(
        'FOR EACH ROW EXECUTE FUNCTION "lib"."f"(\'x\')'
    )


@pytest.mark.parametrize(
    ("mode", "verb"),
    [
        (Enabled.ENABLED, "ENABLE"),
        (Enabled.DISABLED, "DISABLE"),
        (Enabled.ALWAYS, "ENABLE ALWAYS"),
        (Enabled.REPLICA, "ENABLE REPLICA"),
    ],
)
def test_set_enabled(mode: Enabled, verb: str) -> None:
    assert ddl.set_enabled("pgtrigger_x", TABLE, mode=mode) == (
        f'ALTER TABLE "Sales"."odd ""t""" {verb} TRIGGER "pgtrigger_x"'
    )


def test_drop_statements() -> None:
    assert ddl.drop_trigger("pgtrigger_x", TABLE) == (
        'DROP TRIGGER IF EXISTS "pgtrigger_x" ON "Sales"."odd ""t"""'
    )
    assert ddl.drop_function("Sales", "pgtrigger_x") == (
        'DROP FUNCTION IF EXISTS "Sales"."pgtrigger_x"()'
    )


def _installed(fn_schema: str | None, fn_name: str | None) -> InstalledTrigger:
    return InstalledTrigger(
        TABLE, "pgtrigger_x", Enabled.ENABLED, None, False, fn_schema, fn_name, None
    )


@pytest.mark.parametrize(
    ("fn_schema", "fn_name", "drops_function"),
    [
        ("Sales", "pgtrigger_x", True),
        ("public", "pgtrigger_x", False),  # same name, another schema: not its own
        ("Sales", "audit", False),  # the user's function (render_execute)
        (None, None, False),
    ],
)
def test_drop_installed(fn_schema: str | None, fn_name: str | None, drops_function: bool) -> None:
    function = [ddl.drop_function("Sales", "pgtrigger_x")] if drops_function else []
    assert ddl.drop_installed(_installed(fn_schema, fn_name)) == [
        ddl.drop_trigger("pgtrigger_x", TABLE),
        *function,
    ]


def test_sign_checks_the_count_of_signed_triggers() -> None:
    other = TableRef("public", "u", 8)
    text = ddl.sign([(TABLE, "pgtrigger_x", "pgtrigger_live:1:h:m"), (other, "pgtrigger_y", "s'q")])
    assert text.startswith("DO $pgtrigger_live$DECLARE r record; signed int := 0; BEGIN ")
    assert text.endswith("$pgtrigger_live$")
    assert (
        "FROM (VALUES (7::oid, 'pgtrigger_x', 'pgtrigger_live:1:h:m'), "
        "(8::oid, 'pgtrigger_y', 's''q')) AS s(relid, name, sig) "
    ) in text
    assert f"SELECT s.sig || ':' || {DEFINITION_FINGERPRINT} AS sig," in text
    assert "signed := signed + 1; END LOOP; " in text
    assert (
        "IF signed <> 2 THEN RAISE EXCEPTION "
        "'pgtrigger_live: % of 2 triggers found to sign', signed; END IF; END$"
    ) in text
    assert "COMMENT ON TRIGGER %I ON %I.%I IS %L" in text


def test_sign_of_one_trigger_exact_text() -> None:
    assert ddl.sign([(TABLE, "pgtrigger_x", "s")]) == (
        "DO $pgtrigger_live$DECLARE r record; signed int := 0; BEGIN "
        f"FOR r IN SELECT s.sig || ':' || {DEFINITION_FINGERPRINT} AS sig, "
        "t.tgname, n.nspname, c.relname "
        "FROM (VALUES (7::oid, 'pgtrigger_x', 's')) AS s(relid, name, sig) "
        "JOIN pg_catalog.pg_trigger t ON t.tgrelid = s.relid AND t.tgname = s.name "
        "JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace LOOP "
        "EXECUTE pg_catalog.format('COMMENT ON TRIGGER %I ON %I.%I IS %L', "
        "r.tgname, r.nspname, r.relname, r.sig); signed := signed + 1; END LOOP; "
        "IF signed <> 1 THEN RAISE EXCEPTION "
        "'pgtrigger_live: % of 1 triggers found to sign', signed; END IF; END$pgtrigger_live$"
    )


# -- sql.py ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "tag"),
    [
        ("select 1", "pgtrigger_live"),
        ("x $pgtrigger_live$ y", "pgtrigger_live_1"),
        ("$pgtrigger_live$ $pgtrigger_live_1$", "pgtrigger_live_2"),
        ("$pgtrigger_live_1$", "pgtrigger_live"),
        ("$pgtrigger_live$ $pgtrigger_live_1$ $pgtrigger_live_2$", "pgtrigger_live_3"),
    ],
)
def test_dollar_quote_finds_a_free_tag(body: str, tag: str) -> None:
    assert sql.dollar_quote(body) == f"${tag}${body}${tag}$"


def test_dollar_quote_with_another_tag() -> None:
    assert sql.dollar_quote("$a$", tag="a") == "$a_1$$a$$a_1$"


@pytest.mark.parametrize(
    ("prefix", "escaped"),
    [
        ("pgtrigger_", "pgtrigger\\_"),
        ("a%b", "a\\%b"),
        ("a\\b", "a\\\\b"),
        ("\\_%", "\\\\\\_\\%"),
        ("plain", "plain"),
    ],
)
def test_like_escape(prefix: str, escaped: str) -> None:
    assert sql.like_escape(prefix) == escaped


@pytest.mark.parametrize(
    ("name", "plain"),
    [("abc_1", True), ("_x", True), ("Abc", False), ("1a", False), ("a b", False), ("", False)],
)
def test_is_plain_identifier(name: str, plain: bool) -> None:
    assert sql.is_plain_identifier(name) is plain


def test_qualified() -> None:
    assert sql.qualified("s", "t") == '"s"."t"'
    assert sql.qualified(None, "t") == '"t"'
    assert sql.qualified("", "t") == '"t"'


def test_bad_identifiers_and_literals_are_refused() -> None:
    with pytest.raises(ValueError, match=r"^An SQL identifier cannot be empty\.$"):
        sql.quote_ident("")
    with pytest.raises(ValueError, match=r"cannot contain NUL: 'a\\x00'"):
        sql.quote_ident("a\x00")
    with pytest.raises(ValueError, match=r"literal cannot contain NUL: 'a\\x00'"):
        sql.quote_literal("a\x00")


@pytest.mark.parametrize(
    ("value", "quoted"),
    [("", "''"), ("a", "'a'"), ("it's \\", "E'it''s \\\\'"), ("\\'", "E'\\\\'''")],
)
def test_quote_literal(value: str, quoted: str) -> None:
    assert sql.quote_literal(value) == quoted


# -- catalog.py: a model's db_table as the catalog resolves it ----------------------------


@pytest.mark.parametrize(
    ("db_table", "parts", "regclass"),
    [
        ("shop_order", (None, "shop_order"), '"shop_order"'),
        ('"Order Table"', (None, "Order Table"), '"Order Table"'),
        ('sales"."order', ("sales", "order"), '"sales"."order"'),
        ('"sales"."order"', ("sales", "order"), '"sales"."order"'),
        ('a"."b"."c', (None, 'a"."b"."c'), '"a"".""b"".""c"'),
        ('"', (None, '"'), '""""'),
        ('""', (None, ""), None),
        ('a"."b"c', (None, 'a"."b"c'), '"a"".""b""c"'),
    ],
)
def test_split_table(db_table: str, parts: tuple[str | None, str], regclass: str | None) -> None:
    assert split_table(db_table) == parts
    if regclass is not None:
        assert regclass_name(db_table) == regclass


def test_an_empty_snapshot_has_no_tables_or_triggers() -> None:
    assert Snapshot().tables == {}
    assert Snapshot().triggers == []
    view = ScopeView(Scope(), tables={"t": TABLE}, triggers=[_installed(None, None)])
    assert Snapshot([view, ScopeView(Scope("x"))]).tables == {"t": TABLE}
    assert Snapshot([view]).triggers == view.triggers


# -- lock_tables ----------------------------------------------------------------------------


def test_lock_tables_text() -> None:
    assert ddl.lock_tables([]) == ""
    text = ddl.lock_tables([(9, operations.ACCESS_EXCLUSIVE), (3, operations.SHARE_ROW_EXCLUSIVE)])
    assert text == (
        "DO $pgtrigger_live$DECLARE r record; busy oid; BEGIN "
        "FOR r IN SELECT c.oid, s.mode "
        f"FROM (VALUES (9::oid, '{operations.ACCESS_EXCLUSIVE}'), (3::oid, '{operations.SHARE_ROW_EXCLUSIVE}')) "
        "AS s(relid, mode) "
        "JOIN pg_catalog.pg_class c ON c.oid = s.relid AND c.relkind IN ('r', 'p') "
        "AND pg_catalog.has_table_privilege(c.oid, 'UPDATE, DELETE, TRUNCATE') "
        "ORDER BY c.oid LOOP busy := r.oid; "
        "EXECUTE pg_catalog.format('LOCK TABLE %s IN %s MODE', r.oid::regclass, r.mode); "
        "END LOOP; "
        "EXCEPTION WHEN lock_not_available THEN RAISE lock_not_available USING "
        "MESSAGE = pg_catalog.format('table %s is busy: %s', busy::regclass, SQLERRM), "
        "DETAIL = 'pgtrigger_live.busy:' || busy; END$pgtrigger_live$"
    )


def test_lock_tables_refuses_an_unknown_mode() -> None:
    with pytest.raises(ValueError, match="^Unknown lock mode: 'SHARE'$"):
        ddl.lock_tables([(1, "SHARE")])
