"""Every planner decision on plain data: statuses, reasons and the exact statements. No database.

Declared triggers are compiled from real declarations (``compile_trigger`` needs no
connection); installed ones are built by hand as the catalog would report them. A test here
fails when the decision it names is broken (see docs/testing.md, "Mutation testing").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import pytest
from django.db import models

import pgtrigger_live as pgtrigger
from pgtrigger_live.reconcile import ddl
from pgtrigger_live.reconcile.compiler import compile_trigger
from pgtrigger_live.reconcile.operations import (
    ACCESS_EXCLUSIVE,
    SHARE_ROW_EXCLUSIVE,
    SHARE_UPDATE_EXCLUSIVE,
    CreateFunction,
    CreateTrigger,
    DropFunction,
    DropTrigger,
    Operation,
    SetEnabled,
)
from pgtrigger_live.reconcile.planner import (
    REPLACE_TRIGGER_MIN_VERSION,
    Action,
    ActionKind,
    Desired,
    Entry,
    Plan,
    plan_install,
    plan_prune,
    plan_set_enabled,
    plan_uninstall,
    statuses,
)
from pgtrigger_live.reconcile.state import (
    CompiledTrigger,
    Enabled,
    InstalledTrigger,
    Owner,
    Scope,
    ScopeView,
    Status,
    TableRef,
)
from tests.testapp.models import Plain

PG18, PG13 = 180000, 130000
TABLE = TableRef("public", "testapp_plain", 41)
ARCHIVE = TableRef("archive", "testapp_plain", 42)
#: The server's fingerprint of an installed trigger (major version first, as ddl computes it).
FP = "18.123456789"


class CustomExecute(pgtrigger.Trigger):
    """A trigger that runs the user's own function (``render_execute``)."""

    execute = '"lib"."audit"()'

    def render_execute(self, model: type[models.Model]) -> str | None:
        return self.execute


def declare(
    name: str = "t",
    *,
    func: str = "RETURN NEW;",
    condition: pgtrigger.Condition | None = None,
    timing: pgtrigger.Timing | None = None,
    when: pgtrigger.When = pgtrigger.Before,
    operation: pgtrigger.Operation = pgtrigger.Update,
    execute: str | None = None,
) -> CompiledTrigger:
    kind = pgtrigger.Trigger if execute is None else CustomExecute
    trigger = kind(
        name=name, when=when, operation=operation, func=func, condition=condition, timing=timing
    )
    if execute is not None:
        trigger.execute = execute  # type: ignore[attr-defined]
    return compile_trigger(Plain, trigger)


def custom(compiled: CompiledTrigger, execute: str = '"lib"."audit"()') -> CompiledTrigger:
    """BASE with a custom ``render_execute``: no function of its own."""
    assert compiled is BASE
    return declare(execute=execute)


def install(
    compiled: CompiledTrigger,
    table: TableRef = TABLE,
    *,
    enabled: Enabled = Enabled.ENABLED,
    comment: str | None = "signed",
    function: tuple[str | None, str | None] | None = None,
    function_md5: str | None = None,
    shape: int | None = None,
    definition: str | None = FP,
    is_constraint: bool | None = None,
) -> InstalledTrigger:
    """``compiled`` as the catalog shows it once installed by us (then altered by the args)."""
    if comment == "signed":
        comment = f"{compiled.comment}:{FP}"
    if function is None:
        function = (table.schema, compiled.pgid) if compiled.body is not None else ("lib", "audit")
    return InstalledTrigger(
        table,
        compiled.pgid,
        enabled,
        comment,
        compiled.constraint if is_constraint is None else is_constraint,
        function[0],
        function[1],
        compiled.signature.body_md5 if function_md5 is None else function_md5,
        compiled.shape if shape is None else shape,
        definition,
    )


def entries_for(
    compiled: CompiledTrigger | None,
    *installed: InstalledTrigger,
    table: TableRef | None = TABLE,
    owner: Owner = Owner.HERE,
) -> list[Entry]:
    desired = []
    if compiled is not None or not installed:
        c = compiled or declare()
        desired.append(Desired(c.uri, c.pgid, c.db_table, compiled))
    view = ScopeView(
        Scope("public"), home="public", tables={"testapp_plain": table}, triggers=list(installed)
    )
    return statuses(desired, view, lambda _: owner)


def one(entries: Iterable[Entry]) -> Entry:
    (entry,) = entries
    return entry


def only_action(plan: Plan) -> Action:
    assert plan.skipped == ()
    (action,) = plan.actions
    return action


def install_plan(
    entries: list[Entry],
    version: int = PG18,
    *,
    prune: bool = True,
    enabled: dict[str, Enabled] | None = None,
) -> Plan:
    return plan_install(entries, None, prune=prune, server_version=version, enabled=enabled)


