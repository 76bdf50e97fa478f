"""What pgtrigger_live knows of Citus, in one place (docs/citus.md): the SQL that tells whether
a database has it, the kind of each table, and the setting that carries ``SET LOCAL`` to the
workers. Read by the catalog reader, the planner's refusals and the runtime.
"""

from __future__ import annotations

#: The Citus library's version, NULL where it is not loaded: an expression, so the runtime can
#: fold it into a statement it sends anyway (statements.set_config). It reads a setting and
#: touches no catalog, which a new session would have to load first (docs/citus.md).
LOADED = "current_setting('citus.version', true)"
#: Whether the database has Citus: a boolean, one row. The extension's metadata tables live in
#: pg_catalog; looking one up by name costs a new session less than reading pg_extension.
HAS_CITUS = "SELECT to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL"

#: The server parameter Citus makes the server report at connect time (a ParameterStatus
#: message, read by libpq without a round trip): loading the Citus library turns on this
#: setting's report flag, and Citus works only when loaded (``shared_preload_libraries``). A
#: connection that was not told it therefore has no Citus. PostgreSQL 18 reports it anyway,
#: so its presence proves nothing (docs/citus.md, "Is Citus there?").
REPORTED_WITH_CITUS = "search_path"

DISTRIBUTED = "distributed"
REFERENCE = "reference"
LOCAL = "citus local"
#: Not a Citus table (what every table is without Citus).
PLAIN = "plain"

#: ``(oid, kind)`` of every Citus table whose oid is in the array parameter. Reference tables
#: are replicated (``repmodel 't'``); a Citus local table is a single-shard table outside any
#: co-location group; everything else in ``pg_dist_partition`` is distributed (hash, range,
#: append, or a schema-based single shard).
KINDS = f"""
SELECT logicalrelid::oid,
       CASE WHEN repmodel = 't' THEN '{REFERENCE}'
            WHEN partmethod = 'n' AND colocationid = 0 THEN '{LOCAL}'
            ELSE '{DISTRIBUTED}' END
FROM pg_dist_partition
WHERE logicalrelid::oid = ANY (%s::oid[])
"""

#: In front of ``SET LOCAL`` statements: Citus then forwards them to the workers inside the
#: transaction. It forwards the SET's whole message text, so that message must hold nothing a
#: worker could not run (no statement of the application's).
PROPAGATE = "SET LOCAL citus.propagate_set_commands TO 'local';"

#: The ``pgtrigger.ignore`` value for the workers: the value (a text[] literal, the parameter,
#: given twice) plus, for each trigger it names, that trigger's name on every shard. A trigger
#: fires on a shard under the shard's name for it (``TG_NAME``), which Citus makes as it names
#: shards: ``_<shardid>`` appended, or, when that would pass 63 bytes, the name cut short, then
#: ``_`` and the 8 hex digits of its hash (``hashtext`` is the same hash), then ``_<shardid>``.
SHARD_IGNORE = """
SELECT coalesce(array_agg(DISTINCT name ORDER BY name), '{}')::text
FROM (
    SELECT unnest(%s::text[]) AS name
    UNION ALL
    SELECT CASE WHEN octet_length(t.tgname) < 64 - length(x.suffix) THEN t.tgname || x.suffix
                ELSE left(t.tgname, 54 - length(x.suffix)) || '_'
                     || lpad(to_hex(hashtext(t.tgname)), 8, '0') || x.suffix END
    FROM pg_catalog.pg_trigger t
    JOIN pg_dist_shard s ON s.logicalrelid = t.tgrelid
    CROSS JOIN LATERAL (SELECT '_' || s.shardid AS suffix) AS x
    WHERE t.tgname = ANY (%s::text[])
) AS names
"""
