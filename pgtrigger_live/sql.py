"""Pure SQL text helpers: every identifier and literal pgtrigger_live emits goes through here."""

from __future__ import annotations

import re

_PLAIN_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def quote_ident(name: str) -> str:
    """Quote an identifier the way Postgres' quote_ident() does, doubling embedded quotes."""
    if not name:
        raise ValueError("An SQL identifier cannot be empty.")
    if "\x00" in name:
        raise ValueError(f"An SQL identifier cannot contain NUL: {name!r}")
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str | None, name: str) -> str:
    """Return ``"schema"."name"`` (or just ``"name"`` without a schema)."""
    return f"{quote_ident(schema)}.{quote_ident(name)}" if schema else quote_ident(name)


def split_table(db_table: str) -> tuple[str | None, str]:
    """A model's ``db_table`` as (schema or None, table name).

    Django's idioms are honoured: an already quoted name, and ``'schema"."table'`` (or
    ``'"schema"."table"'``) for a table in a schema. Anything else is one table name.
    """
    name = db_table
    if len(name) > 1 and name.startswith('"') and name.endswith('"'):
        name = name[1:-1]
    if name.count('"."') == 1 and name.count('"') == 2:
        schema, table = name.split('"."')
        return schema, table
    return None, name


def quote_table(db_table: str) -> str:
    """The one way a model's ``db_table`` is written into SQL: ``"schema"."table"`` or
    ``"table"`` (resolved on the search_path, as Django's own queries resolve it)."""
    return qualified(*split_table(db_table))


def quote_literal(value: str) -> str:
    """Quote a string literal safely whatever ``standard_conforming_strings`` is.

    Like Postgres' quote_literal(): a value with a backslash becomes an E'' string with the
    backslashes doubled, so the text means the same under either setting.
    """
    if "\x00" in value:
        raise ValueError(f"An SQL string literal cannot contain NUL: {value!r}")
    quoted = value.replace("'", "''")
    if "\\" in quoted:
        return "E'" + quoted.replace("\\", "\\\\") + "'"
    return "'" + quoted + "'"


def dollar_quote(body: str, tag: str = "pgtrigger_live") -> str:
    """Wrap a function body in dollar quotes whose tag does not occur in the body."""
    candidate, n = tag, 0
    while f"${candidate}$" in body:
        n += 1
        candidate = f"{tag}_{n}"
    return f"${candidate}${body}${candidate}$"


def like_escape(prefix: str) -> str:
    """Escape LIKE wildcards so ``prefix`` matches literally (default escape char ``\\``)."""
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def is_plain_identifier(name: str) -> bool:
    """True when ``name`` needs no quoting (lower case letters, digits, underscores)."""
    return bool(_PLAIN_IDENT.match(name))
