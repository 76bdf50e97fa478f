"""Several schemas in one pass (-s repeated, --all-schemas), ownership and bad schema input,
against a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, models
from django.test.utils import CaptureQueriesContext

import pgtrigger_live as pgtrigger
from pgtrigger_live.declare import registry
from pgtrigger_live.exceptions import SchemaError
from pgtrigger_live.reconcile.state import Status
from tests.testapp.models import Plain

pytestmark = pytest.mark.django_db

AddTrigger = Callable[[type[models.Model], pgtrigger.Trigger], str]
SCHEMAS = ["s1", "s2", 'Odd "Name"']
DDL = ("CREATE", "DROP", "ALTER", "COMMENT", "DO")


def bump(name: str = "multi", add: int = 1) -> pgtrigger.Trigger:
    return pgtrigger.Trigger(
        name=name,
        when=pgtrigger.Before,
        operation=pgtrigger.Insert,
        func=f"NEW.value := NEW.value + {add}; RETURN NEW;",
    )


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@pytest.fixture
def schemas(settings: object) -> Iterator[list[str]]:
    with connection.cursor() as cursor:
        for schema in SCHEMAS:
            cursor.execute(f"CREATE SCHEMA {q(schema)}")
            cursor.execute(
                f"CREATE TABLE {q(schema)}.testapp_plain (LIKE public.testapp_plain INCLUDING ALL)"
            )
    settings.PGTRIGGER_LIVE_SCHEMAS = SCHEMAS  # type: ignore[attr-defined]
    return SCHEMAS


def triggers_by_schema(pgid: str) -> dict[str, int]:
    """schema -> OID of the trigger ``pgid`` there."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname, t.oid::bigint FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE t.tgname = %s",
            [pgid],
        )
        return dict(cursor.fetchall())


def insert_in(schema: str, value: int = 1) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {q(schema)}.testapp_plain (value, label) VALUES (%s, '') RETURNING value",
            [value],
        )
        return int(cursor.fetchone()[0])  # type: ignore[index]


def run(*args: str) -> str:
    out = StringIO()
    call_command("pgtrigger", *args, stdout=out, no_color=True)
    return out.getvalue()


def test_all_schemas_install_noop_change_prune(
    schemas: list[str], extra_trigger: AddTrigger
) -> None:
    trigger = bump()
    uri = extra_trigger(Plain, trigger)
    pgid = trigger.get_pgid(Plain)

    plan = pgtrigger.install(uri, all_schemas=True)
    assert sorted(a.table.schema for a in plan.actions) == sorted(schemas)
    assert set(triggers_by_schema(pgid)) == set(schemas)  # public untouched
    assert all(insert_in(s) == 2 for s in schemas)

    # In sync: one query for every schema, no DDL.
    with CaptureQueriesContext(connection) as queries:
        assert pgtrigger.install(all_schemas=True).is_empty
    assert len(queries.captured_queries) == 1
    entries = list(pgtrigger.status(uri, all_schemas=True))
    assert [(e.scope, e.status) for e in entries] == [(s, Status.INSTALLED) for s in schemas]

    # One change: replaced in every schema, in place.
    before = triggers_by_schema(pgid)
    registry_swap(Plain, trigger, changed := bump(add=10))
    plan = pgtrigger.install(all_schemas=True)
    assert sorted((a.kind.value, a.table.schema) for a in plan.actions) == sorted(
        ("replace", s) for s in schemas
    )
    assert triggers_by_schema(pgid) == before
    assert all(insert_in(s) == 11 for s in schemas)

    # Removed from the code: pruned in every schema, with its function; public keeps its own.
    registry.remove(Plain, changed)
    public_before = pgtrigger.status()
    plan = pgtrigger.install(all_schemas=True)
    assert sorted((a.kind.value, a.table.schema) for a in plan.actions) == sorted(
        ("prune", s) for s in schemas
    )
    assert triggers_by_schema(pgid) == {}
    assert [(e.uri, e.status) for e in pgtrigger.status()] == [
        (e.uri, e.status) for e in public_before
    ]


def registry_swap(
    model: type[models.Model], old: pgtrigger.Trigger, new: pgtrigger.Trigger
) -> None:
    registry.remove(model, old)
    registry.add(model, new)


