from __future__ import annotations

from django.db import models

import pgtrigger_live as pgtrigger


class Gauge(models.Model):
    """``reading`` became a bigint in migration 0003; its trigger's WHEN uses it."""

    reading = models.BigIntegerField(default=0)
    changes = models.IntegerField(default=0)

    class Meta:
        triggers = [
            pgtrigger.Trigger(
                name="count_changes",
                when=pgtrigger.Before,
                operation=pgtrigger.Update,
                condition=pgtrigger.Q(old__reading__df=pgtrigger.F("new__reading")),
                func="NEW.changes := OLD.changes + 1; RETURN NEW;",
            ),
            pgtrigger.Protect(name="protect_delete", operation=pgtrigger.Delete),
        ]
