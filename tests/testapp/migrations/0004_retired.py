# A model created, then deleted from the code while its table is kept (state only): the
# table stays, no model uses it, and this project's migrations say it was ours.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("testapp", "0003_schema_tables")]

    operations = [
        migrations.CreateModel(
            name="Retired",
            fields=[("id", models.BigAutoField(primary_key=True, serialize=False))],
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Retired")],
        ),
    ]
