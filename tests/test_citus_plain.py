"""Citus support as a server without Citus sees it: nothing changes, and it costs a boolean.

The cluster side is tests/test_citus.py (skipped without Citus); these run everywhere.
"""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction

import pgtrigger_live as pgtrigger
from pgtrigger_live import citus
from pgtrigger_live.reconcile import catalog
from pgtrigger_live.runtime import statements
from pgtrigger_live.runtime.wrapper import runtime_of
from tests.testapp.models import Protected


def ls(*args: str) -> str:
    out = StringIO()
    call_command("pgtrigger", "ls", *args, stdout=out, no_color=True)
    return out.getvalue()


@pytest.mark.django_db
def test_snapshot_of_a_plain_server_has_no_citus_and_plain_tables() -> None:
    snapshot = catalog.read(connection, [Protected._meta.db_table])
    assert snapshot.citus is False
    table = snapshot.tables[Protected._meta.db_table]
    assert table is not None
    assert table.kind == citus.PLAIN
    assert {t.table.kind for t in snapshot.triggers} == {citus.PLAIN}


@pytest.mark.django_db
def test_ls_shows_no_kind_column_without_citus_and_json_says_plain() -> None:
    line = next(x for x in ls().splitlines() if x.endswith("testapp.Protected:protect_delete"))
    assert line.split() == ["INSTALLED", "ENABLED", "testapp.Protected:protect_delete"]
    rows = {r["uri"]: r for r in json.loads(ls("--json"))}
    assert rows["testapp.Protected:protect_delete"]["table_kind"] == "plain"


def test_table_ref_kind_is_not_part_of_its_identity() -> None:
    """A table distributed since it was read is the same table (planner keys, snapshot ==)."""
    from pgtrigger_live.reconcile.state import TableRef

    assert TableRef("public", "t", 1, citus.DISTRIBUTED) == TableRef("public", "t", 1)
    assert hash(TableRef("public", "t", 1, citus.REFERENCE)) == hash(TableRef("public", "t", 1))


@pytest.mark.django_db(transaction=True)
def test_runtime_learns_once_that_there_is_no_citus_and_keeps_the_plain_prefix() -> None:
    """Learnt at the first write a block sets something for (what that costs on a fresh
    connection: tests/test_citus_question.py); the statement then carries the plain prefix,
    byte for byte, in the same message."""
    connection.close()
    connection.ensure_connection()
    runtime = runtime_of(connection)
    assert runtime is not None
    assert runtime.citus is None  # nothing asked at connection time
    seen: list[str] = []

    def record(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record), pgtrigger.ignore("testapp.Protected:protect_delete"):
        Protected.objects.create()
        assert runtime.citus is False
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM testapp_protected")
        with transaction.atomic():
            Protected.objects.create()
            Protected.objects.all().delete()
    deletes = [s for s in seen if "DELETE FROM testapp_protected" in s]
    assert deletes[0].startswith("SET LOCAL pgtrigger.ignore TO '{\"pgtrigger_protect_delete_")
    assert "citus" not in " ".join(seen)
    assert not Protected.objects.exists()


def test_citus_ignore_message_sets_propagation_first_and_quotes_the_value() -> None:
    assert statements.citus_ignore('{"a\'b"}') == (
        "SET LOCAL citus.propagate_set_commands TO 'local'; "
        "SET LOCAL pgtrigger.ignore TO '{\"a''b\"}'"
    )
