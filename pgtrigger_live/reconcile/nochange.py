"""The no-op verdict: can ``install`` tell from the raw catalog rows that it has nothing to do?

A reconcile in sync is the common case (every deploy, every ``migrate``), and building its
Snapshot, its compiled heads and its statuses costs more than the catalog query itself. This
module answers "nothing to do" from plain data instead. It may only ever be *stricter* than
the planner: True means ``statuses`` + ``plan_install`` would give an empty plan; False means
"plan it in full" (which may still find nothing to do). Pure: no connection in sight.
"""

from __future__ import annotations

from collections.abc import Sequence

from pgtrigger_live.reconcile.state import Declared, Glance, Signature, is_legacy_comment


def unchanged(declared: Sequence[Declared], glance: Glance, *, prune: bool) -> bool:
    """True when every declaration is installed exactly as signed and nothing is to prune.

    ``declared``: the declarations allowed on this database (the others are UNALLOWED: no
    action). Each must have a digest, its table, and a trigger under its exact name that runs
    its own function, with the declared shape and a comment recording this digest, the
    function's current md5 and the trigger's current fingerprint: what the planner calls
    INSTALLED with nothing to sign. ``prune``: a trigger of ours no declaration claims would
    be planned for pruning (or be another service's: the full plan tells), so any is a no.
    """
    wanted: dict[tuple[int, str], Declared] = {}
    for each in declared:
        oid = glance.tables.get(each.db_table)
        if each.digest is None or oid is None:
            return False
        wanted[(oid, each.pgid)] = each
    if len(wanted) != len(declared):
        return False  # two declarations would claim one trigger: let the planner say so
    found = 0
    unclaimed: list[str] = []
    for row in glance.triggers:
        item = wanted.get((row.table_oid, row.pgid))
        if item is None:
            if row.comment is not None:
                unclaimed.append(row.comment)
            continue
        assert item.digest is not None
        if not (
            row.own_function
            and row.shape == item.shape
            and row.definition is not None
            and Signature.confirms(row.comment, row.function_md5, item.digest, row.definition)
        ):
            return False
        found += 1
    if found != len(wanted):
        return False
    digests = {item.digest for item in declared}
    return not any(_matters(comment, digests, prune) for comment in unclaimed)


def _matters(comment: str, digests: set[str | None], prune: bool) -> bool:
    """An unclaimed trigger's comment that could change the plan.

    One of ours is pruned (or reported foreign) when pruning. One signed with a declared
    digest could be the signature the planner takes for that declaration (it takes the first
    it finds with the digest), so the verdict leaves that case to it.
    """
    signature = Signature.parse(comment)
    if prune and (signature is not None or is_legacy_comment(comment)):
        return True
    return signature is not None and signature.digest in digests
