"""Every model shows one pgtrigger_live feature; ``manage.py demo`` exercises them."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import models

import pgtrigger_live as pgtrigger


class Account(models.Model):
    """Accounts are never deleted, whatever code path tries."""

    name = models.CharField(max_length=64)

    class Meta:
        triggers = [
            pgtrigger.Protect(
                name="protect_deletes",
                operation=pgtrigger.Delete,
                message="Accounts are kept forever; deactivate them instead",
            )
        ]


class Product(models.Model):
    """The SKU is read-only once written; the price is free to change."""

    sku = models.CharField(max_length=32)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    price_changes = models.IntegerField(default=0)

    class Meta:
        triggers = [
            pgtrigger.ReadOnly(name="sku_read_only", fields=["sku"]),
            # A conditional trigger with a PL/pgSQL body: count real price changes.
            pgtrigger.Trigger(
                name="count_price_changes",
                when=pgtrigger.Before,
                operation=pgtrigger.Update,
                condition=pgtrigger.Q(old__price__df=pgtrigger.F("new__price")),
                func="NEW.price_changes := OLD.price_changes + 1; RETURN NEW;",
            ),
        ]


class Customer(models.Model):
    """A DELETE only marks the row inactive (soft delete)."""

    name = models.CharField(max_length=64)
    is_active = models.BooleanField(default=True)

    class Meta:
        triggers = [pgtrigger.SoftDelete(name="soft_delete", field="is_active", value=False)]


class Order(models.Model):
    """The status can only move along the allowed transitions."""

    status = models.CharField(max_length=16, default="cart")

    class Meta:
        triggers = [
            pgtrigger.FSM(
                name="status_flow",
                field="status",
                transitions=[("cart", "paid"), ("paid", "shipped"), ("cart", "cancelled")],
            )
        ]


def _append(step: str) -> str:
    return f"NEW.trail := concat_ws(' > ', nullif(NEW.trail, ''), '{step}'); RETURN NEW;"


class Shipment(models.Model):
    """Three BEFORE UPDATE triggers, fired in their declared order, not by name: each one
    appends its step to ``trail``, so the row shows the order they ran in."""

    status = models.CharField(max_length=16, default="packed")
    trail = models.TextField(default="", blank=True)

    class Meta:
        triggers = [
            pgtrigger.Trigger(
                name=name,
                order=order,
                when=pgtrigger.Before,
                operation=pgtrigger.Update,
                func=_append(name),
            )
            # By name Postgres would run audit, normalize, price.
            for name, order in (("audit", 30), ("normalize", 10), ("price", 20))
        ]


class ProtectedGroup(Group):
    """Triggers on a model you don't own (auth.Group) go through a proxy."""

    class Meta:
        proxy = True


pgtrigger.register(
    pgtrigger.Protect(
        name="protect_admins_group",
        operation=pgtrigger.Delete,
        condition=pgtrigger.Q(old__name="admins"),
    )
)(ProtectedGroup)