def test_repeated_schema_option_and_ls(schemas: list[str], extra_trigger: AddTrigger) -> None:
    uri = extra_trigger(Plain, bump())
    run("install", uri, "-s", "s1", "-s", "s2")
    out = run("ls", uri, "--all-schemas")
    lines = [line.split(None, 2) for line in out.splitlines() if line.startswith(("IN", "UN"))]
    assert [(line[0], line[2].split(":", 1)[0]) for line in lines] == [
        ("INSTALLED", "s1"),
        ("INSTALLED", "s2"),
        ("UNINSTALLED", 'Odd "Name"'),
    ]
    with pytest.raises(CommandError, match=r'1 trigger\(s\) not in sync: Odd "Name": ' + uri):
        run("ls", uri, "--all-schemas", "--check")
    run("install", uri, "--all-schemas")
    run("ls", uri, "--all-schemas", "--check")


def test_a_schema_prunes_only_its_own_tables(schemas: list[str], extra_trigger: AddTrigger) -> None:
    """s1's reconcile sees public's tables through its path but never prunes them."""
    uri = extra_trigger(Plain, bump())
    pgtrigger.install(uri)  # in public
    pgtrigger.install(uri, schemas=["s1"])
    pgid = pgtrigger.status(uri)[0].pgid
    registry.remove(*registry.entry(uri))  # type: ignore[misc]
    plan = pgtrigger.prune(schemas=["s1"])
    assert [(a.table.schema, a.pgid) for a in plan.actions] == [("s1", pgid)]
    assert set(triggers_by_schema(pgid)) == {"public"}


def test_unknown_schema_fails_before_any_ddl(schemas: list[str], extra_trigger: AddTrigger) -> None:
    uri = extra_trigger(Plain, bump())
    with (
        CaptureQueriesContext(connection) as queries,
        pytest.raises(SchemaError, match="Schema \"nope\" does not exist on database 'default'"),
    ):
        pgtrigger.install(uri, schemas=["s1", "nope"])
    assert not [q for q in queries.captured_queries if q["sql"].lstrip().startswith(DDL)]
    assert triggers_by_schema(pgtrigger.status(uri)[0].pgid) == {}
    with pytest.raises(CommandError, match='Schema "nope" does not exist'):
        run("install", uri, "-s", "nope")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            lambda alias: 1 / 0,
            "PGTRIGGER_LIVE_SCHEMAS raised ZeroDivisionError for database 'default'",
        ),
        ("s1", "PGTRIGGER_LIVE_SCHEMAS = 's1': not a list, a callable"),
        ([""], "PGTRIGGER_LIVE_SCHEMAS: '' is not a schema name"),
        ({"other": ["s1"]}, "PGTRIGGER_LIVE_SCHEMAS gives no schema for database 'default'"),
        (None, "--all-schemas needs PGTRIGGER_LIVE_SCHEMAS"),
    ],
)
def test_bad_schema_settings_are_clear_errors(
    settings: object, extra_trigger: AddTrigger, value: object, message: str
) -> None:
    uri = extra_trigger(Plain, bump())
    settings.PGTRIGGER_LIVE_SCHEMAS = value  # type: ignore[attr-defined]
    with CaptureQueriesContext(connection) as queries, pytest.raises(SchemaError) as info:
        pgtrigger.install(uri, all_schemas=True)
    assert message in str(info.value)
    assert queries.captured_queries == []


def test_callable_and_per_alias_settings(settings: object, schemas: list[str]) -> None:
    settings.PGTRIGGER_LIVE_SCHEMAS = lambda alias: ["s2"] if alias == "default" else []  # type: ignore[attr-defined]
    assert {e.scope for e in pgtrigger.status(all_schemas=True)} == {"s2"}
    settings.PGTRIGGER_LIVE_SCHEMAS = {"default": ["s1", "s1", "s2"]}  # type: ignore[attr-defined]
    assert sorted({e.scope for e in pgtrigger.status(all_schemas=True)}) == ["s1", "s2"]


