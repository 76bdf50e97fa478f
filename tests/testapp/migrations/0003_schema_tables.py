"""Tables named with a schema: one on the search_path, one in a schema outside it."""

from __future__ import annotations

import tests.testapp.models
from django.db import migrations, models


def _fields() -> list[tuple[str, models.Field]]:  # type: ignore[type-arg]
    return [
        (
            "id",
            models.BigAutoField(
                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
            ),
        ),
        ("name", models.CharField(default="", max_length=32)),
        ("is_active", models.BooleanField(default=True)),
        ("state", models.CharField(default="new", max_length=16)),
        ("body", models.TextField(default="")),
        ("vector", tests.testapp.models.TsVectorField(null=True)),
    ]


class Migration(migrations.Migration):
    dependencies = [
        ("testapp", "0002_builtins_and_conditions"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE SCHEMA IF NOT EXISTS pgtl_off_path",
            "DROP SCHEMA IF EXISTS pgtl_off_path CASCADE",
        ),
        migrations.CreateModel(
            name="QualifiedRow",
            fields=_fields(),
            options={"db_table": '"public"."pgtl_qualified_row"'},
        ),
        migrations.CreateModel(
            name="OffPathRow",
            fields=_fields(),
            options={"db_table": 'pgtl_off_path"."off_path_row'},
        ),
    ]
