"""What each trigger costs: PostgreSQL's per-function counters, mapped back to trigger URIs.

Read-only. PostgreSQL counts calls and time per function in ``pg_stat_user_functions`` when
``track_functions`` is ``pl`` or ``all``; it knows nothing of models. The catalog reading of
``status()`` gives each installed trigger its function's OID, so the counters are read by
OID (one parameterised query, with the table write counts of ``pg_stat_user_tables``) and
laid out per trigger URI. A function several triggers run (a custom ``execute``) has one set
of counters: it is shown once, with every URI it serves, never split or counted twice.

Counters are per database and cumulative. ``Reading.minus`` subtracts an earlier reading, so a
team can measure one load test on a shared database without the privilege to reset them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.db import DEFAULT_DB_ALIAS, connections

from pgtrigger_live import sql
from pgtrigger_live.exceptions import StatsError, StatsUnavailableError
from pgtrigger_live.reconcile.installation import Selector, status
from pgtrigger_live.reconcile.planner import Entry
from pgtrigger_live.reconcile.state import TableRef
from pgtrigger_live.routing import is_postgres

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

#: ``track_functions`` values under which PostgreSQL counts function calls.
TRACKING = ("pl", "all")
#: Languages ``track_functions = 'pl'`` leaves uncounted: ``all`` counts C and SQL
#: functions, and never the server's built-in (``internal``) ones.
NOT_PL = ("c", "sql")
NEVER = ("internal",)
#: The version of the file ``--save`` writes; ``--since`` refuses any other.
SAVE_FORMAT = "pgtrigger_live.stats/1"

# pg_trigger.tgtype bits (PostgreSQL's TRIGGER_TYPE_*): the level, then the events.
_ROW = 1
_EVENTS = (("insert", 4), ("update", 16), ("delete", 8), ("truncate", 32))

_SETTINGS = """
SELECT current_database(), current_setting('track_functions'), now(),
       (SELECT d.stats_reset FROM pg_stat_database d WHERE d.datname = current_database())
"""
# The counters of the given functions and tables, and each function's language (which
# decides whether it is counted at all: read here, not by every reconcile's catalog query).
# Counter rows absent here were not counted since created or reset (zero when tracking is on).
_COUNTERS = """
SELECT 'function', s.funcid::bigint, s.calls::float8, s.total_time, s.self_time, NULL::text
  FROM pg_stat_user_functions s
 WHERE s.funcid = ANY(%s::oid[])
UNION ALL
SELECT 'table', t.relid::bigint, t.n_tup_ins::float8, t.n_tup_upd::float8, t.n_tup_del::float8,
       NULL
  FROM pg_stat_user_tables t
 WHERE t.relid = ANY(%s::oid[])
UNION ALL
SELECT 'language', p.oid::bigint, NULL, NULL, NULL, l.lanname::text
  FROM pg_proc p
  JOIN pg_language l ON l.oid = p.prolang
 WHERE p.oid = ANY(%s::oid[])
"""


@dataclass(frozen=True, slots=True)
class Counters:
    """One function's counters: calls, and milliseconds with and without what it called."""

    calls: int
    total_ms: float
    self_ms: float


@dataclass(frozen=True, slots=True)
class Writes:
    """Rows written to one table (``n_tup_ins``, ``n_tup_upd``, ``n_tup_del``)."""

    inserted: int
    updated: int
    deleted: int

    def of(self, events: Sequence[str]) -> int:
        return sum(getattr(self, _WRITES[e]) for e in events if e in _WRITES)


_WRITES = {"insert": "inserted", "update": "updated", "delete": "deleted"}


