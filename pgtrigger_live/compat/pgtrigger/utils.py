"""``pgtrigger.utils``: the helpers of django-pgtrigger's utils module that projects and test
suites call."""

from __future__ import annotations

from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.postgresql.psycopg_any import is_psycopg3

from pgtrigger_live.declare.triggers import AttrDict
from pgtrigger_live.sql import quote_ident

#: The psycopg major version Django's PostgreSQL backend uses (3 when psycopg 3 is importable).
psycopg_maj_version = 3 if is_psycopg3 else 2


def pg_maj_version(cursor: Any) -> int:
    """The server's major version, from a cursor (``server_version`` is e.g. 170004)."""
    connection = cursor.connection
    version = getattr(connection, "server_version", None) or connection.info.server_version
    return int(version) // 10000


def is_postgres(database: str | None = None) -> bool:
    return connections[database or DEFAULT_DB_ALIAS].vendor == "postgresql"


def quote(label: str, char: str = '"') -> str:
    """Quote an identifier unless it already is (django-pgtrigger's rule for ``db_table``)."""
    if label.startswith(char) or label.endswith(char):
        return label
    return quote_ident(label) if char == '"' else f"{char}{label}{char}"


__all__ = ["AttrDict", "is_postgres", "pg_maj_version", "psycopg_maj_version", "quote"]
