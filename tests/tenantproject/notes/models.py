from __future__ import annotations

from django.db import models

import pgtrigger_live as pgtrigger


class Note(models.Model):
    """Per tenant: one table in every tenant schema."""

    text = models.CharField(max_length=64)
    edits = models.IntegerField(default=0)

    class Meta:
        triggers = [
            pgtrigger.Protect(name="keep_notes", operation=pgtrigger.Delete),
            pgtrigger.Trigger(
                name="count_edits",
                when=pgtrigger.Before,
                operation=pgtrigger.Update,
                func="NEW.edits := OLD.edits + 1; RETURN NEW;",
            ),
        ]
