from __future__ import annotations

from django.db import models

import pgtrigger_live as pgtrigger


class BillingRow(models.Model):
    value = models.IntegerField(default=0)

    class Meta:
        triggers = [pgtrigger.Protect(name="keep_billing", operation=pgtrigger.Delete)]
