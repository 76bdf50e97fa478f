"""The only catalog reader: one query returns, for every scope, the tables it resolves and the
triggers it may own.

A scope is a schema (or the connection's own search_path): see ``state.Scope``. All scopes of
one database are read by one query, so a reconcile of a hundred tenant schemas costs one
round trip, and nothing here depends on the session's search_path (django-tenants resets it
on every cursor): each scope's search path is spelled out in the query.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from pgtrigger_live import citus, naming, sql
from pgtrigger_live.exceptions import SchemaError
from pgtrigger_live.reconcile.fingerprint import DEFINITION_FINGERPRINT
from pgtrigger_live.reconcile.overlap import during, pipelines
from pgtrigger_live.reconcile.state import (
    Enabled,
    Glance,
    InstalledTrigger,
    Scope,
    ScopeView,
    Sighting,
    Snapshot,
    TableRef,
)

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

# scope: each scope's search path (an explicit one, its schema in front of the connection's
#   path, or the connection's path) and its home: the schema it names, else the first
#   schema the connection's search_path names ("$user" skipped when there is no such
#   schema). When that schema does not exist the scope owns nothing: falling back to the
#   next one (current_schema() does) would make a tenant whose schema is missing own
#   ``public``.
# resolved: each wanted table as each scope resolves it (unqualified names: the first schema
#   of the path holding a relation of that name; qualified ones the same in every scope).
# Triggers are read on the home schemas' tables and on the resolved tables. Partition clones
# (tgparentid <> 0) and internal triggers are never ours. Trigger rows carry schema OIDs,
# named by the 'schema' rows. A 'citus' row says the Citus extension is there; only then a
# second query (citus.KINDS) reads the kind of each table read. The server misestimates the
# trigger rows (the LIKE) and would scan pg_namespace once per trigger to join names in
# (10,000 triggers: +140 ms).
_QUERY = f"""
WITH spec AS (
    SELECT s.ord::int AS scope, s.v->>'schema' AS schema,
           CASE WHEN jsonb_typeof(s.v->'path') = 'array'
                THEN ARRAY(SELECT jsonb_array_elements_text(s.v->'path'))
                WHEN s.v->>'schema' IS NOT NULL
                THEN array_prepend(s.v->>'schema',
                                   array_remove(current_schemas(false), s.v->>'schema'))
                ELSE current_schemas(false) END AS path
      FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS s(v, ord)
),
path AS (
    SELECT sp.scope, p.pos, n.oid AS nsp
      FROM spec sp
     CROSS JOIN LATERAL unnest(sp.path) WITH ORDINALITY AS p(name, pos)
      JOIN pg_namespace n ON n.nspname = p.name
),
declared AS (
    SELECT CASE WHEN e IN ('"$user"', '$user') THEN current_user::text
                WHEN left(e, 1) = '"' THEN replace(substr(e, 2, length(e) - 2), '""', '"')
                ELSE lower(e) END AS name,
           e IN ('"$user"', '$user') AS is_user, o
      FROM (SELECT btrim(x) AS e, o
              FROM unnest(string_to_array(current_setting('search_path'), ','))
                   WITH ORDINALITY AS u(x, o)) AS entries
     WHERE e <> ''
),
home AS (
    SELECT sp.scope, sp.schema,
           CASE WHEN sp.schema IS NOT NULL
                THEN (SELECT n.oid FROM pg_namespace n WHERE n.nspname = sp.schema)
                ELSE (SELECT n.oid FROM declared d
                        LEFT JOIN pg_namespace n ON n.nspname = d.name
                       WHERE NOT (d.is_user AND n.oid IS NULL)
                       ORDER BY d.o LIMIT 1)
           END AS nsp
      FROM spec sp
),
wanted AS (
    SELECT w.schema, w.name FROM unnest(%s::text[], %s::text[]) AS w(schema, name)
),
resolved AS (
    (SELECT DISTINCT ON (p.scope, w.name) p.scope, w.schema, w.name, c.oid
       FROM wanted w
       JOIN path p ON w.schema IS NULL
       JOIN pg_class c ON c.relnamespace = p.nsp AND c.relname = w.name
                      AND c.relkind IN ('r', 'p', 'v', 'f', 'm')
      ORDER BY p.scope, w.name, p.pos)
    UNION ALL
    SELECT NULL, w.schema, w.name, c.oid
      FROM wanted w
      JOIN pg_namespace n ON n.nspname = w.schema
      JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.name
                     AND c.relkind IN ('r', 'p', 'v', 'f', 'm')
)
SELECT 'scope', h.scope, h.schema, n.nspname, NULL::name, NULL::bigint,
       NULL, NULL, NULL, NULL::bool, NULL, NULL, NULL, NULL::int, NULL, NULL::bigint
  FROM home h LEFT JOIN pg_namespace n ON n.oid = h.nsp