@dataclass(frozen=True, slots=True)
class Reading:
    """The counters of one database at one moment, as one query read them."""

    datname: str
    track_functions: str
    taken_at: datetime
    stats_reset: datetime | None
    functions: dict[int, Counters] = field(default_factory=dict)
    tables: dict[int, Writes] = field(default_factory=dict)
    #: The moment of the earlier reading this one was diffed against (``minus``).
    since: datetime | None = None
    #: The schemas it covers, as asked: ``-s`` names and ``--all-schemas``.
    where: tuple[tuple[str, ...], bool] = ((), False)
    #: Function OID -> its language (not saved: a diff takes the later reading's).
    languages: dict[int, str] = field(default_factory=dict)

    @property
    def tracking(self) -> bool:
        return self.track_functions in TRACKING

    def minus(self, earlier: Reading) -> Reading:
        """What happened between ``earlier`` and this reading.

        A function or table the earlier reading lacks started from zero (created, or first
        counted, since). Counters that went down were reset in between: the difference
        would be a lie, so that is an error.
        """
        if earlier.datname != self.datname:
            raise StatsError(
                f"The saved reading is of database {earlier.datname!r}, not {self.datname!r}: "
                "compare readings of the same database."
            )
        if earlier.taken_at > self.taken_at:
            raise StatsError(
                f"The saved reading ({earlier.taken_at.isoformat()}) is newer than this one."
            )
        functions: dict[int, Counters] = {}
        for oid, now in self.functions.items():
            was = earlier.functions.get(oid, Counters(0, 0.0, 0.0))
            if now.calls < was.calls:
                raise _went_down(earlier)
            functions[oid] = Counters(
                now.calls - was.calls,
                max(now.total_ms - was.total_ms, 0.0),
                max(now.self_ms - was.self_ms, 0.0),
            )
        tables: dict[int, Writes] = {}
        for oid, rows in self.tables.items():
            before = earlier.tables.get(oid, Writes(0, 0, 0))
            delta = Writes(
                rows.inserted - before.inserted,
                rows.updated - before.updated,
                rows.deleted - before.deleted,
            )
            if min(delta.inserted, delta.updated, delta.deleted) < 0:
                raise _went_down(earlier)
            tables[oid] = delta
        return Reading(
            self.datname,
            self.track_functions,
            self.taken_at,
            self.stats_reset,
            functions,
            tables,
            since=earlier.taken_at,
            where=self.where,
            languages=self.languages,
        )

    def to_json(self) -> dict[str, Any]:
        """What ``--save`` writes (OIDs as keys: they name the same objects until dropped)."""
        return {
            "format": SAVE_FORMAT,
            "database": self.datname,
            "taken_at": self.taken_at.isoformat(),
            "schemas": list(self.where[0]),
            "all_schemas": self.where[1],
            "functions": {
                str(oid): [c.calls, c.total_ms, c.self_ms] for oid, c in self.functions.items()
            },
            "tables": {
                str(oid): [w.inserted, w.updated, w.deleted] for oid, w in self.tables.items()
            },
        }

    @classmethod
    def from_json(cls, data: Any, origin: str = "the saved reading") -> Reading:
        if not isinstance(data, dict) or data.get("format") != SAVE_FORMAT:
            raise StatsError(
                f"{origin} is not a reading saved by `pgtrigger stats --save` "
                f"(expected format {SAVE_FORMAT!r})."
            )
        try:
            return cls(
                datname=str(data["database"]),
                track_functions="pl",
                taken_at=datetime.fromisoformat(data["taken_at"]),
                stats_reset=None,
                functions={
                    int(oid): Counters(int(c[0]), float(c[1]), float(c[2]))
                    for oid, c in data["functions"].items()
                },
                tables={
                    int(oid): Writes(int(w[0]), int(w[1]), int(w[2]))
                    for oid, w in data["tables"].items()
                },
                where=(tuple(str(n) for n in data["schemas"]), bool(data["all_schemas"])),
            )
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise StatsError(f"{origin} is damaged ({type(exc).__name__}: {exc}).") from exc


def _went_down(earlier: Reading) -> StatsError:
    return StatsError(
        f"Counters went down since the reading of {earlier.taken_at.isoformat()}: the "
        "statistics were reset in between. Save a new reading and measure again."
    )


