from __future__ import annotations

from typing import Any


class OnlyDefault:
    """Everything of the test app migrates to ``default`` only."""

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        if app_label == "testapp":
            return db == "default"
        return None
