"""Typed trigger errors: the Python classes and the translation of database errors into them.

The SQL side (the ``RAISE`` statement and the SQLSTATE codes) is ``declare/raising.py``.

A trigger that refuses an operation raises with a SQLSTATE of class ``TG`` (a class PostgreSQL
does not use: the standard reserves classes starting with 0-4 and A-H, PostgreSQL's own
implementation classes are 5x, 72, F0, HV, P0 and XX) and a JSON ``DETAIL``::

    {"uri": "shop.Invoice:protect_delete", "schema": "public", "table": "shop_invoice",
     "operation": "DELETE", "trigger": "pgtrigger_protect_delete_1a2b3"}

On the Python side one execute wrapper per connection (Django's documented extension point,
installed by ``install_translation()``) turns a ``django.db`` error carrying such a SQLSTATE into
the matching ``TriggerError`` subclass. The instance is also an instance of the ``django.db``
class Django raised, and of the class a plain ``RAISE EXCEPTION`` gives with this driver
(``InternalError`` under psycopg2, ``ProgrammingError`` under psycopg 3), so ``except`` clauses
written for django-pgtrigger keep working. Queries that succeed pay one Python call frame.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from django.db import utils as db_utils
from django.db.transaction import TransactionManagementError

from pgtrigger_live.declare import registry
from pgtrigger_live.declare.raising import (
    INVALID_TRANSITION,
    PROTECTED,
    READ_ONLY,
    SQLSTATE_CLASS,
    TRIGGER_ERROR,
    validate_sqlstate,
)
from pgtrigger_live.exceptions import DeclarationError, PgTriggerLiveError

if TYPE_CHECKING:
    from django.db import models
    from django.db.backends.base.base import BaseDatabaseWrapper

    from pgtrigger_live.declare.triggers import Trigger

_BY_SQLSTATE: dict[str, type[TriggerError]] = {}
#: The setting that turns the automatic translation off (it is on by default).
SETTING = "PGTRIGGER_LIVE_TYPED_ERRORS"


# -- the exception classes ---------------------------------------------------------------------


class TriggerError(PgTriggerLiveError, db_utils.DatabaseError):
    """A trigger refused an operation (SQLSTATE class TG).

    Attributes:
        sqlstate: The SQLSTATE, e.g. ``"TG001"``.
        message: The primary error message.
        detail: The parsed JSON detail (empty if the trigger sent none or invalid JSON).
        uri: The trigger's URI (``"app.Model:name"``), or None if unknown.
        model: The model the trigger is registered on, or None if not registered here.
        trigger: The ``Trigger`` declaration, or None.
        operation: ``"INSERT"``, ``"UPDATE"``, ``"DELETE"`` or ``"TRUNCATE"``.
        table: The table name; ``schema`` its schema.
        pgid: The trigger's Postgres name.

    Subclass with ``class MyError(TriggerError, sqlstate="TG100")`` to give a code of your own
    its own class; ``TG000``-``TG099`` are reserved for pgtrigger_live.
    """

    sqlstate_code: ClassVar[str] = TRIGGER_ERROR

    sqlstate: str
    message: str
    detail: dict[str, Any]
    uri: str | None
    model: type[models.Model] | None
    trigger: Trigger | None
    operation: str | None
    table: str | None
    schema: str | None
    pgid: str | None

    def __init_subclass__(cls, *, sqlstate: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if sqlstate is None:
            return
        validate_sqlstate(sqlstate)
        if cls.__module__ != __name__ and sqlstate < "TG100":
            raise DeclarationError(
                f"SQLSTATE {sqlstate} is reserved for pgtrigger_live; use TG100 or above."
            )
        registered = _BY_SQLSTATE.get(sqlstate)
        if registered is not None and registered.__qualname__ != cls.__qualname__:
            raise DeclarationError(
                f"SQLSTATE {sqlstate} is already mapped to {registered.__qualname__}."
            )
        cls.sqlstate_code = sqlstate
        _BY_SQLSTATE[sqlstate] = cls

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._fill(self.sqlstate_code, str(args[0]) if args else "", {})

    def _fill(self, sqlstate: str, message: str, detail: dict[str, Any]) -> None:
        self.sqlstate = sqlstate
        self.message = message
        self.detail = detail
        self.uri = _text(detail.get("uri"))
        self.operation = _text(detail.get("operation"))
        self.table = _text(detail.get("table"))
        self.schema = _text(detail.get("schema"))
        self.pgid = _text(detail.get("trigger"))
        self.model, self.trigger = None, None
        found = _lookup_trigger(self.uri, self.pgid)
        if found is not None:
            self.uri, self.model, self.trigger = found

    def __reduce__(self) -> tuple[Any, ...]:
        # Instances are of a class made per (our class, Django class) pair, which pickle cannot
        # import by name; rebuild from the two importable classes instead.
        cls = type(self)
        if cls.__dict__.get("_dynamic") is True:
            ours, *django_classes = cls.__bases__
        else:
            ours, django_classes = cls, []
        # The model and the declaration are found again in the unpickling process's registry.
        state = {k: v for k, v in self.__dict__.items() if k not in ("model", "trigger")}
        return (_rebuild, (ours, tuple(django_classes), self.args, state))


_BY_SQLSTATE[TRIGGER_ERROR] = TriggerError


class ProtectedError(TriggerError, sqlstate=PROTECTED):
    """``Protect`` refused the operation."""


class ReadOnlyError(ProtectedError, sqlstate=READ_ONLY):
    """``ReadOnly`` refused an update (a ``ProtectedError``, as ReadOnly is a Protect)."""


class InvalidTransitionError(TriggerError, sqlstate=INVALID_TRANSITION):
    """``FSM`` refused a transition; ``field``, ``old_value`` and ``new_value`` say which."""

    @property
    def field(self) -> str | None:
        return _text(self.detail.get("field"))

    @property
    def old_value(self) -> Any:
        return self.detail.get("old")

    @property
    def new_value(self) -> Any:
        return self.detail.get("new")


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _lookup_trigger(
    uri: str | None, pgid: str | None
) -> tuple[str, type[models.Model], Trigger] | None:
    if uri is None and pgid is not None:
        uri = registry.uri_of(pgid)
    if uri is None:
        return None
    found = registry.entry(uri)
    return None if found is None else (uri, *found)


def _rebuild(
    ours: type[TriggerError],
    django_classes: tuple[type[db_utils.DatabaseError], ...],
    args: tuple[Any, ...],
    state: dict[str, Any],
) -> TriggerError:
    error = _typed_class(ours, django_classes)(*args)
    error.__dict__.update(state)
    found = _lookup_trigger(error.uri, error.pgid)
    if found is not None:
        error.uri, error.model, error.trigger = found
    return error


_TYPED_CLASSES: dict[tuple[type[Any], ...], type[TriggerError]] = {}


def _typed_class(
    ours: type[TriggerError], django_classes: tuple[type[db_utils.DatabaseError], ...]
) -> type[TriggerError]:
    """``ours`` combined with the django.db classes it is not already, made once per set."""
    bases: list[type[Exception]] = [ours]
    for cls in django_classes:
        if not any(issubclass(b, cls) for b in bases):
            bases.append(cls)
    key = tuple(bases)
    cached = _TYPED_CLASSES.get(key)
    if cached is not None:
        return cached
    if len(bases) == 1:
        made = ours
    else:
        namespace = {
            "__module__": ours.__module__,
            "__qualname__": ours.__qualname__,
            "_dynamic": True,
        }
        made = type(ours.__name__, key, namespace)
    return _TYPED_CLASSES.setdefault(key, made)


@functools.cache
def _raise_exception_class(driver: str) -> type[db_utils.DatabaseError] | None:
    """The django.db class Django raises for a plain RAISE EXCEPTION (P0001) with ``driver``."""
    module = sys.modules.get(driver)
    lookup = getattr(getattr(module, "errors", None), "lookup", None)
    if lookup is None:
        return None
    try:
        driver_class = lookup("P0001")
    except KeyError:  # pragma: no cover - both drivers know P0001
        return None
    for cls in driver_class.__mro__:
        django_class = getattr(db_utils, cls.__name__, None)
        if isinstance(django_class, type) and issubclass(django_class, db_utils.DatabaseError):
            return django_class
    return None  # pragma: no cover


# -- translation -------------------------------------------------------------------------------


def _driver_error(exc: BaseException) -> BaseException | None:
    """The driver's exception behind ``exc`` (Django chains it as ``__cause__``).

    Only a driver's exception counts. ``TransactionManagementError`` ("You can't execute
    queries until the end of the 'atomic' block") is raised by Django itself with the
    earlier, caught error as its cause: a refusal seen there is an older, unrelated one.
    """
    if isinstance(exc, db_utils.Error):
        if isinstance(exc, TransactionManagementError):
            return None
        cause = exc.__cause__
        return None if isinstance(cause, db_utils.Error) else cause
    return exc


def sqlstate_of(exc: BaseException) -> str | None:
    """The SQLSTATE of a psycopg 2 or 3 error, or of the Django error wrapping one."""
    cause = _driver_error(exc)
    if cause is None:
        return None
    code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    return code if isinstance(code, str) else None


def translate(exc: BaseException) -> TriggerError | None:
    """The typed error for ``exc`` if a trigger raised it with a TG SQLSTATE, else None.

    ``exc`` may be a ``django.db`` error or a raw psycopg 2/3 error (e.g. from COPY).
    """
    if isinstance(exc, TriggerError):
        return None
    code = sqlstate_of(exc)
    if code is None or not code.startswith(SQLSTATE_CLASS):
        return None
    cause = _driver_error(exc)
    diag = getattr(cause, "diag", None)
    message = getattr(diag, "message_primary", None) or str(exc)
    detail: dict[str, Any] = {}
    raw = getattr(diag, "message_detail", None)
    if raw:
        with contextlib.suppress(ValueError):
            parsed = json.loads(raw)
            if isinstance(parsed, dict):
                detail = parsed
    ours = _BY_SQLSTATE.get(code, TriggerError)
    django_classes: list[type[db_utils.DatabaseError]] = []
    if isinstance(exc, db_utils.DatabaseError):
        django_classes.append(type(exc))
    driver = type(cause).__module__.partition(".")[0]
    legacy = _raise_exception_class(driver)
    if legacy is not None:
        django_classes.append(legacy)
    args = exc.args if isinstance(exc, db_utils.Error) else (str(exc),)
    error = _typed_class(ours, tuple(django_classes))(*args)
    error._fill(code, message, detail)
    return error


def translate_execute(
    execute: Callable[..., Any],
    sql_text: str,
    params: Any,
    many: bool,
    context: dict[str, Any],
) -> Any:
    """The execute wrapper: re-raise trigger refusals as their typed errors."""
    try:
        return execute(sql_text, params, many, context)
    except db_utils.DatabaseError as exc:
        typed = translate(exc)
        if typed is None:
            raise
        raise typed.with_traceback(exc.__traceback__) from exc.__cause__


@contextlib.contextmanager
def translate_errors() -> Iterator[None]:
    """Translate trigger refusals raised outside ``cursor.execute``.

    For errors the execute wrapper cannot see: deferred (constraint) triggers that fire at
    COMMIT, psycopg's ``cursor.copy()``, or a raw driver cursor::

        with pgtrigger_live.translate_errors(), transaction.atomic():
            ...
    """
    try:
        yield
    except Exception as exc:
        typed = translate(exc)
        if typed is None:
            raise
        cause = exc.__cause__ if isinstance(exc, db_utils.Error) else exc
        raise typed.with_traceback(exc.__traceback__) from cause


def _enabled() -> bool:
    from django.conf import settings

    return bool(getattr(settings, SETTING, True))


def add_to_connection(connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """Install the wrapper on one PostgreSQL connection (idempotent).

    Inserted first (outermost), like django-read-only does: ``connection.execute_wrapper()``
    blocks pop the *last* wrapper on exit, so appending could be undone by one of them.
    """
    if connection.vendor == "postgresql" and translate_execute not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, translate_execute)


def install_translation() -> None:
    """Translate trigger refusals on every PostgreSQL connection, now and when opened later.

    Called by the app config; does nothing when ``PGTRIGGER_LIVE_TYPED_ERRORS = False``.
    """
    from django.db import connections
    from django.db.backends.signals import connection_created

    if not _enabled():
        return
    connection_created.connect(add_to_connection, dispatch_uid="pgtrigger_live.runtime.errors")
    for connection in connections.all(initialized_only=True):
        add_to_connection(connection)


def uninstall_translation() -> None:
    """Undo ``install_translation`` for this thread's connections and future ones."""
    from django.db import connections
    from django.db.backends.signals import connection_created

    connection_created.disconnect(dispatch_uid="pgtrigger_live.runtime.errors")
    for connection in connections.all(initialized_only=True):
        while translate_execute in connection.execute_wrappers:
            connection.execute_wrappers.remove(translate_execute)