def read(
    connection: BaseDatabaseWrapper, function_oids: Sequence[int], table_oids: Sequence[int]
) -> Reading:
    """The counters of these functions and tables, and the setting that decides whether
    they count. The statistics snapshot is cleared first: inside a transaction PostgreSQL
    would otherwise repeat its first answer (``stats_fetch_consistency = cache``)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(_SETTINGS)
        datname, setting, taken_at, stats_reset = cursor.fetchone()
        functions_asked = sorted(set(function_oids))
        cursor.execute(_COUNTERS, [functions_asked, sorted(set(table_oids)), functions_asked])
        rows = cursor.fetchall()
    functions: dict[int, Counters] = {}
    tables: dict[int, Writes] = {}
    languages: dict[int, str] = {}
    for kind, oid, a, b, c, language in rows:
        if kind == "function":
            functions[int(oid)] = Counters(int(a), float(b), float(c))
        elif kind == "table":
            tables[int(oid)] = Writes(int(a), int(b), int(c))
        else:
            languages[int(oid)] = language
    return Reading(datname, setting, taken_at, stats_reset, functions, tables, languages=languages)


# -- per trigger (pure) ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cost:
    """What one trigger function cost, and the triggers that ran it.

    ``uris`` has one URI unless the function is shared: its counters are the function's,
    whichever trigger called it, so they are shown once for all of them. ``calls`` is None
    when the function is not counted (``counted``), never a zero that means "unknown".
    """

    uris: tuple[str, ...]
    #: The scope that saw each of ``uris`` ("" for the connection's own search_path).
    scopes: tuple[str, ...]
    pgid: str
    table: TableRef
    status: str
    level: str
    events: tuple[str, ...]
    function: str
    #: The function's language (``plpgsql`` for the functions pgtrigger_live writes).
    language: str | None
    #: The trigger runs a function of its own (dropped with it), not a shared or foreign one.
    owned: bool
    counted: bool
    calls: int | None
    total_ms: float | None
    self_ms: float | None
    #: Rows written to the table by the trigger's events (row-level triggers only).
    writes: int | None

    @property
    def shared(self) -> bool:
        return len(self.uris) > 1

    @property
    def mean_ms(self) -> float | None:
        if self.calls is None or self.total_ms is None or not self.calls:
            return None
        return self.total_ms / self.calls

    @property
    def share(self) -> float | None:
        """Calls per row written by its events: below 1 when a WHEN clause or ``UPDATE OF``
        skipped rows. None where it has no meaning: a statement-level trigger, a function
        shared or not ours (its calls come from elsewhere too), or no rows written."""
        if self.calls is None or not self.writes or self.level != "row":
            return None
        if self.shared or not self.owned:
            return None
        return self.calls / self.writes

    def to_json(self) -> dict[str, Any]:
        return {
            "uri": self.uris[0],
            "scope": self.scopes[0] or None,
            "pgid": self.pgid,
            "table": f"{self.table.schema}.{self.table.name}",
            "status": self.status,
            "level": self.level,
            "events": list(self.events),
            "function": self.function,
            "language": self.language,
            "shared_with": [
                {"uri": uri, "scope": scope or None}
                for uri, scope in zip(self.uris[1:], self.scopes[1:], strict=True)
            ],
            "owned": self.owned,
            "counted": self.counted,
            "calls": self.calls,
            "total_ms": _round(self.total_ms),
            "self_ms": _round(self.self_ms),
            "mean_ms": _round(self.mean_ms),
            "writes": self.writes,
            "share": None if self.share is None else round(self.share, 4),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def shape_of(tgtype: int | None) -> tuple[str, tuple[str, ...]]:
    """``pg_trigger.tgtype`` as a level and its events."""
    bits = tgtype or 0
    level = "row" if bits & _ROW else "statement"
    return level, tuple(name for name, bit in _EVENTS if bits & bit)


def counts(track_functions: str, language: str | None) -> bool:
    """Whether PostgreSQL counts calls of a function in this language under this setting."""
    if track_functions not in TRACKING or language in NEVER:
        return False
    return track_functions == "all" or language not in NOT_PL


def costs(entries: Sequence[Entry], reading: Reading) -> list[Cost]:
    """One Cost per installed trigger function, costliest first (total time, then calls).

    Entries without an installed trigger have no counters and are left out; a trigger two
    scopes both see (a table shared through the search path) counts once.
    """
    groups: dict[int, list[Entry]] = {}
    seen: set[tuple[int, str]] = set()
    for entry in entries:
        installed = entry.installed
        if installed is None or installed.function_oid is None:
            continue
        key = (installed.table.oid, installed.pgid)
        if key in seen:
            continue
        seen.add(key)
        groups.setdefault(installed.function_oid, []).append(entry)
    result = []
    for oid, group in groups.items():
        first = group[0].installed
        assert first is not None
        level, events = shape_of(first.shape)
        language = reading.languages.get(oid)
        counted = counts(reading.track_functions, language)
        counters = reading.functions.get(oid, Counters(0, 0.0, 0.0)) if counted else None
        table_writes = reading.tables.get(first.table.oid)
        writes = (
            table_writes.of(events)
            if table_writes is not None and level == "row" and len(group) == 1
            else None
        )
        result.append(
            Cost(
                uris=tuple(e.uri for e in group),
                scopes=tuple(e.scope for e in group),
                pgid=first.pgid,
                table=first.table,
                status=group[0].status.value,
                level=level,
                events=events,
                function=f"{first.function_schema}.{first.function_name}",
                language=language,
                owned=len(group) == 1 and first.owns_function,
                counted=counted,
                calls=counters.calls if counters else None,
                total_ms=counters.total_ms if counters else None,
                self_ms=counters.self_ms if counters else None,
                writes=writes,
            )
        )
    result.sort(key=lambda c: (-(c.total_ms or 0.0), -(c.calls or 0), c.uris))
    return result


# -- the call and its words ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Report:
    """``stats()``'s answer: the triggers' costs on one database, and what they cover."""

    database: str
    reading: Reading
    costs: list[Cost]

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` document (docs/stats.md, "JSON")."""
        reading = self.reading
        return {
            "database": self.database,
            "datname": reading.datname,
            "track_functions": reading.track_functions,
            "taken_at": reading.taken_at.isoformat(),
            "since": reading.since.isoformat() if reading.since else None,
            "stats_reset": reading.stats_reset.isoformat() if reading.stats_reset else None,
            "triggers": [cost.to_json() for cost in self.costs],
        }


