"""The models the documentation shows, included into the pages by section (pymdownx.snippets).

What a page shows between ``--8<-- [start:NAME]`` and ``--8<-- [end:NAME]`` is this code: it is
imported, migrated and exercised by tests/test_docs_examples.py, so it cannot drift.
"""

from __future__ import annotations

from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models.functions import Now

import pgtrigger_live as pgtrigger


# --8<-- [start:account]
class Account(models.Model):
    name = models.CharField(max_length=64)

    class Meta:
        triggers = [
            pgtrigger.Protect(name="protect_deletes", operation=pgtrigger.Delete),
        ]


# --8<-- [end:account]


# --8<-- [start:invoice]
class Invoice(models.Model):
    status = models.CharField(max_length=16, default="draft")

    class Meta:
        triggers = [
            # Row level: refuse deleting paid invoices, with our own message.
            pgtrigger.Protect(
                name="protect_paid_delete",
                operation=pgtrigger.Delete,
                condition=pgtrigger.Q(old__status="paid"),
                message="Paid invoices cannot be deleted",
            ),
            # Statement level: one check per statement, even for a 1M-row UPDATE.
            pgtrigger.Protect(
                name="no_bulk_reopen",
                level=pgtrigger.Statement,
                operation=pgtrigger.Update,
                condition=pgtrigger.Q(old__status="paid", new__status="open"),
            ),
            # TRUNCATE can only be caught at statement level.
            pgtrigger.Protect(
                name="no_truncate", level=pgtrigger.Statement, operation=pgtrigger.Truncate
            ),
        ]


# --8<-- [end:invoice]


# --8<-- [start:contract]
class Contract(models.Model):
    number = models.CharField(max_length=16)
    status = models.CharField(max_length=16, default="draft")
    total = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    notes = models.TextField(blank=True)

    class Meta:
        triggers = [
            pgtrigger.ReadOnly(name="freeze_number", fields=["number"]),
            pgtrigger.ReadOnly(
                name="freeze_signed_total",
                fields=["total"],
                condition=pgtrigger.Q(old__status="signed"),  # only signed contracts
                message="The total of a signed contract cannot change",
            ),
        ]


# --8<-- [end:contract]


# --8<-- [start:soft-delete]
class Customer(models.Model):
    name = models.CharField(max_length=64)
    is_active = models.BooleanField(default=True)

    class Meta:
        triggers = [
            pgtrigger.SoftDelete(name="soft_delete", field="is_active", value=False),
        ]


class Document(models.Model):
    deleted_at = models.DateTimeField(null=True)

    class Meta:
        triggers = [
            # The first delete stamps the row; deleting an already deleted row removes it.
            pgtrigger.SoftDelete(
                name="soft_delete",
                field="deleted_at",
                value=Now(),
                condition=pgtrigger.Q(old__deleted_at__isnull=True),
            ),
        ]


# --8<-- [end:soft-delete]


# --8<-- [start:order]
class Order(models.Model):
    status = models.CharField(max_length=16, default="cart")
    priority = models.IntegerField(null=True)

    class Meta:
        triggers = [
            pgtrigger.FSM(
                name="status_flow",
                field="status",
                transitions=[("cart", "placed"), ("placed", "shipped"), ("placed", "cancelled")],
            ),
            pgtrigger.FSM(
                name="priority_flow",
                field="priority",
                transitions=[(None, 1), (1, 2), (2, 3)],
                message="Priority only goes up, one step at a time",
            ),
        ]


# --8<-- [end:order]


# --8<-- [start:article]
class Article(models.Model):
    title = models.CharField(max_length=200, db_column="headline")
    body = models.TextField()
    search = SearchVectorField(null=True)

    class Meta:
        triggers = [
            pgtrigger.UpdateSearchVector(
                name="search_vector",
                vector_field="search",
                document_fields=["title", "body"],
                config_name="pg_catalog.english",  # the default
            ),
        ]


# --8<-- [end:article]


# --8<-- [start:product]
class PriceRise(models.Model):
    product_id = models.BigIntegerField()
    old = models.DecimalField(max_digits=10, decimal_places=2)
    new = models.DecimalField(max_digits=10, decimal_places=2)


