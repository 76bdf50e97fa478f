"""Change conditions: AnyChange, AllChange, AnyDontChange, AllDontChange over a set of fields.

Each compiles to a comparison of OLD and NEW per field (``IS [NOT] DISTINCT FROM``), or to a
whole-row comparison when the set is every column and the connector allows it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import models

from pgtrigger_live.declare.conditions import Condition, F, _QCompiler, current_connection
from pgtrigger_live.declare.fields import local_field, table_fields
from pgtrigger_live.exceptions import DeclarationError

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper


class _Change(Condition):
    """Base of the change conditions: compare OLD and NEW over a set of fields.

    ``fields`` stays a public mutable attribute: django-pghistory sets it on a copy.
    """

    #: ``df`` (changed) or ``ndf`` (unchanged).
    lookup: str = "df"
    #: "OR" for Any*, "AND" for All*.
    connector: str = "OR"

    def __init__(
        self,
        *fields: str,
        exclude: Iterable[str] | None = None,
        exclude_auto: bool | None = None,
    ) -> None:
        self.fields = list(fields)
        self.exclude = list(exclude or [])
        self.exclude_auto = bool(exclude_auto)
        self.sql = f"<{type(self).__name__}>"

    def selected(self, model: type[models.Model]) -> tuple[list[str], bool]:
        """Names of the compared fields, and whether they are all of the table's fields."""
        what = type(self).__name__
        every = table_fields(model)
        chosen = [local_field(model, f, what=what) for f in self.fields] if self.fields else every
        excluded = {local_field(model, f, what=what).name for f in self.exclude}
        names: list[str] = []
        for field in chosen:
            if field.name in excluded or field.name in names:
                continue
            if self.exclude_auto and (
                getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
            ):
                continue
            names.append(field.name)
        if not names:
            raise DeclarationError(f"{what} on {model._meta.label} selects no field.")
        return sorted(names), set(names) == {f.name for f in every}

    def resolve(
        self, model: type[models.Model], connection: BaseDatabaseWrapper | None = None
    ) -> str:
        names, everything = self.selected(model)
        if everything and self.connector == "OR":
            # django-pgtrigger's shortcut, kept: over every column, "any changed" is a whole-row
            # comparison, and so is AnyDontChange (= no column changed; see the class doc).
            op = "IS DISTINCT FROM" if self.lookup == "df" else "IS NOT DISTINCT FROM"
            return f"OLD.* {op} NEW.*"
        q = models.Q()
        for name in names:
            leaf = models.Q(**{f"old__{name}__{self.lookup}": F(f"new__{name}")})
            q = q | leaf if self.connector == "OR" else q & leaf
        text = _QCompiler(model, current_connection(connection)).compile(q)
        return f"({text})" if len(names) > 1 else text

    def __repr__(self) -> str:
        args = [repr(f) for f in self.fields]
        if self.exclude:
            args.append(f"exclude={self.exclude!r}")
        if self.exclude_auto:
            args.append("exclude_auto=True")
        return f"{type(self).__name__}({', '.join(args)})"


class AnyChange(_Change):
    """True when any of the fields changed (all of the table's fields by default)."""

    lookup, connector = "df", "OR"


class AllChange(_Change):
    """True when every one of the fields changed."""

    lookup, connector = "df", "AND"


class AnyDontChange(_Change):
    """True when any of the fields did not change.

    Over *every* column of the table (the default, or every field listed) this is
    ``OLD.* IS NOT DISTINCT FROM NEW.*``: *no* column changed, the same as
    ``AllDontChange()``. That is django-pgtrigger's documented result (its "skip redundant
    updates" recipe relies on it) and is kept; use ``AllDontChange`` to say it explicitly.
    """

    lookup, connector = "ndf", "OR"


class AllDontChange(_Change):
    """True when none of the fields changed."""

    lookup, connector = "ndf", "AND"
