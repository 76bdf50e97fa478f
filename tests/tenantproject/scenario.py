"""django-tenants end to end, in a child process (tests/test_tenants.py runs it).

Needs ``DATABASE_URL`` pointing at an empty database and
``DJANGO_SETTINGS_MODULE=tests.tenantproject.settings``. Each step asserts what the database
holds; the first failing one ends the run with its traceback.
"""

from __future__ import annotations

import io

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django_tenants.utils import schema_context, tenant_context  # noqa: E402

import pgtrigger_live as pgtrigger  # noqa: E402
from pgtrigger_live.declare import registry  # noqa: E402
from pgtrigger_live.reconcile import catalog  # noqa: E402
from pgtrigger_live.reconcile.state import Status  # noqa: E402
from tests.tenantproject.customers.models import Announcement, Client  # noqa: E402
from tests.tenantproject.notes.models import Note  # noqa: E402

TRIGGER_DDL = ("TRIGGER", "FUNCTION", "DO $", "COMMENT ON")


def triggers() -> dict[tuple[str, str], int]:
    """(schema, trigger name) -> OID, for every trigger of ours in the database."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname, t.tgname, t.oid::bigint FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE t.tgname LIKE 'pgtrigger%%'"
        )
        return {(s, n): oid for s, n, oid in cursor.fetchall()}


def names(schema: str) -> set[str]:
    return {name.rsplit("_", 1)[0] for s, name in triggers() if s == schema}


def trigger_ddl(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if any(k in q["sql"] for k in TRIGGER_DDL)]


def command(*args: str, **options: object) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), verbosity=0, **options)
    return out.getvalue()


def step(title: str) -> None:
    print(f"-- {title}", flush=True)


step("migrate_schemas --shared installs the shared app's trigger in public")
command("migrate_schemas", "--shared")
assert names("public") == {"pgtrigger_keep_announcements"}, triggers()
public = {k: v for k, v in triggers().items() if k[0] == "public"}

step("three tenants: each gets the tenant triggers; public keeps its own (same OID)")
with schema_context("public"):
    for n in (1, 2, 3):
        Client(schema_name=f"t{n}", name=f"Tenant {n}").save()
tenant_names = {"pgtrigger_keep_notes", "pgtrigger_count_edits"}
for n in (1, 2, 3):
    assert names(f"t{n}") == tenant_names, triggers()
assert {k: v for k, v in triggers().items() if k[0] == "public"} == public, triggers()

step("migrate_schemas again: no trigger DDL in any schema, nothing dropped")
before = triggers()
with CaptureQueriesContext(connection) as queries:
    command("migrate_schemas")
assert trigger_ddl(queries) == [], trigger_ddl(queries)
assert triggers() == before

step("the deploy gate: ls --all-schemas --check; ls -s t1 asks the router as t1")
command("pgtrigger", "ls", "--all-schemas", "--check")
entries = pgtrigger.status(schemas=["t1"])
by_uri = {e.uri: e.status for e in entries}
assert by_uri["notes.Note:keep_notes"] is Status.INSTALLED, by_uri
assert by_uri["customers.Announcement:keep_announcements"] is Status.UNALLOWED, by_uri
built: list[int] = []
real_snapshot = catalog.Fetched.snapshot
catalog.Fetched.snapshot = lambda self: built.append(1) or real_snapshot(self)  # type: ignore[method-assign]
with CaptureQueriesContext(connection) as queries:
    assert pgtrigger.install(all_schemas=True).is_empty
catalog.Fetched.snapshot = real_snapshot  # type: ignore[method-assign]
catalog_reads = [q for q in queries.captured_queries if "pg_trigger" in q["sql"]]
assert len(catalog_reads) == 1, len(catalog_reads)  # one catalog query for all 4 schemas
# Decided from the rows (nochange.py): public's shared trigger, which each tenant reaches
# through its search path unclaimed, is not a tenant's to prune.
assert built == [], built

step("tenant_command and all_tenants_command run our command in each tenant")
out = command("tenant_command", "pgtrigger", "ls", "--check", schema_name="t2")
command("all_tenants_command", "pgtrigger", "ls", "--", "--check")

step("a tenant created later gets its triggers")
with schema_context("public"):
    Client(schema_name="t4", name="Tenant 4").save()
assert names("t4") == tenant_names, triggers()
assert {k: v for k, v in triggers().items() if k[0] == "public"} == public

step("ignore() inside tenant_context; the trigger is enforced outside it")
t1 = Client.objects.get(schema_name="t1")
with tenant_context(t1):
    note = Note.objects.create(text="x")
    note.text = "y"
    note.save()
    note.refresh_from_db()
    assert note.edits == 1
    try:
        with transaction.atomic():
            note.delete()
    except pgtrigger.ProtectedError:
        pass
    else:
        raise AssertionError("keep_notes did not fire in t1")
    with pgtrigger.ignore("notes.Note:keep_notes"):
        note.delete()
    assert not Note.objects.exists()
with schema_context("public"):
    announcement = Announcement.objects.create(text="hi")
    try:
        with transaction.atomic():
            announcement.delete()
    except pgtrigger.ProtectedError:
        pass
    else:
        raise AssertionError("keep_announcements did not fire in public")

step("a tenant trigger removed from the code: pruned in every tenant, never in public")
model, trigger = registry.entry("notes.Note:count_edits")  # type: ignore[misc]
registry.remove(model, trigger)
command("migrate_schemas")
for n in (1, 2, 3, 4):
    assert names(f"t{n}") == {"pgtrigger_keep_notes"}, triggers()
assert {k: v for k, v in triggers().items() if k[0] == "public"} == public, triggers()
command("pgtrigger", "ls", "--all-schemas", "--check")

step("a tenant whose schema was never created: public's trigger survives, others go on")
with schema_context("public"):
    ghost = Client(schema_name="ghost", name="Ghost")
    ghost.auto_create_schema = False
    ghost.save()
with tenant_context(ghost):
    pgtrigger.install()  # its search path is "ghost, public": it must not own public
assert {k: v for k, v in triggers().items() if k[0] == "public"} == public, triggers()
command("all_tenants_command", "pgtrigger", "install")
assert {k: v for k, v in triggers().items() if k[0] == "public"} == public, triggers()
command("pgtrigger", "ls", "--all-schemas")  # skipped with a warning, not an error

step("the router context is restored even when the block raises")
from pgtrigger_live.reconcile.schemas import DjangoTenants  # noqa: E402

source = DjangoTenants()
before_schema = connection.schema_name
try:
    with source.routing("default", "t2"):
        assert connection.schema_name == "t2"
        raise RuntimeError("boom")
except RuntimeError:
    pass
assert connection.schema_name == before_schema, connection.schema_name

step("--all-schemas puts it back everywhere in one pass")
registry.add(model, trigger)
plan = pgtrigger.install(all_schemas=True)
assert sorted(a.table.schema for a in plan.actions) == ["t1", "t2", "t3", "t4"], plan.describe()
for n in (1, 2, 3, 4):
    assert names(f"t{n}") == tenant_names, triggers()
print("scenario passed", flush=True)
