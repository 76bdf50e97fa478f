"""The server's fingerprint of a trigger: SQL both the catalog reader and the signer use."""

from __future__ import annotations

#: SQL for the server's fingerprint of one trigger (``t``: its pg_trigger row).
#:
#: It covers what the catalog query cannot compare with the code directly: the WHEN
#: condition as the server stored it, the UPDATE OF columns, the transition table names and
#: the arguments. It is recorded in the comment when the trigger is (re)installed and
#: recomputed by the catalog query: a difference means the trigger was altered by hand.
#:
#: The stored condition is the server's internal form. Before PostgreSQL 17 it records
#: character positions (``:location N``); they are removed so that the same trigger created
#: from another text fingerprints the same. The server decides whether to remove them (a
#: regexp on every row costs ~10 µs), not the client, whose version number may be stale.
#: The form also changes between major versions: the fingerprint starts with the major
#: version, and fingerprints of another major version are not compared (planner.py
#: records them again).
DEFINITION_FINGERPRINT = (
    "(pg_catalog.current_setting('server_version_num')::int / 10000)::text || '.' || "
    "pg_catalog.hashtextextended("
    "CASE WHEN pg_catalog.current_setting('server_version_num')::int < 170000 "
    "THEN pg_catalog.regexp_replace(coalesce(t.tgqual::text, ''), ' :location -?[0-9]+', '', 'g') "
    "ELSE coalesce(t.tgqual::text, '') END "
    "|| '|' || t.tgattr::text || '|' "
    "|| coalesce(t.tgoldtable::text, '') || '|' || coalesce(t.tgnewtable::text, '') "
    "|| '|' || pg_catalog.encode(t.tgargs, 'hex'), 0)::text"
)
