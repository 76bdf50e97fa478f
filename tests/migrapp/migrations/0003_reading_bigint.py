"""Changes the type of a column used in a trigger's WHEN condition."""

from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("migrapp", "0002_probe_triggers")]

    operations = [
        migrations.AlterField(
            model_name="gauge", name="reading", field=models.BigIntegerField(default=0)
        )
    ]