BASE = declare()
NEW_CONDITION = declare(condition=pgtrigger.Q(old__id__df=pgtrigger.F("new__id")))
NEW_BODY = declare(func="NEW.id := NEW.id; RETURN NEW;")
DEFERRED = declare(timing=pgtrigger.Deferred, when=pgtrigger.After)
IMMEDIATE = declare(timing=pgtrigger.Immediate, when=pgtrigger.After)


# -- statuses -------------------------------------------------------------------------------

STATUS_CASES = [
    # (id, declared, installed, status, reason)
    ("identical", BASE, install(BASE), Status.INSTALLED, "up to date"),
    ("missing", BASE, None, Status.UNINSTALLED, "not installed"),
    (
        "condition only changed",
        NEW_CONDITION,
        install(BASE),
        Status.OUTDATED,
        "trigger definition changed",
    ),
    ("body changed", NEW_BODY, install(BASE), Status.OUTDATED, "function body changed"),
    (
        "body edited by hand",
        BASE,
        install(BASE, function_md5="0" * 32),
        Status.TAMPERED,
        "function body was edited in the database",
    ),
    (
        "unsigned",
        BASE,
        install(BASE, comment=None),
        Status.OUTDATED,
        "installed without a pgtrigger_live signature",
    ),
    (
        "django-pgtrigger's",
        BASE,
        install(BASE, comment="a" * 40),
        Status.OUTDATED,
        "installed by django-pgtrigger; will be adopted in place",
    ),
    (
        "older hash format",
        BASE,
        install(BASE, comment=dataclasses.replace(BASE.signature, version=0).render()),
        Status.OUTDATED,
        "signed by hash format v0",
    ),
    (
        "same-named function in another schema",
        BASE,
        install(BASE, function=("other", BASE.pgid)),
        Status.OUTDATED,
        "the trigger executes another function",
    ),
    (
        "another function in its schema",
        BASE,
        install(BASE, function=("public", "elsewhere")),
        Status.OUTDATED,
        "the trigger executes another function",
    ),
    (
        "events altered by hand",
        BASE,
        install(BASE, shape=BASE.shape | 4),
        Status.OUTDATED,
        "the trigger was altered in the database (timing, level, events or deferrability)",
    ),
    (
        "INITIALLY DEFERRED dropped by hand",
        DEFERRED,
        install(DEFERRED, shape=DEFERRED.shape & ~512),
        Status.OUTDATED,
        "the trigger was altered in the database (timing, level, events or deferrability)",
    ),
    (
        "INITIALLY DEFERRED added by hand",
        IMMEDIATE,
        install(IMMEDIATE, shape=IMMEDIATE.shape | 512),
        Status.OUTDATED,
        "the trigger was altered in the database (timing, level, events or deferrability)",
    ),
    (
        "condition altered by hand",
        BASE,
        install(BASE, definition="18.999"),
        Status.OUTDATED,
        "the trigger was altered in the database "
        "(condition, UPDATE OF columns, transition tables or arguments)",
    ),
    ("deferred, identical", DEFERRED, install(DEFERRED), Status.INSTALLED, "up to date"),
    ("no shape known", BASE, install(BASE, shape=None), Status.INSTALLED, "up to date"),
    (
        "fingerprint of another major",
        BASE,
        install(BASE, definition="17.5"),
        Status.INSTALLED,
        "up to date",
    ),
    (
        "custom function, not ours",
        custom(BASE),
        install(custom(BASE), function_md5="f" * 32),
        Status.INSTALLED,
        "up to date",
    ),
    (
        "custom function now, ours installed",
        custom(BASE),
        install(BASE),
        Status.OUTDATED,
        "trigger definition changed",
    ),
]


@pytest.mark.parametrize(
    ("declared", "installed", "status", "reason"),
    [c[1:] for c in STATUS_CASES],
    ids=[c[0] for c in STATUS_CASES],
)
def test_status(
    declared: CompiledTrigger, installed: InstalledTrigger | None, status: Status, reason: str
) -> None:
    entry = one(entries_for(declared, *([installed] if installed else [])))
    assert (entry.status, entry.reason) == (status, reason)
    assert (entry.uri, entry.pgid, entry.compiled, entry.table) == (
        declared.uri,
        declared.pgid,
        declared,
        TABLE,
    )
    assert entry.installed is installed
    assert entry.scope == "public"


def test_condition_alone_changes_the_clause_hash_not_the_body() -> None:
    assert NEW_CONDITION.body == BASE.body
    assert NEW_CONDITION.events == BASE.events
    assert NEW_CONDITION.shape == BASE.shape
    assert NEW_CONDITION.signature.clause_hash != BASE.signature.clause_hash


