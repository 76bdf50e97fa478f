"""Declarations Citus cannot run on their table's kind: refused before any DDL (docs/citus.md).

Pure: the rules read a trigger and the kind the catalog gave its table. Only what was measured
to fail at write time is refused; what works, or could not be told from the declaration (a
custom function body), is documented instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.db import models

from pgtrigger_live import citus
from pgtrigger_live.declare.contrib import SoftDelete
from pgtrigger_live.declare.triggers import Trigger
from pgtrigger_live.reconcile.state import Desired, Snapshot

#: Measured with Citus 13.2: the DELETE fails as a whole, rows untouched.
SOFT_DELETE_ON_REFERENCE = (
    "SoftDelete's function updates the table, and on a reference table it runs on a worker, "
    'where Citus refuses to modify a reference table (every DELETE would fail with "cannot '
    'execute a distributed query from a query on a shard"). Keep SoftDelete on a distributed '
    "or plain table, or use Protect(operation=Delete) and update the flag in the application."
)


def refusal(trigger: Trigger, kind: str) -> str | None:
    """Why ``trigger`` cannot work on a table of Citus ``kind``, or None when it can."""
    if kind == citus.REFERENCE and isinstance(trigger, SoftDelete):
        return SOFT_DELETE_ON_REFERENCE
    return None


def refusals(
    snapshot: Snapshot,
    desired: Sequence[Sequence[Desired]],
    declared: Mapping[str, tuple[type[models.Model], Trigger]],
) -> list[str]:
    """One line per (scope, trigger) that would be installed where it cannot work."""
    lines = []
    for view, wanted in zip(snapshot.views, desired, strict=True):
        for item in wanted:
            table = view.tables.get(item.db_table)
            found = declared.get(item.uri)
            if item.compiled is None or table is None or found is None:
                continue
            model, trigger = found
            reason = refusal(trigger, table.kind)
            if reason is not None:
                lines.append(
                    f'trigger "{trigger.name}" on model {model._meta.label_lower} ({item.uri}): '
                    f"{table.schema}.{table.name} is a Citus {table.kind} table. {reason}"
                )
    return lines
