"""The public installation API; each call is declare -> compile -> read -> plan -> apply."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, migrations, models

from pgtrigger_live import conf
from pgtrigger_live.declare import registry
from pgtrigger_live.declare.triggers import Trigger
from pgtrigger_live.exceptions import (
    CitusUnsupportedError,
    InstallError,
    MigrateReconcileError,
    PgTriggerLiveError,
)
from pgtrigger_live.reconcile import applier, catalog, citus_safety, nochange, reporting
from pgtrigger_live.reconcile.compiler import (
    compile_trigger,
    deferred_trigger,
    pending_trigger,
    trigger_shape,
)
from pgtrigger_live.reconcile.desired import TableIndex, collect, owner_of, project_tables
from pgtrigger_live.reconcile.digest import Digester
from pgtrigger_live.reconcile.planner import (
    Action,
    Entry,
    Plan,
    plan_install,
    plan_prune,
    plan_set_enabled,
    plan_uninstall,
    statuses,
)
from pgtrigger_live.reconcile.schemas import Routing
from pgtrigger_live.reconcile.schemas import scopes as schema_scopes
from pgtrigger_live.reconcile.state import (
    HASH_VERSION,
    CompiledTrigger,
    Declared,
    Desired,
    Enabled,
    Owner,
    Scope,
    ScopeView,
    Signature,
    Snapshot,
    Status,
)
from pgtrigger_live.routing import allowed, is_postgres

logger = logging.getLogger("pgtrigger_live")

Selector = str | type[models.Model]
#: (entries, the selected URIs or None for "everything", server version) -> Plan
_Planner = Callable[[list[Entry], "set[str] | None", int], Plan]
#: Called after each applied batch with (actions done, actions in all, the batch's schemas).
Progress = Callable[[int, int, list[str]], None]

#: Tables one transaction may lock at most when a reconcile spans several schemas: every
#: locked table takes a slot of the shared lock table (max_locks_per_transaction x
#: max_connections, 6,400 by default), so a hundred tenants cannot go in one transaction.
MAX_TABLES_PER_TRANSACTION = 1000


@dataclass
class _Reading:
    """One call's declarations, per scope, and the catalog as one query read it."""

    alias: str
    scopes: list[Scope]
    routing: Routing
    tables: list[str]
    desired: list[list[Desired]]
    snapshot: Snapshot
    #: The project's tables, as read once for this call (None: read when needed).
    index: TableIndex | None = None

    def entries(self, snapshot: Snapshot) -> list[list[Entry]]:
        """The statuses of each scope (the router asked as that scope's schema)."""
        result = []
        index = self.index if self.index is not None else project_tables()
        for view, desired in zip(snapshot.views, self.desired, strict=True):
            with self.routing(view.scope.schema) if self.routing else nullcontext():
                result.append(statuses(desired, view, owner_of(self.alias, view.home, index)))
        return result


@dataclass
class _Fetched:
    """One call's declarations as digested, and the catalog rows read next to that: what
    the no-op verdict reads, and what ``_build`` turns into statuses when it cannot tell."""

    alias: str
    items: list[tuple[str, type[models.Model], Trigger]]
    scopes: list[Scope]
    routing: Routing
    #: Per scope, whether the router allows each declaration there.
    allowed_in: list[list[bool]]
    #: Whether each declaration is allowed in some scope (digested, compiled).
    wanted: list[bool]
    tables: list[str]
    index: TableIndex
    digests: list[str | None]
    pgids: list[str | None]
    #: Per scope, the declarations as the no-op verdict reads them (None: it cannot tell).
    verdict_inputs: list[list[Declared]] | None
    rows: catalog.Fetched


