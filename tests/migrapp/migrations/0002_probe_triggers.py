"""A data migration that records which triggers exist while it runs."""

from __future__ import annotations

from django.db import migrations

from tests.migrapp import probe


class Migration(migrations.Migration):
    dependencies = [("migrapp", "0001_initial")]

    operations = [migrations.RunPython(probe.record, migrations.RunPython.noop)]
