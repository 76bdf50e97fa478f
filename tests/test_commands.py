"""``manage.py pgtrigger`` through call_command and real subprocesses."""

from __future__ import annotations

import contextlib
import copy
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, models, transaction
from django.test.utils import CaptureQueriesContext

import pgtrigger_live as pgtrigger
from pgtrigger_live.reconcile.state import Status
from tests.conftest import catalog_state, subprocess_env
from tests.testapp.models import Plain

AddTrigger = Callable[[type[models.Model], pgtrigger.Trigger], str]
ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> str:
    out = StringIO()
    call_command("pgtrigger", *args, stdout=out, no_color=True)
    return out.getvalue()


def bump(name: str) -> pgtrigger.Trigger:
    return pgtrigger.Trigger(
        name=name, when=pgtrigger.Before, operation=pgtrigger.Insert, func="RETURN NEW;"
    )


@pytest.mark.django_db
def test_ls_lists_status_enabled_and_uri_through_stdout(extra_trigger: AddTrigger) -> None:
    uri = extra_trigger(Plain, bump("listed"))
    lines = run("ls").splitlines()
    assert "INSTALLED   ENABLED  testapp.Protected:protect_delete" in lines
    assert f"UNINSTALLED N/A      {uri}  (not installed)" in lines
    assert run("ls", uri).splitlines() == [
        f"UNINSTALLED N/A      {uri}  (not installed)",
        "1 trigger: 1 uninstalled.",
        f"To fix: python manage.py pgtrigger install {uri}",
    ]


@pytest.mark.django_db
def test_ls_check_exits_non_zero_on_drift(extra_trigger: AddTrigger) -> None:
    run("ls", "--check")  # in sync: no error
    uri = extra_trigger(Plain, bump("drifting"))
    with pytest.raises(
        CommandError, match=f"1 trigger\\(s\\) not in sync: {uri} UNINSTALLED"
    ) as exc:
        run("ls", "--check")
    assert exc.value.returncode == 1


@pytest.mark.django_db
def test_ls_json(extra_trigger: AddTrigger) -> None:
    uri = extra_trigger(Plain, bump("as_json"))
    rows = {r["uri"]: r for r in json.loads(run("ls", "--json"))}
    assert rows[uri]["status"] == "UNINSTALLED"
    assert rows[uri]["enabled"] is None
    assert rows["testapp.Protected:protect_delete"]["table"] == "public.testapp_protected"
    assert rows["testapp.Protected:protect_delete"]["enabled"] == "ENABLED"


@pytest.mark.django_db
@pytest.mark.usefixtures("empty_registry")
def test_ls_with_nothing_to_list_does_not_crash() -> None:
    pgtrigger.uninstall()  # with nothing registered this prunes everything of ours
    assert run("ls") == "No triggers are registered or installed.\n"
    assert json.loads(run("ls", "--json")) == []


@pytest.mark.django_db
def test_install_dry_run_prints_plan_and_sql_without_executing(extra_trigger: AddTrigger) -> None:
    uri = extra_trigger(Plain, bump("dry"))
    out = run("install", "--dry-run")
    assert "Plan (dry run, nothing executed):" in out
    assert f"create   {uri} on public.testapp_plain: not installed" in out
    assert out.endswith("Would apply: 1 create.\n")
    assert "CREATE TRIGGER" not in out  # SQL only on request
    assert 'CREATE TRIGGER "pgtrigger_dry_' in run("install", "--dry-run", "--sql")
    verbose = StringIO()
    call_command("pgtrigger", "install", "--dry-run", stdout=verbose, verbosity=2)
    assert 'CREATE TRIGGER "pgtrigger_dry_' in verbose.getvalue()
    assert pgtrigger.status(uri)[0].status is Status.UNINSTALLED
    plan = json.loads(run("install", "--dry-run", "--json"))
    (action,) = [a for a in plan["actions"] if a["uri"] == uri]
    assert action["action"] == "create"
    assert action["lock"] == "SHARE ROW EXCLUSIVE"
    assert action["seen"] is None  # nothing installed yet
    assert [op["op"] for op in action["operations"]] == ["create_function", "create_trigger"]
    assert action["operations"][1]["sql"].startswith('CREATE TRIGGER "pgtrigger_dry_')
    assert action["sql"][:2] == [op["sql"] for op in action["operations"]]
    assert action["sql"][2].startswith("DO ")  # the signing block
    # round_trips: what a run sends after its catalog read. Sent by hand, they leave the
    # database exactly as a run would: the next install finds nothing to do.
    trips = plan["round_trips"]
    assert len(trips) == 1
    assert trips[0][0].startswith("DO ")
    assert "LOCK TABLE" in trips[0][0]
    assert trips[0][-1].startswith("DO ")
    assert "COMMENT ON TRIGGER" in trips[0][-1]
    assert sum(s.startswith("DO ") for s in trips[0]) == 2  # one signing block for all
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(";\n".join(trips[0]))
    assert pgtrigger.status(uri)[0].status is Status.INSTALLED
    assert json.loads(run("install", "--dry-run", "--json")) == {
        "dry_run": True,
        "actions": [],
        "skipped": [],
        "round_trips": [],
    }
    run("uninstall", uri)
    assert run("install").startswith("create")
    run("disable", uri)
    (drop,) = json.loads(run("uninstall", uri, "--dry-run", "--json"))["actions"]
    assert (drop["action"], drop["lock"], drop["seen"]["enabled"]) == (
        "drop",
        "ACCESS EXCLUSIVE",
        "DISABLED",
    )
    assert [op["op"] for op in drop["operations"]] == ["drop_trigger", "drop_function"]
    run("enable", uri)
    assert run("install") == "Nothing to do: the database is in sync.\n"


