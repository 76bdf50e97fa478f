from __future__ import annotations

from django.contrib.auth.models import User
from django.db import models

import pgtrigger_live as pgtrigger


class Protected(models.Model):
    """Deletes are refused."""

    name = models.CharField(max_length=64, default="")

    class Meta:
        triggers = [pgtrigger.Protect(name="protect_delete", operation=pgtrigger.Delete)]


class Versioned(models.Model):
    """A conditional BEFORE UPDATE trigger with a PL/pgSQL body."""

    value = models.IntegerField(default=0)
    version = models.IntegerField(default=0)

    class Meta:
        triggers = [
            pgtrigger.Trigger(
                name="bump_version",
                when=pgtrigger.Before,
                operation=pgtrigger.Update,
                condition=pgtrigger.Q(old__value__df=pgtrigger.F("new__value")),
                func="NEW.version := OLD.version + 1; RETURN NEW;",
            ),
            pgtrigger.ReadOnly(name="freeze_id", fields=["id"]),
        ]


class TimestampedBase(models.Model):
    """Abstract parent: children inherit Meta.triggers."""

    note = models.CharField(max_length=64, default="")

    class Meta:
        abstract = True
        triggers = [
            pgtrigger.Trigger(
                name="after_update_statement",
                level=pgtrigger.Statement,
                when=pgtrigger.After,
                operation=pgtrigger.Update,
                func="RETURN NULL;",
            ),
        ]


class InheritsTriggers(TimestampedBase):
    class Meta(TimestampedBase.Meta):
        pass


class Order(models.Model):
    """A mixed-case table name with a space and a custom db_column with a space."""

    amount = models.IntegerField(default=0, db_column="Amount Column")
    status = models.CharField(max_length=16, default="new")

    class Meta:
        db_table = "Order Table"
        triggers = [
            pgtrigger.Trigger(
                name="amount_positive",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert | pgtrigger.UpdateOf("amount"),
                condition=pgtrigger.Q(new__amount__lt=0),
                func="RAISE EXCEPTION 'amount must be positive: %', NEW.\"Amount Column\";",
            ),
        ]


class Plain(models.Model):
    """No declared triggers; tests register some on it at run time."""

    value = models.IntegerField(default=0)
    label = models.CharField(max_length=32, default="")


class UserProxy(User):
    """Triggers on a model we don't own go through a proxy."""

    class Meta:
        proxy = True


pgtrigger.register(
    pgtrigger.Protect(
        name="protect_superusers",
        operation=pgtrigger.Delete,
        condition=pgtrigger.Q(old__is_superuser=True),
    )
)(UserProxy)