def test_every_kind_of_entry_in_one_scope() -> None:
    """Whole entries, in order: each branch must go on to the next declaration or trigger."""
    gone = declare("g")
    claimed = install(BASE)
    theirs = TableRef("public", "theirs", 50)
    other_alias = TableRef("public", "other_alias", 51)
    removed = TableRef("public", "removed", 52)
    triggers = [
        claimed,
        install(BASE, theirs, comment="hand made"),
        install(BASE, other_alias),
        install(BASE, removed),
    ]
    owners = {theirs.oid: Owner.UNKNOWN, other_alias.oid: Owner.ELSEWHERE, removed.oid: Owner.HERE}
    view = ScopeView(
        Scope("public"),
        home="public",
        tables={"testapp_plain": TABLE, "gone_table": None},
        triggers=triggers,
    )
    desired = [
        Desired("a.B:c", "pgtrigger_c_1", "t", None),
        Desired(gone.uri, gone.pgid, "gone_table", gone),
        Desired(BASE.uri, BASE.pgid, BASE.db_table, BASE),
    ]
    entries = statuses(desired, view, lambda table: owners[table.oid])
    assert entries == [
        Entry("a.B:c", "pgtrigger_c_1", Status.UNALLOWED, "not allowed here", scope="public"),
        Entry(
            gone.uri,
            gone.pgid,
            Status.UNINSTALLED,
            'table "gone_table" does not exist',
            compiled=gone,
            scope="public",
        ),
        Entry(BASE.uri, BASE.pgid, Status.INSTALLED, "up to date", TABLE, claimed, BASE, "public"),
        Entry(
            f"public.removed:{BASE.pgid}",
            BASE.pgid,
            Status.PRUNE,
            "installed but no longer declared here",
            removed,
            triggers[3],
            scope="public",
        ),
    ]
    assert [e.in_sync for e in entries] == [True, False, True, False]
    assert entries[0].enabled is None
    plan = install_plan(entries)
    assert plan.skipped == ((gone.uri, 'table "gone_table" does not exist'),)
    assert [(a.kind, a.uri, a.pgid, a.table) for a in plan.actions] == [
        (ActionKind.PRUNE, f"public.removed:{BASE.pgid}", BASE.pgid, removed)
    ]
    assert plan.describe()[-1] == f'skip     {gone.uri}: table "gone_table" does not exist'
    disable = plan_set_enabled(entries, None, enabled=False)
    assert disable.skipped == ((gone.uri, 'cannot disable: table "gone_table" does not exist'),)
    assert [(a.uri, a.pgid, a.table) for a in disable.actions] == [(BASE.uri, BASE.pgid, TABLE)]


def _here(_: TableRef) -> Owner:
    return Owner.HERE


def test_the_trigger_is_matched_on_its_table_and_id() -> None:
    elsewhere = install(BASE, dataclasses.replace(TABLE, oid=99))
    other_id = dataclasses.replace(install(BASE), pgid="pgtrigger_other_00000")
    entries = entries_for(BASE, elsewhere, other_id)
    assert [e.status for e in entries] == [Status.UNINSTALLED, Status.PRUNE, Status.PRUNE]


def test_entry_reports_enabled_and_in_sync() -> None:
    entry = one(entries_for(BASE, install(BASE, enabled=Enabled.REPLICA)))
    assert entry.enabled is Enabled.REPLICA
    assert entry.in_sync
    assert not one(entries_for(NEW_BODY, install(BASE))).in_sync


# -- install plans --------------------------------------------------------------------------


def test_identical_plans_nothing() -> None:
    plan = install_plan(entries_for(BASE, install(BASE)))
    assert plan.is_empty
    assert plan.statements == []
    assert plan.describe(sql=True) == []


def test_create() -> None:
    action = only_action(install_plan(entries_for(BASE)))
    assert action.kind is ActionKind.CREATE
    assert action.statements == (
        ddl.create_function(BASE, TABLE),
        ddl.create_trigger(BASE, TABLE, replace=False),
    )
    assert action.signature == BASE.comment
    assert action.sql == (*action.statements, ddl.sign([(TABLE, BASE.pgid, BASE.comment)]))
    assert (action.uri, action.pgid, action.table, action.reason) == (
        BASE.uri,
        BASE.pgid,
        TABLE,
        "not installed",
    )


def test_condition_only_change_is_replaced_in_place() -> None:
    action = only_action(install_plan(entries_for(NEW_CONDITION, install(BASE))))
    assert action.kind is ActionKind.REPLACE
    assert action.statements == (
        ddl.create_function(NEW_CONDITION, TABLE),
        ddl.create_trigger(NEW_CONDITION, TABLE, replace=True),
    )
    assert 'WHEN (OLD."id" IS DISTINCT FROM (NEW."id"))' in action.statements[1]
    assert action.signature == NEW_CONDITION.comment


@pytest.mark.parametrize(
    "installed",
    [install(BASE), install(BASE, function_md5="0" * 32)],
    ids=["body changed", "body edited by hand"],
)
def test_body_only_change_replaces_just_the_function(installed: InstalledTrigger) -> None:
    declared = NEW_BODY if installed.function_md5 == BASE.signature.body_md5 else BASE
    action = only_action(install_plan(entries_for(declared, installed)))
    assert action.kind is ActionKind.REPLACE
    assert action.statements == (ddl.create_function(declared, TABLE),)


