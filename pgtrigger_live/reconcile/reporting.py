"""What the commands and ``migrate`` print about a plan or a status list: pure text.

One place decides the words, so ``pgtrigger install``, ``pgtrigger ls`` and ``migrate`` say
the same thing the same way, and every hint names the exact command that fixes the state.
"""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

from pgtrigger_live.exceptions import did_you_mean
from pgtrigger_live.reconcile import ddl
from pgtrigger_live.reconcile.planner import Action, Entry, Plan
from pgtrigger_live.reconcile.state import Status


def command(
    subcommand: str = "install",
    *,
    uris: Sequence[str] = (),
    database: str | None = None,
    schemas: Sequence[str] = (),
    all_schemas: bool = False,
) -> str:
    """The ``manage.py pgtrigger`` command line for this database and these schemas."""
    parts = ["python manage.py pgtrigger", subcommand, *map(shlex.quote, uris)]
    if database and database != "default":
        parts.append(f"-d {shlex.quote(database)}")
    parts.extend(f"-s {shlex.quote(schema)}" for schema in schemas)
    if all_schemas:
        parts.append("--all-schemas")
    return " ".join(parts)


def counts(kinds: Iterable[str] | Mapping[str, int]) -> str:
    """``"2 replace, 1 create"``: most frequent first, ties in name order. Takes the items
    to count, or counts already made (``Plan.counts()``)."""
    tally = kinds if isinstance(kinds, Mapping) else Counter(kinds)
    return ", ".join(
        f"{n} {kind}" for kind, n in sorted(tally.items(), key=lambda i: (-i[1], i[0]))
    )


def plan_summary(plan: Plan, *, dry_run: bool) -> str:
    """The last line under a plan: what was (or would be) done, and what was left alone."""
    done = counts({kind.value: n for kind, n in plan.counts().items()}) or "nothing"
    head = f"Would apply: {done}" if dry_run else f"Applied: {done}"
    skipped = f"; {len(plan.skipped)} skipped" if plan.skipped else ""
    return f"{head}{skipped}."


def action_json(action: Action) -> dict[str, Any]:
    """One action for ``--json``: its operations by name, their SQL, and what it saw."""
    seen = action.seen
    return {
        "action": action.kind.value,
        "uri": action.uri,
        "pgid": action.pgid,
        "table": f"{action.table.schema}.{action.table.name}",
        "schema": action.table.schema,
        "reason": action.reason,
        "lock": action.lock,
        "operations": [
            {"op": _snake(type(op).__name__), "sql": ddl.render(op)} for op in action.ops
        ],
        "seen": None
        if seen is None
        else {
            "pgid": seen.pgid,
            "enabled": seen.enabled.label,
            "comment": seen.comment,
            "function_md5": seen.function_md5,
        },
        "sql": list(action.sql),
    }


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def action_line(action: Action, *, reason: bool) -> str:
    where = f"{action.table.schema}.{action.table.name}"
    line = f"{action.kind.value:<8} {action.uri} on {where}"
    return f"{line}: {action.reason}" if reason else line


def status_summary(entries: Sequence[Entry]) -> str:
    """``"12 triggers: 10 installed, 2 outdated."``"""
    total = len(entries)
    noun = "trigger" if total == 1 else "triggers"
    return f"{total} {noun}: {counts(e.status.value.lower() for e in entries)}."


def fix_hint(entries: Sequence[Entry], *, prune_on_install: bool, **where: Any) -> str | None:
    """The command that brings the out-of-sync entries in sync (None when all are)."""
    drift = [e for e in entries if not e.in_sync]
    if not drift:
        return None
    only_prune = all(e.status is Status.PRUNE for e in drift)
    subcommand = "prune" if only_prune and not prune_on_install else "install"
    return f"To fix: {command(subcommand, **where)}"


def migrate_report(plan: Plan, *, verbosity: int, stdout: TextIO | Any) -> None:
    """Django's migrate style: a heading and a line per action at -v 1, reasons at -v 2."""
    if verbosity < 1:
        return
    if plan.is_empty and not plan.skipped:
        if verbosity >= 2:
            stdout.write("Triggers: in sync, nothing to do.\n")
        return
    lines = ["Reconciling triggers:"]
    lines += [f"  {action_line(a, reason=verbosity >= 2)}" for a in plan.actions]
    lines += [
        f"  skip     {uri}: {why}"
        for uri, why in plan.skipped
        if verbosity >= 2 or why.startswith("deferred")  # work left for the next reconcile
    ]
    lines.append(f"  {plan_summary(plan, dry_run=False)}")
    stdout.write("\n".join(lines) + "\n")


def migrate_failed(alias: str, error: BaseException) -> str:
    """One line: the migrations are in, the triggers are not, and what to run."""
    text = str(error).strip()
    first = text.splitlines()[0] if text else type(error).__name__
    return (
        f"Migrations were applied to database {alias!r}, but its triggers were not "
        f"({first.rstrip('.')}). When that is fixed, run: {command(database=alias)}"
    )


__all__ = [
    "action_json",
    "action_line",
    "command",
    "counts",
    "did_you_mean",
    "fix_hint",
    "migrate_failed",
    "migrate_report",
    "plan_summary",
    "status_summary",
]
