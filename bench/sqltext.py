"""Split the SQL a process sent into statements and classify them (DDL, table locks).

Used by bench/child.py after the timed operation, so parsing never costs measured time. One
``cursor.execute`` may carry several statements (both libraries batch), hence the splitter;
it understands quotes, dollar quotes and comments, which is all trigger DDL needs.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")
_LEADING_COMMENTS = re.compile(r"^(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)+", re.DOTALL)
_WORD = re.compile(r"[A-Za-z_]+")

#: First words that make a statement DDL.
#: DO: pgtrigger_live signs triggers with a DO block that runs COMMENT ON TRIGGER.
DDL_VERBS = frozenset({"CREATE", "DROP", "ALTER", "COMMENT", "DO", "TRUNCATE", "GRANT", "REVOKE"})
#: Statement kinds that lock the table the trigger is on (CREATE TRIGGER: SHARE ROW
#: EXCLUSIVE, DROP TRIGGER and ALTER TABLE ... TRIGGER: ACCESS EXCLUSIVE or SHARE ROW
#: EXCLUSIVE, LOCK: as requested). COMMENT ON TRIGGER takes ACCESS SHARE only (checked in
#: pg_locks), which blocks no reader or writer: not counted.
TABLE_LOCK_KINDS = frozenset(
    {
        "CREATE TRIGGER",
        "CREATE OR REPLACE TRIGGER",
        "CREATE CONSTRAINT TRIGGER",
        "DROP TRIGGER",
        "ALTER TABLE",
        "LOCK TABLE",
    }
)


def _skip_quoted(sql: str, start: int, quote: str) -> int:
    """Index just past the string or identifier opened at ``start`` (doubled quotes escape)."""
    i = start + 1
    while True:
        i = sql.find(quote, i)
        if i == -1:
            return len(sql)
        if sql.startswith(quote * 2, i):
            i += 2
            continue
        return i + 1


def split_statements(sql: str) -> list[str]:
    """The non-empty statements of ``sql``, split at top-level semicolons."""
    statements: list[str] = []
    start = i = 0
    end = len(sql)
    while i < end:
        char = sql[i]
        if char in "'\"":
            i = _skip_quoted(sql, i, char)
        elif sql.startswith("--", i):
            newline = sql.find("\n", i)
            i = end if newline == -1 else newline + 1
        elif sql.startswith("/*", i):
            close = sql.find("*/", i + 2)
            i = end if close == -1 else close + 2
        elif char == "$":
            tag = _DOLLAR_TAG.match(sql, i)
            glued = i > 0 and (sql[i - 1].isalnum() or sql[i - 1] == "_")
            if tag is None or glued:
                i += 1
            else:
                close = sql.find(tag.group(), tag.end())
                i = end if close == -1 else close + len(tag.group())
        elif char == ";":
            statements.append(sql[start:i])
            start = i = i + 1
        else:
            i += 1
    statements.append(sql[start:])
    return [s.strip() for s in statements if _LEADING_COMMENTS.sub("", s).strip()]


def kind(statement: str) -> str:
    """A short label such as ``SELECT``, ``CREATE TRIGGER`` or ``COMMENT ON TRIGGER``."""
    words: list[str] = [
        w.upper() for w in _WORD.findall(_LEADING_COMMENTS.sub("", statement)[:80])[:5]
    ]
    if not words:
        return "?"
    verb = words[0]
    if verb == "CREATE":
        rest = words[1:]
        prefix = "CREATE OR REPLACE" if rest[:2] == ["OR", "REPLACE"] else "CREATE"
        rest = rest[2:] if prefix == "CREATE OR REPLACE" else rest
        if rest[:2] == ["CONSTRAINT", "TRIGGER"]:
            return "CREATE CONSTRAINT TRIGGER"
        return f"{prefix} {rest[0]}" if rest else prefix
    if verb in ("DROP", "ALTER", "LOCK") and len(words) > 1:
        return f"{verb} {words[1]}"
    if verb == "COMMENT" and len(words) > 2:
        return f"COMMENT ON {words[2]}"
    return verb


def is_ddl(statement_kind: str) -> bool:
    return statement_kind.split(" ", 1)[0] in DDL_VERBS


def summarize(batches: Iterable[str]) -> dict[str, object]:
    """Counts for the SQL strings sent (one string per round trip)."""
    kinds: Counter[str] = Counter()
    round_trips = 0
    for batch in batches:
        round_trips += 1
        kinds.update(kind(s) for s in split_statements(batch))
    ddl = {k: n for k, n in sorted(kinds.items()) if is_ddl(k)}
    return {
        "round_trips": round_trips,
        "statements": sum(kinds.values()),
        "ddl_total": sum(ddl.values()),
        "ddl": ddl,
        "table_lock_statements": sum(n for k, n in kinds.items() if k in TABLE_LOCK_KINDS),
        "kinds": dict(sorted(kinds.items())),
    }