def test_foreign_triggers_are_shown_and_left_alone(extra_trigger: AddTrigger) -> None:
    """A signed trigger on a table no model of this project uses: another service's."""
    pgid = "pgtrigger_theirs_0a1b2"
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE other_service_t (LIKE testapp_plain INCLUDING ALL)")
        cursor.execute(
            f"CREATE FUNCTION {pgid}() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RETURN NEW; END; $$"
        )
        cursor.execute(
            f"CREATE TRIGGER {pgid} BEFORE INSERT ON other_service_t FOR EACH ROW "
            f"EXECUTE FUNCTION {pgid}()"
        )
        cursor.execute(
            f"COMMENT ON TRIGGER {pgid} ON other_service_t IS "
            "'pgtrigger_live:1:" + "c" * 40 + ":" + "b" * 32 + "'"
        )
    (foreign,) = [e for e in pgtrigger.status() if e.status is Status.FOREIGN]
    assert foreign.table is not None
    assert foreign.table.name == "other_service_t"
    assert "FOREIGN" in run("ls")
    run("ls", "--check")  # the deploy gate passes: it is not ours to fix
    assert pgtrigger.install().actions == ()
    assert pgtrigger.prune().actions == ()
    assert tables_with(pgid) == ["other_service_t"]
    plan = pgtrigger.prune(foreign=True)
    assert [(a.kind.value, a.table.name) for a in plan.actions] == [("prune", "other_service_t")]
    assert tables_with(pgid) == []


def tables_with(pgid: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = %s ORDER BY 1",
            [pgid],
        )
        return [r[0] for r in cursor.fetchall()]


def test_triggers_outside_the_search_path_are_seen_when_asked(extra_trigger: AddTrigger) -> None:
    """A schema dropped from the list: its triggers are invisible to a plain reconcile, and
    `-s` on that schema shows and prunes them."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA retired")
        cursor.execute("CREATE TABLE retired.testapp_plain (LIKE testapp_plain INCLUDING ALL)")
    trigger = bump()
    uri = extra_trigger(Plain, trigger)
    pgtrigger.install(uri, schemas=["retired"])
    registry.remove(Plain, trigger)
    assert not [e for e in pgtrigger.status() if e.status is Status.PRUNE]
    (entry,) = [e for e in pgtrigger.status(schemas=["retired"]) if e.status is Status.PRUNE]
    assert entry.scope == "retired"
    pgtrigger.prune(schemas=["retired"])
    assert triggers_by_schema(trigger.get_pgid(Plain)) == {}


class _Terminal(StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("tty", [True, False])
def test_progress_only_on_a_terminal(
    schemas: list[str], extra_trigger: AddTrigger, monkeypatch: pytest.MonkeyPatch, tty: bool
) -> None:
    from pgtrigger_live.reconcile import installation

    monkeypatch.setattr(installation, "MAX_TABLES_PER_TRANSACTION", 1)  # one batch per schema
    uri = extra_trigger(Plain, bump())
    err = _Terminal() if tty else StringIO()
    call_command("pgtrigger", "install", uri, "--all-schemas", stdout=StringIO(), stderr=err)
    lines = err.getvalue()
    if tty:
        assert "applied 1 of 3 trigger actions (schemas s1)" in lines
        assert 'applied 3 of 3 trigger actions (schemas Odd "Name")' in lines
    else:
        assert lines == ""
    assert set(triggers_by_schema(pgtrigger.status(uri, all_schemas=True)[0].pgid)) == set(schemas)


# -- review findings: a table two scopes share, partial batches, the home fallback ------------


def test_two_schemas_resolving_one_table_create_it_once(
    settings: object, extra_trigger: AddTrigger
) -> None:
    """Two schemas without the table both resolve it to public's: one action, not two."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA e1; CREATE SCHEMA e2")
    settings.PGTRIGGER_LIVE_SCHEMAS = ["e1", "e2"]  # type: ignore[attr-defined]
    trigger = bump()
    uri = extra_trigger(Plain, trigger)
    dry = pgtrigger.install(uri, all_schemas=True, dry_run=True)
    assert [(a.kind.value, a.table.schema) for a in dry.actions] == [("create", "public")]
    pgtrigger.install(uri, all_schemas=True)
    assert triggers_by_schema(trigger.get_pgid(Plain)).keys() == {"public"}