class Product(models.Model):
    price = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        triggers = [
            # One row in shop_pricerise per product whose price went up, one query per UPDATE.
            pgtrigger.Composer(
                name="audit_price_rises",
                level=pgtrigger.Statement,
                when=pgtrigger.After,
                operation=pgtrigger.Update,
                condition=pgtrigger.Q(new__price__gt=pgtrigger.F("old__price")),
                func=pgtrigger.Func(
                    "INSERT INTO shop_pricerise (product_id, old, new)"
                    " SELECT old_values.id, old_values.price, new_values.price"
                    " FROM {cond_joined_values}; RETURN NULL;"
                ),
            ),
        ]


# --8<-- [end:product]


# --8<-- [start:payment]
class Payment(models.Model):
    status = models.CharField(max_length=16, default="draft")
    amount = models.IntegerField(default=0)
    reference = models.IntegerField(null=True)

    class Meta:
        triggers = [
            # Published payments never go back to draft.
            pgtrigger.Protect(
                name="no_unpublish",
                operation=pgtrigger.Update,
                condition=pgtrigger.Q(old__status="published", new__status="draft"),
            ),
            # The amount may only grow, by at most 1000 at a time.
            pgtrigger.Protect(
                name="amount_grows",
                operation=pgtrigger.Update,
                condition=(
                    pgtrigger.Q(new__amount__lt=pgtrigger.F("old__amount"))
                    | pgtrigger.Q(new__amount__gt=pgtrigger.F("old__amount") + 1000)
                ),
                message="The amount only grows, by at most 1000",
            ),
            # A reference, once set, is kept (NULL-safe: NULL to a value is a change).
            pgtrigger.Protect(
                name="keep_reference",
                operation=pgtrigger.Update,
                condition=(
                    pgtrigger.Q(old__reference__isnull=False)
                    & pgtrigger.Q(old__reference__df=pgtrigger.F("new__reference"))
                ),
            ),
        ]


# --8<-- [end:payment]


# --8<-- [start:page]
class Page(models.Model):
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    views = models.IntegerField(default=0)
    edits = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        triggers = [
            # Count the edits of the content: a change to views alone is not an edit.
            pgtrigger.Trigger(
                name="count_edits",
                when=pgtrigger.Before,
                operation=pgtrigger.Update,
                condition=pgtrigger.AnyChange("title", "body"),
                func="NEW.edits := OLD.edits + 1; RETURN NEW;",
            ),
            # Skip the write entirely when nothing but the auto_now stamp would change.
            pgtrigger.Trigger(
                name="skip_noop_saves",
                when=pgtrigger.Before,
                operation=pgtrigger.Update,
                condition=pgtrigger.AllDontChange(exclude_auto=True),
                func="RETURN NULL;",
            ),
        ]


# --8<-- [end:page]


# --8<-- [start:stock]
class Stock(models.Model):
    sku = models.CharField(max_length=32)
    quantity = models.IntegerField(default=0)

    class Meta:
        triggers = [
            pgtrigger.Trigger(
                name="no_negative_stock",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert | pgtrigger.Update,
                condition=pgtrigger.Condition('NEW."quantity" < 0'),
                func=pgtrigger.raise_sql("Stock cannot go below zero") + " RETURN NEW;",
            ),
        ]


# --8<-- [end:stock]


# --8<-- [start:transfer]
class Transfer(models.Model):
    amount = models.IntegerField()

    class Meta:
        triggers = [
            # Deferrable: checked at COMMIT, after every statement of the transaction ran.
            pgtrigger.Protect(
                name="check_totals",
                when=pgtrigger.After,
                operation=pgtrigger.Insert,
                timing=pgtrigger.Deferred,
                condition=pgtrigger.Q(new__amount__lt=0),
            ),
        ]


# --8<-- [end:transfer]


__all__ = [
    "Account",
    "Article",
    "Contract",
    "Customer",
    "Document",
    "Invoice",
    "Order",
    "Page",
    "Payment",
    "PriceRise",
    "Product",
    "Stock",
    "Transfer",
]
