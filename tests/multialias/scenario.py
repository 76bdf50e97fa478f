"""Three aliases on one database, each migrated in turn, twice: no trigger is ever dropped.

Child process of tests/test_multialias.py (``DATABASE_URL``: an empty database;
``DJANGO_SETTINGS_MODULE=tests.multialias.settings``).
"""

from __future__ import annotations

import io

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402

import pgtrigger_live as pgtrigger  # noqa: E402
from pgtrigger_live.reconcile.state import Status  # noqa: E402
from tests.multialias.settings import ByApp  # noqa: E402


def triggers() -> dict[tuple[str, str], int]:
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname, t.tgname, t.oid::bigint FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE t.tgname LIKE 'pgtrigger%%'"
        )
        return {(s, n.rsplit("_", 1)[0]): oid for s, n, oid in cursor.fetchall()}


def run(*args: str, **options: object) -> None:
    call_command(*args, stdout=io.StringIO(), verbosity=0, **options)


with connections["default"].cursor() as cursor:
    cursor.execute("CREATE SCHEMA sales")

print("-- first deploy: migrate every alias in turn", flush=True)
# sales migrates first, so its django_migrations table is its own (in schema sales); admin
# shares public's with default, where default's migrate records audit's migration as applied
# without running it (Django's behaviour for a shared table): its table is made by hand.
seen: list[dict[tuple[str, str], int]] = []
for alias in ("sales", "default", "admin"):
    run("migrate", database=alias)
    if alias == "admin":
        from tests.multialias.audit.models import AuditRow

        with connections["admin"].schema_editor() as editor:
            editor.create_model(AuditRow)
        run("pgtrigger", "install", database="admin")
    seen.append(triggers())
expected = {
    ("public", "pgtrigger_keep_billing"),
    ("sales", "pgtrigger_keep_sales"),
    ("public", "pgtrigger_keep_audit"),
}
assert set(seen[-1]) == expected, seen
assert seen[0].items() <= seen[1].items() <= seen[2].items(), seen  # nothing dropped between
first = seen[-1]

print("-- two more deploys: every alias, every time; no OID changes", flush=True)
for _ in range(2):
    for alias in ("sales", "default", "admin"):
        run("migrate", database=alias)
        assert triggers() == first, (alias, triggers(), first)
        run("pgtrigger", "install", database=alias)
        assert triggers() == first, (alias, triggers(), first)
        run("pgtrigger", "ls", "--check", database=alias)

print("-- what each alias shows", flush=True)
for alias in ("default", "sales", "admin"):
    statuses = {e.uri: e.status for e in pgtrigger.status(database=alias)}
    mine = {
        "default": "billing.BillingRow:keep_billing",
        "sales": "sales.SalesRow:keep_sales",
        "admin": "audit.AuditRow:keep_audit",
    }[alias]
    assert statuses.pop(mine) is Status.INSTALLED, (alias, statuses)
    assert set(statuses.values()) == {Status.UNALLOWED}, (alias, statuses)  # no PRUNE

print("-- a model withdrawn by the router is still shown and prunable", flush=True)
ByApp.ROUTES["audit"] = "nowhere"
(entry,) = pgtrigger.prunable(database="admin")
assert entry.pgid.startswith("pgtrigger_keep_audit"), entry
run("pgtrigger", "prune", database="admin")
assert set(triggers()) == expected - {("public", "pgtrigger_keep_audit")}, triggers()
print("scenario passed", flush=True)
