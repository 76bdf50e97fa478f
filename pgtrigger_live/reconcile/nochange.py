"""The no-op verdict: can ``install`` tell from the raw catalog rows that it has nothing to do?

A reconcile in sync is the common case (every deploy, every ``migrate``), and building its
Snapshot, its compiled heads and its statuses costs more than the catalog query itself. This
module answers "nothing to do" from plain data instead. It may only ever be *stricter* than
the planner: True means ``statuses`` + ``plan_install`` would give an empty plan for every
scope; False means "plan it in full" (which may still find nothing to do). Pure: no
connection in sight.
"""

from __future__ import annotations

from collections.abc import Sequence

from pgtrigger_live.reconcile.state import (
    HASH_VERSION,
    Declared,
    Glance,
    Signature,
    is_legacy_comment,
)

#: One scope: the declarations allowed there, and what its catalog rows show.
Scope = tuple[Sequence[Declared], Glance]


def unchanged(scopes: Sequence[Scope], *, prune: bool) -> bool:
    """True when, in every scope, every declaration is installed exactly as signed and
    nothing is to prune.

    Per scope, each declaration allowed there must have its table and a trigger under its
    exact name that runs its own function, with the declared shape and a comment recording
    this digest, the function's current md5 and the trigger's current fingerprint: what the
    planner calls INSTALLED with nothing to sign. With ``prune``, a trigger of ours that no
    declaration claims is a no if the planner could prune it there (on the scope's home
    schema, or on a schema-qualified table of the project): only the planner knows who owns it.

    Across scopes: the planner compares each declaration with the *first* signature it finds
    carrying its digest, in any scope. So every comment carrying a declared digest, claimed or
    not, must record the same trigger clause and body; otherwise the planner decides.
    """
    digests = {item.digest for declared, _ in scopes for item in declared}
    recorded: dict[str, tuple[str, str]] = {}  # digest -> (clause hash, body md5) claimed
    unclaimed: list[str] = []
    for declared, glance in scopes:
        wanted: dict[tuple[int, str], Declared] = {}
        for each in declared:
            oid = glance.tables.get(each.db_table)
            if oid is None:
                return False
            wanted[(oid, each.pgid)] = each
        if len(wanted) != len(declared):
            return False  # two declarations would claim one trigger: let the planner say so
        claimed: set[tuple[int, str]] = set()
        for row in glance.triggers:
            key = (row.table_oid, row.pgid)
            item = wanted.get(key)
            if item is None:
                if row.comment is None:
                    continue
                if prune and _prunable_here(row.comment, row.schema_oid, row.table_oid, glance):
                    return False
                unclaimed.append(row.comment)
                continue
            if not (
                row.own_function
                and row.shape == item.shape
                and row.definition is not None
                and Signature.confirms(row.comment, row.function_md5, item.digest, row.definition)
            ):
                return False
            assert row.comment is not None  # confirmed
            parts = row.comment.split(":")
            if recorded.setdefault(item.digest, (parts[2], parts[3])) != (parts[2], parts[3]):
                return False
            claimed.add(key)
        if len(claimed) != len(wanted):
            return False
    return not any(_disagrees(comment, digests, recorded) for comment in unclaimed)


def _prunable_here(comment: str, schema_oid: int, table_oid: int, glance: Glance) -> bool:
    """An unclaimed trigger of ours where the planner may plan to prune it (or call it
    foreign): the scope's home schema, or a table a schema-qualified model names. Elsewhere
    (a table the scope only reaches through its search path) it is not the scope's."""
    if schema_oid != glance.home and table_oid not in glance.qualified:
        return False
    return Signature.parse(comment) is not None or is_legacy_comment(comment)


def _disagrees(comment: str, digests: set[str], recorded: dict[str, tuple[str, str]]) -> bool:
    """An unclaimed comment that carries a declared digest with another clause or body than
    the claimed ones: the planner could take it as that declaration's signature."""
    signature = Signature.parse(comment)
    if signature is None or signature.digest not in digests:
        return False
    if signature.version != HASH_VERSION:
        return False  # the planner takes only current-format signatures
    claimed = recorded.get(signature.digest)
    return claimed != (signature.clause_hash, signature.body_md5)
