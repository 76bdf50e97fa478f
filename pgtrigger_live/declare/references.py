"""Where SQL text reads the row: OLD/NEW references outside literals, identifiers and comments.

Used to tell which sides a condition reads (statement-level and INSERT/DELETE rules) and to
rename them to transition tables; a tokenizer, so ``'OLD.x'`` in a literal is not a reference.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping

_TOKEN = re.compile(
    r"""
      (?P<estring>[Ee]'(?:[^'\\]|\\.|'')*')         # E'...' (backslash escapes)
    | (?P<string>'(?:[^']|'')*')                    # '...'
    | (?P<ident>"(?:[^"]|"")*")                     # "..."
    | (?P<dollar>(?<![\w$])\$(?P<tag>[A-Za-z_]\w*)?\$)  # $tag$ opening a dollar quote
    | (?P<line>--[^\n]*)                            # -- comment
    | (?P<block>/\*.*?\*/)                          # /* comment */
    """,
    re.VERBOSE | re.DOTALL,
)
_REFERENCE = re.compile(r"(?<![\w.\"$])(OLD|NEW)(\s*\.)", re.IGNORECASE)


def _segments(text: str) -> Iterator[tuple[str, bool]]:
    """Split SQL into (piece, is_code): literals, quoted identifiers and comments are not code."""
    pos = 0
    while pos < len(text):
        match = _TOKEN.search(text, pos)
        if match is None:
            yield text[pos:], True
            return
        if match.start() > pos:
            yield text[pos : match.start()], True
        end = match.end()
        if match.group("dollar"):
            closing = match.group("dollar")
            close_at = text.find(closing, end)
            end = len(text) if close_at < 0 else close_at + len(closing)
        yield text[match.start() : end], False
        pos = end


def sql_code(text: str) -> str:
    """``text`` with literals, quoted identifiers and comments blanked out (for searching)."""
    return "".join(piece if is_code else " " for piece, is_code in _segments(text))


@functools.lru_cache(maxsize=4096)
def referenced_sides(condition_sql: str) -> frozenset[str]:
    """Which of OLD / NEW a compiled condition reads (literals and identifiers are skipped)."""
    found: set[str] = set()
    for piece, is_code in _segments(condition_sql):
        if is_code:
            found.update(m.group(1).upper() for m in _REFERENCE.finditer(piece))
    return frozenset(found)


def rename_sides(condition_sql: str, sides: Mapping[str, str]) -> str:
    """Replace the ``OLD.``/``NEW.`` row references, e.g. by transition-table names.

    ``sides`` maps ``"OLD"``/``"NEW"`` to the new qualifier. Text inside string literals,
    quoted identifiers and comments is left alone, so a value such as ``'OLD.x'`` survives.
    """

    def replace(match: re.Match[str]) -> str:
        return sides.get(match.group(1).upper(), match.group(1)) + match.group(2)

    return "".join(
        _REFERENCE.sub(replace, piece) if is_code else piece
        for piece, is_code in _segments(condition_sql)
    )
