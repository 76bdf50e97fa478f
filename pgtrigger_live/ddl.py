"""The statements for each kind of change. Pure text; every name is quoted here."""

from __future__ import annotations

from pgtrigger_live import sql
from pgtrigger_live.state import CompiledTrigger, Enabled, InstalledTrigger, TableRef


def create_function(trigger: CompiledTrigger, table: TableRef) -> str:
    assert trigger.body is not None
    name = sql.qualified(table.schema, trigger.pgid)
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS TRIGGER LANGUAGE plpgsql AS "
        f"{sql.dollar_quote(trigger.body)}"
    )


def create_trigger(trigger: CompiledTrigger, table: TableRef, *, replace: bool) -> str:
    """CREATE [OR REPLACE] [CONSTRAINT] TRIGGER; OR REPLACE keeps the OID and takes a weaker
    lock (SHARE ROW EXCLUSIVE) than DROP (ACCESS EXCLUSIVE)."""
    execute = trigger.execute or f"{sql.qualified(table.schema, trigger.pgid)}()"
    parts = [
        "CREATE",
        "OR REPLACE" if replace else "",
        "CONSTRAINT" if trigger.constraint else "",
        "TRIGGER",
        sql.quote_ident(trigger.pgid),
        trigger.when,
        trigger.events,
        "ON",
        sql.qualified(table.schema, table.name),
        trigger.timing or "",
        trigger.referencing or "",
        f"FOR EACH {trigger.level}",
        f"WHEN ({trigger.condition})" if trigger.condition else "",
        f"EXECUTE FUNCTION {execute}",
    ]
    return " ".join(p for p in parts if p)


#: The server's fingerprint of one trigger (``t``: its pg_trigger row): everything the
#: catalog query cannot compare with the code directly, i.e. the WHEN condition (as the
#: server stored it), the UPDATE OF columns, the transition table names and the arguments.
#: Recorded in the comment when the trigger is (re)installed, read by the catalog query:
#: a difference means the trigger was altered in the database. hashtextextended is the
#: hash of hash partitioning, stable across platforms and upgrades.
DEFINITION_FINGERPRINT = (
    "hashtextextended(coalesce(t.tgqual::text, '') || '|' || t.tgattr::text || '|' "
    "|| coalesce(t.tgoldtable::text, '') || '|' || coalesce(t.tgnewtable::text, '') "
    "|| '|' || encode(t.tgargs, 'hex'), 0)::text"
)


def comment(trigger: CompiledTrigger, table: TableRef) -> str:
    """Sign the trigger: the code's signature plus the server's fingerprint of the trigger.

    COMMENT takes a literal only, so the fingerprint is read and the comment written by one
    DO block; every value in it is a quoted literal.
    """
    pgid = sql.quote_literal(trigger.pgid)
    body = (
        "BEGIN EXECUTE format('COMMENT ON TRIGGER %I ON %I.%I IS %L', "
        f"{pgid}, {sql.quote_literal(table.schema)}, {sql.quote_literal(table.name)}, "
        f"{sql.quote_literal(trigger.comment + ':')} || (SELECT {DEFINITION_FINGERPRINT} "
        f"FROM pg_catalog.pg_trigger t WHERE t.tgrelid = {int(table.oid)}::oid "
        f"AND t.tgname = {pgid})); END"
    )
    return f"DO {sql.dollar_quote(body)}"


def drop_trigger(pgid: str, table: TableRef) -> str:
    return (
        f"DROP TRIGGER IF EXISTS {sql.quote_ident(pgid)} ON "
        f"{sql.qualified(table.schema, table.name)}"
    )


def drop_function(schema: str, name: str) -> str:
    return f"DROP FUNCTION IF EXISTS {sql.qualified(schema, name)}()"


_ENABLE_VERBS = {
    Enabled.ENABLED: "ENABLE",
    Enabled.DISABLED: "DISABLE",
    Enabled.ALWAYS: "ENABLE ALWAYS",
    Enabled.REPLICA: "ENABLE REPLICA",
}


def set_enabled(pgid: str, table: TableRef, *, mode: Enabled) -> str:
    return (
        f"ALTER TABLE {sql.qualified(table.schema, table.name)} {_ENABLE_VERBS[mode]} "
        f"TRIGGER {sql.quote_ident(pgid)}"
    )


def drop_installed(installed: InstalledTrigger) -> list[str]:
    """Drop one of our triggers and, when it is the trigger's own, its function."""
    statements = [drop_trigger(installed.pgid, installed.table)]
    if installed.owns_function and installed.function_schema and installed.function_name:
        statements.append(drop_function(installed.function_schema, installed.function_name))
    return statements
