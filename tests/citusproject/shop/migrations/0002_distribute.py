"""Make the tables Citus tables, as a project moving to Citus would, in a migration.

Citus refuses to distribute a table that has triggers unless its unsafe-triggers setting is on
(docs/citus.md); SET LOCAL keeps it to this migration's transaction.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "SET LOCAL citus.enable_unsafe_triggers = on;"
            "SELECT create_distributed_table('shop_order', 'id');"
            "SELECT create_reference_table('shop_country');",
            reverse_sql=migrations.RunSQL.noop,
        )
    ]