def stats(
    *uris: Selector,
    database: str | None = None,
    schemas: Sequence[str] = (),
    all_schemas: bool = False,
    since: Reading | None = None,
) -> Report:
    """What each installed trigger has cost on one database: calls and time per trigger.

    Cumulative since the counters were last reset, or since ``since`` (an earlier reading,
    e.g. ``load_reading(path)``). Raises StatsUnavailableError when PostgreSQL does not count
    function calls in this session (``track_functions`` off): figures would all be zero.
    """
    alias = database or DEFAULT_DB_ALIAS
    entries, reading = _current(uris, alias, schemas, all_schemas)
    if since is not None:
        if since.where != reading.where:
            raise StatsError(
                f"The saved reading covers {_where_text(since.where)}, this one "
                f"{_where_text(reading.where)}: give the same -s/--all-schemas to both."
            )
        reading = reading.minus(since)
    return Report(alias, reading, costs(entries, reading))


def take(
    *, database: str | None = None, schemas: Sequence[str] = (), all_schemas: bool = False
) -> Reading:
    """The counters of every installed trigger of these schemas, to save (``--save``) and
    subtract later: all of them, so a later ``since`` never mistakes an unsaved function for
    a new one."""
    return _current((), database or DEFAULT_DB_ALIAS, schemas, all_schemas)[1]


def _current(
    uris: Sequence[Selector], alias: str, schemas: Sequence[str], all_schemas: bool
) -> tuple[list[Entry], Reading]:
    if not is_postgres(alias):
        raise StatsError(f"Database {alias!r} is not PostgreSQL: it has no trigger statistics.")
    entries = status(*uris, database=alias, schemas=schemas, all_schemas=all_schemas)
    reading = read_for(connections[alias], entries)
    if not reading.tracking:
        raise StatsUnavailableError(off_message(alias, reading))
    where = (tuple(schemas), all_schemas)
    return entries, Reading(
        reading.datname,
        reading.track_functions,
        reading.taken_at,
        reading.stats_reset,
        reading.functions,
        reading.tables,
        where=where,
        languages=reading.languages,
    )


def _where_text(where: tuple[tuple[str, ...], bool]) -> str:
    schemas, all_schemas = where
    parts = [*(f"-s {name}" for name in schemas), *(["--all-schemas"] if all_schemas else [])]
    return " ".join(parts) if parts else "the connection's own schemas"


def costs_by_entry(alias: str, entries: Sequence[Entry]) -> dict[tuple[str, str], Cost]:
    """(scope, URI) -> the cost of its function, for ``ls --stats``. Raises
    StatsUnavailableError when calls are not counted."""
    if not is_postgres(alias):
        raise StatsUnavailableError(f"Database {alias!r} is not PostgreSQL: no trigger statistics.")
    reading = read_for(connections[alias], entries)
    if not reading.tracking:
        raise StatsUnavailableError(off_message(alias, reading))
    found = {}
    for cost in costs(entries, reading):
        for uri, scope in zip(cost.uris, cost.scopes, strict=True):
            found[(scope, uri)] = cost
    return found


def read_for(connection: BaseDatabaseWrapper, entries: Sequence[Entry]) -> Reading:
    """The counters of the functions and tables of these entries' installed triggers."""
    installed = [e.installed for e in entries if e.installed is not None]
    return read(
        connection,
        [t.function_oid for t in installed if t.function_oid is not None],
        [t.table.oid for t in installed],
    )