def _fetch(
    alias: str,
    items: list[tuple[str, type[models.Model], Trigger]],
    schemas: Sequence[str],
    all_schemas: bool,
    *,
    verdict: bool = False,
) -> _Fetched:
    """Ask the router per scope, then digest each allowed declaration while the catalog
    query for every scope runs on the server. ``verdict``: also prepare what the no-op
    verdict reads (an install)."""
    scopes, routing = schema_scopes(alias, schemas, all_schemas=all_schemas)
    allowed_in: list[list[bool]] = []
    if routing is None:  # the router answers the same for every scope: ask once
        allowed_in = [_allowed(items, alias)] * len(scopes)
    else:
        for scope in scopes:
            with routing(scope.schema):
                allowed_in.append(_allowed(items, alias))
    wanted = [any(flags[i] for flags in allowed_in) for i in range(len(items))]
    tables = list(
        dict.fromkeys(m._meta.db_table for (_, m, _), w in zip(items, wanted, strict=True) if w)
    )
    # Schema-qualified tables are read whether or not their model still declares a trigger:
    # a trigger removed from such a model is on no home schema, and would go unseen.
    index = project_tables()
    qualified = [_qualified(key) for key in index if key[0] is not None]
    connection = connections[alias]
    connection.ensure_connection()
    vendor, major = connection.vendor, getattr(connection, "pg_version", 0) // 10000

    def digested() -> _DeclaredWork:
        """Digests, Postgres ids and the verdict's inputs: work on the declarations only (no
        connection is used: it runs while the catalog query is in flight)."""
        digester = Digester(vendor, major)
        digests = [
            digester.digest(model, trigger) if w else None
            for (_, model, trigger), w in zip(items, wanted, strict=True)
        ]
        pgids = [
            trigger.get_pgid(model) if digest is not None else None
            for (_, model, trigger), digest in zip(items, digests, strict=True)
        ]
        inputs = _verdict_inputs(items, allowed_in, digests, pgids) if verdict else None
        return digests, pgids, inputs

    # What needs no catalog is done while the server runs the query (catalog.read_while:
    # psycopg 3's pipeline, psycopg2's wait callback), in this thread.
    rows, (digests, pgids, inputs) = catalog.read_while(
        connection, [*tables, *qualified], scopes, digested
    )
    return _Fetched(
        alias,
        items,
        scopes,
        routing,
        allowed_in,
        wanted,
        [*tables, *qualified],
        index,
        digests,
        pgids,
        inputs,
        rows,
    )


def _in_sync(fetched: _Fetched, prune: bool) -> bool:
    """The no-op verdict (``nochange.py``) on the rows as fetched: True only when the plan
    would be empty in every scope."""
    if fetched.verdict_inputs is None:
        return False
    glances = fetched.rows.glances()
    if glances is None:
        return False
    return nochange.unchanged(list(zip(fetched.verdict_inputs, glances, strict=True)), prune=prune)


def _build(fetched: _Fetched, *, pending: bool = False) -> _Reading:
    """The statuses' input: compile what the catalog does not vouch for, per scope.

    ``pending`` (an install that will run): those are compiled on first use instead
    (``pending_trigger``), so a first install's plan is made without rendering anything and
    the applier renders each round trip while the server runs the one before.
    """
    alias, items, scopes, allowed_in = (
        fetched.alias,
        fetched.items,
        fetched.scopes,
        fetched.allowed_in,
    )
    connection = connections[alias]
    snapshot = fetched.rows.snapshot()
    signed = _signed_by_digest(snapshot)
    compiled: list[CompiledTrigger | None] = []
    for (uri, model, trigger), w, digest, pgid in zip(
        items, fetched.wanted, fetched.digests, fetched.pgids, strict=True
    ):
        if not w:
            compiled.append(None)
        elif digest is not None and digest in signed:
            # Installed from this very declaration: its comment holds what compiling gives.
            compiled.append(
                deferred_trigger(model, trigger, connection, signed[digest], uri=uri, pgid=pgid)
            )
        else:
            # Only a declaration with a digest is compiled on first use: it renders through
            # this library's code alone. A class of the project's own may run anything (a
            # query, even), so it is compiled now, before any query is in flight.
            compile = pending_trigger if pending and digest is not None else compile_trigger
            compiled.append(compile(model, trigger, connection, digest=digest, uri=uri, pgid=pgid))
    everywhere = [
        Desired(uri, c.pgid if c is not None else t.get_pgid(m), m._meta.db_table, c)
        for (uri, m, t), c in zip(items, compiled, strict=True)
    ]
    desired = [
        [d if flag else _unallowed(d) for d, flag in zip(everywhere, flags, strict=True)]
        for flags in allowed_in
    ]
    present = [i for i, view in enumerate(snapshot.views) if not view.missing]
    for view in snapshot.views:
        if view.missing:
            logger.warning(
                "pgtrigger_live: schema %r of database %r does not exist; skipped",
                view.scope.label,
                alias,
            )
    if len(present) < len(scopes):
        scopes = [scopes[i] for i in present]
        desired = [desired[i] for i in present]
        snapshot = Snapshot([snapshot.views[i] for i in present], snapshot.server_version)
    return _Reading(
        alias, scopes, fetched.routing, fetched.tables, desired, snapshot, fetched.index
    )


def _read(
    alias: str,
    items: list[tuple[str, type[models.Model], Trigger]],
    schemas: Sequence[str],
    all_schemas: bool,
) -> _Reading:
    """Declarations and catalog, read and compiled: what ``statuses`` needs."""
    return _build(_fetch(alias, items, schemas, all_schemas))


