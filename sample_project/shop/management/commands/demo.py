"""``manage.py demo``: migrate, then show each trigger at work, ``pgtrigger ls`` and what the
triggers cost during the demo (``pgtrigger stats``)."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import DatabaseError, connection, transaction

import pgtrigger_live as pgtrigger
from pgtrigger_live.sql import quote_ident
from shop.models import Account, Customer, Order, Product, ProtectedGroup, Shipment


class Command(BaseCommand):
    help = "Migrate the sample database and demonstrate pgtrigger_live."

    def section(self, title: str) -> None:
        self.stdout.write("")
        self.stdout.write(self.style.MIGRATE_HEADING(f"== {title}"))

    def refused(self, what: str, action: Any) -> None:
        try:
            with transaction.atomic():
                action()
        except pgtrigger.TriggerError as exc:
            # Typed refusals: the trigger URI, table and operation arrive as attributes.
            self.stdout.write(
                f"{what}: refused by the database -> {type(exc).__name__} from {exc.uri} "
                f"({exc.operation} on {exc.table}): {exc.message}"
            )
        except DatabaseError as exc:
            message = str(exc).splitlines()[0]
            self.stdout.write(f"{what}: refused by the database -> {type(exc).__name__}: {message}")
        else:
            self.stdout.write(self.style.ERROR(f"{what}: was NOT refused"))

    def handle(self, *args: Any, **options: Any) -> None:
        self.section("migrate (triggers are reconciled on post_migrate, no migration files)")
        call_command("migrate", verbosity=1)

        self.section("migrate again: nothing changed, so no DDL and no table lock")
        plan = pgtrigger.install(dry_run=True)
        self.stdout.write(f"planned actions: {len(plan.actions)}")
        entries = [e for e in pgtrigger.status() if e.compiled is not None]
        skipped = sum(1 for e in entries if e.compiled is not None and not e.compiled.is_rendered)
        self.stdout.write(
            f"{skipped} of {len(entries)} triggers found unchanged by their declaration digest, "
            "without compiling (custom Trigger subclasses are compiled)"
        )

        counting = self.count_trigger_calls()
        saved = Path(tempfile.mkdtemp(prefix="pgtrigger-demo-")) / "before.json"
        if counting:
            call_command("pgtrigger", "stats", "--save", str(saved), stdout=io.StringIO())

        self.section("Protect: an account cannot be deleted")
        account = Account.objects.create(name="ACME")
        self.refused(f"delete Account {account.pk}", account.delete)
        self.refused("raw SQL DELETE", lambda: Account.objects.all()._raw_delete("default"))
        self.stdout.write(f"accounts left: {Account.objects.count()}")

        self.section("ReadOnly + conditional trigger on Product")
        product = Product.objects.create(sku="SKU-1", price="9.99")
        product.price = "12.50"
        product.save()
        product.refresh_from_db()
        self.stdout.write(f"price changes counted by the database: {product.price_changes}")
        product.sku = "SKU-2"
        self.refused("change the read-only SKU", product.save)

        self.section("SoftDelete: deleting a customer marks it inactive")
        customer = Customer.objects.create(name="Ada")
        pk = customer.pk
        customer.delete()  # Django believes the row is gone...
        row = Customer.objects.values("name", "is_active").get(pk=pk)
        self.stdout.write(f"after delete(): {row}")

        self.section("FSM: order status transitions")
        order = Order.objects.create()
        Order.objects.filter(pk=order.pk).update(status="paid")
        self.stdout.write("cart -> paid: allowed")
        back_to_cart = Order.objects.filter(pk=order.pk)
        self.refused("paid -> cart", lambda: back_to_cart.update(status="cart"))

        self.section("Firing order: three BEFORE UPDATE triggers run in their declared order")
        shipment = Shipment.objects.create()
        Shipment.objects.filter(pk=shipment.pk).update(status="sent")
        shipment.refresh_from_db()
        self.stdout.write(f"declared audit=30, normalize=10, price=20; trail: {shipment.trail}")
        call_command("pgtrigger", "ls", "shop.Shipment:*", stdout=self.stdout)

        self.section("A trigger on a third-party model (auth.Group via a proxy)")
        group, _ = ProtectedGroup.objects.get_or_create(name="admins")
        self.refused("delete the admins group", group.delete)

        self.section("ignore: bypass chosen triggers for one block of code only")
        with pgtrigger.ignore("shop.Account:protect_deletes"):
            Account.objects.filter(name="ACME").delete()
        self.stdout.write(f"inside ignore(): deleted, accounts left: {Account.objects.count()}")
        survivor = Account.objects.create(name="Still protected")
        self.refused("right after the block, delete again", survivor.delete)
        with pgtrigger.ignore(Customer):  # every trigger of a model: a real (hard) delete
            Customer.objects.filter(is_active=False).delete()
        self.stdout.write(f"hard-deleted inactive customers, left: {Customer.objects.count()}")

        self.section("Drift: someone re-creates a trigger by hand with another condition")
        uri = "shop.Product:count_price_changes"
        pgid = pgtrigger.registered(uri)[0][1].get_pgid(Product)
        with connection.cursor() as cursor:  # keeps our comment, changes the WHEN clause
            cursor.execute(
                f'CREATE OR REPLACE TRIGGER "{pgid}" BEFORE UPDATE ON shop_product '
                f'FOR EACH ROW EXECUTE FUNCTION "{pgid}"()'
            )
        (entry,) = pgtrigger.status(uri)
        self.stdout.write(f"{uri}: {entry.status} ({entry.reason})")
        plan = pgtrigger.install(uri)
        self.stdout.write(f"install repaired {len(plan.actions)} trigger(s)")

        self.section("Tenant-style schemas: one reconcile covers several schemas")
        with connection.cursor() as cursor:
            for schema in ("tenant_a", "tenant_b"):
                cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                cursor.execute(
                    f"CREATE TABLE IF NOT EXISTS {schema}.shop_account "
                    "(LIKE public.shop_account INCLUDING ALL)"
                )
        schemas = ["-s", "tenant_a", "-s", "tenant_b"]
        self.stdout.write("the plan, with its reasons (nothing executed yet):")
        call_command("pgtrigger", "install", "shop.Account:*", "--dry-run", *schemas,
                     stdout=self.stdout)  # fmt: skip
        call_command("pgtrigger", "install", "shop.Account:*", *schemas, stdout=self.stdout)
        call_command("pgtrigger", "ls", "shop.Account:*", *schemas, stdout=self.stdout)
        self.stdout.write(
            "public's triggers were not touched: each schema owns only its own tables "
            "(docs/tenants.md; PGTRIGGER_LIVE_SCHEMAS and --all-schemas for every tenant)"
        )

        self.section("pgtrigger ls")
        call_command("pgtrigger", "ls", stdout=self.stdout)
        self.section("pgtrigger ls --check (exit status 0: everything in sync)")
        call_command("pgtrigger", "ls", "--check", stdout=self.stdout)
        if counting:
            self.section("pgtrigger stats --since: what each trigger cost during this demo")
            with connection.cursor() as cursor:  # send this session's counts now (PG15+)
                cursor.execute("SELECT pg_stat_force_next_flush()")
            call_command("pgtrigger", "stats", "--since", str(saved), stdout=self.stdout)
        self.still_running()

    def count_trigger_calls(self) -> bool:
        """Turn PostgreSQL's function counters on for this database (``pgtrigger stats``)."""
        self.section("track_functions: PostgreSQL counts trigger function calls")
        with connection.cursor() as cursor:
            cursor.execute("SHOW track_functions")
            setting = cursor.fetchone()[0]
            if setting != "none":
                self.stdout.write(f"track_functions is already {setting!r} here.")
                return True
            if connection.pg_version < 150000:  # no pg_stat_force_next_flush() before 15
                self.stdout.write("PostgreSQL < 15: the demo skips `pgtrigger stats`.")
                return False
            name = quote_ident(connection.settings_dict["NAME"])
            try:
                with transaction.atomic():
                    cursor.execute(f"ALTER DATABASE {name} SET track_functions = 'pl'")
                    cursor.execute("SET track_functions = 'pl'")  # this session too
            except DatabaseError as exc:
                self.stdout.write(
                    f"track_functions is off and cannot be turned on here "
                    f"({str(exc).splitlines()[0]}): the demo skips `pgtrigger stats`."
                )
                return False
        self.stdout.write(
            f"track_functions was off: ran ALTER DATABASE {name} SET track_functions = 'pl' "
            "(new connections count calls; no restart needed), and SET it for this session."
        )
        return True

    def still_running(self) -> None:
        """Say what the demo leaves behind: the embedded server keeps running between runs."""
        from django.conf import settings

        pgdata = getattr(settings, "EMBEDDED_PGDATA", None)
        self.section("What is still running")
        if pgdata is None:
            self.stdout.write("Nothing: the demo used DATABASE_URL's server.")
            return
        size = sum(f.stat().st_size for f in pgdata.rglob("*") if f.is_file()) // 2**20
        here = pgdata.parent.parent
        self.stdout.write(
            f"The embedded PostgreSQL started for the demo is still running "
            f"({settings.DATABASES['default']['HOST']}:{settings.DATABASES['default']['PORT']}, "
            f"data in {pgdata.relative_to(here)}, {size} MB), so the next run starts at once.\n"
            "Stop it:   python -m pgtrigger_live.testing.postgres "
            f"--datadir {pgdata.relative_to(here)} --stop\n"
            f"Then, to free the disk: rm -r {pgdata.relative_to(here)}"
        )
