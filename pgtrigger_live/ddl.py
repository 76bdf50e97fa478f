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


def comment(trigger: CompiledTrigger, table: TableRef) -> str:
    return (
        f"COMMENT ON TRIGGER {sql.quote_ident(trigger.pgid)} ON "
        f"{sql.qualified(table.schema, table.name)} IS {sql.quote_literal(trigger.comment)}"
    )


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