#: Per declaration its digest and Postgres id (None: not allowed here, or no digest); and, per
#: scope, the input of the no-op verdict (None: it cannot tell).
_DeclaredWork = tuple[list[str | None], list[str | None], "list[list[Declared]] | None"]


def _verdict_inputs(
    items: Sequence[tuple[str, type[models.Model], Trigger]],
    allowed_in: list[list[bool]],
    digests: list[str | None],
    pgids: list[str | None],
) -> list[list[Declared]] | None:
    """Per scope, the declarations allowed there as the no-op verdict reads them (None: one
    has no digest, so it is compiled in full and only the planner can tell). Scopes the
    router answers alike for share one list."""
    shapes: dict[int, int] = {}
    lists: dict[tuple[bool, ...], list[Declared]] = {}
    result = []
    for flags in allowed_in:
        key = tuple(flags)
        found = lists.get(key)
        if found is None:
            found = lists[key] = []
            for i, ((_, model, trigger), flag) in enumerate(zip(items, flags, strict=True)):
                if not flag:
                    continue
                digest, pgid = digests[i], pgids[i]
                if digest is None or pgid is None:
                    return None
                shape = shapes.get(i)
                if shape is None:
                    shape = shapes[i] = trigger_shape(trigger)
                found.append(Declared(model._meta.db_table, pgid, digest, shape))
        result.append(found)
    return result


def _allowed(items: Sequence[tuple[str, type[models.Model], Trigger]], alias: str) -> list[bool]:
    """Whether the router allows each declaration's model here: asked once per model."""
    answers: dict[type[models.Model], bool] = {}
    flags = []
    for _, model, _ in items:
        flag = answers.get(model)
        if flag is None:
            flag = answers[model] = allowed(model, alias)
        flags.append(flag)
    return flags


def _signed_by_digest(snapshot: Snapshot) -> dict[str, Signature]:
    """Digest -> the signature of an installed trigger of ours whose comment records it.

    A digest covers the declaration, its model and the versions that render it (digest.py),
    so any trigger signed with it (in any scope) holds the hashes compiling would give.
    """
    found: dict[str, Signature] = {}
    for view in snapshot.views:
        for trigger in view.triggers:
            signature = trigger.signature
            if signature is not None and signature.digest and signature.version == HASH_VERSION:
                found.setdefault(signature.digest, signature)
    return found


def _qualified(key: tuple[str | None, str]) -> str:
    schema, table = key
    return f'"{schema}"."{table}"'


def _unallowed(desired: Desired) -> Desired:
    return Desired(desired.uri, desired.pgid, desired.db_table, None)


def _reconcile(
    selectors: Sequence[Selector],
    database: str | None,
    schemas: Sequence[str],
    planner: _Planner,
    *,
    dry_run: bool,
    all_schemas: bool = False,
    progress: Progress | None = None,
    prunes: bool | None = None,
) -> Plan:
    """``prunes``: given by ``install`` only (whether its plan prunes): a database in sync is
    then told from the catalog rows alone (``nochange.py``), without planning, and triggers
    Citus would fail on are refused before any DDL."""
    alias = database or DEFAULT_DB_ALIAS
    if not is_postgres(alias):
        return Plan()
    items = registry.select(*selectors)  # unknown URIs fail here, before anything is sent
    selected = {uri for uri, _, _ in items} if selectors else None
    # A bad declaration or schema fails while reading: before any change.
    fetched = _fetch(alias, items, schemas, all_schemas, verdict=prunes is not None)
    if prunes is not None and _in_sync(fetched, prunes):
        return Plan()
    reading = _build(fetched, pending=prunes is not None and not dry_run)
    if prunes is not None and reading.snapshot.citus:
        _refuse_unsafe_on_citus(alias, reading, items)

    def make_plans(snapshot: Snapshot) -> list[Plan]:
        return [
            planner(entries, selected, snapshot.server_version)
            for entries in reading.entries(snapshot)
        ]

    plans = make_plans(reading.snapshot)
    plan = _merge(plans)
    for uri, reason in plan.skipped:
        logger.info("pgtrigger_live: skipped %s on %r: %s", uri, alias, reason)
    if dry_run or plan.is_empty:
        return plan
    ran: list[Plan] = []
    total, done = len(plan.actions), 0
    chunks = _chunks(plans)
    if len(chunks) > 1 or conf.on_busy_table() == "defer":
        # Each batch of schemas commits, and so does each attempt that sets busy tables
        # aside: every declaration is rendered before the first commit, so a bad one fails
        # with nothing committed.
        _render_all(reading)
    for chunk in chunks:
        scopes = [reading.scopes[i] for i in chunk]
        seen = Snapshot([reading.snapshot.views[i] for i in chunk], reading.snapshot.server_version)
        desired = [reading.desired[i] for i in chunk]
        part = _Reading(
            alias, scopes, reading.routing, reading.tables, desired, seen, reading.index
        )

        def make_plan(snapshot: Snapshot, part: _Reading = part) -> Plan:
            return _merge(
                [
                    planner(entries, selected, snapshot.server_version)
                    for entries in part.entries(snapshot)
                ]
            )

        planned = _merge([plans[i] for i in chunk])
        read = functools.partial(
            catalog.read,
            connections[alias],
            reading.tables,
            scopes,
            meanwhile=functools.partial(applier.prerender, planned, alias),
        )
        try:
            done_plan = applier.apply(alias, read, make_plan, scopes=scopes, seen=(seen, planned))
        except PgTriggerLiveError as exc:
            if not ran:  # nothing committed yet: the error's own "nothing was changed" holds
                raise
            raise _batch_failed(exc, [s.label for s in scopes], ran) from exc
        ran.append(done_plan)
        done += len(done_plan.actions)
        if progress is not None:
            progress(done, total, [scope.label for scope in scopes])
    # Under the lock the applier may add skips of its own (tables deferred while busy).
    extra = tuple(s for p in ran for s in p.skipped if s not in plan.skipped)
    return _merge(ran, skipped=(*plan.skipped, *extra))


