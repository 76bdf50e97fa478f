"""The Trigger declaration and Func templates: plain objects that know nothing of connections."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import models

from pgtrigger_live import naming
from pgtrigger_live.declare.clauses import (
    After,
    InsteadOf,
    Level,
    Operation,
    Referencing,
    Row,
    Statement,
    Timing,
    UpdateOf,
    When,
)
from pgtrigger_live.declare.conditions import Condition
from pgtrigger_live.declare.references import referenced_sides
from pgtrigger_live.exceptions import DeclarationError, UnsupportedTriggerError

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

    from pgtrigger_live.compat.pgtrigger.compiler import CompiledTrigger as CompatCompiled
    from pgtrigger_live.runtime.api import ignore as IgnoreBlock


_R = TypeVar("_R")


@contextlib.contextmanager
def _then(cleanup: Callable[[], object]) -> Iterator[None]:
    """django-pgtrigger's convention: the action already ran; leaving the block undoes it."""
    yield
    cleanup()


class AttrDict(dict[str, Any]):
    """A dict whose keys read as attributes, for ``{columns.name}`` in Func templates."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None


class Func:
    """A function body rendered with ``str.format``: ``{meta}``, ``{fields}``, ``{columns}``.

    Literal braces must be doubled (``{{`` / ``}}``), as with ``str.format``.
    """

    def __init__(self, func: str) -> None:
        self.func = func

    def render(self, **kwargs: Any) -> str:
        return self.func.format(**kwargs)

    def __repr__(self) -> str:
        return f"Func({self.func!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Func) and other.func == self.func

    def __hash__(self) -> int:
        return hash(self.func)


class Trigger:
    """A Postgres trigger declared on a model.

    Class attributes are defaults, so a subclass can fix any of them. Everything that can be
    checked without a model is checked here, when the trigger is created.
    """

    name: str | None = None
    level: Level = Row
    when: When | None = None
    operation: Operation | None = None
    condition: Condition | models.Q | None = None
    referencing: Referencing | None = None
    func: Func | str | None = None
    declare: Sequence[tuple[str, str]] | None = None
    timing: Timing | None = None
    #: Place among the triggers of one table, timing and event (pgtrigger_live only; see
    #: ``docs/order.md``). None: fired by name, after those with an order.
    order: int | None = None

    def __init__(
        self,
        *,
        name: str | None = None,
        level: Level | None = None,
        when: When | None = None,
        operation: Operation | None = None,
        condition: Condition | models.Q | None = None,
        referencing: Referencing | None = None,
        func: Func | str | None = None,
        declare: Sequence[tuple[str, str]] | None = None,
        timing: Timing | None = None,
        order: int | None = None,
    ) -> None:
        self.name = name or self.name
        self.level = level or self.level
        self.when = when or self.when
        self.operation = operation or self.operation
        self.condition = condition or self.condition
        self.referencing = referencing or self.referencing
        self.func = func or self.func
        self.declare = declare or self.declare
        self.timing = timing or self.timing
        if order is not None:
            # Set only when given: an instance without one digests exactly as before orders
            # existed (the declaration digest covers the instance's attributes).
            self.order = order
        self.validate()

    # -- validation -------------------------------------------------------------------------

    def _fail(
        self, message: str, kind: type[DeclarationError] = DeclarationError
    ) -> DeclarationError:
        label = f'Trigger "{self.name}"' if self.name else "Trigger"
        return kind(f"{label}: {message}")

    def _unsupported(self, message: str) -> DeclarationError:
        """A combination Postgres itself rejects: also django.db's NotSupportedError."""
        return self._fail(
            f"{message} These are not supported by Postgres.", UnsupportedTriggerError
        )

    def validate_name(self) -> None:
        """Check the name (django-pgtrigger's hook of the same name; see naming.py)."""
        self.name = naming.validate_name(self.name)

    def validate(self) -> None:
        """Check the clause combination against Postgres' CREATE TRIGGER rules.

        The name is checked last, as django-pgtrigger does, so a nameless trigger with a bad
        clause reports the clause.
        """
        if not isinstance(self.level, Level):
            raise self._fail(f'Invalid "level" attribute: {self.level!r}.')
        if not isinstance(self.when, When):
            raise self._fail(f'Invalid "when" attribute: {self.when!r}.')
        if not isinstance(self.operation, Operation):
            raise self._fail(f'Invalid "operation" attribute: {self.operation!r}.')
        try:
            naming.validate_order(self.order)
        except DeclarationError as exc:
            raise self._fail(str(exc)) from None
        if self.timing is not None and not isinstance(self.timing, Timing):
            raise self._fail(f'Invalid "timing" attribute: {self.timing!r}.')
        if self.referencing is not None and not isinstance(self.referencing, Referencing):
            raise self._fail(f'Invalid "referencing" attribute: {self.referencing!r}.')
        if self.condition is not None and not isinstance(self.condition, Condition | models.Q):
            raise self._fail(f'Invalid "condition" attribute: {self.condition!r}.')
        events = self.operation.events
        if self.level == Row and "TRUNCATE" in events:
            raise self._unsupported("TRUNCATE triggers must be statement-level (level=Statement).")
        if self.level == Row and self.referencing is not None:
            raise self._fail('Row-level triggers cannot have a "referencing" attribute.')
        if self.timing is not None:
            if self.level != Row:
                raise self._fail('Deferrable triggers must have "level" attribute as Row.')
            if self.when != After:
                raise self._fail('Deferrable triggers must have "when" attribute as After.')
        if self.when == InsteadOf:
            if self.level != Row:
                raise self._unsupported("INSTEAD OF triggers must be row-level.")
            if self.condition is not None:
                raise self._unsupported("INSTEAD OF triggers cannot have a condition.")
            if any(isinstance(p, UpdateOf) for p in self.operation.parts):
                raise self._unsupported("INSTEAD OF triggers cannot use UpdateOf.")
        if self.referencing is not None:
            if self.when != After:
                raise self._unsupported("Transition tables (referencing) need when=After.")
            if len(self.operation.parts) > 1:
                raise self._unsupported("Transition tables (referencing) need a single operation.")
            if isinstance(self.operation, UpdateOf) or "TRUNCATE" in events:
                raise self._unsupported(
                    "Transition tables cannot be used with UpdateOf or Truncate."
                )
            if self.referencing.old and events == {"INSERT"}:
                raise self._unsupported("An INSERT trigger has no OLD transition table.")
            if self.referencing.new and events == {"DELETE"}:
                raise self._unsupported("A DELETE trigger has no NEW transition table.")
        self.validate_name()

    # -- hooks a subclass may override --------------------------------------------------------

    def get_pgid(self, model: type[models.Model]) -> str:
        return naming.make_pgid(self.get_uri(model), self.name or "", self.order)

    def get_uri(self, model: type[models.Model]) -> str:
        return naming.make_uri(model._meta.label, self.name or "")

    def get_condition(self, model: type[models.Model]) -> Condition | models.Q | None:
        return self.condition

    def get_declare(self, model: type[models.Model]) -> list[tuple[str, str]]:
        return list(self.declare or [])

    def get_func(self, model: type[models.Model]) -> Func | str:
        if self.func is None:
            raise self._fail(
                "Must define func attribute or implement get_func"
                + (f" ({model._meta.label})." if model is not None else ".")
            )
        return self.func

    def get_func_template_kwargs(self, model: type[models.Model]) -> dict[str, Any]:
        concrete = list(model._meta.fields)
        return {
            "meta": model._meta,
            "fields": AttrDict({f.name: f for f in concrete}),
            "columns": AttrDict({f.name: f.column for f in concrete}),
        }

    def render_condition(
        self, model: type[models.Model], connection: BaseDatabaseWrapper | None = None
    ) -> str:
        """The SQL of the WHEN condition, or ``""``."""
        condition = self.get_condition(model)
        if condition is None:
            return ""
        if isinstance(condition, Condition):
            text = condition.resolve(model, connection)
        else:
            from pgtrigger_live.declare.conditions import Q

            text = Q(condition).resolve(model, connection)
        self._check_condition(model, text)
        return text

    def _check_condition(self, model: type[models.Model], text: str) -> None:
        assert self.operation is not None
        sides = referenced_sides(text)
        where = f"on {model._meta.label}"
        if sides and self.level == Statement:
            raise self._fail(
                f"{where}: a statement-level trigger's condition cannot read OLD or NEW row "
                "values (use Composer for conditional statement-level triggers)."
            )
        if "OLD" in sides and "INSERT" in self.operation.events:
            raise self._fail(f"{where}: the condition reads OLD, which an INSERT does not have.")
        if "NEW" in sides and "DELETE" in self.operation.events:
            raise self._fail(f"{where}: the condition reads NEW, which a DELETE does not have.")

    def render_declare(self, model: type[models.Model]) -> str:
        declare = self.get_declare(model)
        if not declare:
            return ""
        return "DECLARE " + " ".join(f"{var} {type_};" for var, type_ in declare)

    def render_func(self, model: type[models.Model]) -> str:
        func = self.get_func(model)
        if isinstance(func, Func):
            try:
                return func.render(**self.get_func_template_kwargs(model))
            except (KeyError, AttributeError, IndexError, ValueError) as exc:
                raise self._fail(
                    f"on {model._meta.label}: cannot render func template ({exc!r}); literal "
                    "braces in a Func must be doubled."
                ) from exc
        return func

    def render_execute(self, model: type[models.Model]) -> str | None:
        """SQL after ``EXECUTE FUNCTION``; None means the trigger's own generated function."""
        return None

    def render_operation(self, model: type[models.Model]) -> str:
        """The event list; ``UpdateOf`` field names are translated to their columns."""
        assert self.operation is not None
        parts = []
        for part in self.operation.parts:
            if isinstance(part, UpdateOf):
                part = UpdateOf(*(_column_name(model, c, self) for c in part.columns))
            parts.append(part.render())
        return " OR ".join(parts)

    # -- django-pgtrigger's per-trigger API ----------------------------------------------------
    # Each call delegates to the reconciler (installation.py) with this trigger's URI, so it
    # runs under the same advisory lock, plan and safety as ``manage.py pgtrigger install``.
    # Imports are inside the methods: the declaration layer never loads the installation
    # layer at import time (it imports this module).

    def register(self, *models: type[models.Model]) -> contextlib.AbstractContextManager[None]:
        """Register on each model; ``with trigger.register(M):`` unregisters on exit."""
        from pgtrigger_live.declare import registry

        for model in models:
            registry.add(model, self)
        return _then(lambda: self.unregister(*models))

    def unregister(self, *models: type[models.Model]) -> contextlib.AbstractContextManager[None]:
        """Unregister from each model; ``with trigger.unregister(M):`` registers again on exit."""
        from pgtrigger_live.declare import registry

        for model in models:
            registry.remove(model, self)
        return _then(lambda: self.register(*models))

    def install(
        self, model: type[models.Model], database: str | None = None
    ) -> contextlib.AbstractContextManager[None]:
        """Install (or bring up to date) on ``model``; the context manager uninstalls on exit.

        Unlike django-pgtrigger, a trigger already in sync is not dropped and re-created and a
        disabled one stays disabled.
        """
        from pgtrigger_live.reconcile import installation

        self._run(model, lambda uri: installation.install(uri, database=database))
        return _then(lambda: self.uninstall(model, database=database))

    def uninstall(
        self, model: type[models.Model], database: str | None = None
    ) -> contextlib.AbstractContextManager[None]:
        """Drop the trigger and its function; the context manager installs it again on exit."""
        from pgtrigger_live.reconcile import installation

        self._run(model, lambda uri: installation.uninstall(uri, database=database))
        return _then(lambda: self.install(model, database=database))

    def enable(
        self, model: type[models.Model], database: str | None = None
    ) -> contextlib.AbstractContextManager[None]:
        """Enable for every session; the context manager disables it again on exit."""
        from pgtrigger_live.reconcile import installation

        self._run(model, lambda uri: installation.enable(uri, database=database))
        return _then(lambda: self.disable(model, database=database))

    def disable(
        self, model: type[models.Model], database: str | None = None
    ) -> contextlib.AbstractContextManager[None]:
        """Disable for every session; the context manager enables it again on exit."""
        from pgtrigger_live.reconcile import installation

        self._run(model, lambda uri: installation.disable(uri, database=database))
        return _then(lambda: self.enable(model, database=database))

    def get_installation_status(
        self, model: type[models.Model], database: str | None = None
    ) -> tuple[str, bool | None]:
        """django-pgtrigger's ``(status, enabled)``: status is INSTALLED, UNINSTALLED, OUTDATED
        or UNALLOWED; ``enabled`` is True only for plain ENABLED (``tgenabled = 'O'``), None
        when not installed. A TAMPERED trigger reports OUTDATED (``ls`` tells them apart)."""
        from pgtrigger_live.reconcile import installation
        from pgtrigger_live.reconcile.state import Enabled, Status

        (entry,) = self._run(model, lambda uri: installation.status(uri, database=database))
        if entry.status in (Status.UNALLOWED, Status.UNINSTALLED) or entry.enabled is None:
            return (str(entry.status), None)
        status = Status.INSTALLED if entry.status is Status.INSTALLED else Status.OUTDATED
        return (str(status), entry.enabled is Enabled.ENABLED)

    def compile(self, model: type[models.Model]) -> CompatCompiled:
        """The compiled trigger, with ``install_sql``, ``uninstall_sql``, ``enable_sql``,
        ``disable_sql`` and ``hash`` as django-pgtrigger's ``compile()`` gives them."""
        from pgtrigger_live.compat.pgtrigger.compiler import CompiledTrigger as Compiled
        from pgtrigger_live.reconcile.compiler import compile_trigger

        return Compiled(name=self.name, compiled=compile_trigger(model, self))

    def ignore(self, model: type[models.Model]) -> IgnoreBlock:
        """``with trigger.ignore(M):`` skips this registered trigger on ``M`` (see
        pgtrigger_live.ignore); an unregistered one raises UnknownTriggerError on entry."""
        from pgtrigger_live.runtime.api import ignore

        return ignore(self.get_uri(model))

    def allow_migrate(self, model: type[models.Model], database: str | None = None) -> bool:
        """True when ``database`` is Postgres and the router lets ``model`` migrate there."""
        from django.db import DEFAULT_DB_ALIAS

        from pgtrigger_live.routing import allowed

        return allowed(model, database or DEFAULT_DB_ALIAS)

    def format_sql(self, sql: str) -> str:
        """``sql`` on one line, each line stripped (django-pgtrigger's helper)."""
        return " ".join(line.strip() for line in sql.split("\n") if line.strip()).strip()

    def exec_sql(
        self,
        sql: str,
        model: type[models.Model],
        database: str | None = None,
        fetchall: bool = False,
    ) -> Any:
        """Run ``sql`` on ``database`` when :meth:`allow_migrate` says so (else None)."""
        from django.db import DEFAULT_DB_ALIAS, connections

        if not self.allow_migrate(model, database=database):
            return None
        with connections[database or DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute(str(sql))
            return cursor.fetchall() if fetchall else None

    @contextlib.contextmanager
    def _registered(self, model: type[models.Model]) -> Iterator[str]:
        """This trigger's URI on ``model``, registered for the duration if it was not.

        django-pgtrigger installs unregistered triggers too; the reconciler works on URIs.
        """
        from pgtrigger_live.declare import registry

        uri = self.get_uri(model)
        added = registry.entry(uri) is None
        if added:
            registry.add(model, self)
        try:
            yield uri
        finally:
            if added:
                registry.remove(model, self)

    def _run(self, model: type[models.Model], action: Callable[[str], _R]) -> _R:
        with self._registered(model) as uri:
            return action(uri)

    def __str__(self) -> str:
        return self.name or ""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


def _column_name(model: type[models.Model], name: str, trigger: Trigger) -> str:
    """Map a field name to its column; accept column names as they are."""
    concrete = model._meta.concrete_model
    assert concrete is not None
    fields = concrete._meta.local_concrete_fields
    if name in {f.column for f in fields}:
        return name
    for field in fields:
        if (field.name == name or field.attname == name) and field.column:
            return field.column
    raise DeclarationError(
        f'Trigger "{trigger.name}" on {model._meta.label}: UpdateOf("{name}") names no column '
        f"of table {model._meta.db_table}."
    )


def ignore_id(trigger: Trigger, model: type[models.Model]) -> str:
    """The name ``ignore()`` puts in ``pgtrigger.ignore`` for this trigger.

    Its id, except for a trigger with an order: then the id it would have without one, which
    its function compares with instead of ``TG_NAME``. A change of order renames the trigger,
    and ``ignore()`` keeps working through the deploy (old and new code name the same id).
    """
    pgid = trigger.get_pgid(model)
    if trigger.order is None or naming.order_of(pgid) is None:
        return pgid
    return naming.make_pgid(trigger.get_uri(model), trigger.name or "")
