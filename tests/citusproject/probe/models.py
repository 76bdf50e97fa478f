"""Triggers whose behaviour on Citus tables was measured (docs/citus.md "What fails"):
one model per case, each made a distributed or reference table by migration 0002."""

from __future__ import annotations

from django.contrib.postgres.search import SearchVectorField
from django.db import models

import pgtrigger_live as pgtrigger


class SoftDist(models.Model):
    is_active = models.BooleanField(default=True)

    class Meta:
        triggers = [pgtrigger.SoftDelete(name="soft_delete", field="is_active")]


class SoftRef(models.Model):
    is_active = models.BooleanField(default=True)

    class Meta:
        triggers = [pgtrigger.SoftDelete(name="soft_delete", field="is_active")]


class FsmDist(models.Model):
    status = models.CharField(max_length=8, default="new")

    class Meta:
        triggers = [
            pgtrigger.FSM(name="status_flow", field="status", transitions=[("new", "paid")])
        ]


class ReadOnlyRef(models.Model):
    code = models.CharField(max_length=8, default="x")
    label = models.CharField(max_length=8, default="x")

    class Meta:
        triggers = [pgtrigger.ReadOnly(name="freeze_code", fields=["code"])]


class SearchDist(models.Model):
    title = models.TextField(default="")
    vector = SearchVectorField(null=True)

    class Meta:
        triggers = [
            pgtrigger.UpdateSearchVector(
                name="search", vector_field="vector", document_fields=["title"]
            )
        ]


class StatementDist(models.Model):
    value = models.IntegerField(default=0)

    class Meta:
        triggers = [
            pgtrigger.Trigger(
                name="after_update_statement",
                level=pgtrigger.Statement,
                when=pgtrigger.After,
                operation=pgtrigger.Update,
                func="RETURN NULL;",
            ),
            pgtrigger.Protect(
                name="protect_big_updates",
                level=pgtrigger.Statement,
                operation=pgtrigger.Update,
                condition=pgtrigger.Q(new__value__gt=100),
            ),
        ]


class ReadsOther(models.Model):
    value = models.IntegerField(default=0)

    class Meta:
        triggers = [
            pgtrigger.Trigger(
                name="reads_other",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert,
                func="PERFORM 1 FROM probe_softdist LIMIT 1; RETURN NEW;",
            ),
            pgtrigger.Trigger(
                name="writes_other",
                when=pgtrigger.After,
                operation=pgtrigger.Update,
                func="UPDATE probe_softref SET is_active = true WHERE id = NEW.id; RETURN NULL;",
            ),
        ]