@pytest.mark.django_db
def test_disable_enable_and_uninstall_commands(extra_trigger: AddTrigger) -> None:
    uri = extra_trigger(Plain, bump("toggled"))
    run("install", uri)
    run("disable", uri)
    assert f"INSTALLED DISABLED {uri}" in run("ls", uri)
    run("enable", uri)
    run("uninstall", uri)
    assert pgtrigger.status(uri)[0].status is Status.UNINSTALLED


@pytest.mark.django_db
def test_unknown_uri_is_a_command_error() -> None:
    with pytest.raises(CommandError, match='URI "testapp.Plain:missing" not found'):
        run("install", "testapp.Plain:missing")


@pytest.mark.django_db
def test_schema_option_reconciles_tables_in_that_schema(extra_trigger: AddTrigger) -> None:
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA tenant_a")
        cursor.execute("CREATE TABLE tenant_a.testapp_plain (LIKE public.testapp_plain)")
    uri = extra_trigger(Plain, bump("tenant"))
    run("install", uri, "-s", "tenant_a")
    (entry,) = pgtrigger.status(uri, schemas=["tenant_a"])
    assert entry.status is Status.INSTALLED
    assert entry.table is not None
    assert entry.table.schema == "tenant_a"
    # The trigger went to tenant_a only; public is untouched and the function lives beside it.
    assert pgtrigger.status(uri)[0].status is Status.UNINSTALLED
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE p.proname = %s",
            [entry.pgid],
        )
        assert cursor.fetchall() == [("tenant_a",)]


@pytest.mark.django_db
def test_noop_migrate_costs_one_query_for_triggers() -> None:
    with CaptureQueriesContext(connection) as queries:
        call_command("migrate", verbosity=0)
    ours = [q["sql"] for q in queries.captured_queries if "pg_trigger" in q["sql"]]
    assert len(ours) == 1  # the reconcile ran once for the whole migrate, not once per app
    ddl = [
        q
        for q in queries.captured_queries
        if "TRIGGER" in q["sql"].upper()
        and q["sql"].lstrip().upper().startswith(("CREATE", "DROP"))
    ]
    assert ddl == []


@pytest.mark.django_db(transaction=True)
def test_migrating_an_app_back_to_zero_and_forward_again() -> None:
    call_command("migrate", "testapp", "zero", verbosity=0)
    entries = [
        e for e in pgtrigger.status() if e.uri.startswith("testapp.") and "User" not in e.uri
    ]
    assert entries
    assert {e.status for e in entries} == {Status.UNINSTALLED}
    assert all("does not exist" in e.reason for e in entries)
    call_command("migrate", "testapp", verbosity=0)
    assert {e.status for e in pgtrigger.status()} == {Status.INSTALLED}


