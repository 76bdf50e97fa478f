"""The only catalog reader: one query returns every table we need and every trigger we own."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pgtrigger_live import naming, sql
from pgtrigger_live.ddl import DEFINITION_FINGERPRINT
from pgtrigger_live.state import Enabled, InstalledTrigger, TableRef

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

# The tables are resolved with to_regclass (search_path applies, as it does for Django's own
# queries). Triggers are read for those tables plus every table visible on the search_path,
# so prune sees what the application sees and never reaches into other tenants' schemas.
# Partition clones (tgparentid <> 0) and internal triggers are never ours.
_QUERY = f"""
WITH wanted AS (
    SELECT w.name, to_regclass(w.name) AS oid FROM unnest(%s::text[]) AS w(name)
)
SELECT 'table', w.name, n.nspname, c.relname, c.oid::bigint,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM wanted w
  LEFT JOIN pg_class c ON c.oid = w.oid
  LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
UNION ALL
SELECT 'trigger', NULL, n.nspname, c.relname, c.oid::bigint,
       t.tgname::text, t.tgenabled::text, d.description,
       t.tgconstraint <> 0, pn.nspname::text, p.proname::text, md5(convert_to(p.prosrc, 'UTF8')),
       t.tgtype::int | CASE WHEN t.tgdeferrable THEN 256 ELSE 0 END
                     | CASE WHEN t.tginitdeferred THEN 512 ELSE 0 END,
       {DEFINITION_FINGERPRINT}
  FROM pg_trigger t
  JOIN pg_class c ON c.oid = t.tgrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_proc p ON p.oid = t.tgfoid
  LEFT JOIN pg_namespace pn ON pn.oid = p.pronamespace
  LEFT JOIN pg_description d
         ON d.objoid = t.oid AND d.classoid = 'pg_trigger'::regclass AND d.objsubid = 0
 WHERE t.tgname LIKE %s
   AND NOT t.tgisinternal
   AND t.tgparentid = 0
   AND (pg_table_is_visible(c.oid) OR c.oid IN (SELECT oid FROM wanted))
"""


@dataclass(slots=True)
class Snapshot:
    """What one database holds: resolved tables (None: missing) and our-prefix triggers."""

    tables: dict[str, TableRef | None] = field(default_factory=dict)
    triggers: list[InstalledTrigger] = field(default_factory=list)
    server_version: int = 0


def regclass_name(db_table: str) -> str:
    """The text to_regclass() should parse for a model's ``db_table``.

    Always a valid quoted name (so to_regclass never fails on syntax). Django's idioms are
    honoured: an already quoted name, and ``'schema"."table'`` for a table in a schema.
    """
    name = db_table
    if len(name) > 1 and name.startswith('"') and name.endswith('"'):
        name = name[1:-1]
    if name.count('"."') == 1 and name.count('"') == 2:
        schema, table = name.split('"."')
        return sql.qualified(schema, table)
    return sql.quote_ident(name)


def read(connection: BaseDatabaseWrapper, db_tables: Iterable[str]) -> Snapshot:
    """Read the catalog in a single query."""
    with reading(connection, db_tables, overlap=False) as finish:
        return finish()


@contextmanager
def reading(
    connection: BaseDatabaseWrapper, db_tables: Iterable[str], *, overlap: bool = True
) -> Iterator[Callable[[], Snapshot]]:
    """Send the catalog query now; the yielded function waits for it and returns the Snapshot.

    With psycopg 3 (``overlap``) the query is sent in pipeline mode, so the server runs it
    while the caller compiles declarations: on a fresh backend (cold catalog caches) that
    hides most of its cost. It is still one query through Django's cursor (logged, wrapped).
    """
    by_quoted = {regclass_name(t): t for t in db_tables}
    params: list[Any] = [sorted(by_quoted), sql.like_escape(naming.PREFIX) + "%"]
    with ExitStack() as stack:
        if overlap and _can_pipeline(connection):
            stack.enter_context(connection.connection.pipeline())
        cursor = stack.enter_context(connection.cursor())
        cursor.execute(_QUERY, params)

        def finish() -> Snapshot:
            rows = cursor.fetchall()
            stack.close()
            return _snapshot(connection, rows, by_quoted)

        yield finish


def _can_pipeline(connection: BaseDatabaseWrapper) -> bool:
    connection.ensure_connection()
    pipeline = getattr(connection.connection, "pipeline", None)
    if pipeline is None:  # psycopg2
        return False
    from psycopg import Pipeline

    return bool(Pipeline.is_supported())


def _snapshot(
    connection: BaseDatabaseWrapper, rows: list[tuple[Any, ...]], by_quoted: dict[str, str]
) -> Snapshot:
    snapshot = Snapshot(server_version=int(connection.pg_version))  # type: ignore[attr-defined]
    for (
        kind,
        wanted,
        schema,
        relname,
        oid,
        tgname,
        enabled,
        comment,
        constraint,
        fschema,
        fname,
        fmd5,
        shape,
        definition,
    ) in rows:
        if kind == "table":
            table = TableRef(schema, relname, int(oid)) if oid is not None else None
            snapshot.tables[by_quoted[wanted]] = table
        else:
            snapshot.triggers.append(
                InstalledTrigger(
                    table=TableRef(schema, relname, int(oid)),
                    pgid=tgname,
                    enabled=Enabled(enabled),
                    comment=comment,
                    is_constraint=bool(constraint),
                    function_schema=fschema,
                    function_name=fname,
                    function_md5=fmd5,
                    shape=shape,
                    definition=definition,
                )
            )
    return snapshot
