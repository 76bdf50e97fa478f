"""``pgtrigger stats`` and ``ls --stats``: PostgreSQL's function counters per trigger URI.

The mapping, the shares and the differences are pure (plain data, table-driven); the counts
come from a real server after known numbers of writes. A backend sends its counters when it
goes idle outside a transaction, at most once a second: ``pg_stat_force_next_flush()`` (PG15+)
makes the next idle moment send them, so nothing here sleeps.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, models, transaction

import pgtrigger_live as pgtrigger
from pgtrigger_live.exceptions import StatsError, StatsUnavailableError
from pgtrigger_live.reconcile import stats
from pgtrigger_live.reconcile.planner import Entry
from pgtrigger_live.reconcile.state import Enabled, InstalledTrigger, Status, TableRef
from pgtrigger_live.reconcile.stats import Counters, Reading, Writes
from tests.test_commands import sqlite_alias  # noqa: F401  (a fixture)
from tests.testapp.models import Plain

AddTrigger = Callable[[type[models.Model], pgtrigger.Trigger], str]

T0 = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)
TABLE = TableRef("public", "testapp_plain", 41)
OTHER = TableRef("public", "testapp_other", 42)
ROW_INSERT_UPDATE = 1 | 4 | 16
ROW_UPDATE = 1 | 16
STATEMENT_UPDATE = 16


# -- pure: plain data ------------------------------------------------------------------------


def installed(
    pgid: str,
    *,
    oid: int,
    table: TableRef = TABLE,
    shape: int = ROW_INSERT_UPDATE,
    function: tuple[str, str] | None = None,
) -> InstalledTrigger:
    schema, name = function or (table.schema, pgid)
    return InstalledTrigger(
        table,
        pgid,
        Enabled.ENABLED,
        "pgtrigger_live:1:a:b",
        False,
        schema,
        name,
        "md5",
        shape,
        None,
        function_oid=oid,
    )


def entry(uri: str, trigger: InstalledTrigger | None, scope: str = "") -> Entry:
    status = Status.INSTALLED if trigger else Status.UNINSTALLED
    table = trigger.table if trigger else None
    return Entry(uri, uri.split(":")[1], status, "", table, trigger, scope=scope)


def reading(
    functions: dict[int, Counters] | None = None,
    tables: dict[int, Writes] | None = None,
    *,
    setting: str = "pl",
    at: datetime = T0,
    languages: dict[int, str] | None = None,
) -> Reading:
    return Reading(
        "db", setting, at, None, functions or {}, tables or {}, languages=languages or {}
    )


@pytest.mark.parametrize(
    ("tgtype", "level", "events"),
    [
        (1 | 4, "row", ("insert",)),
        (1 | 2 | 16, "row", ("update",)),
        (1 | 4 | 8 | 16, "row", ("insert", "update", "delete")),
        (16, "statement", ("update",)),
        (32, "statement", ("truncate",)),
        (None, "statement", ()),
    ],
)
def test_tgtype_gives_the_level_and_the_events(
    tgtype: int | None, level: str, events: tuple[str, ...]
) -> None:
    assert stats.shape_of(tgtype) == (level, events)


@pytest.mark.parametrize(
    ("setting", "language", "counted"),
    [
        ("pl", "plpgsql", True),
        ("all", "plpgsql", True),
        ("none", "plpgsql", False),
        ("pl", "c", False),
        ("all", "c", True),
        ("pl", "sql", False),
        ("all", "sql", True),
        ("all", "internal", False),  # built-ins are never counted
        ("pl", None, True),
    ],
)
def test_which_functions_postgres_counts(setting: str, language: str | None, counted: bool) -> None:
    assert stats.counts(setting, language) is counted


def test_costs_map_counters_by_function_oid_and_sort_by_total_time() -> None:
    cheap, dear, idle = (
        installed("pgtrigger_cheap_1", oid=101),
        installed("pgtrigger_dear_2", oid=102, shape=ROW_UPDATE),
        installed("pgtrigger_idle_3", oid=103),
    )
    entries = [
        entry("app.M:cheap", cheap),
        entry("app.M:dear", dear),
        entry("app.M:idle", idle),
        entry("app.M:missing", None),
    ]
    found = stats.costs(
        entries,
        reading(
            {101: Counters(10, 1.0, 1.0), 102: Counters(4, 8.0, 6.0)},
            {41: Writes(inserted=6, updated=8, deleted=3)},
        ),
    )
    assert [(c.uris, c.calls, c.total_ms, c.self_ms) for c in found] == [
        (("app.M:dear",), 4, 8.0, 6.0),
        (("app.M:cheap",), 10, 1.0, 1.0),
        (("app.M:idle",), 0, 0.0, 0.0),  # counted and not called since: a true zero
    ]
    dear_cost, cheap_cost, idle_cost = found
    assert (dear_cost.writes, dear_cost.share, dear_cost.mean_ms) == (8, 0.5, 2.0)
    assert (cheap_cost.writes, cheap_cost.share) == (14, 10 / 14)
    assert (idle_cost.share, idle_cost.mean_ms) == (0.0, None)


def test_equal_times_sort_by_calls_then_uri() -> None:
    entries = [
        entry("app.M:b", installed("pgtrigger_b_1", oid=1)),
        entry("app.M:a", installed("pgtrigger_a_2", oid=2)),
        entry("app.M:c", installed("pgtrigger_c_3", oid=3)),
    ]
    found = stats.costs(entries, reading({1: Counters(1, 0.0, 0.0), 3: Counters(2, 0.0, 0.0)}))
    assert [c.uris[0] for c in found] == ["app.M:c", "app.M:b", "app.M:a"]


def test_a_shared_function_is_shown_once_for_all_its_triggers_with_no_share() -> None:
    shared = ("lib", "audit")
    entries = [
        entry("app.M:one", installed("pgtrigger_one_1", oid=7, function=shared)),
        entry("app.N:two", installed("pgtrigger_two_2", oid=7, table=OTHER, function=shared)),
    ]
    (cost,) = stats.costs(entries, reading({7: Counters(9, 3.0, 3.0)}, {41: Writes(9, 0, 0)}))
    assert (cost.uris, cost.shared, cost.owned, cost.calls) == (
        ("app.M:one", "app.N:two"),
        True,
        False,
        9,
    )
    assert (cost.writes, cost.share) == (None, None)
    body = cost.to_json()
    assert (body["uri"], body["shared_with"]) == (
        "app.M:one",
        [{"uri": "app.N:two", "scope": None}],
    )
    assert "+ 1 other trigger (shared function lib.audit: one figure for all)" in stats.describe(
        cost
    )


def test_a_function_not_its_own_has_no_share() -> None:
    trigger = installed("pgtrigger_x_1", oid=8, function=("lib", "audit"))
    (cost,) = stats.costs(
        [entry("app.M:x", trigger)], reading({8: Counters(4, 1, 1)}, {41: Writes(4, 0, 0)})
    )
    assert (cost.owned, cost.shared, cost.share, cost.writes) == (False, False, None, 4)
    assert "not a function of its own: counts every caller" in stats.describe(cost)


@pytest.mark.parametrize(
    ("shape", "tables", "writes", "share"),
    [
        (ROW_UPDATE, {41: Writes(0, 0, 5)}, 0, None),  # no rows written by its events
        (STATEMENT_UPDATE, {41: Writes(0, 4, 0)}, None, None),  # calls are statements
        (ROW_UPDATE, {}, None, None),  # no table counters (a view)
        (1 | 2 | 8, {41: Writes(1, 1, 2)}, 2, 1.0),  # BEFORE DELETE: deletes only
    ],
)
def test_share_only_where_it_means_calls_per_row_written(
    shape: int, tables: dict[int, Writes], writes: int | None, share: float | None
) -> None:
    trigger = installed("pgtrigger_s_1", oid=5, shape=shape)
    (cost,) = stats.costs([entry("app.M:s", trigger)], reading({5: Counters(2, 1, 1)}, tables))
    assert (cost.writes, cost.share) == (writes, share)


def test_uncounted_functions_show_no_figures_rather_than_zeros() -> None:
    trigger = installed("pgtrigger_c_1", oid=9, function=("pg_catalog", "f"))
    sql_trigger = installed("pgtrigger_q_2", oid=10)
    languages = {9: "internal", 10: "sql"}
    found = stats.costs(
        [entry("app.M:c", trigger), entry("app.M:q", sql_trigger)],
        reading({10: Counters(3, 1, 1)}, languages=languages),
    )
    assert [(c.counted, c.calls, c.total_ms, c.mean_ms, c.share) for c in found] == [
        (False, None, None, None, None),
        (False, None, None, None, None),
    ]
    assert "built-in function: PostgreSQL never counts" in stats.describe(found[0])
    assert "sql function: counted only with track_functions = 'all'" in stats.describe(found[1])
    (counted,) = stats.costs(
        [entry("app.M:q", sql_trigger)],
        reading({10: Counters(3, 1, 1)}, setting="all", languages=languages),
    )
    assert counted.calls == 3


def test_a_trigger_two_scopes_see_counts_once() -> None:
    trigger = installed("pgtrigger_t_1", oid=11)
    found = stats.costs(
        [entry("app.M:t", trigger, "a"), entry("app.M:t", trigger, "b")],
        reading({11: Counters(1, 1, 1)}),
    )
    assert [(c.uris, c.scopes) for c in found] == [(("app.M:t",), ("a",))]


def test_minus_gives_what_happened_between_two_readings() -> None:
    before = reading({1: Counters(10, 5.0, 4.0)}, {41: Writes(1, 2, 3)})
    after = reading(
        {1: Counters(15, 7.5, 5.0), 2: Counters(3, 1.0, 1.0)},
        {41: Writes(2, 12, 3), 42: Writes(4, 0, 0)},
        at=T0 + timedelta(minutes=5),
    )
    diff = after.minus(before)
    assert diff.functions == {1: Counters(5, 2.5, 1.0), 2: Counters(3, 1.0, 1.0)}
    assert diff.tables == {41: Writes(1, 10, 0), 42: Writes(4, 0, 0)}
    assert (diff.since, diff.taken_at) == (T0, T0 + timedelta(minutes=5))


@pytest.mark.parametrize(
    ("before", "after", "message"),
    [
        (
            reading({1: Counters(10, 5, 5)}),
            reading({1: Counters(2, 1, 1)}, at=T0 + timedelta(1)),
            "Counters went down",
        ),
        (
            reading(tables={41: Writes(5, 5, 5)}),
            reading(tables={41: Writes(5, 4, 5)}, at=T0 + timedelta(1)),
            "Counters went down",
        ),
        (reading(at=T0 + timedelta(1)), reading(), "is newer than this one"),
        (Reading("elsewhere", "pl", T0, None), reading(), "database 'elsewhere', not 'db'"),
    ],
)
def test_minus_refuses_what_would_be_a_lie(before: Reading, after: Reading, message: str) -> None:
    with pytest.raises(StatsError, match=message):
        after.minus(before)


def test_a_saved_reading_round_trips_and_bad_files_are_named(tmp_path: Path) -> None:
    original = Reading(
        "db",
        "pl",
        T0,
        None,
        {1: Counters(3, 1.5, 1.25)},
        {41: Writes(1, 2, 3)},
        where=(("tenant_a",), True),
    )
    path = tmp_path / "before.json"
    stats.save_reading(original, path)
    loaded = stats.load_reading(path)
    assert (loaded.datname, loaded.taken_at, loaded.functions, loaded.tables, loaded.where) == (
        "db",
        T0,
        original.functions,
        original.tables,
        (("tenant_a",), True),
    )
    with pytest.raises(StatsError, match="Cannot read the saved reading .*missing.json"):
        stats.load_reading(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(StatsError, match="bad.json' is not JSON"):
        stats.load_reading(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text('{"format": "something else"}')
    with pytest.raises(StatsError, match="not a reading saved by `pgtrigger stats --save`"):
        stats.load_reading(tmp_path / "other.json")
    damaged = original.to_json()
    del damaged["tables"]
    (tmp_path / "damaged.json").write_text(json.dumps(damaged))
    with pytest.raises(StatsError, match="damaged.json' is damaged \\(KeyError"):
        stats.load_reading(tmp_path / "damaged.json")


def test_the_off_message_says_how_to_turn_counting_on() -> None:
    text = stats.off_message("default", Reading('my "db"', "none", T0, None))
    assert text.startswith("track_functions is 'none' on database 'default'")
    assert 'ALTER DATABASE "my ""db""" SET track_functions = \'pl\';' in text
    assert "without a restart" in text
    assert "GRANT SET ON PARAMETER track_functions" in text


