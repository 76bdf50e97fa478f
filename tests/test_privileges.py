"""The least-privilege setup of docs/deploying.md: the table owner installs, the application
role writes rows, is refused by the triggers, and can neither drop, disable nor bypass them."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import DatabaseError, connection, models, transaction

import pgtrigger_live as pgtrigger
from pgtrigger_live.exceptions import InstallError
from pgtrigger_live.reconcile.state import Status
from pgtrigger_live.runtime import errors
from pgtrigger_live.runtime.errors import ProtectedError
from tests.testapp.models import Plain

AddTrigger = Callable[[type[models.Model], pgtrigger.Trigger], str]
TABLE = Plain._meta.db_table


def execute(statement: str, params: list[object] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@pytest.mark.django_db
def test_owner_installs_and_the_application_role_cannot_touch_the_triggers(
    extra_trigger: AddTrigger,
) -> None:
    errors.install_translation()
    trigger = pgtrigger.Protect(name="lp_no_delete", operation=pgtrigger.Delete)
    uri = extra_trigger(Plain, trigger)
    pgid = trigger.get_pgid(Plain)
    # Roles are cluster-wide but created in the test's transaction: rolled back with it.
    for statement in (
        "CREATE ROLE pgtl_owner NOLOGIN",
        "CREATE ROLE pgtl_app NOLOGIN",
        "GRANT USAGE, CREATE ON SCHEMA public TO pgtl_owner",
        f"ALTER TABLE {TABLE} OWNER TO pgtl_owner",
        "GRANT USAGE ON SCHEMA public TO pgtl_app",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {TABLE} TO pgtl_app",
        "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO pgtl_app",
        "SET LOCAL ROLE pgtl_owner",
    ):
        execute(statement)
    pgtrigger.install(uri)
    (entry,) = pgtrigger.status(uri)
    assert entry.status is Status.INSTALLED

    execute("SET LOCAL ROLE pgtl_app")
    row = Plain.objects.create(value=1)
    delete = f"DELETE FROM {TABLE} WHERE id = %s"  # (the ORM would also read related tables)
    with pytest.raises(ProtectedError), transaction.atomic():
        execute(delete, [row.pk])
    for statement, refusal in (
        (f'DROP TRIGGER "{pgid}" ON {TABLE}', "must be owner"),
        (f'ALTER TABLE {TABLE} DISABLE TRIGGER "{pgid}"', "must be owner"),
        (f"DROP FUNCTION {pgid}()", "must be owner"),
        (
            f"CREATE TRIGGER sneaky BEFORE DELETE ON {TABLE} "
            f"FOR EACH ROW EXECUTE FUNCTION {pgid}()",
            "permission denied",
        ),
        ("SET session_replication_role = replica", "permission denied"),
    ):
        with pytest.raises(DatabaseError, match=refusal), transaction.atomic():
            execute(statement)
    with pytest.raises(InstallError, match=f"drop     {uri}|must be owner"):
        pgtrigger.uninstall(uri)
    (entry,) = pgtrigger.status(uri)  # the application role can still read the status
    assert entry.status is Status.INSTALLED
    with pgtrigger.ignore(uri):  # ignore() is a setting: the application may use it
        execute(delete, [row.pk])
    assert not Plain.objects.filter(pk=row.pk).exists()
    execute("RESET ROLE")