def _render_all(reading: _Reading) -> None:
    """Render every declaration compiled on first use (``pending_trigger``) now."""
    for desired in reading.desired:
        for item in desired:
            if item.compiled is not None:
                item.compiled.signature  # noqa: B018 - rendering it is the point


def _refuse_unsafe_on_citus(
    alias: str, reading: _Reading, items: Sequence[tuple[str, type[models.Model], Trigger]]
) -> None:
    """Before any DDL (and in a dry run): no trigger goes where Citus would fail every write."""
    declared = {uri: (model, trigger) for uri, model, trigger in items}
    lines = citus_safety.refusals(reading.snapshot, reading.desired, declared)
    if lines:
        # One line: migrate reports the first line of the error.
        raise CitusUnsupportedError(
            f"Nothing was changed on database {alias!r}: "
            + " Also ".join(lines[:1] + [line[0].upper() + line[1:] for line in lines[1:]])
        )


def _merge(plans: Sequence[Plan], skipped: tuple[tuple[str, str], ...] | None = None) -> Plan:
    """One plan from several scopes' plans.

    Two scopes can resolve a table to the same one (a table found only in ``public`` by two
    tenants' search paths): its actions are kept once, in the first scope that planned them.
    """
    if len(plans) == 1 and skipped is None:
        return plans[0]
    actions: dict[tuple[int, str], Action] = {}
    for plan in plans:
        for action in plan.actions:
            actions.setdefault((action.table.oid, action.pgid), action)
    return Plan(
        tuple(actions.values()),
        skipped
        if skipped is not None
        else tuple(dict.fromkeys(s for p in plans for s in p.skipped)),
    )


def _batch_failed(exc: PgTriggerLiveError, schemas: list[str], ran: list[Plan]) -> InstallError:
    """The error of one batch of a multi-schema reconcile, saying what the others did."""
    applied = sorted({a.table.schema for p in ran for a in p.actions})
    message = str(exc).replace("Nothing was changed: the reconcile was rolled back.", "")
    message = message.replace("Nothing was changed.", "").rstrip()
    done = (
        f"Earlier batches were committed (schemas: {', '.join(applied)})."
        if applied
        else "No earlier batch changed anything."
    )
    text = (
        f"{message}\nThe batch of schemas {', '.join(schemas)} was rolled back. {done} Run "
        "the same command again to finish: what is done is not done twice."
    )
    try:  # keep the class (LockTimeoutError, ConnectionLostError...) for callers that catch it
        error = type(exc)(text)
    except TypeError:
        return InstallError(text)
    return error if isinstance(error, InstallError) else InstallError(text)


def _chunks(plans: Sequence[Plan]) -> list[list[int]]:
    """Group the scopes that have something to do into transactions of bounded size."""
    chunks: list[list[int]] = []
    tables = 0
    for i, plan in enumerate(plans):
        if plan.is_empty:
            continue
        count = len({a.table.oid for a in plan.actions})
        if not chunks or tables + count > MAX_TABLES_PER_TRANSACTION:
            chunks.append([])
            tables = 0
        chunks[-1].append(i)
        tables += count
    return chunks


