"""The Citus refusal rules on plain data (no database): which trigger, on which table kind."""

from __future__ import annotations

import pytest

import pgtrigger_live as pgtrigger
from pgtrigger_live import citus
from pgtrigger_live.reconcile import citus_safety
from pgtrigger_live.reconcile.state import (
    CompiledTrigger,
    Desired,
    RenderedSQL,
    Scope,
    ScopeView,
    Signature,
    Snapshot,
    TableRef,
)
from tests.testapp.models import Account, Protected

SOFT = pgtrigger.SoftDelete(name="soft_delete", field="is_active", value=False)
PROTECT = pgtrigger.Protect(name="protect_delete", operation=pgtrigger.Delete)
READ_ONLY = pgtrigger.ReadOnly(name="freeze", fields=["id"])
STATEMENT = pgtrigger.Trigger(
    name="statement",
    level=pgtrigger.Statement,
    when=pgtrigger.After,
    operation=pgtrigger.Update,
    func="RETURN NULL;",
)


@pytest.mark.parametrize(
    ("trigger", "kind", "refused"),
    [
        (SOFT, citus.REFERENCE, True),
        (SOFT, citus.DISTRIBUTED, False),  # its UPDATE stays on the row's shard (measured)
        (SOFT, citus.LOCAL, False),
        (SOFT, citus.PLAIN, False),
        (PROTECT, citus.REFERENCE, False),
        (PROTECT, citus.DISTRIBUTED, False),
        (READ_ONLY, citus.REFERENCE, False),
        (STATEMENT, citus.DISTRIBUTED, False),  # runs per shard: documented, not refused
    ],
)
def test_refusal_by_trigger_and_table_kind(
    trigger: pgtrigger.Trigger, kind: str, refused: bool
) -> None:
    assert (citus_safety.refusal(trigger, kind) is not None) is refused


def _desired(uri: str, db_table: str, allowed: bool = True) -> Desired:
    compiled = CompiledTrigger(
        uri=uri,
        pgid="pgtrigger_x",
        db_table=db_table,
        constraint=False,
        when="BEFORE",
        level="ROW",
        timing=None,
        signed=Signature("0", "0"),
        shape=0,
        has_body=True,
        sql=RenderedSQL("DELETE", None, None, None, "RETURN NULL;"),
    )
    return Desired(uri, "pgtrigger_x", db_table, compiled if allowed else None)


def test_refusals_name_the_trigger_model_table_kind_and_reason() -> None:
    account, protected = Account._meta.db_table, Protected._meta.db_table
    view = ScopeView(
        Scope(),
        tables={
            account: TableRef("public", account, 1, citus.REFERENCE),
            protected: TableRef("public", protected, 2, citus.REFERENCE),
            "missing": None,
        },
    )
    declared = {
        "testapp.Account:soft_delete": (Account, SOFT),
        "testapp.Protected:protect_delete": (Protected, PROTECT),
        "testapp.Account:unallowed": (Account, SOFT),
        "testapp.Account:elsewhere": (Account, SOFT),
    }
    desired = [
        _desired("testapp.Account:soft_delete", account),
        _desired("testapp.Protected:protect_delete", protected),
        _desired("testapp.Account:unallowed", account, allowed=False),  # router: not here
        _desired("testapp.Account:elsewhere", "missing"),  # no table: nothing to refuse
        _desired("testapp.Unknown:gone", account),  # not among the selected declarations
    ]
    (line,) = citus_safety.refusals(Snapshot([view], citus=True), [desired], declared)
    assert line.startswith(
        'trigger "soft_delete" on model testapp.account (testapp.Account:soft_delete): '
        f"public.{account} is a Citus reference table. SoftDelete's function updates"
    )
    assert "cannot execute a distributed query from a query on a shard" in line