@pytest.mark.parametrize(
    "installed",
    [
        install(BASE, definition="18.999"),  # condition altered by hand
        install(BASE, definition=None),  # fingerprint unknown: cannot re-sign as intact
        install(BASE, shape=BASE.shape | 4),
        install(BASE, function=("other", BASE.pgid)),
        install(BASE, comment="a" * 40),
        install(BASE, comment=dataclasses.replace(BASE.signature, version=0).render()),
    ],
    ids=["fingerprint", "no fingerprint", "shape", "other function", "legacy", "old format"],
)
def test_body_change_on_a_trigger_not_known_intact_replaces_the_trigger_too(
    installed: InstalledTrigger,
) -> None:
    action = only_action(install_plan(entries_for(NEW_BODY, installed)))
    assert action.statements == (
        ddl.create_function(NEW_BODY, TABLE),
        ddl.create_trigger(NEW_BODY, TABLE, replace=True),
    )


@pytest.mark.parametrize("mode", [Enabled.DISABLED, Enabled.ALWAYS, Enabled.REPLICA])
def test_replace_in_place_keeps_the_enabled_state(mode: Enabled) -> None:
    action = only_action(install_plan(entries_for(NEW_CONDITION, install(BASE, enabled=mode))))
    assert action.statements == (
        ddl.create_function(NEW_CONDITION, TABLE),
        ddl.create_trigger(NEW_CONDITION, TABLE, replace=True),
        ddl.set_enabled(BASE.pgid, TABLE, mode=mode),
    )


@pytest.mark.parametrize("mode", [Enabled.ENABLED, Enabled.DISABLED, Enabled.REPLICA])
def test_changed_constraint_trigger_is_dropped_and_created(mode: Enabled) -> None:
    changed = declare(
        timing=pgtrigger.Deferred, when=pgtrigger.After, condition=pgtrigger.Q(new__id__gt=0)
    )
    action = only_action(install_plan(entries_for(changed, install(DEFERRED, enabled=mode))))
    restored = [] if mode is Enabled.ENABLED else [ddl.set_enabled(changed.pgid, TABLE, mode=mode)]
    assert action.kind is ActionKind.REPLACE
    assert action.statements == (
        ddl.drop_trigger(changed.pgid, TABLE),
        ddl.create_function(changed, TABLE),
        ddl.create_trigger(changed, TABLE, replace=False),
        *restored,
    )
    assert "CREATE CONSTRAINT TRIGGER" in action.statements[2]
    assert "DEFERRABLE INITIALLY DEFERRED" in action.statements[2]


def test_plain_trigger_replacing_a_constraint_trigger_is_dropped_and_created() -> None:
    installed = install(BASE, is_constraint=True, shape=BASE.shape | 256 | 1024)
    action = only_action(install_plan(entries_for(BASE, installed)))
    assert action.statements == (
        ddl.drop_trigger(BASE.pgid, TABLE),
        ddl.create_function(BASE, TABLE),
        ddl.create_trigger(BASE, TABLE, replace=False),
    )


@pytest.mark.parametrize(
    ("version", "in_place"),
    [(REPLACE_TRIGGER_MIN_VERSION - 1, False), (REPLACE_TRIGGER_MIN_VERSION, True), (PG13, False)],
)
def test_before_pg14_replace_falls_back_to_drop_and_create(version: int, in_place: bool) -> None:
    entries = entries_for(NEW_CONDITION, install(BASE, enabled=Enabled.ALWAYS))
    action = only_action(install_plan(entries, version))
    restore = ddl.set_enabled(BASE.pgid, TABLE, mode=Enabled.ALWAYS)
    if in_place:
        expected = (
            ddl.create_function(NEW_CONDITION, TABLE),
            ddl.create_trigger(NEW_CONDITION, TABLE, replace=True),
            restore,
        )
    else:
        expected = (
            ddl.drop_trigger(BASE.pgid, TABLE),
            ddl.create_function(NEW_CONDITION, TABLE),
            ddl.create_trigger(NEW_CONDITION, TABLE, replace=False),
            restore,
        )
    assert action.statements == expected


@pytest.mark.parametrize("declared", [DEFERRED, IMMEDIATE], ids=["deferred", "immediate"])
def test_constraint_trigger_reconciled_twice_plans_nothing_the_second_time(
    declared: CompiledTrigger,
) -> None:
    first = only_action(install_plan(entries_for(declared)))
    assert first.kind is ActionKind.CREATE
    # What the catalog reports once the first plan ran: the same shape, signed, fingerprinted.
    assert install_plan(entries_for(declared, install(declared))).is_empty


@pytest.mark.parametrize("mode", list(Enabled))
def test_created_trigger_gets_back_the_state_it_had_before_pre_migrate(mode: Enabled) -> None:
    plan = install_plan(
        entries_for(BASE), enabled={BASE.uri: mode, "other.Uri:x": Enabled.DISABLED}
    )
    restored = () if mode is Enabled.ENABLED else (ddl.set_enabled(BASE.pgid, TABLE, mode=mode),)
    assert only_action(plan).statements == (
        ddl.create_function(BASE, TABLE),
        ddl.create_trigger(BASE, TABLE, replace=False),
        *restored,
    )


