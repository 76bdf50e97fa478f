"""Pure text helpers of the runtime: classify a statement, build the settings statements.

Nothing here touches a connection. The classifier only reads the leading keyword (after
whitespace, comments and opening parentheses), plus a keyword scan for ``WITH`` and
``EXPLAIN``, so its cost does not grow with the statement except for those two.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping

from pgtrigger_live import citus
from pgtrigger_live.sql import is_plain_identifier, quote_ident, quote_literal

#: The two settings the runtime manages, in the order they are always emitted.
IGNORE = "pgtrigger.ignore"
SEARCH_PATH = "search_path"
GUCS = (IGNORE, SEARCH_PATH)


class Kind(enum.IntEnum):
    """What a statement can do, as far as the runtime cares."""

    #: Cannot fire a trigger (SELECT, SHOW, DDL, ...): it needs search_path only.
    READ = 0
    #: Can fire a trigger (INSERT, UPDATE, DELETE, MERGE, COPY, TRUNCATE, EXECUTE, writing CTE).
    WRITE = 1
    #: CALL and DO: can fire triggers, but may commit inside; never put in a transaction.
    PROCEDURE = 2
    #: Transaction control (BEGIN, COMMIT, SAVEPOINT, ...): never touched.
    TRANSACTION = 3
    #: Cannot run inside a transaction block (VACUUM, ... CONCURRENTLY, ...): never touched.
    NO_TRANSACTION = 4


_HEADS: dict[str, Kind] = {
    **dict.fromkeys(
        ("INSERT", "UPDATE", "DELETE", "MERGE", "COPY", "TRUNCATE", "EXECUTE"), Kind.WRITE
    ),
    **dict.fromkeys(("CALL", "DO"), Kind.PROCEDURE),
    **dict.fromkeys(
        ("BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE"),
        Kind.TRANSACTION,
    ),
    **dict.fromkeys(("VACUUM", "DISCARD", "CLUSTER"), Kind.NO_TRANSACTION),
}
#: Leading words after which the rest of the statement decides (see ``classify``).
_SCANNED = frozenset({"WITH", "EXPLAIN"})
_DDL = frozenset({"CREATE", "DROP", "ALTER", "REINDEX"})

_LEAD = re.compile(
    r"(?:\s+|--[^\n]*(?:\n|\Z)|/\*(?:[^*]|\*(?!/))*\*/|\()*([A-Za-z]+)(?:\s+([A-Za-z]+))?"
)
_WRITE_WORD = re.compile(r"(?<![\w$])(INSERT|DELETE|MERGE|UPDATE)(?![\w$])", re.IGNORECASE)
_ROW_LOCK = re.compile(r"(?:FOR|KEY)\s+$", re.IGNORECASE)
_NO_TRANSACTION_DDL = re.compile(
    r"(?<![\w$])(?:CONCURRENTLY|DATABASE|TABLESPACE|SUBSCRIPTION|SYSTEM)(?![\w$])", re.IGNORECASE
)


def _writes(sql: str) -> bool:
    """True if ``sql`` contains a data-changing verb (``FOR [NO KEY] UPDATE`` does not count).

    Words inside string literals or comments count too: the runtime then sets the ignore
    value for a statement that did not need it, which is harmless.
    """
    for match in _WRITE_WORD.finditer(sql):
        if match.group(1).upper() != "UPDATE" or not _ROW_LOCK.search(sql, 0, match.start()):
            return True
    return False


#: classify() results by statement text. Applications send a bounded set of distinct texts
#: (the ORM's parameters are not in them), so the regular expressions run once per text.
#: Long texts are not kept (they are usually one-off, with values inlined).
_KINDS: dict[str, Kind] = {}
_KINDS_MAX = 1024
_KIND_TEXT_MAX = 2048  # at most ~2 M characters held


def classify(sql: str) -> Kind:
    """Classify one statement by its leading keyword (the first statement if there are many)."""
    kind = _KINDS.get(sql)
    if kind is None:
        kind = _classify(sql)
        if len(sql) <= _KIND_TEXT_MAX:
            if len(_KINDS) >= _KINDS_MAX:
                _KINDS.clear()  # texts with inlined values: start over rather than grow
            _KINDS[sql] = kind
    return kind


def _classify(sql: str) -> Kind:
    match = _LEAD.match(sql)
    if match is None:
        return Kind.READ
    head = match.group(1).upper()
    kind = _HEADS.get(head)
    if kind is not None:
        return kind
    if head in _SCANNED:
        return Kind.WRITE if _writes(sql) else Kind.READ
    if head == "PREPARE" and _second(match) == "TRANSACTION":
        return Kind.TRANSACTION
    if head in _DDL and _NO_TRANSACTION_DDL.search(sql):
        return Kind.NO_TRANSACTION
    return Kind.READ


def _second(match: re.Match[str]) -> str:
    return (match.group(2) or "").upper()


# -- savepoints --------------------------------------------------------------------------------

_SAVEPOINT = re.compile(
    r"\s*(SAVEPOINT|RELEASE(?:\s+SAVEPOINT)?|ROLLBACK\s+TO(?:\s+SAVEPOINT)?)\s+"
    r"(\"(?:[^\"]|\"\")+\"|[A-Za-z_][\w$]*)\s*;?\s*\Z",
    re.IGNORECASE,
)


class SavepointOp(enum.Enum):
    CREATE = "SAVEPOINT"
    RELEASE = "RELEASE"
    ROLLBACK = "ROLLBACK"


def savepoint_op(sql: str) -> tuple[SavepointOp, str] | None:
    """``(operation, normalized name)`` for SAVEPOINT / RELEASE / ROLLBACK TO, else None."""
    match = _SAVEPOINT.match(sql)
    if match is None:
        return None
    verb = match.group(1).split()[0].upper()
    name = match.group(2)
    name = name[1:-1].replace('""', '"') if name.startswith('"') else name.lower()
    return SavepointOp(verb), name


# -- values and statements ---------------------------------------------------------------------


def ignore_value(pgids: Iterable[str]) -> str:
    """The text[] literal stored in ``pgtrigger.ignore``: ``{"id1","id2"}``, sorted."""
    items = sorted(set(pgids))
    quoted = ('"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"' for item in items)
    return "{" + ",".join(quoted) + "}"


def search_path_value(schemas: Iterable[str]) -> str:
    """A search_path list: plain names as they are, ``"$user"`` and the rest quoted."""
    return ", ".join(name if is_plain_identifier(name) else quote_ident(name) for name in schemas)


def set_local(ignore: str | None, schemas: tuple[str, ...] | None) -> str:
    """``SET LOCAL`` statements (each ending in ``;``) to put in front of an autocommit statement.

    ``SET LOCAL`` is a utility statement: no planning and no result row, which makes it several
    times cheaper than ``SELECT set_config(...)`` in front of every statement (docs/runtime.md).
    Schemas are always quoted here: ``SET`` rejects reserved words that ``set_config`` accepts.
    """
    parts = []
    if ignore is not None:
        parts.append(f"SET LOCAL {IGNORE} TO {quote_literal(ignore)};")
    if schemas:
        parts.append(f"SET LOCAL {SEARCH_PATH} TO {', '.join(map(quote_ident, schemas))};")
    return " ".join(parts)


def citus_ignore(ignore: str) -> str:
    """The message that sets ``pgtrigger.ignore`` on a Citus coordinator and its workers.

    Only ``SET LOCAL`` is forwarded (a ``set_config()`` call is not), and only after
    ``citus.propagate_set_commands`` is ``'local'``: both statements, alone in the message.
    """
    return f"{citus.PROPAGATE} SET LOCAL {IGNORE} TO {quote_literal(ignore)}"


def set_config(
    values: Mapping[str, str], read_back: Iterable[str] = (), also: str | None = None
) -> str:
    """One SELECT that sets ``values`` transaction-locally.

    Every setting in ``read_back`` is returned first, as it was before the statement ran (a
    subquery that the planner may not flatten guarantees the order), so it can be restored.
    ``also``: one more expression, returned last (the runtime reads whether the Citus library
    is loaded this way, without a statement of its own).
    """
    sets = ", ".join(
        f"set_config({quote_literal(guc)}, {quote_literal(values[guc])}, true)"
        for guc in GUCS
        if guc in values
    )
    if also is not None:
        sets = f"{sets}, {also}"
    reads = [guc for guc in GUCS if guc in read_back]
    if not reads:
        return f"SELECT {sets}"
    columns = ", ".join(f"current_setting({quote_literal(guc)}, true) AS p{i}" for i, guc in
                        enumerate(reads))  # fmt: skip
    outer = ", ".join(f"s.p{i}" for i in range(len(reads)))
    return f"SELECT {outer}, {sets} FROM (SELECT {columns} OFFSET 0) AS s"
