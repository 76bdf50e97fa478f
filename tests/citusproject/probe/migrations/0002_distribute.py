from django.db import migrations

DISTRIBUTED = ["probe_softdist", "probe_fsmdist", "probe_searchdist", "probe_statementdist",
               "probe_readsother"]  # fmt: skip
REFERENCE = ["probe_softref", "probe_readonlyref"]


class Migration(migrations.Migration):
    dependencies = [("probe", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "SET LOCAL citus.enable_unsafe_triggers = on;"
            + "".join(f"SELECT create_distributed_table('{t}', 'id');" for t in DISTRIBUTED)
            + "".join(f"SELECT create_reference_table('{t}');" for t in REFERENCE),
            reverse_sql=migrations.RunSQL.noop,
        )
    ]