UNION ALL
SELECT 'table', r.scope, r.schema, r.name, c.relname, c.oid::bigint,
       n.nspname::text, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM resolved r
  JOIN pg_class c ON c.oid = r.oid
  JOIN pg_namespace n ON n.oid = c.relnamespace
UNION ALL
SELECT 'schema', n.oid::bigint, NULL, n.nspname, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM pg_namespace n
UNION ALL
SELECT 'citus', NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM pg_extension WHERE extname = 'citus'
UNION ALL
SELECT 'trigger', c.relnamespace::bigint, NULL, NULL, c.relname, c.oid::bigint,
       t.tgname::text, t.tgenabled::text, d.description, t.tgconstraint <> 0,
       p.pronamespace::bigint::text, p.proname::text, md5(convert_to(p.prosrc, 'UTF8')),
       t.tgtype::int | CASE WHEN t.tgdeferrable THEN 256 ELSE 0 END
                     | CASE WHEN t.tginitdeferred THEN 512 ELSE 0 END
                     | CASE WHEN t.tgconstraint <> 0 THEN 1024 ELSE 0 END,
       {DEFINITION_FINGERPRINT},
       t.tgfoid::bigint
  FROM pg_trigger t
  JOIN pg_class c ON c.oid = t.tgrelid
  LEFT JOIN pg_proc p ON p.oid = t.tgfoid
  LEFT JOIN pg_description d
         ON d.objoid = t.oid AND d.classoid = 'pg_trigger'::regclass AND d.objsubid = 0
 WHERE t.tgname LIKE %s
   AND NOT t.tgisinternal
   AND t.tgparentid = 0
   AND (c.relnamespace IN (SELECT nsp FROM home) OR c.oid IN (SELECT oid FROM resolved))
"""


_T = TypeVar("_T")

#: Kept here for callers of the catalog; the parsing lives with the other SQL text helpers.
split_table = sql.split_table


def regclass_name(db_table: str) -> str:
    """The text to_regclass() should parse for a model's ``db_table`` (always quoted)."""
    return sql.quote_table(db_table)


def read(
    connection: BaseDatabaseWrapper,
    db_tables: Iterable[str],
    scopes: Sequence[Scope] = (),
    *,
    meanwhile: Callable[[], object] | None = None,
) -> Snapshot:
    """Read the catalog in a single query; ``meanwhile``: work run while it is in flight."""
    if meanwhile is not None:
        return read_while(connection, db_tables, scopes, meanwhile)[0].snapshot()
    with reading(connection, db_tables, scopes, overlap=False) as finish:
        return finish().snapshot()


