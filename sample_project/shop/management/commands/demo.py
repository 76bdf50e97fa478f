"""``manage.py demo``: migrate, then show each trigger at work and ``pgtrigger ls``."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import DatabaseError, connection, transaction

import pgtrigger_live as pgtrigger
from shop.models import Account, Customer, Order, Product, ProtectedGroup


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

        self.section("pgtrigger ls")
        call_command("pgtrigger", "ls", stdout=self.stdout)
        self.section("pgtrigger ls --check (exit status 0: everything in sync)")
        call_command("pgtrigger", "ls", "--check", stdout=self.stdout)