def test_enabled_map_applies_only_to_created_triggers() -> None:
    entries = entries_for(NEW_CONDITION, install(BASE, enabled=Enabled.REPLICA))
    action = only_action(install_plan(entries, enabled={BASE.uri: Enabled.DISABLED}))
    assert action.statements[-1] == ddl.set_enabled(BASE.pgid, TABLE, mode=Enabled.REPLICA)


# -- custom functions (render_execute) --------------------------------------------------------


def test_custom_function_is_created_without_a_function_of_ours() -> None:
    declared = custom(BASE)
    action = only_action(install_plan(entries_for(declared)))
    assert action.statements == (ddl.create_trigger(declared, TABLE, replace=False),)
    assert action.statements[0].endswith('EXECUTE FUNCTION "lib"."audit"()')


def test_switching_to_a_custom_function_drops_ours() -> None:
    declared = custom(BASE)
    action = only_action(install_plan(entries_for(declared, install(BASE))))
    assert action.statements == (
        ddl.create_trigger(declared, TABLE, replace=True),
        ddl.drop_function("public", BASE.pgid),
    )


def test_switching_to_a_custom_function_keeps_a_function_that_is_not_ours() -> None:
    declared = custom(BASE, '"lib"."audit2"()')
    action = only_action(install_plan(entries_for(declared, install(custom(BASE)))))
    assert action.statements == (ddl.create_trigger(declared, TABLE, replace=True),)


def test_uninstall_never_drops_the_users_function() -> None:
    action = only_action(
        plan_uninstall(entries_for(custom(BASE), install(custom(BASE))), None, prune=False)
    )
    assert (action.kind, action.uri, action.pgid, action.table) == (
        ActionKind.DROP,
        BASE.uri,
        BASE.pgid,
        TABLE,
    )
    assert action.statements == (ddl.drop_trigger(BASE.pgid, TABLE),)
    assert action.signature is None
    assert action.sql == action.statements


def test_uninstall_drops_our_function_with_the_trigger() -> None:
    action = only_action(plan_uninstall(entries_for(BASE, install(BASE)), None, prune=False))
    assert (action.reason, action.statements) == (
        "uninstall requested",
        (ddl.drop_trigger(BASE.pgid, TABLE), ddl.drop_function("public", BASE.pgid)),
    )


def test_same_named_function_in_another_schema_is_left_alone() -> None:
    installed = install(BASE, function=("other", BASE.pgid))
    assert not installed.owns_function
    replace = only_action(install_plan(entries_for(BASE, installed)))
    assert replace.statements == (
        ddl.create_function(BASE, TABLE),
        ddl.create_trigger(BASE, TABLE, replace=True),
    )
    drop = only_action(plan_uninstall(entries_for(BASE, installed), None, prune=False))
    assert drop.statements == (ddl.drop_trigger(BASE.pgid, TABLE),)
    switch = only_action(install_plan(entries_for(custom(BASE), installed)))
    assert ddl.drop_function("other", BASE.pgid) not in switch.statements


def test_uninstall_of_what_is_not_installed_plans_nothing() -> None:
    assert plan_uninstall(entries_for(BASE), None, prune=False).is_empty


# -- schema-qualified tables -----------------------------------------------------------------


def test_create_on_a_table_outside_the_search_path_names_its_schema() -> None:
    action = only_action(install_plan(entries_for(BASE, table=ARCHIVE)))
    fn = f'"archive"."{BASE.pgid}"'
    assert action.statements == (
        f"CREATE OR REPLACE FUNCTION {fn}() RETURNS TRIGGER LANGUAGE plpgsql AS "
        f"$pgtrigger_live${BASE.body}$pgtrigger_live$",
        f'CREATE TRIGGER "{BASE.pgid}" BEFORE UPDATE ON "archive"."testapp_plain" '
        f"FOR EACH ROW EXECUTE FUNCTION {fn}()",
    )
    assert action.table is ARCHIVE
    assert action.describe() == f"create   {BASE.uri} on archive.testapp_plain: not installed"


# -- unclaimed triggers, prune ---------------------------------------------------------------


def test_undeclared_django_pgtrigger_trigger_is_ours_to_prune() -> None:
    """The rule today: a bare sha1 comment is django-pgtrigger's, adopted, hence ours."""
    legacy = install(BASE, comment="a" * 40)
    entry = one(entries_for(None, legacy))
    assert (entry.status, entry.reason) == (Status.PRUNE, "installed but no longer declared here")
    assert entry.uri == f"public.testapp_plain:{BASE.pgid}"
    action = only_action(install_plan([entry]))
    assert action.statements == (
        ddl.drop_trigger(BASE.pgid, TABLE),
        ddl.drop_function("public", BASE.pgid),
    )
    assert install_plan([entry], prune=False).is_empty


