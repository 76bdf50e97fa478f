"""Ownership decided on plain data: which unclaimed triggers a scope may prune. No database.

Each row builds a scope view by hand (home schema, one installed trigger of ours no
declaration claims) and says what the planner must conclude for each answer ``owner_of``
can give. See docs/reconcile.md, "Ownership".
"""

from __future__ import annotations

import pytest

from pgtrigger_live.reconcile.planner import plan_install, plan_prune, plan_uninstall, statuses
from pgtrigger_live.reconcile.state import (
    Enabled,
    InstalledTrigger,
    Owner,
    Scope,
    ScopeView,
    Signature,
    Status,
    TableRef,
)

SIGNED = Signature("c" * 40, "b" * 32).render()
LEGACY = "a" * 40  # django-pgtrigger's bare sha1: adopted, so ours


def installed(schema: str, comment: str | None = SIGNED, pgid: str = "pgtrigger_x_00000"):
    table = TableRef(schema, "shop_order", 7 if schema == "public" else 8)
    return InstalledTrigger(table, pgid, Enabled.ENABLED, comment, False, schema, pgid, "m")


def view(home: str, *triggers: InstalledTrigger, schema: str | None = None) -> ScopeView:
    return ScopeView(Scope(schema), home=home, triggers=list(triggers))


# (home, trigger's schema, comment, owner) -> (status or None when not this scope's, case)
CASES = [
    ("public", "public", SIGNED, Owner.HERE, Status.PRUNE, "trigger removed from the code"),
    ("public", "public", LEGACY, Owner.HERE, Status.PRUNE, "django-pgtrigger's, undeclared"),
    ("public", "public", SIGNED, Owner.NOWHERE, Status.PRUNE, "model withdrawn by the router"),
    ("public", "public", SIGNED, Owner.ELSEWHERE, None, "another alias of this database owns it"),
    ("public", "public", SIGNED, Owner.GONE, Status.PRUNE, "model deleted from the code"),
    ("t1", "public", SIGNED, Owner.GONE, None, "deleted model's table outside the home schema"),
    ("public", "public", SIGNED, Owner.UNKNOWN, Status.FOREIGN, "another service's table"),
    ("t1", "public", SIGNED, Owner.NOWHERE, None, "shared app in public seen from a tenant"),
    ("t1", "public", SIGNED, Owner.UNKNOWN, None, "outside the home schema, unknown table"),
    ("t1", "public", SIGNED, Owner.ELSEWHERE, None, "outside the home schema, other alias"),
    ("t1", "archive", SIGNED, Owner.HERE, Status.PRUNE, "qualified table of a model allowed here"),
    ("public", "public", None, Owner.HERE, None, "unsigned: never ours"),
    ("public", "public", "made by hand", Owner.NOWHERE, None, "another comment: never ours"),
]


@pytest.mark.parametrize(
    ("home", "schema", "comment", "owner", "expected"),
    [case[:5] for case in CASES],
    ids=[case[5] for case in CASES],
)
def test_unclaimed_trigger(
    home: str, schema: str, comment: str | None, owner: Owner, expected: Status | None
) -> None:
    trigger = installed(schema, comment)
    asked: list[TableRef] = []

    def owner_of(table: TableRef) -> Owner:
        asked.append(table)
        return owner

    entries = statuses([], view(home, trigger), owner_of)
    assert [e.status for e in entries] == ([expected] if expected else [])
    if expected is not None:
        (entry,) = entries
        assert entry.installed is trigger
        assert entry.table == trigger.table
    if comment in (SIGNED, LEGACY):
        assert asked == [trigger.table]  # the owner is asked about the trigger's table
    else:
        assert asked == []  # not ours: nobody is asked


def _entries(owner: Owner, home: str = "public", schema: str = "public"):
    return statuses([], view(home, installed(schema)), lambda _: owner)


@pytest.mark.parametrize(
    ("owner", "foreign", "dropped"),
    [
        (Owner.HERE, False, 1),
        (Owner.NOWHERE, False, 1),
        (Owner.UNKNOWN, False, 0),  # FOREIGN is left alone by prune ...
        (Owner.UNKNOWN, True, 1),  # ... unless asked for with --foreign
        (Owner.ELSEWHERE, True, 0),  # another alias's: never, even with --foreign
    ],
)
def test_prune_drops_only_what_the_scope_owns(owner: Owner, foreign: bool, dropped: int) -> None:
    actions = plan_prune(_entries(owner), foreign=foreign)
    assert len(actions) == dropped
    for action in actions:
        assert action.statements[0].startswith('DROP TRIGGER IF EXISTS "pgtrigger_x_00000"')


@pytest.mark.parametrize("owner", list(Owner))
def test_install_and_uninstall_never_drop_foreign_or_other_scopes(owner: Owner) -> None:
    entries = _entries(owner)
    install = plan_install(entries, None, prune=True, server_version=180000)
    uninstall = plan_uninstall(entries, None, prune=True)
    expected = 1 if owner in (Owner.HERE, Owner.NOWHERE, Owner.GONE) else 0
    assert len(install.actions) == expected
    assert len(uninstall.actions) == expected


def test_foreign_is_in_sync_for_the_deploy_gate() -> None:
    (entry,) = _entries(Owner.UNKNOWN)
    assert entry.status is Status.FOREIGN
    assert entry.in_sync
    (entry,) = _entries(Owner.NOWHERE)
    assert not entry.in_sync


def test_entries_carry_their_scope() -> None:
    trigger = installed("t1")
    trigger = InstalledTrigger(
        TableRef("t1", "shop_order", 9), trigger.pgid, Enabled.ENABLED, SIGNED, False,
        "t1", trigger.pgid, "m",
    )  # fmt: skip
    (entry,) = statuses([], view("t1", trigger, schema="t1"), lambda _: Owner.HERE)
    assert entry.scope == "t1"
    assert entry.uri == "t1.shop_order:pgtrigger_x_00000"


def test_a_later_batch_failure_keeps_its_error_class() -> None:
    """Callers that catch LockTimeoutError to retry a deploy still catch it when earlier
    batches of a multi-schema reconcile were committed."""
    from pgtrigger_live.exceptions import InstallError, LockTimeoutError
    from pgtrigger_live.reconcile.installation import _batch_failed
    from pgtrigger_live.reconcile.planner import Plan

    done = Plan()
    error = _batch_failed(LockTimeoutError("busy. Nothing was changed."), ["t3"], [done])
    assert type(error) is LockTimeoutError
    assert "The batch of schemas t3 was rolled back" in str(error)
    assert "Nothing was changed" not in str(error)
    assert type(_batch_failed(InstallError("x"), ["t3"], [done])) is InstallError
