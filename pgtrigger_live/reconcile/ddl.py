"""The statements for each kind of change. Pure text; every name is quoted here."""

from __future__ import annotations

from collections.abc import Sequence

from pgtrigger_live import sql
from pgtrigger_live.reconcile.fingerprint import DEFINITION_FINGERPRINT
from pgtrigger_live.reconcile.operations import (
    LOCK_MODES,
    CreateFunction,
    CreateTrigger,
    DropFunction,
    DropTrigger,
    Operation,
    RenameConstraint,
    RenameFunction,
    RenameTrigger,
)
from pgtrigger_live.reconcile.state import CompiledTrigger, Enabled, InstalledTrigger, TableRef


def render(op: Operation) -> str:
    """The one statement an operation sends: the only place plans become SQL."""
    if isinstance(op, CreateFunction):
        assert op.trigger.body is not None
        return _create_function(op.schema, op.name, op.trigger.body)
    if isinstance(op, CreateTrigger):
        return create_trigger(op.trigger, op.table, replace=op.replace)
    if isinstance(op, DropTrigger):
        return drop_trigger(op.pgid, op.table)
    if isinstance(op, DropFunction):
        return drop_function(op.schema, op.name)
    if isinstance(op, RenameTrigger):
        return (
            f"ALTER TRIGGER {sql.quote_ident(op.old)} ON "
            f"{sql.qualified(op.table.schema, op.table.name)} RENAME TO {sql.quote_ident(op.new)}"
        )
    if isinstance(op, RenameConstraint):
        return (
            f"ALTER TABLE {sql.qualified(op.table.schema, op.table.name)} RENAME CONSTRAINT "
            f"{sql.quote_ident(op.old)} TO {sql.quote_ident(op.new)}"
        )
    if isinstance(op, RenameFunction):
        return (
            f"ALTER FUNCTION {sql.qualified(op.schema, op.old)}() "
            f"RENAME TO {sql.quote_ident(op.new)}"
        )
    return set_enabled(op.pgid, op.table, mode=op.mode)


def _create_function(schema: str, name: str, body: str) -> str:
    return (
        f"CREATE OR REPLACE FUNCTION {sql.qualified(schema, name)}() RETURNS TRIGGER "
        f"LANGUAGE plpgsql AS {sql.dollar_quote(body)}"
    )


def create_function(trigger: CompiledTrigger, table: TableRef) -> str:
    assert trigger.body is not None
    return _create_function(table.schema, trigger.pgid, trigger.body)


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


def sign(triggers: Sequence[tuple[TableRef, str, str]]) -> str:
    """Sign triggers: ``(table, pgid, signature)`` -> comment ``signature:<fingerprint>``.

    COMMENT takes a literal only, so one DO block reads every fingerprint and writes every
    comment (one block per batch: a block per trigger costs several times more). Every value
    in it is a quoted literal; a trigger that is not there raises, rolling the batch back.
    """
    rows = ", ".join(
        f"({int(table.oid)}::oid, {sql.quote_literal(pgid)}, {sql.quote_literal(signature)})"
        for table, pgid, signature in triggers
    )
    body = (
        "DECLARE r record; signed int := 0; BEGIN "
        "FOR r IN SELECT s.sig || ':' || "
        f"{DEFINITION_FINGERPRINT} AS sig, t.tgname, n.nspname, c.relname "
        f"FROM (VALUES {rows}) AS s(relid, name, sig) "
        "JOIN pg_catalog.pg_trigger t ON t.tgrelid = s.relid AND t.tgname = s.name "
        "JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace LOOP "
        "EXECUTE pg_catalog.format('COMMENT ON TRIGGER %I ON %I.%I IS %L', "
        "r.tgname, r.nspname, r.relname, r.sig); signed := signed + 1; END LOOP; "
        f"IF signed <> {len(triggers)} THEN RAISE EXCEPTION "
        f"'pgtrigger_live: % of {len(triggers)} triggers found to sign', signed; END IF; END"
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
    return [render(op) for op in drop_ops(installed)]


def drop_ops(installed: InstalledTrigger) -> list[Operation]:
    """The operations that drop one of our triggers and, when it is its own, its function."""
    ops: list[Operation] = [DropTrigger(installed.table, installed.pgid)]
    if installed.owns_function and installed.function_schema and installed.function_name:
        ops.append(DropFunction(installed.function_schema, installed.function_name))
    return ops


#: DETAIL of the lock_not_available error ``lock_tables`` raises: this prefix, then the oid.
BUSY_DETAIL = "pgtrigger_live.busy:"


def lock_tables(locks: Sequence[tuple[int, str]]) -> str:
    """Lock tables ``(oid, mode)`` in oid order before any DDL, naming the busy one on failure.

    Taking the strongest lock a table needs first means no DDL statement later upgrades it
    (an upgrade queues again). Only tables and partitioned tables the role may LOCK (UPDATE,
    DELETE or TRUNCATE privilege) are locked: LOCK on a view would lock its base tables too,
    foreign tables cannot be locked, and a role with only the TRIGGER privilege can still
    create triggers. Their DDL waits under the same lock_timeout. A table that stays busy
    past lock_timeout raises lock_not_available whose DETAIL is ``BUSY_DETAIL`` + its oid.
    """
    if not locks:
        return ""
    for _, mode in locks:
        if mode not in LOCK_MODES:
            raise ValueError(f"Unknown lock mode: {mode!r}")
    rows = ", ".join(f"({int(oid)}::oid, {sql.quote_literal(mode)})" for oid, mode in locks)
    body = (
        "DECLARE r record; busy oid; BEGIN "
        "FOR r IN SELECT c.oid, s.mode "
        f"FROM (VALUES {rows}) AS s(relid, mode) "
        "JOIN pg_catalog.pg_class c ON c.oid = s.relid AND c.relkind IN ('r', 'p') "
        "AND pg_catalog.has_table_privilege(c.oid, 'UPDATE, DELETE, TRUNCATE') "
        "ORDER BY c.oid LOOP busy := r.oid; "
        "EXECUTE pg_catalog.format('LOCK TABLE %s IN %s MODE', r.oid::regclass, r.mode); "
        "END LOOP; "
        "EXCEPTION WHEN lock_not_available THEN RAISE lock_not_available USING "
        "MESSAGE = pg_catalog.format('table %s is busy: %s', busy::regclass, SQLERRM), "
        f"DETAIL = {sql.quote_literal(BUSY_DETAIL)} || busy; END"
    )
    return f"DO {sql.dollar_quote(body)}"
