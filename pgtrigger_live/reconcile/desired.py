"""Registry + database alias -> what that database should hold, and who owns what it holds."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from django.apps import apps
from django.db import connections, migrations, models

from pgtrigger_live.declare import registry
from pgtrigger_live.declare.triggers import Trigger
from pgtrigger_live.reconcile.compiler import compile_trigger
from pgtrigger_live.reconcile.state import Desired, Owner, OwnerOf, TableRef
from pgtrigger_live.routing import allowed, is_postgres
from pgtrigger_live.sql import split_table


def collect(
    alias: str, items: Sequence[tuple[str, type[models.Model], Trigger]] | None = None
) -> list[Desired]:
    """Compile every registered trigger (or ``items``) for ``alias``."""
    connection = connections[alias]
    result = []
    for uri, model, trigger in items if items is not None else registry.select():
        compiled = compile_trigger(model, trigger, connection) if allowed(model, alias) else None
        pgid = compiled.pgid if compiled is not None else trigger.get_pgid(model)
        result.append(Desired(uri, pgid, model._meta.db_table, compiled))
    return result


def same_database(alias: str) -> list[str]:
    """The other PostgreSQL aliases that may reach the same database: the same database name.

    Host and port are not compared on purpose: "localhost" and "127.0.0.1", or a PgBouncer
    port and the server's own, reach one database under different spellings. Taking two
    databases of the same name for one only means a trigger is left alone (never dropped).
    """

    def key(name: str) -> tuple[object, ...]:
        s = connections.settings[name]
        options = s.get("OPTIONS") or {}
        return (s.get("NAME") or options.get("dbname"), options.get("service"))

    mine = key(alias)
    return [
        other
        for other in connections.settings
        if other != alias and key(other) == mine and is_postgres(other)
    ]


#: (schema or None, table) -> the concrete models of this project stored there.
TableIndex = dict[tuple[str | None, str], list[type[models.Model]]]


def project_tables() -> TableIndex:
    """(schema or None, table) -> the concrete models of this project stored there."""
    index: TableIndex = {}
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy:
            continue
        index.setdefault(split_table(model._meta.db_table), []).append(model)
    return index


def owner_of(alias: str, home: str | None, index: TableIndex | None = None) -> OwnerOf:
    """Who owns a table seen from a scope of ``alias`` whose home schema is ``home``.

    Asked (inside the scope's router context) only for tables that carry a trigger of ours no
    declaration claims, so a reconcile in sync never calls the router for it.
    """
    tables = index if index is not None else project_tables()
    others: list[str] | None = None

    def decide(table: TableRef) -> Owner:
        nonlocal others
        found = list(tables.get((table.schema, table.name), ()))
        if table.schema == home:
            found += tables.get((None, table.name), ())
        if not found:
            gone = (table.schema, table.name) in historical_tables() or (
                table.schema == home and (None, table.name) in historical_tables()
            )
            return Owner.GONE if gone else Owner.UNKNOWN
        if any(allowed(model, alias) for model in found):
            return Owner.HERE
        if others is None:
            others = same_database(alias)
        if any(allowed(model, other) for model in found for other in others):
            return Owner.ELSEWHERE
        return Owner.NOWHERE

    return decide


@functools.cache
def historical_tables() -> frozenset[tuple[str | None, str]]:
    """Every table this project's migration files create or rename a model to.

    A table no model uses any more but that the project's own migrations made is a model
    deleted from the code (kept when it was unmanaged, or by SeparateDatabaseAndState): its
    triggers are ours to prune. Another service's tables never appear here. Read from the
    files only (no database), once per process, and only when such a trigger is found.
    """
    from django.db.migrations.loader import MigrationLoader

    found: set[tuple[str | None, str]] = set()

    def visit(app_label: str, operations: list[Any]) -> None:
        for op in operations:
            if isinstance(op, migrations.SeparateDatabaseAndState):
                visit(app_label, [*op.database_operations, *op.state_operations])
            elif isinstance(op, migrations.CreateModel):
                table = op.options.get("db_table") or f"{app_label}_{op.name.lower()}"
                found.add(split_table(table))
            elif isinstance(op, migrations.AlterModelTable) and op.table:
                found.add(split_table(op.table))
            elif isinstance(op, migrations.RenameModel):
                found.add(split_table(f"{app_label}_{op.new_name.lower()}"))

    loader = MigrationLoader(None, ignore_no_migrations=True)
    for (app_label, _), migration in loader.disk_migrations.items():
        visit(app_label, list(migration.operations))
    return frozenset(found)
