from __future__ import annotations

from django.db import models
from django_tenants.models import DomainMixin, TenantMixin

import pgtrigger_live as pgtrigger


class Client(TenantMixin):
    name = models.CharField(max_length=64)
    auto_create_schema = True


class Domain(DomainMixin):
    pass


class Announcement(models.Model):
    """Shared: lives in public only."""

    text = models.CharField(max_length=64)

    class Meta:
        triggers = [pgtrigger.Protect(name="keep_announcements", operation=pgtrigger.Delete)]