def test_prune_follows_the_flag() -> None:
    entries = entries_for(None, install(BASE))
    assert plan_install(entries, None, prune=False, server_version=PG18).is_empty
    assert only_action(plan_uninstall(entries, None, prune=True)).kind is ActionKind.PRUNE
    assert plan_uninstall(entries, None, prune=False).is_empty
    assert plan_prune(entries)[0].reason == "installed but no longer declared here"


def test_a_trigger_that_is_not_ours_is_never_pruned() -> None:
    assert entries_for(None, install(BASE, comment="hand made")) == []
    assert entries_for(None, install(BASE, comment=None)) == []


def test_uris_select_what_is_planned() -> None:
    other = declare("u")
    desired = [Desired(c.uri, c.pgid, c.db_table, c) for c in (BASE, other)]
    view = ScopeView(Scope(), home="public", tables={"testapp_plain": TABLE})
    entries = statuses(desired, view, _here)
    plan = plan_install(entries, [other.uri], prune=False, server_version=PG18)
    assert [a.uri for a in plan.actions] == [other.uri]
    both = statuses(
        desired,
        ScopeView(
            Scope(),
            home="public",
            tables={"testapp_plain": TABLE},
            triggers=[install(BASE), install(other, enabled=Enabled.DISABLED)],
        ),
        _here,
    )
    assert [a.uri for a in plan_uninstall(both, [other.uri], prune=False).actions] == [other.uri]
    enable = plan_set_enabled(both, [BASE.uri], enabled=False)
    assert [a.uri for a in enable.actions] == [BASE.uri]
    assert plan_set_enabled(both, [BASE.uri], enabled=True).is_empty
    # The first is already enabled; the next one still gets its action.
    assert [a.uri for a in plan_set_enabled(both, None, enabled=True).actions] == [other.uri]
    assert [
        a.uri for a in plan_install(entries, None, prune=False, server_version=PG18).actions
    ] == [
        BASE.uri,
        other.uri,
    ]


# -- signing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "installed",
    [install(BASE, comment=BASE.comment), install(BASE, definition="17.5")],
    ids=["comment without fingerprint", "fingerprint of another major version"],
)
def test_unfingerprinted_up_to_date_trigger_is_signed_only(installed: InstalledTrigger) -> None:
    entry = one(entries_for(BASE, installed))
    assert entry.status is Status.INSTALLED
    action = only_action(install_plan([entry]))
    assert action.kind is ActionKind.SIGN
    assert action.statements == ()
    assert action.signature == BASE.comment
    assert action.sql == (ddl.sign([(TABLE, BASE.pgid, BASE.comment)]),)
    assert action.reason.startswith("no comparable fingerprint")
    assert (action.uri, action.pgid, action.table) == (BASE.uri, BASE.pgid, TABLE)


def test_fingerprinted_trigger_is_not_signed_again() -> None:
    assert install_plan(entries_for(BASE, install(BASE))).is_empty


def test_signature_parts_are_the_codes_not_the_comment() -> None:
    entry = one(entries_for(NEW_CONDITION, install(BASE)))
    action = only_action(install_plan([entry]))
    assert action.signature == NEW_CONDITION.comment != BASE.comment


def digested(compiled: CompiledTrigger, digest: str | None) -> CompiledTrigger:
    """``compiled`` as compiled with the declaration digest ``digest`` (None: untrusted)."""
    return dataclasses.replace(
        compiled, signed=dataclasses.replace(compiled.signature, digest=digest)
    )


@pytest.mark.parametrize(
    ("declared", "comment_digest", "signed"),
    [
        ("abc", None, True),  # written before digests existed
        ("abc", "abd", True),  # after an upgrade of pgtrigger_live, Django or the server
        ("abc", "abc", False),
        (None, "abc", False),  # untrusted now: compiled in full, nothing to record
        (None, None, False),
    ],
    ids=["no digest", "another digest", "same digest", "untrusted, digest", "untrusted"],
)
def test_an_up_to_date_trigger_is_signed_for_its_digest_only_when_the_comment_lacks_it(
    declared: str | None, comment_digest: str | None, signed: bool
) -> None:
    compiled = digested(BASE, declared)
    entry = one(entries_for(compiled, install(digested(BASE, comment_digest))))
    assert entry.status is Status.INSTALLED
    plan = install_plan([entry])
    if not signed:
        assert plan.is_empty
        return
    action = only_action(plan)
    assert action.kind is ActionKind.SIGN
    assert action.signature == compiled.comment
    assert action.sql == (ddl.sign([(TABLE, BASE.pgid, compiled.comment)]),)
    assert action.reason == "up to date; the declaration's digest is recorded in the comment"


# -- enable / disable -----------------------------------------------------------------------

