# A partitioned table, created by RunSQL (Django has no operation for it).
from django.db import migrations, models

CREATE = """
CREATE TABLE testapp_reading (
    id bigint NOT NULL PRIMARY KEY, label text NOT NULL DEFAULT ''
) PARTITION BY RANGE (id);
CREATE TABLE testapp_reading_low PARTITION OF testapp_reading FOR VALUES FROM (MINVALUE) TO (100);
CREATE TABLE testapp_reading_high PARTITION OF testapp_reading FOR VALUES FROM (100) TO (MAXVALUE);
"""


class Migration(migrations.Migration):
    dependencies = [("testapp", "0004_retired")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(CREATE, "DROP TABLE testapp_reading")],
            state_operations=[
                migrations.CreateModel(
                    name="Reading",
                    fields=[
                        ("id", models.BigIntegerField(primary_key=True, serialize=False)),
                        ("label", models.TextField(default="")),
                    ],
                )
            ],
        )
    ]