def test_the_text_table() -> None:
    report = stats.Report(
        "default",
        reading({1: Counters(1234, 2469.0, 2000.0)}, {41: Writes(1234, 0, 0)}),
        stats.costs(
            [entry("app.M:a", installed("pgtrigger_a_1", oid=1))],
            reading({1: Counters(1234, 2469.0, 2000.0)}, {41: Writes(1234, 0, 0)}),
        ),
    )
    assert stats.table_lines(report) == [
        "Trigger cost on database 'default' (db), cumulative since the functions were created:",
        "     calls    total ms     self ms   mean ms  share  trigger",
        "     1,234   2,469.000   2,000.000     2.001   100%  app.M:a on public.testapp_plain",
        "1 trigger function: 2,469.000 ms in 1,234 calls.",
    ]
    since = reading(at=T0 + timedelta(hours=1)).minus(reading())
    assert stats.table_lines(stats.Report("x", since, [])) == [
        "Trigger cost on database 'x' (db), from 2026-12-05 12:00:00+00:00 to "
        "2026-12-05 13:00:00+00:00:",
        "No installed triggers to measure.",
    ]
    reset = Reading("db", "pl", T0, T0 - timedelta(days=1))
    assert stats.table_lines(stats.Report("x", reset, []))[0].endswith(
        "cumulative since each function was created or the statistics were last reset "
        "(2026-12-04 12:00:00+00:00):"
    )


