"""The public runtime API: ignore, is_ignored, schema, constraints, set_local, local_sql."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, TypeVar, cast

from django.db import DEFAULT_DB_ALIAS, connections, models

from pgtrigger_live import citus, sql
from pgtrigger_live.declare.clauses import Timing
from pgtrigger_live.declare.triggers import Trigger
from pgtrigger_live.exceptions import DeclarationError, PgTriggerLiveError, UnsupportedTriggerError
from pgtrigger_live.routing import allowed
from pgtrigger_live.runtime import context, statements
from pgtrigger_live.runtime.context import AddIgnored, AddSchemas, AliasChange, Selector
from pgtrigger_live.runtime.wrapper import DIRTY, install, runtime_of

F = TypeVar("F", bound=Callable[..., Any])


class NotInTransactionError(PgTriggerLiveError, RuntimeError):
    """The call needs an open transaction on that database (``transaction.atomic()``)."""


class _Block:
    """A context manager, async context manager and decorator that pushes runtime context.

    Entering resolves the selectors and the aliases (so a decorator can be created before the
    registry is filled), pushes a new immutable state and makes sure the wrapper is on the
    connections of this thread. Exiting pops it and, on connections where this block changed
    a transaction-local setting in a still-open transaction, puts the previous value back.
    The same instance may be entered again, nested, or from several threads and tasks.
    """

    def __init__(self, databases: Iterable[str] | None) -> None:
        if isinstance(databases, str):
            context.postgres_aliases(databases)  # raises: a string is not a list of aliases
        self.databases = None if databases is None else list(databases)

    def _change(self) -> AliasChange:  # pragma: no cover - abstract
        raise NotImplementedError

    def __enter__(self) -> None:
        aliases = context.postgres_aliases(self.databases)
        change = self._change()
        for alias in aliases:
            install(connections[alias])
        context.push(self, aliases, change)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        left = context.CURRENT.get()
        context.pop(self)
        _restore(left.aliases)

    async def __aenter__(self) -> None:
        self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, traceback)

    def __call__(self, func: F) -> F:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                async with self:
                    return await func(*args, **kwargs)

            return cast(F, async_wrapper)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return cast(F, wrapper)


def _restore(aliases: Iterable[str]) -> None:
    """After a block: connections of this thread that hold a value of it get theirs back."""
    if not DIRTY:  # no transaction anywhere holds a value we set: nothing to look at
        return
    wanted = set(aliases)
    for connection in connections.all(initialized_only=True):
        if connection.alias in wanted:
            runtime = runtime_of(connection)
            if runtime is not None:
                runtime.sync(connection)


class _Session(_Block):
    """``ignore.session()`` / ``schema.session()``: kept for django-pgtrigger compatibility.

    django-pgtrigger needed it to keep its wrapper installed across blocks. Here the wrapper
    is always installed and a block never needs a flush, so the session only checks its
    aliases and installs the wrapper on them.
    """

    def _change(self) -> AliasChange:
        return _NoChange()


class _NoChange(AliasChange):
    def __call__(self, before: context.AliasState) -> context.AliasState:
        return before


class ignore(_Block):  # django-pgtrigger's name and calling convention
    """Skip triggers in this block: ``with ignore("app.Model:name"): ...``.

    Selectors: URIs, wildcards (``"app.Model:*"``, ``"*:soft_delete"``) and model classes
    (all their triggers); none means every registered trigger. ``databases``: the aliases to
    apply to (default: every PostgreSQL alias). Also an async context manager and a decorator
    of sync and async functions. See docs/runtime.md for how it works and its limits.
    """

    def __init__(self, *uris: Selector, databases: Iterable[str] | None = None) -> None:
        super().__init__(databases)
        self.uris = uris

    def _change(self) -> AliasChange:
        return AddIgnored(context.pgids(self.uris))

    @staticmethod
    def session(databases: Iterable[str] | None = None) -> _Session:
        return _Session(databases)


class schema(_Block):  # django-pgtrigger's name and calling convention
    """Set ``search_path`` to ``schemas`` in this block (nested blocks append new schemas).

    It applies to every statement of the block, SELECTs included (they resolve table names
    too), transaction-locally; see docs/runtime.md.
    """

    def __init__(self, *schemas: str, databases: Iterable[str] | None = None) -> None:
        super().__init__(databases)
        for name in schemas:
            if not isinstance(name, str) or not name or "\x00" in name:
                raise DeclarationError(f"schema() takes schema names, got {name!r}.")
        self.schemas = tuple(dict.fromkeys(schemas))

    def _change(self) -> AliasChange:
        return AddSchemas(self.schemas)

    @staticmethod
    def session(databases: Iterable[str] | None = None) -> _Session:
        return _Session(databases)


def is_ignored(uri: Selector, *, database: str | None = None) -> bool:
    """True if the current context ignores every trigger ``uri`` selects.

    ``database``: on that alias only; by default on any alias. Unknown URIs raise
    UnknownTriggerError, like ignore().
    """
    pgids = context.pgids([uri])
    current = context.CURRENT.get().aliases
    if database is not None:
        chosen = [current[database]] if database in current else []
    else:
        chosen = list(current.values())
    return any(pgids <= alias_state.ignored for alias_state in chosen)


def constraints(
    timing: Timing | str, *uris: Selector, databases: Iterable[str] | None = None
) -> None:
    """``SET CONSTRAINTS ... IMMEDIATE|DEFERRED`` for deferrable triggers, for this transaction.

    Without URIs (or with wildcards and models), the deferrable triggers among those selected;
    a URI naming a trigger that is not deferrable raises DeclarationError. Only aliases where
    a selected trigger is installed (the router allows its model) are touched, and each of
    them must be in a transaction (NotInTransactionError otherwise).
    """
    mode = str(timing).upper()
    if mode not in ("IMMEDIATE", "DEFERRED"):
        raise DeclarationError(
            f"constraints() timing must be Immediate or Deferred, got {timing!r}."
        )
    selected = context.resolve(uris)
    exact = {u for u in uris if isinstance(u, str) and not any(c in u for c in "*?[")}
    for uri, model, _, trigger in selected:
        if uri in exact and trigger.timing is None:
            raise DeclarationError(
                f'Trigger "{trigger.name}" on model {model._meta.label_lower} is not deferrable; '
                "constraints() needs triggers declared with timing=Immediate or Deferred."
            )
    deferrable = [item for item in selected if item[3].timing is not None]
    if not deferrable:
        raise DeclarationError(
            "constraints(): no deferrable trigger among "
            + (", ".join(map(str, uris)) if uris else "the registered triggers")
            + ": each one is not deferrable (declare timing=Immediate or Deferred)."
        )
    plan: list[tuple[str, list[str]]] = []
    for alias in context.postgres_aliases(databases):
        names = sorted({pgid for _, model, pgid, _ in deferrable if allowed(model, alias)})
        if not names:
            continue
        connection = connections[alias]
        if not connection.in_atomic_block and connection.get_autocommit():
            raise NotInTransactionError(
                f'Database "{alias}" is not in a transaction: SET CONSTRAINTS lasts until the '
                f"end of the transaction, so call constraints() inside "
                f'transaction.atomic(using="{alias}").'
            )
        _refuse_on_citus(connection, [item for item in deferrable if allowed(item[1], alias)])
        plan.append((alias, names))
    for alias, names in plan:
        with connections[alias].cursor() as cursor:
            cursor.execute(f"SET CONSTRAINTS {', '.join(map(sql.quote_ident, names))} {mode}")


def _refuse_on_citus(
    connection: Any, selected: list[tuple[str, type[models.Model], str, Trigger]]
) -> None:
    """Refuse constraints() for triggers of Citus tables (docs/citus.md).

    Measured with Citus 13.2: a trigger of a distributed, reference or Citus local table fires
    on the table's shards, under the shard's name for it (``<name>_<shard id>``), so
    ``SET CONSTRAINTS "<name>"`` never reaches it, and Citus does not forward ``SET
    CONSTRAINTS`` to the workers either (not even with ``citus.propagate_set_commands``): the
    trigger would keep its declared timing while the call seemed to succeed. Costs nothing on a
    server that did not report ``search_path`` (Citus not loaded), else one query per
    connection (a "no" learnt by another connection is not trusted here), two more per call
    on Citus.
    """
    runtime = install(connection)
    if runtime is None:  # pragma: no cover - constraints() only reaches Postgres aliases
        return
    connection.ensure_connection()
    if not runtime.learn_citus(connection, stale_ok=False):
        return
    tables = sorted({sql.quote_table(model._meta.db_table) for _, model, _, _ in selected})
    with connection.cursor() as cursor:
        cursor.execute("SELECT n, to_regclass(n)::oid FROM unnest(%s::text[]) AS n", [tables])
        oids = {str(name): oid for name, oid in cursor.fetchall() if oid is not None}
        cursor.execute(citus.KINDS, [list(oids.values())])
        kinds = {oid: str(kind) for oid, kind in cursor.fetchall()}
    for uri, model, _, trigger in selected:
        kind = kinds.get(oids.get(sql.quote_table(model._meta.db_table)))
        if kind is not None:  # only Citus tables are listed
            raise UnsupportedTriggerError(
                f'constraints(): trigger "{trigger.name}" ({uri}) on model '
                f"{model._meta.label_lower} is on a Citus table ({kind}), where it fires on the "
                "table's shards under their own names, and SET CONSTRAINTS does not reach "
                "them: its timing cannot change for a transaction. Declare it with the timing "
                "it needs (timing=Deferred or Immediate), or select only triggers of plain "
                "tables."
            )


def set_local(using: str = DEFAULT_DB_ALIAS) -> None:
    """Send the current ignore()/schema() values to the open transaction of ``using`` now.

    For paths that bypass Django's cursor wrappers: ``cursor.copy()`` / ``copy_expert``,
    the raw driver connection, a SELECT calling a function that writes. Needs a transaction,
    because the values are transaction-local::

        with pgtrigger.ignore("app.Model:name"), transaction.atomic():
            pgtrigger.set_local()
            with connection.cursor() as cursor, cursor.copy("COPY ... FROM STDIN") as copy:
                ...
    """
    connection = connections[using]
    runtime = install(connection)
    if runtime is None:
        raise DeclarationError(f'Database "{using}" is not PostgreSQL.')
    connection.ensure_connection()
    if not runtime.send_now(connection):
        raise NotInTransactionError(
            f'set_local() needs an open transaction on database "{using}": the values are '
            f'transaction-local. Call it inside transaction.atomic(using="{using}").'
        )


def local_sql(using: str = DEFAULT_DB_ALIAS) -> str:
    """The statement that sets the current values transaction-locally, to run yourself.

    For a connection Django does not manage; run it inside the transaction that needs it.
    Returns ``""`` when no ignore() or schema() block is active for ``using``.
    """
    alias_state = context.CURRENT.get().aliases.get(using)
    if alias_state is None:
        return ""
    values = {
        guc: value for guc in statements.GUCS if (value := alias_state.value(guc)) is not None
    }
    return statements.set_config(values) if values else ""