def test_a_failed_batch_says_what_earlier_batches_committed(
    settings: object, extra_trigger: AddTrigger, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pgtrigger_live.exceptions import InstallError
    from pgtrigger_live.reconcile import installation

    with connection.cursor() as cursor:
        for schema in ("b1", "b2", "b3"):
            cursor.execute(f"CREATE SCHEMA {schema}")
        cursor.execute("CREATE TABLE b1.testapp_plain (LIKE public.testapp_plain INCLUDING ALL)")
        cursor.execute("CREATE TABLE b2.testapp_plain (LIKE public.testapp_plain INCLUDING ALL)")
        cursor.execute("CREATE VIEW b3.testapp_plain AS SELECT * FROM public.testapp_plain")
    settings.PGTRIGGER_LIVE_SCHEMAS = ["b1", "b2", "b3"]  # type: ignore[attr-defined]
    monkeypatch.setattr(installation, "MAX_TABLES_PER_TRANSACTION", 1)
    trigger = bump()
    uri = extra_trigger(Plain, trigger)
    with pytest.raises(InstallError) as info:
        pgtrigger.install(uri, all_schemas=True)
    message = str(info.value)
    assert "The batch of schemas b3 was rolled back" in message
    assert "Earlier batches were committed (schemas: b1, b2)" in message
    assert "Nothing was changed" not in message
    assert triggers_by_schema(trigger.get_pgid(Plain)).keys() == {"b1", "b2"}


def test_a_scope_never_prunes_a_table_it_only_reaches_through_its_path(
    schemas: list[str], extra_trigger: AddTrigger
) -> None:
    """public.testapp_protected seen from s1 (no such table there): not s1's to prune."""
    from tests.testapp.models import Protected

    trigger = bump("reached")
    extra_trigger(Protected, trigger)
    pgtrigger.install(trigger.get_uri(Protected))
    registry.remove(Protected, trigger)
    assert pgtrigger.prune(schemas=["s1"]).actions == ()
    assert triggers_by_schema(trigger.get_pgid(Protected)).keys() == {"public"}
    assert [a.table.schema for a in pgtrigger.prune().actions] == ["public"]


def test_a_trigger_removed_from_a_qualified_table_is_pruned(extra_trigger: AddTrigger) -> None:
    """The model's db_table names a schema off the search_path and it keeps no trigger."""
    from tests.testapp.models import OffPathRow

    declared = [uri for uri, model, _ in registry.select() if model is OffPathRow]
    saved = [registry.entry(uri) for uri in declared]
    for model, trig in saved:  # type: ignore[misc]
        registry.remove(model, trig)
    try:
        trigger = bump("offpath")
        extra_trigger(OffPathRow, trigger)
        pgtrigger.install(trigger.get_uri(OffPathRow))
        registry.remove(OffPathRow, trigger)
        pgid = trigger.get_pgid(OffPathRow)
        (entry,) = [e for e in pgtrigger.status() if e.pgid == pgid]
        assert entry.status is Status.PRUNE
        pgtrigger.prune()
        assert triggers_by_schema(pgid) == {}
    finally:
        for model, trig in saved:  # type: ignore[misc]
            registry.add(model, trig)


def test_a_deleted_models_trigger_is_pruned_another_services_is_not() -> None:
    """testapp_retired: made by this project's migrations, its model deleted from the code
    (tests/testapp/migrations/0004_retired.py). other_t: nobody's migrations made it."""
    signed = "'pgtrigger_live:1:" + "c" * 40 + ":" + "b" * 32 + "'"
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE other_t (id int)")
        for table, pgid in (
            ("testapp_retired", "pgtrigger_old_0a1b2"),
            ("other_t", "pgtrigger_x_0a1b3"),
        ):
            cursor.execute(
                f"CREATE FUNCTION {pgid}() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RETURN NEW; END; $$"
            )
            cursor.execute(
                f"CREATE TRIGGER {pgid} BEFORE INSERT ON {table} FOR EACH ROW "
                f"EXECUTE FUNCTION {pgid}()"
            )
            cursor.execute(f"COMMENT ON TRIGGER {pgid} ON {table} IS {signed}")
    ours = ("pgtrigger_old_0a1b2", "pgtrigger_x_0a1b3")
    by_table = {e.table.name: e for e in pgtrigger.status() if e.pgid in ours and e.table}
    assert by_table["testapp_retired"].status is Status.PRUNE
    assert "deleted from the code" in by_table["testapp_retired"].reason
    assert by_table["other_t"].status is Status.FOREIGN
    plan = pgtrigger.prune()
    assert [a.table.name for a in plan.actions] == ["testapp_retired"]
    assert tables_with("pgtrigger_old_0a1b2") == []
    assert tables_with("pgtrigger_x_0a1b3") == ["other_t"]