# -- a real server ---------------------------------------------------------------------------


def run(*args: str) -> str:
    out = StringIO()
    call_command("pgtrigger", *args, stdout=out, stderr=StringIO(), no_color=True)
    return out.getvalue()


def flush() -> None:
    """Make this backend send its counters when the statement ends (PostgreSQL 15+)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")


def set_tracking(value: str | None) -> None:
    with connection.cursor() as cursor:
        if value is None:
            cursor.execute("RESET track_functions")
        else:
            cursor.execute("SELECT set_config('track_functions', %s, false)", [value])


@pytest.fixture
def counted(extra_trigger: AddTrigger) -> Iterator[Callable[..., str]]:
    """Install triggers for one test, with function calls counted in this session; the
    triggers are dropped afterwards (these tests commit)."""
    uris: list[str] = []

    def add(trigger: pgtrigger.Trigger, model: type[models.Model] = Plain) -> str:
        uri = extra_trigger(model, trigger)
        uris.append(uri)
        return uri

    set_tracking("pl")
    try:
        yield add
    finally:
        set_tracking(None)
        if uris:
            pgtrigger.uninstall(*uris)


def row_trigger(name: str, operation: pgtrigger.Operation, **kwargs: Any) -> pgtrigger.Trigger:
    return pgtrigger.Trigger(
        name=name, when=pgtrigger.Before, operation=operation, func="RETURN NEW;", **kwargs
    )


def three_triggers(add: Callable[..., str]) -> tuple[str, str, str]:
    every = add(row_trigger("st_every_row", pgtrigger.Insert | pgtrigger.Update))
    big = add(
        pgtrigger.Trigger(
            name="st_big_only",
            when=pgtrigger.After,
            operation=pgtrigger.Update,
            condition=pgtrigger.Q(new__value__gt=100),
            func="RETURN NULL;",
        )
    )
    statement = add(
        pgtrigger.Trigger(
            name="st_statement",
            when=pgtrigger.After,
            level=pgtrigger.Statement,
            operation=pgtrigger.Update,
            func="RETURN NULL;",
        )
    )
    pgtrigger.install(every, big, statement)
    return every, big, statement


def known_writes() -> None:
    """5 rows inserted (one statement), 5 updated, then 2 of them updated again past 100."""
    rows = Plain.objects.bulk_create([Plain(value=i) for i in range(5)])
    Plain.objects.update(value=50)
    Plain.objects.filter(pk__in=[rows[0].pk, rows[1].pk]).update(value=500)
    flush()


@pytest.mark.django_db(transaction=True)
def test_calls_and_times_appear_for_the_right_uris(counted: Callable[..., str]) -> None:
    every, big, statement = three_triggers(counted)
    known_writes()
    report = json.loads(run("stats", "--json"))
    assert report["track_functions"] == "pl"
    by_uri = {t["uri"]: t for t in report["triggers"]}
    # 5 inserts + 5 + 2 updates; the WHEN clause kept 5 of the 7 updated rows from calling
    # the function at all; the statement-level trigger ran once per UPDATE statement.
    assert {uri: by_uri[uri]["calls"] for uri in (every, big, statement)} == {
        every: 12,
        big: 2,
        statement: 2,
    }
    for uri in (every, big, statement):
        row = by_uri[uri]
        assert row["total_ms"] > 0
        assert 0 < row["self_ms"] <= row["total_ms"]
        assert row["mean_ms"] == pytest.approx(row["total_ms"] / row["calls"], abs=1e-3)
        assert (row["shared_with"], row["owned"], row["counted"]) == ([], True, True)
    assert (by_uri[big]["level"], by_uri[big]["events"]) == ("row", ["update"])
    assert (by_uri[statement]["level"], by_uri[statement]["share"]) == ("statement", None)
    totals = [t["total_ms"] for t in report["triggers"]]
    assert totals == sorted(totals, reverse=True)
    text = run("stats", every)
    assert f"  {every} on public.testapp_plain" in text
    assert text.splitlines()[2].startswith("        12 ")
    assert big not in text  # URIs select


@pytest.mark.django_db(transaction=True)
def test_json_shape(counted: Callable[..., str]) -> None:
    uri = counted(row_trigger("st_shape", pgtrigger.Insert))
    pgtrigger.install(uri)
    report = json.loads(run("stats", uri, "--json"))
    assert set(report) == {
        "database",
        "datname",
        "track_functions",
        "taken_at",
        "since",
        "stats_reset",
        "triggers",
    }
    assert (report["database"], report["since"]) == ("default", None)
    assert report["datname"] == connection.settings_dict["NAME"]
    datetime.fromisoformat(report["taken_at"])
    (row,) = report["triggers"]
    assert row == {
        "uri": uri,
        "scope": None,
        "pgid": pgtrigger.status(uri)[0].pgid,
        "table": "public.testapp_plain",
        "status": "INSTALLED",
        "level": "row",
        "events": ["insert"],
        "function": f"public.{row['pgid']}",
        "language": "plpgsql",
        "shared_with": [],
        "owned": True,
        "counted": True,
        "calls": 0,
        "total_ms": 0.0,
        "self_ms": 0.0,
        "mean_ms": None,
        "writes": row["writes"],
        "share": row["share"],
    }


@pytest.mark.django_db(transaction=True)
def test_save_and_since_measure_one_load_with_shares(
    counted: Callable[..., str], tmp_path: Path
) -> None:
    every, big, statement = three_triggers(counted)
    Plain.objects.create(value=1)  # before the measurement
    flush()
    saved = tmp_path / "before.json"
    out = run("stats", "--save", str(saved))
    assert out.startswith("Saved the counters of ")
    assert f"python manage.py pgtrigger stats --since {saved}" in out
    known_writes()
    report = json.loads(run("stats", "--since", str(saved), "--json"))
    assert report["since"] is not None
    by_uri = {t["uri"]: t for t in report["triggers"]}
    # Only the load: the insert before --save is not counted; the row it made is updated by
    # the load's first UPDATE (6 rows, then 2).
    assert {uri: by_uri[uri]["calls"] for uri in (every, big, statement)} == {
        every: 5 + 6 + 2,
        big: 2,
        statement: 2,
    }
    # Rows written by each trigger's events during the load: every row called the first,
    # the WHEN clause let 2 of the 8 updated rows call the second.
    assert (by_uri[every]["writes"], by_uri[every]["share"]) == (5 + 8, 1.0)
    assert (by_uri[big]["writes"], by_uri[big]["share"]) == (8, 0.25)
    assert "from " in run("stats", "--since", str(saved)).splitlines()[0]
    with pytest.raises(CommandError, match="--save records every trigger"):
        run("stats", every, "--save", str(saved))
    with pytest.raises(CommandError, match="give the same -s/--all-schemas to both"):
        run("stats", "--since", str(saved), "-s", "public")


@pytest.mark.django_db(transaction=True)
def test_tracking_off_says_so_and_how_to_turn_it_on_instead_of_zeros(
    counted: Callable[..., str],
) -> None:
    uri = counted(row_trigger("st_off", pgtrigger.Insert))
    pgtrigger.install(uri)
    set_tracking("none")
    name = connection.settings_dict["NAME"]
    for args in (("stats",), ("stats", "--json"), ("stats", "--save", "unused.json")):
        with pytest.raises(CommandError) as exc:
            run(*args)
        assert exc.value.returncode == 1
        assert str(exc.value).startswith("track_functions is 'none' on database 'default'")
        assert f"ALTER DATABASE \"{name}\" SET track_functions = 'pl';" in str(exc.value)
    with pytest.raises(StatsUnavailableError):
        pgtrigger.stats(uri)
    assert not Path("unused.json").exists()
    # ls still lists, and says why it has no figures.
    out, err = StringIO(), StringIO()
    call_command("pgtrigger", "ls", uri, "--stats", stdout=out, stderr=err, no_color=True)
    assert err.getvalue().startswith("track_functions is 'none'")
    assert out.getvalue().splitlines()[0] == f"INSTALLED ENABLED  {uri}"


@pytest.mark.django_db(transaction=True)
def test_ls_stats_heads_the_order_column_too(counted: Callable[..., str]) -> None:
    ordered = counted(row_trigger("st_ordered", pgtrigger.Insert, order=5))
    plain = counted(row_trigger("st_plain", pgtrigger.Insert))
    lines = run("ls", ordered, plain, "--stats").splitlines()
    head = lines[0].index("trigger")
    assert lines[0][:head].rstrip().endswith("order")
    assert [line.index(uri) for line, uri in zip(lines[1:3], (ordered, plain), strict=True)] == [
        head,
        head,
    ]


@pytest.mark.django_db(transaction=True)
def test_ls_stats_adds_the_columns(counted: Callable[..., str]) -> None:
    every, big, statement = three_triggers(counted)
    absent = counted(row_trigger("st_absent", pgtrigger.Insert))  # declared, not installed
    known_writes()
    lines = run("ls", every, big, absent, "--stats").splitlines()
    assert lines[0] == f"{'':11} {'':8} {stats.FIGURES_HEAD} trigger"
    assert lines[1].startswith("INSTALLED   ENABLED          12 ")
    assert lines[1].endswith(f" {every}")
    assert lines[2].startswith("INSTALLED   ENABLED           2 ")
    assert lines[3] == f"UNINSTALLED N/A      {'':32} {absent}  (not installed)"
    assert "* a function several triggers run" not in "\n".join(lines)
    rows = {r["uri"]: r for r in json.loads(run("ls", "--stats", "--json"))}
    assert rows[statement]["stats"]["calls"] == 2
    assert rows[absent]["stats"] is None
    # Nothing installed among those listed: the counters query gets empty OID arrays.
    assert run("ls", absent, "--stats").splitlines()[1].startswith("UNINSTALLED N/A")
    assert "stats" not in json.loads(run("ls", every, "--json"))[0]
    assert rows["testapp.Protected:protect_delete"]["stats"]["calls"] >= 0


SHARED = """
CREATE OR REPLACE FUNCTION public.pgtl_stats_shared() RETURNS trigger
LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$
"""


class Runs(pgtrigger.Trigger):
    """A trigger that runs a function it does not own (``render_execute``)."""

    def __init__(self, *, execute: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.execute = execute

    def render_execute(self, model: type[models.Model]) -> str | None:
        return self.execute


@pytest.mark.django_db(transaction=True)
def test_a_shared_function_is_one_figure_and_builtins_are_never_counted(
    counted: Callable[..., str],
) -> None:
    with connection.cursor() as cursor:
        cursor.execute(SHARED)
    try:
        on_insert = counted(
            Runs(
                name="st_ins",
                execute="public.pgtl_stats_shared()",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert,
            )
        )
        on_update = counted(
            Runs(
                name="st_upd",
                execute="public.pgtl_stats_shared()",
                when=pgtrigger.Before,
                operation=pgtrigger.Update,
            )
        )
        builtin = counted(
            Runs(
                name="st_builtin",
                execute="suppress_redundant_updates_trigger()",
                when=pgtrigger.Before,
                operation=pgtrigger.Update,
            )
        )
        pgtrigger.install(on_insert, on_update, builtin)
        set_tracking("all")
        rows = Plain.objects.bulk_create([Plain(value=1) for _ in range(3)])
        Plain.objects.filter(pk=rows[0].pk).update(value=2)
        flush()
        report = pgtrigger.stats(on_insert, on_update, builtin)
        shared, never = report.costs
        assert (shared.uris, shared.calls, shared.shared, shared.share) == (
            (on_insert, on_update),
            3 + 1,
            True,
            None,
        )
        assert shared.function == "public.pgtl_stats_shared"
        assert (never.uris, never.language, never.counted, never.calls) == (
            (builtin,),
            "internal",
            False,
            None,
        )
        # The fact behind it: even with 'all', the server keeps no counters for a built-in.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_user_functions "
                "WHERE funcname = 'suppress_redundant_updates_trigger'"
            )
            assert cursor.fetchone()[0] == 0
        text = "\n".join(stats.table_lines(report))
        assert f"{on_insert} on public.testapp_plain + 1 other trigger (shared function" in text
        listed = run("ls", on_insert, on_update, "--stats")
        assert listed.count("        4* ") == 2
        assert stats.SHARED_NOTE in listed
    finally:
        if registry_has(on_insert := "testapp.Plain:st_ins"):
            pgtrigger.uninstall(on_insert, "testapp.Plain:st_upd")
        with connection.cursor() as cursor:
            cursor.execute("DROP FUNCTION IF EXISTS public.pgtl_stats_shared()")


def registry_has(uri: str) -> bool:
    from pgtrigger_live.declare import registry

    return uri in registry._registry


@pytest.mark.django_db(transaction=True)
def test_stats_per_schema_and_all_schemas(counted: Callable[..., str], settings: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA stats_tenant")
        cursor.execute("CREATE TABLE stats_tenant.testapp_plain (LIKE public.testapp_plain)")
    try:
        uri = counted(row_trigger("st_tenant", pgtrigger.Insert))
        pgtrigger.install(uri, schemas=["stats_tenant"])
        pgtrigger.install(uri)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO stats_tenant.testapp_plain (id, value, label) "
                "SELECT g, g, '' FROM generate_series(1, 4) g"
            )
        Plain.objects.create()
        flush()
        (tenant,) = json.loads(run("stats", uri, "-s", "stats_tenant", "--json"))["triggers"]
        assert (tenant["scope"], tenant["table"], tenant["calls"]) == (
            "stats_tenant",
            "stats_tenant.testapp_plain",
            4,
        )
        settings.PGTRIGGER_LIVE_SCHEMAS = ["public", "stats_tenant"]
        both = json.loads(run("stats", uri, "--all-schemas", "--json"))["triggers"]
        assert sorted((t["table"], t["calls"]) for t in both) == [
            ("public.testapp_plain", 1),
            ("stats_tenant.testapp_plain", 4),
        ]
    finally:
        pgtrigger.uninstall("testapp.Plain:st_tenant", schemas=["stats_tenant"])
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA stats_tenant CASCADE")


@pytest.mark.django_db
@pytest.mark.usefixtures("sqlite_alias")
def test_a_database_that_is_not_postgres_has_no_stats() -> None:
    with pytest.raises(CommandError, match="'lite' is not PostgreSQL: it has no trigger stat"):
        run("stats", "-d", "lite")
    err = StringIO()
    call_command("pgtrigger", "ls", "-d", "lite", "--stats", stdout=StringIO(), stderr=err)
    assert err.getvalue() == "Database 'lite' is not PostgreSQL: no trigger statistics.\n"


@pytest.mark.django_db(transaction=True)
def test_a_second_reading_in_one_transaction_is_fresh(counted: Callable[..., str]) -> None:
    """PostgreSQL caches statistics for the rest of a transaction once read; a reading
    clears that cache first, so two readings in one transaction differ when they should."""
    import psycopg

    uri = counted(row_trigger("st_fresh", pgtrigger.Insert))
    pgtrigger.install(uri)
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with transaction.atomic():
        assert pgtrigger.stats(uri).costs[0].calls == 0
        with psycopg.connect(**params, autocommit=True) as other:
            other.execute("SET track_functions = 'pl'")
            other.execute("INSERT INTO testapp_plain (value, label) VALUES (1, ''), (2, '')")
            other.execute("SELECT pg_stat_force_next_flush()")
            other.execute("SELECT 1")  # the flush happened when the previous statement ended
        assert pgtrigger.stats(uri).costs[0].calls == 2


@pytest.mark.django_db(transaction=True)
def test_a_call_that_raises_is_not_counted(counted: Callable[..., str]) -> None:
    """PostgreSQL counts a call when the function returns: a refusal is invisible here."""
    uri = counted(pgtrigger.Protect(name="st_refuse", operation=pgtrigger.Delete))
    pgtrigger.install(uri)
    row = Plain.objects.create()
    for _ in range(3):
        with pytest.raises(pgtrigger.ProtectedError), transaction.atomic():
            Plain.objects.filter(pk=row.pk).delete()
    flush()
    assert pgtrigger.stats(uri).costs[0].calls == 0
