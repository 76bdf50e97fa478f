"""The ignore check at the top of every generated function, against every value it can meet.

Each case opens a session of its own (the only way to see the setting truly unset: once a
session has set it, PostgreSQL keeps an empty placeholder), sets ``pgtrigger.ignore`` the way
the runtime would, inserts one row into a table whose triggers each append their label to it,
and compares the labels that fired with the table. The same cases run against the previous
release's check (read from tests/fixtures/previous_release.sql), so the faster check is pinned
to the same answers, errors included.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.db import connection

import pgtrigger_live as pgtrigger
from pgtrigger_live.declare.triggers import ignore_id
from pgtrigger_live.reconcile.compiler import IGNORE_CHECK, ignore_check
from pgtrigger_live.runtime.statements import ignore_value
from pgtrigger_live.sql import quote_ident, quote_literal
from tests.lockprobe import connect
from tests.test_reconcile import PREVIOUS_RELEASE
from tests.testapp.models import Plain

SCHEMA = "pgtrigger_ignore_check"
TABLE = f"{SCHEMA}.hits"

#: What the previous release put at the top of each function, as it installed it.
PREVIOUS_CHECK = re.search(
    r"\nBEGIN\n  (IF TG_NAME .*?\n  END IF;)\n", PREVIOUS_RELEASE.read_text(), re.S
)
assert PREVIOUS_CHECK is not None

#: label -> trigger name; "ab" and "a" are each other's prefix, "odd" needs quoting in a
#: text[] literal, and "ordered" is named like a trigger with an order (see ORDERED).
NAMES = {
    "a": "pgtrigger_a_1a2b3",
    "ab": "pgtrigger_a_1a2b3x",
    "odd": 'pgtrigger_we"ird, {name}\\ x',
}
ORDERED = pgtrigger.Trigger(
    name="t", when=pgtrigger.Before, operation=pgtrigger.Insert, func="RETURN NEW;", order=10
)
ORDERED_NAME = ORDERED.get_pgid(Plain)  # its trigger name, which has the order in it
ORDERED_ID = ignore_id(ORDERED, Plain)  # the id its function compares, which has not
ALL = frozenset({"a", "ab", "odd", "ordered"})


def runtime(*labels: str) -> str:
    """The value ``ignore()`` sets for these labels' triggers."""
    return ignore_value(ORDERED_ID if label == "ordered" else NAMES[label] for label in labels)


#: (what the session holds: None = never set, value) -> labels the check must skip.
CASES: list[tuple[str | None, frozenset[str]]] = [
    (None, frozenset()),
    ("", frozenset()),
    ("{}", frozenset()),
    (runtime("a"), frozenset({"a"})),
    (runtime("ab"), frozenset({"ab"})),  # not "a", whose name is a prefix of it
    (runtime("a", "ab"), frozenset({"a", "ab"})),
    (runtime("odd"), frozenset({"odd"})),
    (runtime("odd", "a"), frozenset({"odd", "a"})),
    (runtime("ordered"), frozenset({"ordered"})),
    (ignore_value([ORDERED_NAME]), frozenset()),  # the ordered name is not its ignore id
    (ignore_value(["pgtrigger_a_1a2b"]), frozenset()),  # a prefix of both names
    (ignore_value(["pgtrigger_a"]), frozenset()),
    (ignore_value(['pgtrigger_we"ird']), frozenset()),  # the start of "odd", up to a quote
    (ignore_value(["pgtrigger_other_12345"]), frozenset()),
    # Citus sends the shard names in PostgreSQL's array output (unquoted where it can be).
    ("{pgtrigger_a_1a2b3x,pgtrigger_zz_00000}", frozenset({"ab"})),
    ("{pgtrigger_a_1a2b3}", frozenset({"a"})),
    ("{NULL}", frozenset()),
    (' { pgtrigger_a_1a2b3 , "pgtrigger_a_1a2b3x" } ', frozenset({"a", "ab"})),
]


def install(cursor: Any, check_of: dict[str, str]) -> None:
    cursor.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    cursor.execute(f"CREATE SCHEMA {SCHEMA}")
    cursor.execute(f"CREATE TABLE {TABLE} (id int, fired text[] NOT NULL DEFAULT '{{}}')")
    names = {**NAMES, "ordered": ORDERED_NAME}
    for label, name in names.items():
        function = f"{SCHEMA}.{quote_ident(label)}"
        cursor.execute(
            f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $f$\nBEGIN\n  "
            f"{check_of[label]}\n  NEW.fired := NEW.fired || {quote_literal(label)}::text;\n"
            "  RETURN NEW;\nEND;\n$f$"
        )
        cursor.execute(
            f"CREATE TRIGGER {quote_ident(name)} BEFORE INSERT ON {TABLE} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}()"
        )


def checks(current: bool) -> dict[str, str]:
    """Each trigger's check: this release's (the compiler's, per trigger) or the previous."""
    if current:
        return {**dict.fromkeys(NAMES, IGNORE_CHECK), "ordered": ignore_check(Plain, ORDERED)}
    old = PREVIOUS_CHECK.group(1)  # type: ignore[union-attr]
    return {
        **dict.fromkeys(NAMES, old),
        "ordered": old.replace("TG_NAME", quote_literal(ORDERED_ID)),
    }


@pytest.fixture
def session_params(db: None) -> Iterator[dict[str, Any]]:
    params = connection.get_connection_params()
    yield params
    with connect(params) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")


def skipped(params: dict[str, Any], value: str | None) -> frozenset[str]:
    """The labels whose trigger skipped an INSERT in a new session holding ``value``."""
    with connect(params) as conn:
        if value is not None:
            conn.execute("SELECT set_config('pgtrigger.ignore', %s, false)", [value])
        held = conn.execute("SELECT current_setting('pgtrigger.ignore', true)").fetchone()
        assert held == (value,)  # None: never set in this session
        row = conn.execute(f"INSERT INTO {TABLE} (id) VALUES (1) RETURNING fired").fetchone()
        assert row is not None
        return ALL - frozenset(row[0])


@pytest.mark.parametrize("current", [True, False], ids=["this release", "previous release"])
def test_the_check_skips_exactly_the_triggers_the_value_names(
    session_params: dict[str, Any], current: bool
) -> None:
    with connect(session_params) as conn, conn.cursor() as cursor:
        install(cursor, checks(current))
    found = [(value, skipped(session_params, value)) for value, _ in CASES]
    assert found == CASES


@pytest.mark.parametrize("current", [True, False], ids=["this release", "previous release"])
def test_a_value_that_is_no_array_is_refused_as_before(
    session_params: dict[str, Any], current: bool
) -> None:
    """Only raw SQL can set such a value: the check refuses it rather than guess."""
    with connect(session_params) as conn, conn.cursor() as cursor:
        install(cursor, checks(current))
    with pytest.raises(psycopg.errors.InvalidTextRepresentation, match="malformed array"):
        skipped(session_params, NAMES["a"])


def test_the_common_case_is_settled_before_tg_name_or_the_array() -> None:
    """Unset ('' or NULL) costs one comparison: the CASE guards everything else."""
    guard, rest = IGNORE_CHECK.split(" THEN", 1)
    assert guard == "IF (CASE WHEN current_setting('pgtrigger.ignore', true) <> ''"
    assert rest.count("TG_NAME") == 1  # after the guard, once: ignore_check replaces it