class Fetched:
    """The catalog query's rows, and the two forms a reconcile reads them in.

    ``glances`` is the cheap one (plain tuples, for the no-op verdict); ``snapshot`` builds
    the objects the planner needs (about 10 us a trigger: more than the query on a large
    project), once, and only when asked.
    """

    def __init__(
        self,
        connection: BaseDatabaseWrapper,
        rows: list[tuple[Any, ...]],
        scopes: list[Scope],
        names: dict[str, tuple[str | None, str]],
    ) -> None:
        self.connection, self.rows, self.scopes, self.names = connection, rows, scopes, names
        self._snapshot: Snapshot | None = None

    def snapshot(self) -> Snapshot:
        if self._snapshot is None:
            kinds = _citus_kinds(self.connection, self.rows)
            self._snapshot = _snapshot(self.connection, self.rows, self.scopes, self.names, kinds)
        return self._snapshot

    def glances(self) -> list[Glance] | None:
        """Each scope's tables and triggers as plain data (the same rows ``_snapshot`` gives
        its ScopeView: tests/test_nochange.py compares them); None when a scope names a schema
        that does not exist or the database has Citus: only the snapshot says what to do then
        (skip with a warning, fail, read table kinds)."""
        homes: dict[int, str | None] = {}
        schema_oids: dict[str, int] = {}
        #: scope number (None: every scope) -> (schema, name) asked, oid, schema found.
        tables: dict[int | None, list[tuple[tuple[str | None, str], int, str]]] = {}
        by_schema: dict[int, list[Sighting]] = {}
        by_table: dict[int, list[Sighting]] = {}
        for row in self.rows:
            kind = row[0]
            if kind == "trigger":
                function_schema = row[10]
                sighting = Sighting(
                    int(row[5]),
                    row[1],
                    row[6],
                    row[8],
                    row[11] == row[6]
                    and function_schema is not None
                    and int(function_schema) == row[1],
                    row[12],
                    row[13],
                    row[14],
                )
                by_schema.setdefault(row[1], []).append(sighting)
                by_table.setdefault(sighting.table_oid, []).append(sighting)
            elif kind == "table":
                tables.setdefault(row[1], []).append(((row[2], row[3]), int(row[5]), row[6]))
            elif kind == "schema":
                schema_oids[row[3]] = row[1]
            elif kind == "citus" or (kind == "scope" and row[3] is None and row[2] is not None):
                return None
            elif kind == "scope":
                homes[row[1]] = row[3]
        qualified = frozenset(oid for _, oid, _ in tables.get(None, ()))
        result = []
        for number in range(1, len(self.scopes) + 1):
            home = homes.get(number)
            home_oid = schema_oids[home] if home is not None else None
            pairs: dict[tuple[str | None, str], int] = {}
            elsewhere: list[int] = []
            for pair, oid, schema in [*tables.get(None, ()), *tables.get(number, ())]:
                pairs[pair] = oid
                if schema != home:
                    elsewhere.append(oid)
            seen = list(by_schema.get(home_oid, ())) if home_oid is not None else []
            for oid in sorted(set(elsewhere)):
                seen.extend(by_table.get(oid, ()))
            result.append(
                Glance(
                    {t: pairs.get(pair) for t, pair in self.names.items()},
                    seen,
                    home_oid,
                    qualified,
                )
            )
        return result


@contextmanager
def reading(
    connection: BaseDatabaseWrapper,
    db_tables: Iterable[str],
    scopes: Sequence[Scope] = (),
    *,
    overlap: bool = True,
) -> Iterator[Callable[[], Fetched]]:
    """Send the catalog query now; the yielded function waits for it and returns its rows.

    With psycopg 3 (``overlap``) the query is sent in pipeline mode, so the server runs it
    while the caller compiles declarations: on a fresh backend (cold catalog caches) that
    hides most of its cost. It is still one query through Django's cursor (logged, wrapped).
    No scopes means one: the connection as it is.
    """
    scopes = list(scopes) or [Scope()]
    names = {t: split_table(t) for t in db_tables}
    pairs = sorted(set(names.values()), key=lambda p: (p[0] or "", p[1]))
    spec = json.dumps(
        [{"schema": s.schema, "path": list(s.path) if s.path is not None else None} for s in scopes]
    )
    params: list[Any] = [
        spec,
        [schema for schema, _ in pairs],
        [name for _, name in pairs],
        sql.like_escape(naming.PREFIX) + "%",
    ]
    with ExitStack() as stack:
        if overlap and pipelines(connection):
            stack.enter_context(connection.connection.pipeline())
        cursor = stack.enter_context(connection.cursor())
        cursor.execute(_QUERY, params)

        def finish() -> Fetched:
            rows = cursor.fetchall()
            stack.close()
            return Fetched(connection, rows, scopes, names)

        yield finish