@pytest.mark.django_db(transaction=True)
def test_four_concurrent_installs_all_succeed() -> None:
    pgtrigger.uninstall()
    expected = {e.pgid for e in pgtrigger.status()}
    assert not expected & set(catalog_state())
    command = [sys.executable, "-m", "django", "pgtrigger", "--no-color", "install"]
    procs = [
        subprocess.Popen(
            command,
            env=subprocess_env(),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outputs
    creates = [line for out, _ in outputs for line in out.splitlines() if line.startswith("create")]
    assert len(creates) == len(expected)  # each trigger was created exactly once
    assert {e.status for e in pgtrigger.status()} == {Status.INSTALLED}


PSYCOPG2_SCRIPT = """
import sys
sys.modules["psycopg"] = None  # Django falls back to psycopg2
import django
django.setup()
from django.db import connection
from django.core.management import call_command
import pgtrigger_live as pgtrigger
assert connection.Database.__name__ == "psycopg2", connection.Database
pgtrigger.uninstall()
call_command("pgtrigger", "install")
call_command("pgtrigger", "install")
call_command("pgtrigger", "ls", "--check")
"""


@pytest.mark.django_db(transaction=True)
def test_reconcile_under_psycopg2() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PSYCOPG2_SCRIPT],
        env=subprocess_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    creates = [line for line in lines if line.startswith("create")]
    assert len(creates) == len(pgtrigger.status())
    assert "Nothing to do: the database is in sync." in lines
    assert {e.status for e in pgtrigger.status()} == {Status.INSTALLED}


@pytest.mark.django_db
def test_always_and_replica_triggers_show_as_enabled() -> None:
    ((model, trigger),) = pgtrigger.registered("testapp.Protected:protect_delete")
    with connection.cursor() as cursor:
        cursor.execute(
            f'ALTER TABLE testapp_protected ENABLE ALWAYS TRIGGER "{trigger.get_pgid(model)}"'
        )
    assert "INSTALLED ALWAYS   testapp.Protected:protect_delete" in run("ls")
    (entry,) = pgtrigger.status("testapp.Protected:protect_delete")
    assert entry.enabled is not None
    assert entry.enabled.is_enabled
    assert pgtrigger.enable("testapp.Protected:protect_delete").is_empty  # already enabled


@pytest.fixture
def sqlite_alias() -> Iterator[str]:
    """A non-PostgreSQL alias, to check that nothing is attempted there."""
    from django.db import connections

    entry = copy.deepcopy(connections["default"].settings_dict)
    entry.update(ENGINE="django.db.backends.sqlite3", NAME=":memory:", OPTIONS={})
    connections.settings["lite"] = entry
    try:
        yield "lite"
    finally:
        with contextlib.suppress(AttributeError, KeyError):
            connections["lite"].close()
            del connections["lite"]
        connections.settings.pop("lite", None)


@pytest.mark.django_db
def test_non_postgres_alias_is_unallowed_and_untouched(sqlite_alias: str) -> None:
    entries = pgtrigger.status(database=sqlite_alias)
    assert entries
    assert {e.status for e in entries} == {Status.UNALLOWED}
    assert pgtrigger.install(database=sqlite_alias).is_empty
    assert pgtrigger.prunable(database=sqlite_alias) == []
    lines = run("ls", "-d", sqlite_alias).splitlines()
    assert "UNALLOWED N/A      testapp.Protected:protect_delete" in lines
    run("ls", "-d", sqlite_alias, "--check")  # UNALLOWED counts as in sync


@pytest.mark.django_db
def test_verbosity_zero_prints_nothing_and_still_acts(extra_trigger: AddTrigger) -> None:
    uri = extra_trigger(Plain, bump("quiet"))
    assert run("install", uri, "-v", "0") == ""  # after the subcommand, as users type it
    assert pgtrigger.status(uri)[0].status is Status.INSTALLED
    out = StringIO()
    call_command("pgtrigger", "uninstall", uri, stdout=out, verbosity=0)
    assert out.getvalue() == ""
    assert pgtrigger.status(uri)[0].status is Status.UNINSTALLED
    assert "Applied: 1 create." in run("install", uri, "-v", "1")
    # -v 2 after the subcommand shows the SQL, as before it; --json ignores -v 0.
    assert 'DROP TRIGGER IF EXISTS "pgtrigger_quiet_' in run(
        "uninstall", uri, "--dry-run", "-v", "2"
    )
    assert json.loads(run("uninstall", uri, "--dry-run", "--json", "-v", "0"))["actions"]
