"""A project on django-pghistory, as it would be after switching to pgtrigger_live.

``HISTORYAPP_VARIANT=changed`` edits the trackers as a later deploy would: the conditional
event gets another condition and the delete event is removed. The migration files are the
ones django-pgtrigger's makemigrations wrote for both versions.
"""

from __future__ import annotations

import os

import pghistory
from django.db import models

CHANGED = os.environ.get("HISTORYAPP_VARIANT") == "changed"

_trackers = [
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.UpdateEvent(
        "balance_raised",
        condition=pghistory.Q(
            new__balance__gt=pghistory.F("old__balance") + (10 if CHANGED else 0)
        ),
    ),
]
if not CHANGED:
    _trackers.append(pghistory.DeleteEvent())


@pghistory.track(*_trackers)
class Account(models.Model):
    name = models.CharField(max_length=64)
    balance = models.IntegerField(default=0)
