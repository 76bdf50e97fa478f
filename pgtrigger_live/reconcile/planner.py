"""Diff what the code declares against what the catalog holds. Pure: no connection in sight.

``statuses`` gives one Entry per declared trigger (plus PRUNE entries); the ``plan_*``
functions turn entries into Actions: operations (``operations.py``) with their reason and
the catalog row they were decided from. ``ddl.render`` is the only place they become SQL.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from pgtrigger_live import naming
from pgtrigger_live.reconcile import ddl
from pgtrigger_live.reconcile.operations import (
    SHARE_UPDATE_EXCLUSIVE,
    CreateFunction,
    CreateTrigger,
    DropFunction,
    DropTrigger,
    Operation,
    RenameConstraint,
    RenameFunction,
    RenameTrigger,
    SetEnabled,
    strongest,
)
from pgtrigger_live.reconcile.state import (
    HASH_VERSION,
    CompiledTrigger,
    Desired,
    Enabled,
    InstalledTrigger,
    Owner,
    OwnerOf,
    ScopeView,
    Status,
    TableRef,
    is_legacy_comment,
)

#: CREATE OR REPLACE TRIGGER exists from PostgreSQL 14 on.
REPLACE_TRIGGER_MIN_VERSION = 140000
#: ALTER TRIGGER ... RENAME renames a partitioned table's clones on its partitions from
#: PostgreSQL 15 on; before, a change of order drops and re-creates the trigger.
RENAME_TRIGGER_MIN_VERSION = 150000


@dataclass(frozen=True, slots=True)
class Entry:
    """The status of one trigger in one database, with the facts it was derived from."""

    uri: str
    pgid: str
    status: Status
    reason: str
    table: TableRef | None = None
    installed: InstalledTrigger | None = None
    compiled: CompiledTrigger | None = None
    #: The schema of the scope that saw it ("" for the connection's own search_path).
    scope: str = ""

    @property
    def enabled(self) -> Enabled | None:
        return self.installed.enabled if self.installed is not None else None

    @property
    def in_sync(self) -> bool:
        return self.status in (Status.INSTALLED, Status.UNALLOWED, Status.FOREIGN)


class ActionKind(str, enum.Enum):
    CREATE = "create"
    REPLACE = "replace"
    DROP = "drop"  # uninstall requested
    PRUNE = "prune"  # no longer declared: dropped by ``prune`` (or install with pruning)
    REORDER = "reorder"  # a change of firing order only: renamed in place
    ENABLE = "enable"
    DISABLE = "disable"
    SIGN = "sign"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Action:
    """One change to one trigger: its operations, why, and the installed state it saw."""

    kind: ActionKind
    uri: str
    pgid: str
    table: TableRef
    reason: str
    ops: tuple[Operation, ...]
    #: What to comment the trigger with once ``ops`` ran: the code's signature, or the
    #: compiled trigger that gives it (not rendered yet: a first install renders it just
    #: before its DDL is sent). None: the action leaves no trigger to sign. The applier signs
    #: a whole batch with one statement.
    signs: str | CompiledTrigger | None = None
    #: The catalog row the decision was made from (None: nothing was installed).
    seen: InstalledTrigger | None = None

    @property
    def signature(self) -> str | None:
        """The comment ``signs`` gives (rendering the trigger if it was not yet)."""
        signs = self.signs
        return signs.comment if isinstance(signs, CompiledTrigger) else signs

    @property
    def statements(self) -> tuple[str, ...]:
        """The operations as SQL, rendered in one place (``ddl.render``)."""
        return tuple(ddl.render(op) for op in self.ops)

    @property
    def sql(self) -> tuple[str, ...]:
        """Every statement this action sends, signing included (as when run alone)."""
        if self.signature is None:
            return self.statements
        return (*self.statements, ddl.sign([(self.table, self.pgid, self.signature)]))

    @property
    def lock(self) -> str | None:
        """The strongest table lock its statements take (signing alone: a comment's)."""
        mode = strongest([op.lock for op in self.ops])
        if mode is None and self.signs is not None:
            return SHARE_UPDATE_EXCLUSIVE
        return mode

    def describe(self) -> str:
        return f"{self.kind:<8} {self.uri} on {self.table.schema}.{self.table.name}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Plan:
    """Actions to run in order, and triggers left alone with the reason (e.g. no table)."""

    actions: tuple[Action, ...] = ()
    skipped: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def is_empty(self) -> bool:
        return not self.actions

    @property
    def statements(self) -> list[str]:
        return [s for a in self.actions for s in a.sql]

    def counts(self) -> dict[ActionKind, int]:
        """How many actions of each kind: the plan printed without SQL."""
        counts: dict[ActionKind, int] = {}
        for action in self.actions:
            counts[action.kind] = counts.get(action.kind, 0) + 1
        return counts

    def describe(self, *, sql: bool = False) -> list[str]:
        lines: list[str] = []
        for action in self.actions:
            lines.append(action.describe())
            if sql:
                lines.extend(f"    {s};" for s in action.sql)
        lines.extend(f"skip     {uri}: {reason}" for uri, reason in self.skipped)
        return lines


# -- status ---------------------------------------------------------------------------------


def _status_of(compiled: CompiledTrigger, installed: InstalledTrigger) -> tuple[Status, str]:
    signature = installed.signature
    if signature is None:
        if is_legacy_comment(installed.comment):
            return Status.OUTDATED, "installed by django-pgtrigger; will be adopted in place"
        return Status.OUTDATED, "installed without a pgtrigger_live signature"
    if signature.version != HASH_VERSION:
        return Status.OUTDATED, f"signed by hash format v{signature.version}"
    wanted = compiled.signature
    if compiled.has_body and not installed.owns_function:
        return Status.OUTDATED, "the trigger executes another function"
    if installed.shape is not None and installed.shape != compiled.shape:
        return Status.OUTDATED, (
            "the trigger was altered in the database (timing, level, events or deferrability)"
        )
    if signature.fingerprint_matches(installed.definition) is False:
        return Status.OUTDATED, (
            "the trigger was altered in the database "
            "(condition, UPDATE OF columns, transition tables or arguments)"
        )
    if signature.clause_hash != wanted.clause_hash:
        return Status.OUTDATED, "trigger definition changed"
    if signature.body_md5 != wanted.body_md5:
        return Status.OUTDATED, "function body changed"
    if compiled.has_body and installed.function_md5 != signature.body_md5:
        return Status.TAMPERED, "function body was edited in the database"
    return Status.INSTALLED, "up to date"


_UNCLAIMED = {
    Owner.HERE: (Status.PRUNE, "installed but no longer declared here"),
    Owner.NOWHERE: (
        Status.PRUNE,
        "its model is no longer allowed on this database (router): installed but not declared",
    ),
    Owner.GONE: (
        Status.PRUNE,
        "its model was deleted from the code (this project's migrations created the table)",
    ),
    Owner.UNKNOWN: (
        Status.FOREIGN,
        "no model of this project uses this table: left alone (`pgtrigger prune --foreign`)",
    ),
}


def statuses(desired: Iterable[Desired], view: ScopeView, owner_of: OwnerOf) -> list[Entry]:
    """One entry per declared trigger, in registry order, then the unclaimed ones of ours.

    Ownership (docs/reconcile.md): a trigger no declaration claims is this scope's to prune
    only when ``owner_of`` says a model of this project maps to its table and no other alias
    of the same database is allowed it; on a table of the home schema that no model maps to,
    it is FOREIGN (another service's), and outside the home schema it is not this scope's.
    """
    index = {(t.table.oid, t.pgid): t for t in view.triggers}
    claimed: set[tuple[int, str]] = set()
    entries: list[Entry] = []
    scope = view.scope.label
    # Each declaration with its table (None: not allowed here, or no such table).
    located = [
        (item, view.tables.get(item.db_table) if item.compiled is not None else None)
        for item in desired
    ]
    for item, table in located:  # exact names first: a renamed trigger is never one of these
        if table is not None and (table.oid, item.pgid) in index:
            claimed.add((table.oid, item.pgid))
    renamed = _Renamed(index, claimed)
    for item, table in located:
        if item.compiled is None:
            entries.append(
                Entry(item.uri, item.pgid, Status.UNALLOWED, "not allowed here", scope=scope)
            )
            continue
        if table is None:
            entries.append(
                Entry(
                    item.uri,
                    item.pgid,
                    Status.UNINSTALLED,
                    f'table "{item.db_table}" does not exist',
                    compiled=item.compiled,
                    scope=scope,
                )
            )
            continue
        installed = index.get((table.oid, item.pgid)) or renamed.find(item, table)
        if installed is None:
            status, reason = Status.UNINSTALLED, "not installed"
        else:
            status, reason = _status_of(item.compiled, installed)
            if installed.pgid != item.pgid:
                status, reason = _reordered(item.pgid, installed.pgid, status, reason)
        entries.append(
            Entry(item.uri, item.pgid, status, reason, table, installed, item.compiled, scope)
        )
    for key, installed in index.items():
        if key in claimed or not installed.is_ours:
            continue
        owner = owner_of(installed.table)
        in_home = installed.table.schema == view.home
        if owner is Owner.ELSEWHERE or (owner is not Owner.HERE and not in_home):
            continue
        status, reason = _UNCLAIMED[owner]
        uri = f"{installed.table.schema}.{installed.table.name}:{installed.pgid}"
        entries.append(
            Entry(uri, installed.pgid, status, reason, installed.table, installed, scope=scope)
        )
    return entries


class _Renamed:
    """Finds a declared trigger installed under the name of another order (or of none).

    Only triggers no declaration claims by exact name, on the declaration's table, whose
    name is the one this URI gives without an order or with any order: the URI's hash is in
    every such name, so no other trigger can be taken for it. Declarations whose class makes
    its own ids (``get_pgid``) are never matched this way.
    """

    def __init__(
        self, index: Mapping[tuple[int, str], InstalledTrigger], claimed: set[tuple[int, str]]
    ) -> None:
        self.index, self.claimed = index, claimed
        self._by_key: dict[tuple[int, str], tuple[int, str]] | None = None

    def find(self, item: Desired, table: TableRef) -> InstalledTrigger | None:
        unordered, key = naming.names_of(item.uri, naming.split_uri(item.uri)[1])
        if item.pgid != unordered and naming.order_key(item.pgid) != key:
            return None  # a class with ids of its own (get_pgid): never renamed
        if self._by_key is None:  # built on the first miss: a no-op reconcile never gets here
            self._by_key = {
                (oid, naming.order_key(pgid)): (oid, pgid)
                for oid, pgid in self.index
                if naming.order_of(pgid) is not None
            }
        for found in ((table.oid, unordered), self._by_key.get((table.oid, key))):
            if found is None or found in self.claimed or found == (table.oid, item.pgid):
                continue
            # Unsigned too (a comment lost to pg_dump --no-comments): the URI's hash is in
            # the name, as for a trigger found under its exact name.
            installed = self.index.get(found)
            if installed is not None:
                self.claimed.add(found)
                return installed
        return None


def _order_text(pgid: str) -> str:
    order = naming.order_of(pgid)
    return "none" if order is None else str(order)


def _reordered(pgid: str, installed: str, status: Status, reason: str) -> tuple[Status, str]:
    """The status of a trigger found under another order's name: a rename, and what else."""
    change = f"firing order changed ({_order_text(installed)} -> {_order_text(pgid)})"
    if status is Status.INSTALLED:
        return Status.OUTDATED, f"{change}: renamed in place"
    return status, f"{change}; {reason}"


# -- plans ----------------------------------------------------------------------------------


def _restore_enabled(pgid: str, table: TableRef, enabled: Enabled) -> list[Operation]:
    if enabled is Enabled.ENABLED:
        return []
    return [SetEnabled(table, pgid, enabled)]


def _install_action(
    entry: Entry, server_version: int, dropped_state: Enabled | None = None
) -> Action:
    """``dropped_state``: the state a trigger had before something dropped it, given back
    when it is created (installed triggers keep theirs through a replace)."""
    compiled, table, installed = entry.compiled, entry.table, entry.installed
    assert compiled is not None
    assert table is not None
    body: list[Operation] = [CreateFunction(table.schema, compiled)] if compiled.has_body else []

    def signed(kind: ActionKind, ops: list[Operation]) -> Action:
        return Action(
            kind,
            entry.uri,
            entry.pgid,
            table,
            entry.reason,
            tuple(ops),
            compiled,
            installed,
        )

    if installed is None:
        created = CreateTrigger(table, compiled, replace=False)
        restored = _restore_enabled(entry.pgid, table, dropped_state or Enabled.ENABLED)
        return signed(ActionKind.CREATE, [*body, created, *restored])
    if installed.pgid != entry.pgid and server_version < RENAME_TRIGGER_MIN_VERSION:
        return signed(ActionKind.REPLACE, _recreate_renamed(entry, compiled, installed, body))
    renames = _renames(entry.pgid, installed)
    if renames and _status_of(compiled, installed)[0] is Status.INSTALLED:
        return signed(ActionKind.REORDER, renames)
    signature = installed.signature
    only_body = (
        signature is not None
        and signature.version == HASH_VERSION
        and signature.clause_hash == compiled.signature.clause_hash
        and compiled.has_body
        and installed.owns_function
        and installed.shape == compiled.shape
        # The comment is re-signed from the trigger as it is: only when it is known intact.
        and signature.fingerprint_matches(installed.definition) is True
    )
    ops: list[Operation] = list(renames)
    if only_body:
        # CREATE OR REPLACE FUNCTION locks no table; the trigger itself is untouched.
        ops += body
    elif (
        compiled.constraint
        or installed.is_constraint
        or server_version < REPLACE_TRIGGER_MIN_VERSION
    ):
        # Constraint triggers cannot be replaced in place (nor any trigger before PG 14).
        ops += [
            DropTrigger(table, entry.pgid),
            *body,
            CreateTrigger(table, compiled, replace=False),
            *_restore_enabled(entry.pgid, table, installed.enabled),
        ]
    else:
        ops += [
            *body,
            CreateTrigger(table, compiled, replace=True),
            *_restore_enabled(entry.pgid, table, installed.enabled),
        ]
    if not compiled.has_body and installed.owns_function and installed.function_schema:
        ops.append(DropFunction(installed.function_schema, entry.pgid))
    return signed(ActionKind.REPLACE, ops)


def _renames(pgid: str, installed: InstalledTrigger) -> list[Operation]:
    """Give a trigger found under another order's name (and its own function) ``pgid``.

    ALTER ... RENAME keeps the OIDs, the enabled state and the function's statistics; the
    operations after it name the trigger ``pgid``. A constraint trigger's constraint is
    renamed too (``SET CONSTRAINTS`` looks names up there). A function already called
    ``pgid`` is a leftover (DROP TABLE keeps trigger functions): dropped first, without
    CASCADE, so the rename cannot fail on it.
    """
    if installed.pgid == pgid:
        return []
    table = installed.table
    ops: list[Operation] = [RenameTrigger(table, installed.pgid, pgid)]
    if installed.is_constraint:
        ops.append(RenameConstraint(table, installed.pgid, pgid))
    if installed.owns_function and installed.function_schema:
        ops.append(DropFunction(installed.function_schema, pgid))
        ops.append(RenameFunction(installed.function_schema, installed.pgid, pgid))
    return ops


def _recreate_renamed(
    entry: Entry, compiled: CompiledTrigger, installed: InstalledTrigger, body: list[Operation]
) -> list[Operation]:
    """Before PostgreSQL 15, a trigger whose order changed is dropped and created again
    (renaming a partitioned table's trigger would leave its partitions' clones named and
    firing as before). Its enabled state is kept."""
    table = installed.table
    return [
        *ddl.drop_ops(installed),
        *body,
        CreateTrigger(table, compiled, replace=False),
        *_restore_enabled(entry.pgid, table, installed.enabled),
    ]


def _unfingerprinted(entry: Entry) -> bool:
    """Up to date, but its fingerprint is missing or from another major version."""
    installed = entry.installed
    signature = installed.signature if installed is not None else None
    return (
        installed is not None
        and signature is not None
        and entry.compiled is not None
        and signature.fingerprint_matches(installed.definition) is None
    )


def _undigested(entry: Entry) -> bool:
    """Up to date, but its comment lacks the declaration's digest (or has another one).

    Comments written before digests existed, or after an upgrade of pgtrigger_live, Django
    or the server (each is part of the digest): the trigger was compared in full. Recording
    the digest lets the next reconcile skip compiling it.
    """
    installed = entry.installed
    signature = installed.signature if installed is not None else None
    wanted = entry.compiled.signature.digest if entry.compiled is not None else None
    return signature is not None and wanted is not None and signature.digest != wanted


def _sign_action(entry: Entry) -> Action:
    """Record the fingerprint and the digest of an up-to-date trigger: a comment only.

    For comments written before fingerprints existed, or by another major version (after
    pg_upgrade): once recorded, later hand changes of the condition are detected again. For
    comments without the declaration's digest: once recorded, reconciles skip compiling.
    """
    assert entry.installed is not None
    assert entry.compiled is not None
    if _unfingerprinted(entry):
        reason = "no comparable fingerprint (none, or from another server version): recorded now"
    else:
        reason = "up to date; the declaration's digest is recorded in the comment"
    return Action(
        ActionKind.SIGN,
        entry.uri,
        entry.pgid,
        entry.installed.table,
        reason,
        (),
        entry.compiled,
        entry.installed,
    )


def _drop_action(entry: Entry, reason: str, kind: ActionKind = ActionKind.DROP) -> Action:
    installed = entry.installed
    assert installed is not None
    return Action(
        kind,
        entry.uri,
        entry.pgid,
        installed.table,
        reason,
        tuple(ddl.drop_ops(installed)),
        seen=installed,
    )


def _selected(entries: list[Entry], uris: Collection[str] | None) -> list[Entry]:
    return [
        e
        for e in entries
        if e.status not in (Status.PRUNE, Status.FOREIGN) and (uris is None or e.uri in uris)
    ]


def plan_prune(entries: list[Entry], *, foreign: bool = False) -> list[Action]:
    """Drop what is PRUNE (and, with ``foreign``, the FOREIGN triggers too)."""
    kinds = (Status.PRUNE, Status.FOREIGN) if foreign else (Status.PRUNE,)
    return [_drop_action(e, e.reason, ActionKind.PRUNE) for e in entries if e.status in kinds]


def plan_install(
    entries: list[Entry],
    uris: Collection[str] | None,
    *,
    prune: bool,
    server_version: int,
    enabled: Mapping[str, Enabled] | None = None,
) -> Plan:
    """Create what is missing, replace what differs, and (optionally) prune.

    ``enabled``: URI -> the state a trigger had before it was dropped (by
    ``PGTRIGGER_LIVE_PRE_MIGRATE``): a created trigger gets it back in the same transaction.
    """
    actions: list[Action] = []
    skipped: list[tuple[str, str]] = []
    for entry in _selected(entries, uris):
        if entry.status in (Status.UNINSTALLED, Status.OUTDATED, Status.TAMPERED):
            if entry.table is None:
                skipped.append((entry.uri, entry.reason))
                continue
            actions.append(_install_action(entry, server_version, (enabled or {}).get(entry.uri)))
        elif entry.status is Status.INSTALLED and (_unfingerprinted(entry) or _undigested(entry)):
            actions.append(_sign_action(entry))
    if prune:
        actions.extend(plan_prune(entries))
    return Plan(tuple(actions), tuple(skipped))


def plan_uninstall(entries: list[Entry], uris: Collection[str] | None, *, prune: bool) -> Plan:
    actions = [
        _drop_action(e, "uninstall requested")
        for e in _selected(entries, uris)
        if e.installed is not None
    ]
    if prune:
        actions.extend(plan_prune(entries))
    return Plan(tuple(actions))


def plan_set_enabled(entries: list[Entry], uris: Collection[str] | None, *, enabled: bool) -> Plan:
    """Enable or disable installed triggers; triggers that are not installed are reported."""
    actions: list[Action] = []
    skipped: list[tuple[str, str]] = []
    kind = ActionKind.ENABLE if enabled else ActionKind.DISABLE
    for entry in _selected(entries, uris):
        installed = entry.installed
        if installed is None:
            if entry.status is not Status.UNALLOWED:
                skipped.append((entry.uri, f"cannot {kind}: {entry.reason}"))
            continue
        if installed.enabled.is_enabled == enabled:
            continue
        mode = Enabled.ENABLED if enabled else Enabled.DISABLED
        actions.append(
            Action(
                kind,
                entry.uri,
                entry.pgid,
                installed.table,
                f"{kind} requested",
                (SetEnabled(installed.table, installed.pgid, mode),),
                seen=installed,
            )
        )
    return Plan(tuple(actions), tuple(skipped))
