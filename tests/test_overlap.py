"""A first install renders its triggers while the server works: plans made without rendering
(``pending_trigger``), round trips of growing size (``applier.trips``), each rendered while
the server runs the one before (``overlap.during``)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection, connections, models

import pgtrigger_live as pgtrigger
from pgtrigger_live.declare import registry
from pgtrigger_live.declare.conditions import current_connection
from pgtrigger_live.exceptions import DeclarationError, UnsupportedTriggerError
from pgtrigger_live.reconcile import applier, catalog, compiler, overlap
from pgtrigger_live.reconcile.state import Scope, Status
from tests.conftest import catalog_state
from tests.testapp.models import Plain, Protected

AddTrigger = Callable[[type[models.Model], pgtrigger.Trigger], str]


# -- round trips (plain data) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("actions", "batch", "sizes"),
    [
        (0, 1000, []),
        (1, 1000, [1]),
        (64, 1000, [64]),
        (65, 1000, [64, 1]),
        (600, 1000, [64, 128, 256, 152]),  # the bench's first install: 4 round trips
        (3000, 1000, [64, 128, 256, 512, 1000, 1000, 40]),
        (5, 1, [1, 1, 1, 1, 1]),  # a failed batch, run again one action per round trip
        (300, 100, [64, 100, 100, 36]),
    ],
)
def test_round_trips_grow_from_the_first_and_cover_every_action_once(
    actions: int, batch: int, sizes: list[int]
) -> None:
    parts = applier.trips(actions, batch)
    assert [p.stop - p.start for p in parts] == sizes
    covered = [i for p in parts for i in range(p.start, p.stop)]
    assert covered == list(range(actions))


@pytest.mark.parametrize(
    ("actions", "batch", "sizes"),
    [
        (0, 1000, []),
        (600, 1000, [600]),  # psycopg 3: the fewest round trips
        (2500, 1000, [1000, 1000, 500]),
        (3, 1, [1, 1, 1]),
    ],
)
def test_round_trips_that_cannot_overlap_are_as_few_as_the_batch_allows(
    actions: int, batch: int, sizes: list[int]
) -> None:
    parts = applier.trips(actions, batch, growing=False)
    assert [p.stop - p.start for p in parts] == sizes
    covered = [i for p in parts for i in range(p.start, p.stop)]
    assert covered == list(range(actions))


# -- overlap.during (plain: no database) -------------------------------------------------------


def test_without_psycopg2s_wait_callback_the_work_runs_first_in_this_thread() -> None:
    order: list[str] = []
    sent, done = overlap.during(
        object(),  # not a psycopg2 connection: no wait callback to run the work from
        lambda: order.append("query") or 1,
        lambda: order.append("work") or threading.current_thread().name,
    )
    assert (sent, done) == (1, threading.current_thread().name)
    assert order == ["work", "query"]  # not in a thread: never beside the query

    def fail() -> None:
        raise DeclarationError("bad declaration")

    order.clear()
    with pytest.raises(DeclarationError, match="bad declaration"):
        overlap.during(object(), lambda: order.append("query"), fail)
    assert order == []  # nothing was sent


# -- pending_trigger ---------------------------------------------------------------------------


def test_a_pending_trigger_is_what_compiling_gives_rendered_once_on_first_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    renders: list[str] = []
    real = compiler._rendered

    def counted(model: Any, trigger: Any, conn: Any, digest: Any) -> Any:
        renders.append(trigger.get_uri(model))
        return real(model, trigger, conn, digest)

    items = registry.select()
    assert len(items) > 10
    for uri, model, trigger in items:
        compiled = compiler.compile_trigger(model, trigger, connection, digest="d1")
        monkeypatch.setattr(compiler, "_rendered", counted)
        renders.clear()
        pending = compiler.pending_trigger(model, trigger, connection, digest="d1")
        assert renders == []
        assert not pending.is_signed
        assert not pending.is_rendered
        assert pending.has_body is compiled.has_body  # known without rendering
        assert pending.signature == compiled.signature
        assert pending.rendered == compiled.rendered
        assert pending == compiled
        assert renders == [uri]  # signature and SQL from one rendering
        monkeypatch.setattr(compiler, "_rendered", real)


class _Recording(pgtrigger.Trigger):
    """Records the connection conditions compile with while it renders; a custom execute."""

    seen: list[Any] = []

    def render_execute(self, model: type[models.Model]) -> str | None:
        _Recording.seen.append(current_connection())
        return f'"lib"."{model._meta.db_table}"()'


class _BadExecute(pgtrigger.Trigger):
    def render_execute(self, model: type[models.Model]) -> str | None:
        raise DeclarationError("no such function")


def test_a_pending_trigger_renders_for_its_connection_and_keeps_the_ids_it_is_given() -> None:
    trigger = _Recording(name="recording", when=pgtrigger.After, operation=pgtrigger.Insert)
    other = connections["other"]
    _Recording.seen.clear()
    pending = compiler.pending_trigger(Plain, trigger, other, uri="given.uri", pgid="given_id")
    assert (pending.uri, pending.pgid) == ("given.uri", "given_id")
    assert pending.has_body is False  # a custom execute: known before rendering
    assert pending.execute == '"lib"."testapp_plain"()'
    assert _Recording.seen == [other, other]  # has_body, then the rendering
    compiled = compiler.compile_trigger(Plain, trigger, other, uri="given.uri", pgid="given_id")
    assert (compiled.uri, compiled.pgid) == ("given.uri", "given_id")
    with pytest.raises(DeclarationError, match=r"^testapp.Plain:bad: no such function$"):
        compiler.pending_trigger(
            Plain, _BadExecute(name="bad", when=pgtrigger.After, operation=pgtrigger.Insert), None
        )


# -- through the database ----------------------------------------------------------------------


def _trip_trigger(name: str) -> pgtrigger.Trigger:
    return pgtrigger.Trigger(
        name=name,
        when=pgtrigger.Before,
        operation=pgtrigger.Insert,
        # A condition: compiled through Django's query compiler from the wait callback.
        condition=pgtrigger.Q(new__value__gte=0),
        func="NEW.value := NEW.value + 1; RETURN NEW;",
    )


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str, str]]]:
    """(what, detail, thread) in order: each statement sent and answered (Django's cursor),
    the catalog's rows received, and each trigger rendered."""
    log: list[tuple[str, str, str]] = []
    real = compiler._rendered

    def rendered(model: Any, trigger: Any, conn: Any, digest: Any) -> Any:
        log.append(("render", trigger.name, threading.current_thread().name))
        failure = FAILURES.get(trigger.name)
        if failure is not None:
            raise failure
        return real(model, trigger, conn, digest)

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        log.append(("send", sql.split()[0], threading.current_thread().name))
        try:
            return execute(sql, params, many, context)
        finally:
            log.append(("done", sql.split()[0], threading.current_thread().name))

    real_fetched = catalog.Fetched.__init__

    def fetched(self: Any, *args: Any) -> None:
        log.append(("rows", "", threading.current_thread().name))
        real_fetched(self, *args)

    monkeypatch.setattr(compiler, "_rendered", rendered)
    monkeypatch.setattr(catalog.Fetched, "__init__", fetched)
    monkeypatch.setattr(applier, "FIRST_ACTIONS", 1)
    with connection.execute_wrapper(wrapper):
        yield log
    FAILURES.clear()


#: Trigger name -> the error its rendering raises (a declaration of a built-in class with a
#: digest that fails only when rendered: a bug, simulated).
FAILURES: dict[str, Exception] = {}


def _is_psycopg2() -> bool:
    connection.ensure_connection()
    return type(connection.connection).__module__.startswith("psycopg2")


@pytest.mark.django_db
def test_each_round_trip_is_rendered_while_the_server_runs_the_one_before(
    extra_trigger: AddTrigger, events: list[tuple[str, str, str]]
) -> None:
    uris = [extra_trigger(Plain, _trip_trigger(f"trip{n}")) for n in range(3)]
    plan = pgtrigger.install(*uris)
    assert [a.uri for a in plan.actions] == uris
    renders = [(i, e) for i, e in enumerate(events) if e[0] == "render"]
    assert [e[1] for _, e in renders] == ["trip0", "trip1", "trip2"]  # each once
    sends = [i for i, e in enumerate(events) if e[0] == "send"]
    reads = [i for i in sends if events[i][1] == "WITH"]
    under_lock = reads[-1]
    rows = next(i for i in range(under_lock, len(events)) if events[i][0] == "rows")
    ddl = [i for i in sends if i > under_lock and events[i][1] in ("DO", "CREATE")]
    assert all(e[2] == threading.current_thread().name for _, e in renders)
    if not _is_psycopg2():
        # psycopg 3 cannot render beside a DDL round trip: one round trip (table locks
        # first), every trigger rendered while the catalog is read under the lock.
        assert [events[i][1] for i in ddl] == ["DO"]
        assert all(under_lock < index < rows for index, _ in renders)
        return
    # psycopg2: round trips of 1 then 2 actions (FIRST_ACTIONS = 1), the table locks opening
    # the first. trip0 is rendered while the catalog is read under the lock, before it.
    assert [events[i][1] for i in ddl] == ["DO", "CREATE"]
    assert under_lock < renders[0][0] < rows  # while the server reads, not after
    first_done = next(i for i in range(ddl[0], len(events)) if events[i][0] == "done")
    for index, _ in renders[1:]:  # the second trip's, from the wait callback: between
        assert ddl[0] < index < first_done  # sending the first trip and its answer
    for uri in uris:
        assert pgtrigger.status(uri)[0].status is Status.INSTALLED
    Plain.objects.create(value=1)
    assert Plain.objects.get().value == 4  # each of the three fired: 1 + 3


class _Querying(pgtrigger.Trigger):
    """A class of the project's own whose hook queries the database (as some do)."""

    def get_func(self, model: type[models.Model]) -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "RETURN NEW;"


@pytest.mark.django_db(transaction=True)
def test_a_declaration_failing_in_a_later_round_trip_changes_nothing(
    extra_trigger: AddTrigger, events: list[tuple[str, str, str]]
) -> None:
    uris = [extra_trigger(Plain, _trip_trigger(f"fine{n}")) for n in range(2)]
    bad = extra_trigger(Plain, _trip_trigger("exploding"))
    FAILURES["exploding"] = DeclarationError("testapp.Plain:exploding: it failed")
    before = catalog_state()
    with pytest.raises(DeclarationError, match="testapp.Plain:exploding: it failed"):
        pgtrigger.install(*uris, bad)
    # psycopg2: the first round trip ran (table locks, then its CREATE statements) while the
    # second was rendered, and was rolled back; psycopg 3 renders everything while reading
    # under the lock, so nothing was sent. Either way the second round trip never was.
    assert (("done", "DO", "MainThread") in events) is _is_psycopg2()
    assert not any(e[:2] == ("send", "CREATE") for e in events)
    assert catalog_state() == before
    assert Plain.objects.count() == 0  # the connection is usable (psycopg2 keeps it open)


@pytest.mark.django_db
def test_a_rendering_error_that_is_a_database_error_is_not_taken_for_a_failed_statement(
    extra_trigger: AddTrigger, events: list[tuple[str, str, str]]
) -> None:
    # UnsupportedTriggerError is a DeclarationError and Django's NotSupportedError: raised
    # while the first round trip runs, it must not be reported as that round trip failing.
    uris = [extra_trigger(Plain, _trip_trigger(f"ok{n}")) for n in range(2)]
    bad = extra_trigger(Plain, _trip_trigger("unsupported"))
    FAILURES["unsupported"] = UnsupportedTriggerError("testapp.Plain:unsupported: not here")
    with pytest.raises(UnsupportedTriggerError, match="testapp.Plain:unsupported: not here"):
        pgtrigger.install(*uris, bad)
    assert sum(e[:2] == ("send", "DO") for e in events) <= 1  # not re-run action by action


@pytest.mark.django_db
def test_a_class_of_the_projects_own_is_compiled_before_any_query_is_in_flight(
    extra_trigger: AddTrigger, events: list[tuple[str, str, str]]
) -> None:
    # Its hooks may use the connection: never from psycopg2's wait callback (a query is in
    # flight there) but before the catalog is read under the lock.
    uris = [extra_trigger(Plain, _trip_trigger(f"before{n}")) for n in range(2)]
    own = extra_trigger(
        Plain, _Querying(name="querying", when=pgtrigger.Before, operation=pgtrigger.Insert)
    )
    pgtrigger.install(*uris, own)
    lock = next(i for i, e in enumerate(events) if e[:2] == ("send", "SELECT") and i > 0)
    render = events.index(("render", "querying", "MainThread"))
    assert render < lock
    assert pgtrigger.status(own)[0].status is Status.INSTALLED


@pytest.mark.django_db
def test_with_busy_tables_deferred_every_declaration_is_rendered_before_the_first_commit(
    extra_trigger: AddTrigger, events: list[tuple[str, str, str]], settings: Any
) -> None:
    # PGTRIGGER_LIVE_ON_BUSY_TABLE = "defer" commits what it can, then retries the rest.
    settings.PGTRIGGER_LIVE_ON_BUSY_TABLE = "defer"
    uris = [extra_trigger(Plain, _trip_trigger(f"deferred{n}")) for n in range(3)]
    pgtrigger.install(*uris)
    renders = [i for i, e in enumerate(events) if e[0] == "render"]
    reads = [i for i, e in enumerate(events) if e[:2] == ("send", "WITH")]
    assert len(renders) == 3
    assert max(renders) < reads[-1]  # all before the read under the lock


@pytest.mark.django_db
def test_a_reconcile_in_batches_renders_every_declaration_before_the_first_commits(
    extra_trigger: AddTrigger, events: list[tuple[str, str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Schemas r1 and r2, each committed in a batch of its own; the failing declaration's
    # table exists in r2 only, so the first batch alone would never render it.
    from pgtrigger_live.reconcile import installation

    with connection.cursor() as cursor:
        for schema in ("r1", "r2"):
            cursor.execute(f"CREATE SCHEMA {schema}")
            cursor.execute(
                f"CREATE TABLE {schema}.testapp_plain (LIKE public.testapp_plain INCLUDING ALL)"
            )
        cursor.execute(
            "CREATE TABLE r2.testapp_protected (LIKE public.testapp_protected INCLUDING ALL)"
        )
        cursor.execute("SET search_path TO r1")  # r1's path: r1 alone (the test's transaction)
    monkeypatch.setattr(installation, "MAX_TABLES_PER_TRANSACTION", 1)
    fine = extra_trigger(Plain, _trip_trigger("batched"))
    bad = extra_trigger(
        Protected,
        pgtrigger.Protect(name="exploding", operation=pgtrigger.Delete),
    )
    FAILURES["exploding"] = DeclarationError("testapp.Protected:exploding: it failed")
    with pytest.raises(DeclarationError, match="testapp.Protected:exploding"):
        pgtrigger.install(fine, bad, schemas=["r1", "r2"])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('r1', 'r2')"
        )
        assert cursor.fetchone() == (0,)  # no batch committed


@pytest.mark.django_db
def test_a_failing_work_during_the_catalog_read_leaves_the_connection_usable() -> None:
    def fail() -> None:
        raise ValueError("work failed")

    with pytest.raises(ValueError, match="work failed"):
        catalog.read_while(connection, [Plain._meta.db_table], [Scope()], fail)
    assert Plain.objects.count() == 0


@pytest.mark.django_db
def test_the_dry_runs_round_trips_are_grouped_as_this_driver_sends_them(
    extra_trigger: AddTrigger, events: list[tuple[str, str, str]]
) -> None:
    import json
    from io import StringIO

    from django.core.management import call_command

    uris = [extra_trigger(Plain, _trip_trigger(f"grouped{n}")) for n in range(3)]
    out = StringIO()
    call_command("pgtrigger", "install", *uris, "--dry-run", "--json", stdout=out)
    trips = json.loads(out.getvalue())["round_trips"]
    # FIRST_ACTIONS = 1: psycopg2 grows its round trips (1, then 2 actions), psycopg 3 sends
    # them all in one. Then the run sends exactly those.
    assert [sum(s.startswith("CREATE TRIGGER") for s in t) for t in trips] == (
        [1, 2] if _is_psycopg2() else [3]
    )
    events.clear()
    pgtrigger.install(*uris)
    sent = [e[1] for e in events if e[0] == "send" and e[1] in ("DO", "CREATE")]
    assert len(sent) == len(trips)


def test_whether_round_trips_grow_is_asked_of_the_driver_without_connecting() -> None:
    # `install --dry-run --json` asks it for any alias: it must open no connection.
    other = connections["other"]
    other.close()
    assert applier.grows("other") is (other.Database.__name__ == "psycopg2")
    assert other.connection is None


@pytest.mark.django_db
def test_status_and_a_dry_run_compile_every_declaration_first(
    extra_trigger: AddTrigger, events: list[tuple[str, str, str]]
) -> None:
    # Only an install that runs compiles on first use: `status`, `ls` and `--dry-run` report
    # a declaration that cannot render, even one no installed trigger is compared with.
    uri = extra_trigger(Plain, _trip_trigger("unrenderable"))
    FAILURES["unrenderable"] = DeclarationError("testapp.Plain:unrenderable: it failed")
    with pytest.raises(DeclarationError, match="unrenderable: it failed"):
        pgtrigger.status(uri)
    with pytest.raises(DeclarationError, match="unrenderable: it failed"):
        pgtrigger.install(uri, dry_run=True)
