"""Citus end to end, in a child process (tests/test_citus.py runs it).

Needs ``DATABASE_URL`` pointing at the coordinator of a cluster with two workers and
``DJANGO_SETTINGS_MODULE=tests.settings``. Each step asserts what the cluster holds.
"""

from __future__ import annotations

import subprocess
import sys

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import DatabaseError, connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from tests.testapp.models import Account, Invoice, Protected, Versioned  # noqa: E402

TRIGGER_DDL = ("CREATE TRIGGER", "CREATE OR REPLACE TRIGGER", "DROP TRIGGER", "COMMENT ON")


def sql(statement: str, params: list[str] | None = None) -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return list(cursor.fetchall()) if cursor.description else []


def our_triggers(table: str) -> set[str]:
    rows = sql(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
        [table],
    )
    return {str(r[0]) for r in rows}


def ddl_of(*args: str) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        call_command("pgtrigger", *args, verbosity=0)
    return [q["sql"] for q in ctx.captured_queries if any(k in q["sql"] for k in TRIGGER_DDL)]


def workers_of(table: str) -> set[str]:
    rows = sql(
        "SELECT DISTINCT nodeport FROM citus_shards WHERE table_name = %s::regclass", [table]
    )
    return {str(r[0]) for r in rows}


def main() -> None:
    # 1. Plain tables on a coordinator: migrate installs every trigger.
    call_command("migrate", verbosity=0)
    protected, invoice = Protected._meta.db_table, Invoice._meta.db_table
    assert our_triggers(protected)
    assert our_triggers(invoice)
    # 2. Distribute one table and make another a reference table, as a migration would
    #    (Citus needs its own setting to distribute a table that has triggers).
    with transaction.atomic():
        sql("SET LOCAL citus.enable_unsafe_triggers = on")
        sql("SELECT create_distributed_table(%s, 'id')", [protected])
        # More distributed tables: uninstalling on several needs one connection per node.
        sql("SELECT create_distributed_table(%s, 'id')", [Versioned._meta.db_table])
        sql("SELECT create_reference_table(%s)", [invoice])
    kinds = {
        str(r[0]): str(r[1]) for r in sql("SELECT table_name, citus_table_type FROM citus_tables")
    }
    assert kinds[protected] == kinds[Versioned._meta.db_table] == "distributed", kinds
    assert kinds[invoice] == "reference", kinds
    installed = {t: our_triggers(t) for t in (protected, invoice)}
    assert all(installed.values()), installed

    # 3. No-op on the cluster: no DDL.
    assert ddl_of("install") == [], ddl_of("install")

    # 4. Prune by uninstalling, then install from the coordinator.
    call_command("pgtrigger", "uninstall", verbosity=0)
    assert not our_triggers(protected)
    assert not our_triggers(invoice)
    statements = ddl_of("install")
    assert statements, "nothing installed"
    assert {t: our_triggers(t) for t in (protected, invoice)} == installed

    # 5. Change: a trigger whose stored signature differs is replaced.
    name = sorted(installed[protected])[0]
    sql(f'COMMENT ON TRIGGER "{name}" ON {protected} IS %s', ["stale"])
    assert ddl_of("install"), "a changed trigger was not re-created"
    assert ddl_of("install") == []

    # 5b. Two deploys at once from two processes: both succeed, the triggers end up installed
    #     once, and a third run has nothing to do.
    call_command("pgtrigger", "uninstall", verbosity=0)
    code = "import django; django.setup(); from django.core.management import call_command; "
    code += "call_command('pgtrigger', 'install', verbosity=0)"
    deploys = [
        subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    for deploy in deploys:
        _, err = deploy.communicate(timeout=120)
        assert deploy.returncode == 0, err.decode()[-2000:]
    assert {t: our_triggers(t) for t in (protected, invoice)} == installed
    assert ddl_of("install") == []

    # 6. Effects on rows routed to both workers.
    Protected.objects.bulk_create([Protected(id=i) for i in range(1, 21)])
    assert len(workers_of(protected)) == 2
    refused = ""
    try:
        with transaction.atomic():
            Protected.objects.filter(id__in=range(1, 21)).delete()
    except DatabaseError as exc:
        refused = str(exc)
    assert "Cannot delete rows" in refused, "Protect did not fire on the distributed table"
    assert Protected.objects.count() == 20

    # 7. SoftDelete on a plain table of the coordinator works as on one server (on a
    #    reference table it is refused: runtime and probe scenarios).
    Account.objects.bulk_create([Account(name=f"a{i}") for i in range(4)])
    Account.objects.filter(name="a1").delete()
    assert Account.objects.filter(is_active=True).count() == 3
    assert Account.objects.count() == 4
    print("scenario passed")


if __name__ == "__main__":
    main()