def off_message(alias: str, reading: Reading) -> str:
    """Why there are no figures, and how to turn counting on without a restart."""
    name = sql.quote_ident(reading.datname)
    return (
        f"track_functions is {reading.track_functions!r} on database {alias!r}: PostgreSQL is "
        "not counting trigger function calls, so there is nothing to show. Turn it on for "
        f"new connections, without a restart: ALTER DATABASE {name} SET track_functions = "
        "'pl'; (as a superuser, or a role granted it on PostgreSQL 15+: GRANT SET ON "
        "PARAMETER track_functions TO <role>). Connections already open keep counting nothing "
        "until they reconnect."
    )


def save_reading(reading: Reading, path: str | Path) -> None:
    Path(path).write_text(json.dumps(reading.to_json(), indent=2) + "\n", encoding="utf-8")


def load_reading(path: str | Path) -> Reading:
    """A reading ``save_reading`` wrote (``stats --save``)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise StatsError(f"Cannot read the saved reading {str(path)!r}: {exc.strerror}.") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise StatsError(f"{str(path)!r} is not JSON ({exc}).") from exc
    return Reading.from_json(data, origin=repr(str(path)))


def table_lines(report: Report) -> list[str]:
    """The text table, costliest first; one line per function (a shared one lists its URIs)."""
    reading = report.reading
    if reading.since:
        span = f"from {_when(reading.since)} to {_when(reading.taken_at)}"
    elif reading.stats_reset:
        span = (
            "cumulative since each function was created or the statistics were last reset "
            f"({_when(reading.stats_reset)})"
        )
    else:
        span = "cumulative since the functions were created"
    head = f"Trigger cost on database {report.database!r} ({reading.datname}), {span}"
    if not report.costs:
        return [f"{head}:", "No installed triggers to measure."]
    lines = [
        f"{head}:",
        f"{'calls':>10} {'total ms':>11} {'self ms':>11} {'mean ms':>9} {'share':>6}  trigger",
    ]
    for cost in report.costs:
        lines.append(
            f"{_num(cost.calls):>10} {_ms(cost.total_ms):>11} {_ms(cost.self_ms):>11} "
            f"{_ms(cost.mean_ms):>9} {_pct(cost.share):>6}  {describe(cost)}"
        )
    calls = sum(c.calls or 0 for c in report.costs)
    total = sum(c.total_ms or 0.0 for c in report.costs)
    noun = "function" if len(report.costs) == 1 else "functions"
    lines.append(f"{len(report.costs)} trigger {noun}: {_ms(total)} ms in {calls:,} calls.")
    return lines


def describe(cost: Cost) -> str:
    """The trigger (or triggers) a line is about, and why its figures read differently."""
    text = f"{cost.uris[0]} on {cost.table.schema}.{cost.table.name}"
    if cost.shared:
        others = len(cost.uris) - 1
        text += (
            f" + {others} other trigger{'s' if others > 1 else ''} (shared function "
            f"{cost.function}: one figure for all)"
        )
    elif not cost.owned:
        text += f" (runs {cost.function}, not a function of its own: counts every caller)"
    if not cost.counted:
        text += (
            " (a built-in function: PostgreSQL never counts its calls)"
            if cost.language in NEVER
            else f" ({cost.language} function: counted only with track_functions = 'all')"
        )
    return text


#: The header of the columns ``ls --stats`` adds (``figures``).
FIGURES_HEAD = f"{'calls':>10} {'total ms':>11} {'mean ms':>9}"


def figures(cost: Cost | None) -> str:
    """``ls --stats`` columns: blank for a trigger that is not installed; a shared function's
    figures carry a ``*`` (they are the function's, for every trigger that runs it)."""
    if cost is None:
        return f"{'':>10} {'':>11} {'':>9}"
    mark = "*" if cost.shared else ""
    return f"{_num(cost.calls) + mark:>10} {_ms(cost.total_ms):>11} {_ms(cost.mean_ms):>9}"


#: The footnote under ``ls --stats`` when a figure carries the ``*``.
SHARED_NOTE = "* a function several triggers run: the figure is its total, for all of them."


def _when(moment: datetime | None) -> str:
    return moment.isoformat(sep=" ", timespec="seconds") if moment else "-"


def _num(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.3f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"
