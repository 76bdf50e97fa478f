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


# -- built-in triggers, conditions and typed errors (tests/test_contrib.py, test_conditions.py,
# -- test_errors.py) ---------------------------------------------------------------------------


class Invoice(models.Model):
    """Protect, ReadOnly (with a condition) and FSM declared in Meta, with custom messages."""

    number = models.CharField(max_length=32, default="")
    status = models.CharField(max_length=16, default="draft")
    total = models.DecimalField(max_digits=10, decimal_places=2, default=0)

    class Meta:
        triggers = [
            pgtrigger.Protect(
                name="protect_paid_delete",
                operation=pgtrigger.Delete,
                condition=pgtrigger.Q(old__status="paid"),
                message="Paid invoices cannot be deleted",
            ),
            pgtrigger.ReadOnly(name="freeze_number", fields=["number"]),
            pgtrigger.ReadOnly(
                name="freeze_paid_total",
                fields=["total"],
                condition=pgtrigger.Q(old__status="paid"),
                message="The total of a paid invoice cannot change",
            ),
            pgtrigger.FSM(
                name="status_flow",
                field="status",
                transitions=[("draft", "open"), ("open", "paid"), ("open", "void")],
            ),
        ]

    def __str__(self) -> str:
        return self.number


class Account(models.Model):
    """DELETE becomes UPDATE ... SET is_active = false."""

    name = models.CharField(max_length=32, default="")
    is_active = models.BooleanField(default=True)

    class Meta:
        triggers = [pgtrigger.SoftDelete(name="soft_delete", field="is_active", value=False)]

    def __str__(self) -> str:
        return self.name


class CondRow(models.Model):
    """Nullable columns of several kinds, for condition truth tables."""

    a = models.IntegerField(null=True)
    b = models.IntegerField(null=True)
    s = models.CharField(max_length=32, null=True)  # noqa: DJ001
    fk = models.ForeignKey(Plain, null=True, on_delete=models.SET_NULL, related_name="+")
    stamp = models.DateTimeField(auto_now=True, null=True)

    def __str__(self) -> str:
        return f"CondRow {self.pk}"


class ConditionHit(models.Model):
    """Written by AFTER triggers whose WHEN condition was true."""

    row_id = models.BigIntegerField()
    condition = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"{self.condition} on {self.row_id}"


class Odd(models.Model):
    """Hostile table and column names (Django itself refuses '"' in names and '$' in columns)."""

    state = models.CharField(max_length=64, null=True, db_column="it's state; col")  # noqa: DJ001
    level = models.IntegerField(default=0, db_column="Level'; --")
    gone = models.CharField(max_length=64, null=True, db_column="gone -- col")  # noqa: DJ001
    data = models.JSONField(null=True)
    when = models.DateTimeField(null=True)

    class Meta:
        db_table = "odd 'table'; --"

    def __str__(self) -> str:
        return str(self.state)


class TsVectorField(models.Field):  # type: ignore[type-arg]
    """A tsvector column (like contrib.postgres' SearchVectorField, without the import)."""

    def db_type(self, connection: object) -> str:
        return "tsvector"


class SearchDoc(models.Model):
    """A tsvector kept up to date from two columns, one with its own db_column."""

    title = models.CharField(max_length=64, default="", db_column="Title Col")
    body = models.TextField(default="")
    other = models.IntegerField(default=0)
    vector = TsVectorField(null=True)

    def __str__(self) -> str:
        return self.title


class MtiParent(models.Model):
    name = models.CharField(max_length=32, default="")

    def __str__(self) -> str:
        return self.name


class MtiChild(MtiParent):
    extra = models.IntegerField(default=0)


class CompositeThing(models.Model):
    """A composite primary key (Django 5.2+)."""

    pk = models.CompositePrimaryKey("part_a", "part_b")
    part_a = models.IntegerField()
    part_b = models.IntegerField()
    label = models.CharField(max_length=32, default="")
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"{self.part_a}/{self.part_b}"


class SchemaRow(models.Model):
    """Columns for every built-in, on tables whose ``db_table`` names a schema."""

    name = models.CharField(max_length=32, default="")
    is_active = models.BooleanField(default=True)
    state = models.CharField(max_length=16, default="new")
    body = models.TextField(default="")
    vector = TsVectorField(null=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name


class QualifiedRow(SchemaRow):
    """Schema-qualified, the schema on the search_path (``'"schema"."table"'`` idiom)."""

    class Meta:
        db_table = '"public"."pgtl_qualified_row"'


class OffPathRow(SchemaRow):
    """In a schema that is not on the search_path (``'schema"."table'`` idiom)."""

    class Meta:
        db_table = 'pgtl_off_path"."off_path_row'


class Reading(models.Model):
    """A partitioned table (``PARTITION BY RANGE (id)``, created by RunSQL as projects do):
    its rows live in two partitions, whose triggers are clones of the parent's."""

    id = models.BigIntegerField(primary_key=True)
    label = models.TextField(default="")

    def __str__(self) -> str:
        return self.label
