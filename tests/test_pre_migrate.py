"""PGTRIGGER_LIVE_PRE_MIGRATE: historical migrations never run today's triggers (opt-in).

tests/migrapp's history: 0001 creates Gauge, 0002 is a data migration that records the
triggers it sees, 0003 changes the type of a column that a trigger's WHEN condition uses.
"""

from __future__ import annotations

import pytest
from django.core.checks import Error
from django.core.management import call_command
from django.db import DatabaseError, connection, migrations, models
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

import pgtrigger_live as pgtrigger
from pgtrigger_live.checks import check_settings
from pgtrigger_live.declare import registry
from pgtrigger_live.reconcile.installation import touched_by
from pgtrigger_live.reconcile.state import Status
from tests.migrapp import probe
from tests.migrapp.models import Gauge

DROP = {"PGTRIGGER_LIVE_PRE_MIGRATE": "drop"}


def migration(*operations: migrations.operations.base.Operation) -> migrations.Migration:
    made = migrations.Migration("0099_probe", "migrapp")
    made.operations = list(operations)
    return made


def registered_uris(model: type[models.Model] | None = None) -> set[str]:
    return {uri for uri, m, _ in registry.select() if model is None or m is model}


def all_installed() -> bool:
    return {e.status for e in pgtrigger.status()} == {Status.INSTALLED}


def test_a_field_change_touches_only_that_models_triggers() -> None:
    alter = migrations.AlterField("gauge", "reading", models.BigIntegerField(default=0))
    assert set(touched_by([(migration(alter), False)])) == registered_uris(Gauge)
    assert len(registered_uris(Gauge)) == 2


def test_data_migrations_and_reversals_touch_every_trigger() -> None:
    run_python = migrations.RunPython(migrations.RunPython.noop)
    assert set(touched_by([(migration(run_python), False)])) == registered_uris()
    run_sql = migrations.RunSQL("SELECT 1")
    assert set(touched_by([(migration(run_sql), False)])) == registered_uris()
    unrelated = migrations.AddField("gauge", "extra", models.IntegerField(default=0))
    assert set(touched_by([(migration(unrelated), True)])) == registered_uris()


def test_an_unrelated_model_touches_nothing() -> None:
    create = migrations.CreateModel("Unrelated", [("id", models.AutoField(primary_key=True))])
    assert touched_by([(migration(create), False)]) == []


def test_state_only_operations_touch_nothing() -> None:
    options = migrations.AlterModelOptions("gauge", {"verbose_name": "gauge"})
    managers = migrations.AlterModelManagers("gauge", [])
    assert touched_by([(migration(options, managers), False)]) == []


@pytest.mark.django_db(transaction=True)
def test_drop_keeps_the_enabled_state_an_operator_chose() -> None:
    uri = "migrapp.Gauge:protect_delete"
    pgtrigger.disable(uri)
    try:
        with override_settings(**DROP):
            call_command("migrate", "migrapp", "0002", verbosity=0)  # dropped, re-created
            (entry,) = pgtrigger.status(uri)
            assert entry.status is Status.INSTALLED
            assert entry.enabled is not None
            assert entry.enabled.label == "DISABLED"
            gauge = Gauge.objects.create()
            gauge.delete()  # the Protect is still off, as the operator left it
            call_command("migrate", "migrapp", verbosity=0)
        assert pgtrigger.status(uri)[0].enabled.label == "DISABLED"  # type: ignore[union-attr]
    finally:
        pgtrigger.enable(uri)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("policy", "seen"), [("keep", 2), ("drop", 0)])
def test_policy_decides_what_a_data_migration_sees(policy: str, seen: int) -> None:
    with override_settings(**DROP):  # back before the data migration (across the type change)
        call_command("migrate", "migrapp", "0001", verbosity=0)
    assert all_installed()
    probe.SEEN.clear()
    with override_settings(PGTRIGGER_LIVE_PRE_MIGRATE=policy):
        call_command("migrate", "migrapp", "0002", verbosity=0)
    assert [len(triggers) for triggers in probe.SEEN] == [seen]
    assert all_installed()  # whatever the policy, migrate ends with every trigger back
    with override_settings(**DROP):
        call_command("migrate", "migrapp", verbosity=0)
    assert all_installed()
    gauge = Gauge.objects.create()
    with pytest.raises(pgtrigger.ProtectedError):
        gauge.delete()


@pytest.mark.django_db(transaction=True)
def test_changing_the_type_of_a_when_column_needs_the_drop_policy() -> None:
    """PostgreSQL refuses ALTER COLUMN TYPE on a column a trigger's WHEN uses."""
    with pytest.raises(DatabaseError, match="used in a trigger definition"):
        call_command("migrate", "migrapp", "0002", verbosity=0)  # bigint -> integer
    assert all_installed()  # nothing half-done

    with override_settings(**DROP):
        call_command("migrate", "migrapp", "0002", verbosity=0)
        assert all_installed()
        call_command("migrate", "migrapp", verbosity=0)  # integer -> bigint again
    assert all_installed()
    gauge = Gauge.objects.create(reading=1)
    Gauge.objects.filter(pk=gauge.pk).update(reading=2**40)  # a bigint, and the trigger ran
    assert Gauge.objects.values_list("reading", "changes").get(pk=gauge.pk) == (2**40, 1)


@pytest.mark.django_db
def test_nothing_to_migrate_drops_nothing() -> None:
    with override_settings(**DROP), CaptureQueriesContext(connection) as queries:
        call_command("migrate", verbosity=0)
    sent = [q["sql"] for q in queries.captured_queries]
    assert not [s for s in sent if "DROP" in s.upper()]
    assert len([s for s in sent if "pg_trigger" in s]) == 1  # the post_migrate check only


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"PGTRIGGER_LIVE_PRE_MIGRATE": "disable"}, "expected one of 'keep', 'drop'"),
        (
            {**DROP, "PGTRIGGER_LIVE_INSTALL_ON_MIGRATE": False},
            "needs PGTRIGGER_LIVE_INSTALL_ON_MIGRATE",
        ),
    ],
)
def test_settings_that_cannot_work_fail_the_checks(
    settings: dict[str, object], message: str
) -> None:
    with override_settings(**settings):
        (error,) = check_settings()
    assert isinstance(error, Error)
    assert error.id == "pgtrigger_live.E002"
    assert message in error.msg
    with override_settings(**DROP):
        assert check_settings() == []
