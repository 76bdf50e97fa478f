"""The public installation API; each call is declare -> compile -> read -> plan -> apply."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, migrations, models

from pgtrigger_live import applier, catalog, conf, registry
from pgtrigger_live.catalog import Snapshot
from pgtrigger_live.desired import allowed, collect, is_postgres
from pgtrigger_live.planner import (
    Desired,
    Entry,
    Plan,
    plan_install,
    plan_prune,
    plan_set_enabled,
    plan_uninstall,
    statuses,
)
from pgtrigger_live.state import Enabled, Status
from pgtrigger_live.triggers import Trigger

logger = logging.getLogger("pgtrigger_live")

Selector = str | type[models.Model]
#: (entries, the selected URIs or None for "everything", server version) -> Plan
_Planner = Callable[[list[Entry], "set[str] | None", int], Plan]


def _reconcile(
    selectors: Sequence[Selector],
    database: str | None,
    schemas: Sequence[str],
    planner: _Planner,
    *,
    dry_run: bool,
) -> Plan:
    alias = database or DEFAULT_DB_ALIAS
    if not is_postgres(alias):
        return Plan()
    items = registry.select(*selectors)  # unknown URIs fail here, before anything is sent
    selected = {uri for uri, _, _ in items} if selectors else None
    # A bad declaration fails while compiling: after a read at most, before any change.
    desired, snapshot = _desired_and_snapshot(alias, items, schemas)
    tables = [d.db_table for d in desired if d.compiled is not None]

    def make_plan(snapshot: Snapshot) -> Plan:
        return planner(statuses(desired, snapshot), selected, snapshot.server_version)

    plan = make_plan(snapshot)
    for uri, reason in plan.skipped:
        logger.info("pgtrigger_live: skipped %s on %r: %s", uri, alias, reason)
    if dry_run or plan.is_empty:
        return plan
    return applier.apply(alias, tables, make_plan, schemas=schemas, seen=(snapshot, plan))


def _desired_and_snapshot(
    alias: str, items: list[tuple[str, type[models.Model], Trigger]], schemas: Sequence[str]
) -> tuple[list[Desired], Snapshot]:
    """Compile the declarations while the catalog query runs on the server."""
    tables = [model._meta.db_table for _, model, _ in items if allowed(model, alias)]
    if schemas:  # the search_path switch needs a transaction around the read
        return collect(alias, items), applier.read(alias, tables, schemas)
    with catalog.reading(connections[alias], tables) as finish:
        desired = collect(alias, items)
        return desired, finish()


def install(
    *uris: Selector,
    database: str | None = None,
    schemas: Sequence[str] = (),
    dry_run: bool = False,
) -> Plan:
    """Install what is missing or out of date; with no URIs also prune (PRUNE_ON_INSTALL).

    Returns the plan that ran (or would run, with ``dry_run``). Triggers already in sync
    are not touched: no DDL and no table lock when nothing changed.
    """
    return _install(uris, database, schemas, dry_run=dry_run)


def _install(
    uris: Sequence[Selector],
    database: str | None,
    schemas: Sequence[str],
    *,
    dry_run: bool = False,
    enabled: Mapping[str, Enabled] | None = None,
) -> Plan:
    prune = not uris and conf.prune_on_install()
    return _reconcile(
        uris,
        database,
        schemas,
        lambda entries, selected, version: plan_install(
            entries, selected, prune=prune, server_version=version, enabled=enabled
        ),
        dry_run=dry_run,
    )


def uninstall(
    *uris: Selector,
    database: str | None = None,
    schemas: Sequence[str] = (),
    dry_run: bool = False,
) -> Plan:
    """Drop triggers and their functions; with no URIs also prune."""
    prune = not uris and conf.prune_on_install()
    return _reconcile(
        uris,
        database,
        schemas,
        lambda entries, selected, _: plan_uninstall(entries, selected, prune=prune),
        dry_run=dry_run,
    )


def _set_enabled(
    uris: Sequence[Selector],
    database: str | None,
    schemas: Sequence[str],
    enabled: bool,
    dry_run: bool,
) -> Plan:
    return _reconcile(
        uris,
        database,
        schemas,
        lambda entries, selected, _: plan_set_enabled(entries, selected, enabled=enabled),
        dry_run=dry_run,
    )


def enable(
    *uris: Selector,
    database: str | None = None,
    schemas: Sequence[str] = (),
    dry_run: bool = False,
) -> Plan:
    """Enable installed triggers (a disabled trigger stays disabled across reconciles)."""
    return _set_enabled(uris, database, schemas, True, dry_run)


def disable(
    *uris: Selector,
    database: str | None = None,
    schemas: Sequence[str] = (),
    dry_run: bool = False,
) -> Plan:
    """Disable installed triggers for every session (use ``ignore`` for a local bypass)."""
    return _set_enabled(uris, database, schemas, False, dry_run)


def prune(
    *, database: str | None = None, schemas: Sequence[str] = (), dry_run: bool = False
) -> Plan:
    """Drop our triggers (and their functions) that the code no longer declares here."""
    return _reconcile(
        (),
        database,
        schemas,
        lambda entries, _, __: Plan(tuple(plan_prune(entries))),
        dry_run=dry_run,
    )


def status(
    *uris: Selector, database: str | None = None, schemas: Sequence[str] = ()
) -> list[Entry]:
    """One Entry per trigger (and, with no URIs, per prunable trigger), from one query."""
    alias = database or DEFAULT_DB_ALIAS
    if not is_postgres(alias):
        return statuses(collect(alias, registry.select(*uris)), Snapshot())
    entries = statuses(*_desired_and_snapshot(alias, registry.select(*uris), schemas))
    return entries if not uris else [e for e in entries if e.status is not Status.PRUNE]


def prunable(*, database: str | None = None, schemas: Sequence[str] = ()) -> list[Entry]:
    """The installed triggers that ``prune`` would drop."""
    return [e for e in status(database=database, schemas=schemas) if e.status is Status.PRUNE]


def last_app_with_models() -> Any:
    from django.apps import apps

    configs = [c for c in apps.get_app_configs() if c.models_module is not None]
    return configs[-1] if configs else None


#: Operations that change Django's model state only, never the table.
_STATE_ONLY = (migrations.AlterModelOptions, migrations.AlterModelManagers)


def touched_by(plan: Iterable[tuple[Any, bool]]) -> list[str]:
    """The URIs of registered triggers whose table a migration plan may touch.

    Conservative: a reversed migration touches everything, and so does any operation that
    cannot say which models it references (RunPython, RunSQL: Django's own rule, which
    ``Operation.references_model`` implements; it also ignores app labels, so a same-named
    model of another app counts). A proxy's trigger is on its concrete model.
    """
    items = registry.select()
    touched: set[str] = set()
    for migration, backwards in plan:
        if backwards:
            return [uri for uri, _, _ in items]
        for operation in migration.operations:
            if isinstance(operation, _STATE_ONLY):
                continue
            for uri, model, _ in items:
                meta = model._meta.concrete_model._meta  # type: ignore[union-attr]
                if uri not in touched and operation.references_model(
                    meta.model_name, meta.app_label
                ):
                    touched.add(uri)
            if len(touched) == len(items):
                return [uri for uri, _, _ in items]
    return [uri for uri, _, _ in items if uri in touched]


#: alias -> {URI: state} of the triggers pre_migrate dropped that were not plainly enabled
#: (disabled, ALWAYS, REPLICA): post_migrate re-creates them in that state.
_DROPPED_STATES: dict[str, dict[str, Enabled]] = {}


def on_pre_migrate(
    sender: Any, using: str = DEFAULT_DB_ALIAS, plan: Any = None, **kwargs: Any
) -> None:
    """With ``PGTRIGGER_LIVE_PRE_MIGRATE = "drop"``: before the first migration runs, drop our
    triggers on the tables the plan touches; the post_migrate reconcile re-creates them.

    Django sends pre_migrate once per app, each time with the whole plan, then runs the
    migrations. Acting on the last app's signal means it runs once, after the other apps'
    receivers (contenttypes adds its rename steps to the plan there), before any migration.
    """
    if conf.pre_migrate() != "drop" or not conf.install_on_migrate() or not plan:
        return
    if sender is not last_app_with_models():
        return
    uris = touched_by(plan)
    if not uris:
        return
    states: dict[str, Enabled] = {}

    def plan_drop(entries: list[Entry], selected: set[str] | None, _: int) -> Plan:
        # Called again under the lock if the catalog changed: the states of that last read.
        states.clear()
        for e in entries:
            if e.uri in uris and e.enabled is not None and e.enabled is not Enabled.ENABLED:
                states[e.uri] = e.enabled
        return plan_uninstall(entries, selected, prune=False)

    dropped = _reconcile(uris, using, (), plan_drop, dry_run=False)
    if dropped.actions:
        _DROPPED_STATES.setdefault(using, {}).update(states)
    logger.info(
        "pgtrigger_live: dropped %d trigger(s) on %r before migrating (PRE_MIGRATE=drop)",
        len(dropped.actions),
        using,
    )


def on_post_migrate(sender: Any, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """Reconcile once per ``migrate``/``flush``, after the last app's post_migrate.

    Django sends post_migrate once per app; acting on the last one means it runs once, after
    every table exists and after other apps' handlers (contenttypes, permissions) ran.
    """
    if not conf.install_on_migrate() or sender is not last_app_with_models():
        return
    _install((), using, (), enabled=_DROPPED_STATES.pop(using, None))
