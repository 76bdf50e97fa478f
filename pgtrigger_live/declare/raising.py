"""The SQL side of typed trigger errors: SQLSTATE codes of class TG and the RAISE statement.

Declarations (the built-ins, user triggers) raise with these; ``runtime/errors.py`` turns the
resulting database errors into Python classes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pgtrigger_live import sql
from pgtrigger_live.exceptions import DeclarationError

#: The SQLSTATE class of every error pgtrigger_live's triggers raise on purpose.
SQLSTATE_CLASS = "TG"
#: A refusal by a user trigger that opted in (``raise_sql``) without a code of its own.
TRIGGER_ERROR = "TG000"
#: ``Protect`` refused the operation.
PROTECTED = "TG001"
#: ``ReadOnly`` refused an update of a read-only field.
READ_ONLY = "TG002"
#: ``FSM`` refused a transition that is not listed.
INVALID_TRANSITION = "TG003"

_SQLSTATE = re.compile(r"^TG[0-9A-Z]{3}$")


def validate_sqlstate(code: str) -> str:
    """Return ``code`` if it is a SQLSTATE of class TG, else raise DeclarationError."""
    if not isinstance(code, str) or not _SQLSTATE.match(code):
        raise DeclarationError(
            f"SQLSTATE {code!r} is not of pgtrigger_live's class: use 'TG' followed by three "
            "digits or upper-case letters (TG000-TG099 are reserved for pgtrigger_live)."
        )
    return code


# -- the SQL side ------------------------------------------------------------------------------


def raise_sql(
    message: str | None = None,
    *,
    sqlstate: str = TRIGGER_ERROR,
    uri: str | None = None,
    message_sql: str | None = None,
    detail: Mapping[str, str] | None = None,
) -> str:
    """A PL/pgSQL ``RAISE`` statement that pgtrigger_live translates into a typed error.

    Args:
        message: The error message, as plain text (quoted here; ``%`` has no special meaning).
        sqlstate: A SQLSTATE of class ``TG`` (see the module constants).
        uri: The trigger's URI, written into the detail. When omitted, the detail carries the
            trigger's Postgres name (``TG_NAME``) and Python finds the URI in the registry.
        message_sql: An SQL expression for the message, instead of ``message`` (built-ins use
            it to name ``TG_TABLE_NAME``); it is inserted as is, so only pass trusted SQL.
        detail: Extra detail entries: key -> SQL expression (trusted SQL, e.g. ``OLD."f"``).

    Returns:
        One statement ending with ``;``, usable in any trigger ``func``.
    """
    validate_sqlstate(sqlstate)
    if message_sql is None:
        message_sql = sql.quote_literal(message if message is not None else "pgtrigger: refused")
    entries: list[tuple[str, str]] = [
        ("uri", sql.quote_literal(uri) if uri is not None else "NULL::text"),
        ("schema", "TG_TABLE_SCHEMA"),
        ("table", "TG_TABLE_NAME"),
        ("operation", "TG_OP"),
        ("trigger", "TG_NAME"),
    ]
    entries.extend((key, value) for key, value in (detail or {}).items())
    args = ", ".join(f"{sql.quote_literal(key)}, {value}" for key, value in entries)
    return (
        f"RAISE EXCEPTION USING ERRCODE = {sql.quote_literal(sqlstate)}, "
        f"MESSAGE = {message_sql}, DETAIL = json_build_object({args})::text;"
    )
