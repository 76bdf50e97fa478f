"""Run a django-pghistory project on pgtrigger_live and print what happened as JSON.

``python -m tests.historyapp.scenario`` with ``DJANGO_SETTINGS_MODULE=tests.historyapp.settings``
and ``DATABASE_URL``; tests/test_compat_pghistory.py runs it in a subprocess because its
INSTALLED_APPS (the compatibility app, django-pghistory) differ from the main suite's.
"""

from __future__ import annotations

import io
import json
import sys
from typing import Any

import django

DDL = ("CREATE", "DROP", "ALTER", "COMMENT")


def triggers() -> dict[str, dict[str, Any]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.tgname, t.oid::bigint, p.oid::bigint FROM pg_trigger t"
            " JOIN pg_proc p ON p.oid = t.tgfoid"
            " WHERE t.tgrelid = 'historyapp_account'::regclass AND NOT t.tgisinternal"
        )
        found = {name: {"oid": oid, "function_oid": foid} for name, oid, foid in cursor.fetchall()}
        cursor.execute("SELECT proname FROM pg_proc WHERE proname LIKE 'pgtrigger\\_%%'")
        functions = sorted(row[0] for row in cursor.fetchall())
        # django-pgtrigger's shared function: only its migration SQL would have created it.
        cursor.execute("SELECT count(*) FROM pg_proc WHERE proname = '_pgtrigger_should_ignore'")
        (shared,) = cursor.fetchone()
    return {"triggers": found, "functions": functions, "should_ignore_functions": shared}


def migrate() -> list[str]:
    """Run ``migrate``; return the DDL statements it sent."""
    from django.core.management import call_command
    from django.db import connection

    sent: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.lstrip().upper().startswith(DDL):
            sent.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        call_command("migrate", verbosity=0)
    return sent


def main() -> None:
    django.setup()
    import pgtrigger
    import pgtrigger.core
    from django.core.management import call_command

    import pgtrigger_live
    from pgtrigger_live.declare.changes import _Change
    from tests.historyapp.models import CHANGED, Account

    result: dict[str, Any] = {
        "pgtrigger_is_ours": pgtrigger.Trigger is pgtrigger_live.Trigger,
        "change_base_is_ours": pgtrigger.core._Change is _Change,
        "real_pgtrigger_loaded": any(
            "site-packages" in (getattr(m, "__file__", "") or "")
            for name, m in sys.modules.items()
            if name == "pgtrigger" or name.startswith("pgtrigger.")
        ),
    }
    # Raises SystemCheckError on any message, pghistory.E001 included.
    call_command("check", fail_level="WARNING", stdout=io.StringIO())
    result["first_migrate_ddl"] = len(migrate())
    result["after_first"] = triggers()
    result["second_migrate_ddl"] = migrate()
    from django.db import connection
    from django.db.migrations.recorder import MigrationRecorder

    applied = MigrationRecorder(connection).applied_migrations()
    result["applied"] = sorted(name for app, name in applied if app == "historyapp")
    # After the switch, makemigrations wants to write nothing (no trigger operations).
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
    if not CHANGED:
        from django.apps import apps

        events = apps.get_model("historyapp", "AccountEvent").objects.order_by("pgh_id")
        account = Account.objects.create(name="ada", balance=1)
        account.balance = 2  # a raise: the conditional event fires
        account.save()
        account.balance = 0  # not a raise: only the snapshot
        account.save()
        account.delete()
        result["labels"] = list(events.values_list("pgh_label", flat=True))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