def install(
    *uris: Selector,
    database: str | None = None,
    schemas: Sequence[str] = (),
    all_schemas: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> Plan:
    """Install what is missing or out of date; with no URIs also prune (PRUNE_ON_INSTALL).

    Returns the plan that ran (or would run, with ``dry_run``). Triggers already in sync
    are not touched: no DDL and no table lock when nothing changed. ``schemas``: reconcile
    each of these schemas (see docs/tenants.md); ``all_schemas``: every schema
    ``PGTRIGGER_LIVE_SCHEMAS`` gives.
    """
    return _install(
        uris, database, schemas, dry_run=dry_run, all_schemas=all_schemas, progress=progress
    )


def _install(
    uris: Sequence[Selector],
    database: str | None,
    schemas: Sequence[str],
    *,
    dry_run: bool = False,
    enabled: Mapping[str, Enabled] | None = None,
    all_schemas: bool = False,
    progress: Progress | None = None,
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
        all_schemas=all_schemas,
        progress=progress,
        prunes=prune,
    )


def uninstall(
    *uris: Selector,
    database: str | None = None,
    schemas: Sequence[str] = (),
    all_schemas: bool = False,
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
        all_schemas=all_schemas,
    )


def _set_enabled(
    uris: Sequence[Selector],
    database: str | None,
    schemas: Sequence[str],
    enabled: bool,
    dry_run: bool,
    all_schemas: bool,
) -> Plan:
    return _reconcile(
        uris,
        database,
        schemas,
        lambda entries, selected, _: plan_set_enabled(entries, selected, enabled=enabled),
        dry_run=dry_run,
        all_schemas=all_schemas,
    )


def enable(
    *uris: Selector,
    database: str | None = None,
    schemas: Sequence[str] = (),
    all_schemas: bool = False,
    dry_run: bool = False,
) -> Plan:
    """Enable installed triggers (a disabled trigger stays disabled across reconciles)."""
    return _set_enabled(uris, database, schemas, True, dry_run, all_schemas)


def disable(
    *uris: Selector,
    database: str | None = None,
    schemas: Sequence[str] = (),
    all_schemas: bool = False,
    dry_run: bool = False,
) -> Plan:
    """Disable installed triggers for every session (use ``ignore`` for a local bypass)."""
    return _set_enabled(uris, database, schemas, False, dry_run, all_schemas)


def prune(
    *,
    database: str | None = None,
    schemas: Sequence[str] = (),
    all_schemas: bool = False,
    foreign: bool = False,
    dry_run: bool = False,
) -> Plan:
    """Drop our triggers (and their functions) that the code no longer declares here.

    ``foreign``: also drop signed triggers on tables no model of this project uses (left
    alone otherwise: another service sharing the database may own them).
    """
    return _reconcile(
        (),
        database,
        schemas,
        lambda entries, _, __: Plan(tuple(plan_prune(entries, foreign=foreign))),
        dry_run=dry_run,
        all_schemas=all_schemas,
    )


def status(
    *uris: Selector,
    database: str | None = None,
    schemas: Sequence[str] = (),
    all_schemas: bool = False,
) -> list[Entry]:
    """One Entry per trigger and scope (and, with no URIs, per prunable or foreign trigger),
    from one query."""
    alias = database or DEFAULT_DB_ALIAS
    items = registry.select(*uris)
    if not is_postgres(alias):
        return statuses(collect(alias, items), ScopeView(Scope()), lambda _: Owner.UNKNOWN)
    reading = _read(alias, items, schemas, all_schemas)
    entries = [e for scope in reading.entries(reading.snapshot) for e in scope]
    if not uris:
        return entries
    return [e for e in entries if e.status not in (Status.PRUNE, Status.FOREIGN)]


def prunable(
    *, database: str | None = None, schemas: Sequence[str] = (), all_schemas: bool = False
) -> list[Entry]:
    """The installed triggers that ``prune`` would drop."""
    return [
        e
        for e in status(database=database, schemas=schemas, all_schemas=all_schemas)
        if e.status is Status.PRUNE
    ]


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
    verbosity, stdout = kwargs.get("verbosity", 1), kwargs.get("stdout") or sys.stdout
    try:
        plan = _install((), using, (), enabled=_DROPPED_STATES.pop(using, None))
    except (PgTriggerLiveError, DatabaseError) as exc:
        details = str(exc).strip().splitlines()[1:]
        if details and verbosity >= 1:
            stdout.write("\n".join(details) + "\n")
        raise MigrateReconcileError(reporting.migrate_failed(using, exc)) from exc
    reporting.migrate_report(plan, verbosity=verbosity, stdout=stdout)
