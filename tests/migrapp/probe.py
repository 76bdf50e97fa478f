"""What migration 0002's RunPython saw: the pgtrigger_live triggers on migrapp_gauge."""

from __future__ import annotations

from typing import Any

SEEN: list[list[str]] = []


def record(apps: Any, schema_editor: Any) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'migrapp_gauge'::regclass "
            "AND tgname LIKE 'pgtrigger%%' ORDER BY tgname"
        )
        SEEN.append([row[0] for row in cursor.fetchall()])