ENABLE_CASES = [
    # (installed state, enable?, statement mode or None, skipped reason or None)
    (Enabled.DISABLED, True, Enabled.ENABLED),
    (Enabled.ENABLED, True, None),
    (Enabled.ALWAYS, True, None),
    (Enabled.REPLICA, True, None),
    (Enabled.ENABLED, False, Enabled.DISABLED),
    (Enabled.ALWAYS, False, Enabled.DISABLED),
    (Enabled.REPLICA, False, Enabled.DISABLED),
    (Enabled.DISABLED, False, None),
]


@pytest.mark.parametrize(("state", "enable", "mode"), ENABLE_CASES)
def test_set_enabled(state: Enabled, enable: bool, mode: Enabled | None) -> None:
    plan = plan_set_enabled(entries_for(BASE, install(BASE, enabled=state)), None, enabled=enable)
    if mode is None:
        assert plan.is_empty
        return
    action = only_action(plan)
    kind = ActionKind.ENABLE if enable else ActionKind.DISABLE
    assert (action.kind, action.reason) == (kind, f"{kind} requested")
    assert action.statements == (ddl.set_enabled(BASE.pgid, TABLE, mode=mode),)
    assert action.signature is None


def test_set_enabled_reports_what_is_not_installed() -> None:
    plan = plan_set_enabled(entries_for(BASE), None, enabled=False)
    assert plan.actions == ()
    assert plan.skipped == ((BASE.uri, "cannot disable: not installed"),)
    unallowed = statuses([Desired("a.B:c", "pgtrigger_c_1", "t", None)], ScopeView(Scope()), _here)
    assert plan_set_enabled(unallowed, None, enabled=True) == Plan()
    pruned = entries_for(None, install(BASE, enabled=Enabled.DISABLED))
    assert plan_set_enabled(pruned, None, enabled=True).is_empty  # PRUNE entries are not selected


# -- printing -------------------------------------------------------------------------------


def test_plan_describe_with_and_without_sql() -> None:
    plan = install_plan(entries_for(NEW_CONDITION, install(BASE)))
    (action,) = plan.actions
    head = f"replace  {BASE.uri} on public.testapp_plain: trigger definition changed"
    assert action.describe() == head
    assert plan.describe() == [head]
    assert plan.describe(sql=True) == [head, *(f"    {s};" for s in action.sql)]
    assert plan.statements == list(action.sql)
    assert str(ActionKind.SIGN) == "sign"


def test_a_skipped_trigger_does_not_stop_the_plan() -> None:
    gone = declare("g")
    view = ScopeView(Scope(), home="public", tables={"testapp_plain": TABLE, "gone_table": None})
    desired = [
        Desired(gone.uri, gone.pgid, "gone_table", gone),
        Desired(BASE.uri, BASE.pgid, BASE.db_table, BASE),
    ]
    plan = install_plan(statuses(desired, view, _here))
    assert [s[0] for s in plan.skipped] == [gone.uri]
    assert [(a.kind, a.uri) for a in plan.actions] == [(ActionKind.CREATE, BASE.uri)]


# -- the plan as data: operations, the state they saw, the lock they need --------------------

CUSTOM = custom(BASE)
CF = CreateFunction("public", BASE)
OPERATION_CASES = [
    # (declared, installed, kind, operations, lock)
    pytest.param(
        BASE,
        None,
        ActionKind.CREATE,
        (CF, CreateTrigger(TABLE, BASE, replace=False)),
        SHARE_ROW_EXCLUSIVE,
        id="create",
    ),
    pytest.param(
        NEW_CONDITION,
        install(BASE),
        ActionKind.REPLACE,
        (
            CreateFunction("public", NEW_CONDITION),
            CreateTrigger(TABLE, NEW_CONDITION, replace=True),
        ),
        SHARE_ROW_EXCLUSIVE,
        id="replace in place",
    ),
    pytest.param(
        NEW_BODY,
        install(BASE),
        ActionKind.REPLACE,
        (CreateFunction("public", NEW_BODY),),
        SHARE_UPDATE_EXCLUSIVE,  # the function alone, then the comment
        id="body only",
    ),
    pytest.param(
        IMMEDIATE,
        install(DEFERRED, enabled=Enabled.REPLICA),
        ActionKind.REPLACE,
        (
            DropTrigger(TABLE, BASE.pgid),
            CreateFunction("public", IMMEDIATE),
            CreateTrigger(TABLE, IMMEDIATE, replace=False),
            SetEnabled(TABLE, BASE.pgid, Enabled.REPLICA),
        ),
        ACCESS_EXCLUSIVE,
        id="constraint: drop and create, state kept",
    ),
    pytest.param(
        CUSTOM,
        install(BASE),
        ActionKind.REPLACE,
        (CreateTrigger(TABLE, CUSTOM, replace=True), DropFunction("public", BASE.pgid)),
        SHARE_ROW_EXCLUSIVE,
        id="to a custom function: ours dropped",
    ),
    pytest.param(
        None,
        install(BASE),
        ActionKind.PRUNE,
        (DropTrigger(TABLE, BASE.pgid), DropFunction("public", BASE.pgid)),
        ACCESS_EXCLUSIVE,
        id="prune",
    ),
    pytest.param(
        BASE,
        install(BASE, definition=None),
        ActionKind.SIGN,
        (),
        SHARE_UPDATE_EXCLUSIVE,
        id="sign only",
    ),
]


