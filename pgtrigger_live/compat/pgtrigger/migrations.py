"""``pgtrigger.migrations``: the operations django-pgtrigger's makemigrations wrote.

They still import and run, as no-ops in the database and in the migration state:
pgtrigger_live reconciles the triggers after ``migrate`` from the models as they are now.
They are ``elidable``, so ``squashmigrations`` leaves them out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.operations.base import Operation
from django.db.migrations.state import ProjectState


class _TriggerOperation(Operation):
    reversible = True
    reduces_to_sql = False
    elidable = True
    model_name: str

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        """Nothing: trigger declarations are not part of pgtrigger_live's migration state."""

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        """Nothing: the post-migrate reconcile installs what the models declare."""

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        """Nothing, as forwards."""

    def references_model(self, name: str, app_label: str) -> bool:
        return name.lower() == self.model_name.lower()


class AddTrigger(_TriggerOperation):
    def __init__(self, model_name: str, trigger: Any) -> None:
        self.model_name = model_name
        self.trigger = trigger

    def describe(self) -> str:
        return (
            f"Create trigger {self.trigger.name} on model {self.model_name} "
            "(no-op: installed by pgtrigger_live)"
        )

    def deconstruct(self) -> tuple[str, Sequence[Any], dict[str, Any]]:
        return "AddTrigger", [], {"model_name": self.model_name, "trigger": self.trigger}


class RemoveTrigger(_TriggerOperation):
    def __init__(self, model_name: str, name: str) -> None:
        self.model_name = model_name
        self.name = name

    def describe(self) -> str:
        return (
            f"Remove trigger {self.name} from model {self.model_name} "
            "(no-op: pruned by pgtrigger_live)"
        )

    def deconstruct(self) -> tuple[str, Sequence[Any], dict[str, Any]]:
        return "RemoveTrigger", [], {"model_name": self.model_name, "name": self.name}
