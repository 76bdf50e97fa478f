"""What the commands and migrate print: plain data for the wording, real commands for the rest."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, models

import pgtrigger_live as pgtrigger
from pgtrigger_live.exceptions import InstallError
from pgtrigger_live.reconcile import reporting
from pgtrigger_live.reconcile.planner import Action, ActionKind, Entry, Plan
from pgtrigger_live.reconcile.state import Status, TableRef
from tests import lockprobe
from tests.conftest import ROOT, subprocess_env
from tests.testapp.models import Plain

AddTrigger = Callable[[type[models.Model], pgtrigger.Trigger], str]
TABLE = TableRef("public", "t", 1)


def action(kind: ActionKind, uri: str = "a.M:x", reason: str = "why") -> Action:
    return Action(kind, uri, "pgid", TABLE, reason, ())


def entry(status: Status) -> Entry:
    return Entry(uri="a.M:x", pgid="pgid", status=status, reason="", table=TABLE)


# -- wording (plain data) ----------------------------------------------------------------------


def test_plan_summary_counts_actions_most_frequent_first() -> None:
    plan = Plan(
        (
            action(ActionKind.CREATE),
            action(ActionKind.REPLACE),
            action(ActionKind.DROP),
            action(ActionKind.REPLACE),
        ),
        (("a.M:y", "table missing"),),
    )
    assert reporting.plan_summary(plan, dry_run=True) == (
        "Would apply: 2 replace, 1 create, 1 drop; 1 skipped."
    )
    assert reporting.plan_summary(Plan(), dry_run=False) == "Applied: nothing."


def test_commands_are_spelled_for_a_shell() -> None:
    assert reporting.command() == "python manage.py pgtrigger install"
    assert reporting.command(
        "prune", uris=["a.M:*"], database="other", schemas=['Odd "Name"'], all_schemas=True
    ) == ("python manage.py pgtrigger prune 'a.M:*' -d other -s 'Odd \"Name\"' --all-schemas")


def test_fix_hint_names_the_command_that_brings_the_database_in_sync() -> None:
    fine = [entry(Status.INSTALLED), entry(Status.FOREIGN)]
    assert reporting.fix_hint(fine, prune_on_install=True) is None
    stale = [*fine, entry(Status.PRUNE)]
    assert reporting.fix_hint(stale, prune_on_install=True) == (
        "To fix: python manage.py pgtrigger install"
    )
    assert reporting.fix_hint(stale, prune_on_install=False, database="other") == (
        "To fix: python manage.py pgtrigger prune -d other"
    )
    assert reporting.status_summary(stale) == "3 triggers: 1 foreign, 1 installed, 1 prune."


def test_a_failed_reconcile_under_migrate_is_one_line() -> None:
    error = RuntimeError("Database 'default': public.t stayed busy.\nBlocking: pid 1")
    assert reporting.migrate_failed("default", error) == (
        "Migrations were applied to database 'default', but its triggers were not "
        "(Database 'default': public.t stayed busy). When that is fixed, run: "
        "python manage.py pgtrigger install"
    )


def test_did_you_mean_only_for_close_names() -> None:
    assert reporting.did_you_mean("defualt", ["default", "other"]) == "; did you mean 'default'?"
    assert reporting.did_you_mean("replica", ["default", "other"]) == ""


# -- commands ----------------------------------------------------------------------------------


def run(*args: str, **options: Any) -> str:
    out = StringIO()
    call_command("pgtrigger", *args, stdout=out, no_color=True, **options)
    return out.getvalue()


def bump(name: str) -> pgtrigger.Trigger:
    return pgtrigger.Trigger(
        name=name, when=pgtrigger.Before, operation=pgtrigger.Insert, func="RETURN NEW;"
    )


@pytest.mark.django_db
def test_unknown_alias_and_bad_uri_are_one_line_each() -> None:
    with pytest.raises(CommandError) as unknown:
        run("ls", "-d", "defualt")
    assert str(unknown.value) == (
        "Unknown database alias 'defualt'; did you mean 'default'? (DATABASES has: default, other)."
    )
    with pytest.raises(CommandError) as bad:
        run("install", "testapp.Protected:protect_delet")
    assert str(bad.value) == (
        'URI "testapp.Protected:protect_delet" not found in pgtrigger registry; '
        "did you mean 'testapp.Protected:protect_delete'?"
    )


def test_a_server_that_is_down_is_one_line() -> None:
    env = dict(subprocess_env(), DATABASE_URL="postgresql://postgres@127.0.0.1:1/nowhere")
    result = subprocess.run(
        [sys.executable, "-m", "django", "pgtrigger", "ls"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        "CommandError: Cannot reach database 'default' (nowhere on 127.0.0.1:1): "
    )


@pytest.mark.django_db
def test_ls_ends_with_a_summary_and_the_fix(extra_trigger: AddTrigger) -> None:
    total = len(pgtrigger.status())
    assert run("ls").splitlines()[-1] == f"{total} triggers: {total} installed."
    uri = extra_trigger(Plain, bump("summarised"))
    assert run("ls").splitlines()[-2:] == [
        f"{total + 1} triggers: {total} installed, 1 uninstalled.",
        "To fix: python manage.py pgtrigger install",
    ]
    with pytest.raises(CommandError, match=f"{uri} UNINSTALLED. To fix: python manage.py"):
        run("ls", "--check")
    out = run("install", "--dry-run", "--sql")
    assert out.splitlines()[-1] == "Would apply: 1 create."
    assert run("install").splitlines()[-1] == "Applied: 1 create."


@pytest.mark.django_db
@pytest.mark.parametrize("verbosity", [0, 1, 2])
def test_migrate_reports_trigger_actions_by_verbosity(
    extra_trigger: AddTrigger, verbosity: int
) -> None:
    uri = extra_trigger(Plain, bump("migrated"))
    out = StringIO()
    call_command("migrate", verbosity=verbosity, stdout=out, no_color=True)
    lines = out.getvalue().splitlines()
    create = f"  create   {uri} on public.testapp_plain"
    if verbosity == 0:
        assert lines == []
    elif verbosity == 1:
        assert lines[-3:] == ["Reconciling triggers:", create, "  Applied: 1 create."]
    else:
        assert lines[-3:] == [
            "Reconciling triggers:",
            f"{create}: not installed",
            "  Applied: 1 create.",
        ]
    assert pgtrigger.status(uri)[0].status is Status.INSTALLED
    if verbosity == 2:
        again = StringIO()
        call_command("migrate", verbosity=2, stdout=again)
        assert again.getvalue().splitlines()[-1] == "Triggers: in sync, nothing to do."


@pytest.mark.django_db
def test_a_failed_reconcile_under_migrate_says_what_was_applied(
    extra_trigger: AddTrigger, settings: Any
) -> None:
    settings.PGTRIGGER_LIVE_LOCK_DEADLINE_S = 0.1
    uri = extra_trigger(Plain, bump("migrate_blocked"))
    out = StringIO()
    with lockprobe.connect(connection.get_connection_params()) as other, other.transaction():
        other.execute(f"LOCK TABLE {Plain._meta.db_table} IN SHARE MODE /* migrate blocker */")
        with pytest.raises(CommandError) as info:
            call_command("migrate", verbosity=1, stdout=out)
    message = str(info.value)
    assert message.startswith(
        "Migrations were applied to database 'default', but its triggers were not "
        "(Database 'default' ("
    )
    assert message.endswith("When that is fixed, run: python manage.py pgtrigger install")
    assert "\n" not in message
    assert isinstance(info.value, InstallError)  # callers catching InstallError still do
    assert "migrate blocker" in out.getvalue()  # the details went to stdout
    assert pgtrigger.status(uri)[0].status is Status.UNINSTALLED