@pytest.mark.parametrize(("declared", "installed", "kind", "ops", "lock"), OPERATION_CASES)
def test_actions_hold_operations_and_the_state_they_saw(
    declared: CompiledTrigger | None,
    installed: InstalledTrigger | None,
    kind: ActionKind,
    ops: tuple[Operation, ...],
    lock: str,
) -> None:
    seen = () if installed is None else (installed,)
    action = only_action(install_plan(entries_for(declared, *seen)))
    assert (action.kind, action.ops, action.lock) == (kind, ops, lock)
    assert action.seen is installed
    assert action.statements == tuple(ddl.render(op) for op in ops)


def test_uninstall_is_a_drop_and_enable_a_set_enabled() -> None:
    installed = install(BASE, enabled=Enabled.DISABLED)
    drop = only_action(plan_uninstall(entries_for(BASE, installed), None, prune=False))
    assert (drop.kind, drop.ops, drop.lock, drop.signature) == (
        ActionKind.DROP,
        (DropTrigger(TABLE, BASE.pgid), DropFunction("public", BASE.pgid)),
        ACCESS_EXCLUSIVE,
        None,
    )
    assert drop.seen is installed
    enable = only_action(plan_set_enabled(entries_for(BASE, installed), None, enabled=True))
    assert (enable.ops, enable.lock, enable.seen) == (
        (SetEnabled(TABLE, BASE.pgid, Enabled.ENABLED),),
        SHARE_ROW_EXCLUSIVE,
        installed,
    )


def test_plan_counts_actions_by_kind() -> None:
    others = [TableRef("public", f"other{n}", 43 + n) for n in range(2)]
    entries = [
        *entries_for(NEW_CONDITION, install(BASE)),
        *entries_for(None, *(install(BASE, table) for table in others)),
    ]
    plan = install_plan(entries)
    assert plan.counts() == {ActionKind.REPLACE: 1, ActionKind.PRUNE: 2}
    assert [a.kind.value for a in plan.actions] == ["replace", "prune", "prune"]
    assert Plan().counts() == {}


# -- the declaration digest: recorded in the comment of an up-to-date trigger ------------------


def with_digest(digest: str | None) -> CompiledTrigger:
    return compile_trigger(
        Plain,
        pgtrigger.Trigger(
            name="t", when=pgtrigger.Before, operation=pgtrigger.Update, func="RETURN NEW;"
        ),
        digest=digest,
    )


DIGEST_REASON = "up to date; the declaration's digest is recorded in the comment"
DIGEST_CASES = [
    # (installed comment's digest, declared digest, planned sign reason or None)
    (None, "d1", DIGEST_REASON),  # written before digests existed
    ("d0", "d1", DIGEST_REASON),  # another release, Django or server: another digest
    ("d1", "d1", None),
    ("d1", None, None),  # a declaration the digest cannot cover: nothing to record
    (None, None, None),
]


@pytest.mark.parametrize(("installed_digest", "declared_digest", "reason"), DIGEST_CASES)
def test_an_up_to_date_trigger_gets_the_declarations_digest_by_comment_only(
    installed_digest: str | None, declared_digest: str | None, reason: str | None
) -> None:
    declared = with_digest(declared_digest)
    entries = entries_for(declared, install(with_digest(installed_digest)))
    assert one(entries).status is Status.INSTALLED
    plan = install_plan(entries)
    if reason is None:
        assert plan.is_empty
        return
    action = only_action(plan)
    assert (action.kind, action.reason, action.ops, action.lock) == (
        ActionKind.SIGN,
        reason,
        (),
        SHARE_UPDATE_EXCLUSIVE,
    )
    assert action.signature == declared.comment
    assert f":d{declared_digest}" in declared.comment


def test_a_missing_fingerprint_is_the_reason_given_first() -> None:
    declared = with_digest("d1")
    installed = install(with_digest(None), definition=None)
    action = only_action(install_plan(entries_for(declared, installed)))
    assert action.reason.startswith("no comparable fingerprint")
    assert action.signature == declared.comment


def test_a_trigger_declared_but_not_allowed_here_is_pruned_not_claimed() -> None:
    """A declaration the router sends elsewhere claims nothing: its trigger installed here
    (by an earlier router) is listed to prune."""
    installed = install(BASE)
    desired = [Desired(BASE.uri, BASE.pgid, BASE.db_table, None)]
    view = ScopeView(
        Scope("public"), home="public", tables={"testapp_plain": TABLE}, triggers=[installed]
    )
    entries = statuses(desired, view, lambda _: Owner.NOWHERE)
    assert [(e.status, e.pgid) for e in entries] == [
        (Status.UNALLOWED, BASE.pgid),
        (Status.PRUNE, BASE.pgid),
    ]
