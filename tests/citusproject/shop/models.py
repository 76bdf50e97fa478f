"""One model per Citus table kind, each with triggers the runtime blocks can switch off."""

from __future__ import annotations

from django.db import models

import pgtrigger_live as pgtrigger


class Order(models.Model):
    """Distributed by ``id`` (migration 0002): rows spread over both workers."""

    amount = models.IntegerField(default=0)

    class Meta:
        triggers = [
            pgtrigger.Protect(name="protect_delete", operation=pgtrigger.Delete),
            # 47 characters: a 63-byte trigger name, which Citus shortens and hashes on shards.
            pgtrigger.Protect(
                name="protect_insert_of_one_more_row_with_a_long_name", operation=pgtrigger.Insert
            ),
            pgtrigger.Protect(
                name="protect_update",
                operation=pgtrigger.Update,
                when=pgtrigger.After,
                timing=pgtrigger.Immediate,
            ),
        ]


class Country(models.Model):
    """A reference table (migration 0002): a copy on every node."""

    code = models.CharField(max_length=2)

    class Meta:
        triggers = [pgtrigger.Protect(name="protect_delete", operation=pgtrigger.Delete)]


class Note(models.Model):
    """A plain table on the coordinator."""

    text = models.TextField(default="")

    class Meta:
        triggers = [pgtrigger.Protect(name="protect_delete", operation=pgtrigger.Delete)]


class Memo(models.Model):
    """A Citus local table (migration 0003): on the coordinator, in Citus' metadata."""

    text = models.TextField(default="")

    class Meta:
        triggers = [
            pgtrigger.Protect(name="protect_delete", operation=pgtrigger.Delete),
            pgtrigger.Protect(
                name="protect_update",
                operation=pgtrigger.Update,
                when=pgtrigger.After,
                timing=pgtrigger.Immediate,
            ),
        ]