def read_while(
    connection: BaseDatabaseWrapper,
    db_tables: Iterable[str],
    scopes: Sequence[Scope],
    work: Callable[[], _T],
) -> tuple[Fetched, _T]:
    """Send the catalog query, run ``work`` while the server answers it, return both.

    ``work`` must not use the connection (it runs while the query is in flight). psycopg 3
    sends the query in pipeline mode and runs ``work`` right after, in this thread; psycopg2
    has no pipeline: ``overlap.during`` runs it from the driver's wait callback (or, with
    other threads or another wait callback, before the query).
    """
    if pipelines(connection):
        with reading(connection, db_tables, scopes) as finish:
            done = work()
            return finish(), done

    def query() -> Fetched:
        with reading(connection, db_tables, scopes, overlap=False) as finish:
            return finish()

    return during(connection.connection, query, work)


def _citus_kinds(
    connection: BaseDatabaseWrapper, rows: list[tuple[Any, ...]]
) -> dict[int, str] | None:
    """Table oid -> Citus kind for every table the rows name (only Citus tables are listed);
    None, without a query, when the rows hold no 'citus' row (no Citus extension)."""
    if not any(row[0] == "citus" for row in rows):
        return None
    oids = sorted({int(row[5]) for row in rows if row[0] in ("table", "trigger")})
    with connection.cursor() as cursor:
        cursor.execute(citus.KINDS, [oids])
        return {int(oid): str(kind) for oid, kind in cursor.fetchall()}


def _snapshot(
    connection: BaseDatabaseWrapper,
    rows: list[tuple[Any, ...]],
    scopes: list[Scope],
    names: dict[str, tuple[str | None, str]],
    kinds: dict[int, str] | None = None,
) -> Snapshot:
    views = [ScopeView(scope, tables=dict.fromkeys(names)) for scope in scopes]
    by_pair: dict[tuple[str | None, str], list[str]] = {}
    for db_table, pair in names.items():
        by_pair.setdefault(pair, []).append(db_table)
    schema_names: dict[int, str] = {}
    trigger_rows = []
    for row in rows:
        kind, scope_no, schema, name = row[0], row[1], row[2], row[3]
        if kind == "trigger":
            trigger_rows.append(row)
        elif kind == "citus":
            continue
        elif kind == "schema":
            schema_names[scope_no] = name
        elif kind == "scope":
            view = views[scope_no - 1]
            if name is None and schema is not None and view.scope.optional:
                view.missing = True
            elif name is None and schema is not None:
                raise SchemaError(
                    f'Schema "{schema}" does not exist on database '
                    f"{connection.alias!r}; nothing was changed. Create it, or remove it from "
                    "the schemas given (-s, PGTRIGGER_LIVE_SCHEMAS)."
                )
            view.home = name
        else:
            table = TableRef(row[6], row[4], int(row[5]), _kind(kinds, int(row[5])))
            targets = views if scope_no is None else [views[scope_no - 1]]
            for db_table in by_pair[(schema, name)]:
                for view in targets:
                    view.tables[db_table] = table
    triggers = [
        InstalledTrigger(
            table=TableRef(schema_names[row[1]], row[4], int(row[5]), _kind(kinds, int(row[5]))),
            pgid=row[6],
            enabled=Enabled(row[7]),
            comment=row[8],
            is_constraint=bool(row[9]),
            function_schema=schema_names.get(int(row[10])) if row[10] is not None else None,
            function_name=row[11],
            function_md5=row[12],
            shape=row[13],
            definition=row[14],
            function_oid=int(row[15]),
        )
        for row in trigger_rows
    ]
    by_schema: dict[str, list[InstalledTrigger]] = {}
    by_oid: dict[int, list[InstalledTrigger]] = {}
    for trigger in triggers:
        by_schema.setdefault(trigger.table.schema, []).append(trigger)
        by_oid.setdefault(trigger.table.oid, []).append(trigger)
    for view in views:
        seen = list(by_schema.get(view.home, ())) if view.home is not None else []
        elsewhere = {t.oid for t in view.tables.values() if t is not None and t.schema != view.home}
        for oid in sorted(elsewhere):
            seen.extend(by_oid.get(oid, ()))
        view.triggers = seen
    version = int(connection.pg_version)  # type: ignore[attr-defined]
    return Snapshot(views, server_version=version, citus=kinds is not None)


def _kind(kinds: dict[int, str] | None, oid: int) -> str:
    return kinds.get(oid, citus.PLAIN) if kinds is not None else citus.PLAIN
