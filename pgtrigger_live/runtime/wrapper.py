"""The execute wrapper: one per connection, always installed, idle unless a block is active.

It applies the current context's values (context.py) to the statements Django sends, using only
transaction-local settings:

* **Autocommit, statement by itself**: ``SET LOCAL ...; `` is put in front of the statement
  (one message, one implicit transaction, zero extra round trips). Where a message cannot
  hold two statements (psycopg 3 server-side binding with parameters, psycopg 3
  ``executemany``, named cursors), the statement runs in a short explicit transaction
  instead: ``BEGIN; SET LOCAL ...`` (one round trip), the statement, ``COMMIT``.
* **Inside a transaction**: one separate ``SELECT set_config(..., true)`` when the value the
  server holds for this transaction differs from the wanted one, and nothing after that. The
  value the server held before is read back by that same statement, so leaving a block puts
  it back exactly (again transaction-locally). Savepoints are followed: ``ROLLBACK TO``
  reverts the setting on the server, and the tracker reverts with it.

The ignore value goes only to statements that can fire a trigger (statements.classify); the
search_path of ``schema()`` goes to every statement that can run in a transaction block.
Nothing is ever sent while the transaction is aborted.

**Citus** (docs/citus.md): the triggers of distributed and reference tables fire on the
workers, which see a setting only if it was made by a ``SET LOCAL`` message of its own while
``citus.propagate_set_commands`` is ``'local'``. Where a database has Citus, a write in
autocommit takes the short transaction with that message, and a change inside a transaction
sends the message after the ``set_config`` statement. Whether it has Citus is learnt without a
statement of its own where possible (``learn_citus``): a server that did not report
``search_path`` at connect time has no Citus; inside a transaction the ``set_config``
statement also reads ``citus.version`` (a query follows only where the library is loaded);
only a write in autocommit, on a server that reports ``search_path`` (PostgreSQL 18 does),
asks, once per process and database while the answer is no. Other databases then pay one
boolean test per statement.
"""

from __future__ import annotations

import sys
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from django.db import connections
from django.utils.connection import ConnectionProxy

from pgtrigger_live import citus
from pgtrigger_live.runtime import statements
from pgtrigger_live.runtime.context import CURRENT, EMPTY, AliasState, RuntimeState
from pgtrigger_live.runtime.statements import GUCS, IGNORE, Kind, SavepointOp

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

# libpq's PQtransactionStatus values (psycopg 2 and 3 both report these integers).
IDLE, ACTIVE, INTRANS, INERROR = 0, 1, 2, 3

Execute = Callable[[Any, Any, bool, dict[str, Any]], Any]
_NOT_SYNCED = object()
_UNKNOWN = "\x00unknown"  # a value no setting can hold (NUL): "differs from anything"

# The driver is looked up on first use, not at import: importing pgtrigger_live must work
# without a Postgres driver (docs builds, type checking).
_PSYCOPG3 = False
_CLIENT_CURSOR: type[Any] | None = None
_LOADED = False


def _load_driver() -> None:
    global _PSYCOPG3, _CLIENT_CURSOR, _LOADED
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    if is_psycopg3:
        import psycopg

        _CLIENT_CURSOR = psycopg.ClientCursor
    _PSYCOPG3, _LOADED = is_psycopg3, True


def _status(raw: Any) -> int:
    if _PSYCOPG3:
        return int(raw.pgconn.transaction_status)
    return int(raw.get_transaction_status())


def _can_prefix(raw_cursor: Any, params: Any, many: bool) -> bool:
    """True if one message can carry ``SET LOCAL ...; <statement>``.

    psycopg2 always interpolates client-side and sends one simple-protocol message. psycopg 3
    does so with a ClientCursor (Django's default) or without parameters; otherwise it uses
    the extended protocol, one statement per message, and so does its executemany (a
    pipeline). Named (server-side) cursors wrap the query in DECLARE: never touched.
    """
    if not _PSYCOPG3:
        return not getattr(raw_cursor, "name", None)
    if many:
        return False
    kind = type(raw_cursor)
    client = _CLIENT_CURSOR_TYPES.get(kind)
    if client is None:
        client = _CLIENT_CURSOR_TYPES[kind] = _CLIENT_CURSOR is not None and issubclass(
            kind, _CLIENT_CURSOR
        )
    return client or (params is None and not getattr(raw_cursor, "name", None))


#: psycopg 3 cursor class -> whether it interpolates client-side (a ClientCursor).
_CLIENT_CURSOR_TYPES: dict[type[Any], bool] = {}


def _text(sql: Any, raw_cursor: Any) -> str:
    """The statement as text, for classification only (never sent)."""
    if isinstance(sql, str):
        return sql
    if isinstance(sql, bytes | bytearray | memoryview):
        return bytes(sql).decode("utf-8", "replace")
    as_string = getattr(sql, "as_string", None)  # psycopg.sql / psycopg2.sql Composable
    if as_string is not None:
        return str(as_string(raw_cursor))
    return str(sql)


def _prefixed(prefix: str, sql: Any) -> Any:
    """``prefix + sql`` for bytes and Composable, never adding or moving a parameter."""
    if isinstance(sql, bytes | bytearray | memoryview):
        return prefix.encode() + bytes(sql)
    module = sys.modules[type(sql).__module__]  # psycopg.sql or psycopg2.sql
    return module.SQL(prefix) + sql


class ConnectionRuntime:
    """The execute wrapper of one connection, and what it knows of the server's settings.

    ``txn`` holds, for each setting this wrapper changed in the open transaction, the value
    the server now has; ``base`` the value it had before the first change. Both are empty
    outside a transaction and whenever nothing was changed, which is what keeps the wrapper
    on its fast path (one ContextVar read and one truth test).
    """

    __slots__ = (
        "__weakref__",
        "alias",
        "base",
        "citus",
        "citus_sure",
        "savepoints",
        "shard_ignore",
        "synced",
        "txn",
    )

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.txn: dict[str, str] = {}
        self.base: dict[str, str] = {}
        self.savepoints: list[tuple[str, dict[str, str], dict[str, str]]] = []
        #: The AliasState (None: no block) whose values the open transaction holds exactly,
        #: so that no statement needs anything; _NOT_SYNCED when unknown or different.
        self.synced: object = _NOT_SYNCED
        #: Whether the connection's database has the Citus extension; None until learnt.
        self.citus: bool | None = None
        #: False while ``citus`` is only what another connection learnt (it may be stale).
        self.citus_sure = False
        #: ignore value -> the value the Citus workers need (shard trigger names added).
        self.shard_ignore: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"<pgtrigger_live runtime wrapper alias={self.alias!r} txn={self.txn!r}>"

    def reset(self) -> None:
        self.txn = {}
        self.base = {}
        self.savepoints = []
        self.synced = _NOT_SYNCED
        DIRTY.discard(self)

    def _note_sync(self, alias_state: AliasState | None) -> None:
        """Remember whether the open transaction now holds exactly what ``alias_state`` wants."""
        self.synced = _NOT_SYNCED if self._wanted(alias_state, Kind.WRITE) else alias_state

    # -- the wrapper -----------------------------------------------------------------------

    def __call__(
        self, execute: Execute, sql: Any, params: Any, many: bool, context: dict[str, Any]
    ) -> Any:
        state = CURRENT.get()
        if state is EMPTY and not self.txn:
            return execute(sql, params, many, context)
        # The two common cases inside a block are handled here with as little work as
        # possible (every statement of the block pays for it): a plain-text statement in
        # autocommit, and one in a transaction that already holds what this context wants.
        # Everything else, and every first sight of a transaction, goes through _apply.
        if type(sql) is str:
            alias_state = state.aliases.get(self.alias)
            raw = context["connection"].connection
            status = raw.pgconn.transaction_status if _PSYCOPG3 else raw.get_transaction_status()
            if status == INTRANS:
                if self.synced is alias_state and statements.classify(sql) is not Kind.TRANSACTION:
                    return execute(sql, params, many, context)
            elif status == IDLE and raw.autocommit and not self.txn and not self.savepoints:
                return self._autocommit(alias_state, execute, sql, params, many, context)
        return self._apply(state, execute, sql, params, many, context)

    def _apply(
        self,
        state: RuntimeState,
        execute: Execute,
        sql: Any,
        params: Any,
        many: bool,
        context: dict[str, Any],
    ) -> Any:
        connection: BaseDatabaseWrapper = context["connection"]
        raw = connection.connection
        status = _status(raw)
        alias_state = state.aliases.get(self.alias)
        if status == IDLE:
            if self.txn or self.savepoints:
                self.reset()  # the transaction we followed has ended
            if raw.autocommit:
                return self._autocommit(alias_state, execute, sql, params, many, context)
        kind = statements.classify(_text(sql, context["cursor"].cursor))
        if kind is Kind.TRANSACTION:
            return self._transaction_statement(connection, execute, sql, params, many, context)
        if status not in (IDLE, INTRANS) or kind is Kind.NO_TRANSACTION:
            return execute(sql, params, many, context)  # aborted (or busy): send nothing
        # In a transaction, or about to open one (autocommit off): one separate statement
        # when the server holds something else, then the statement as written.
        wanted = self._wanted(alias_state, kind)
        if wanted:
            self._send(connection, wanted)
        self._note_sync(alias_state)
        return execute(sql, params, many, context)

    def _autocommit(
        self,
        alias_state: AliasState | None,
        execute: Execute,
        sql: Any,
        params: Any,
        many: bool,
        context: dict[str, Any],
    ) -> Any:
        """A statement that is its own transaction: the settings go in the same message.

        Every statement of a block in autocommit comes here: kept to a few dictionary
        lookups (the statement's kind is cached by text) besides the driver's own work.
        """
        if alias_state is None:
            return execute(sql, params, many, context)
        raw_cursor = context["cursor"].cursor
        kind = statements.classify(sql if isinstance(sql, str) else _text(sql, raw_cursor))
        if kind is Kind.WRITE:
            prefix, sets = alias_state.write_prefix, alias_state.write_sets
        elif kind is Kind.READ:
            prefix, sets = alias_state.read_prefix, alias_state.read_sets
        else:  # CALL/DO may commit inside; transaction control; no-transaction statements
            return execute(sql, params, many, context)
        if not prefix:
            return execute(sql, params, many, context)
        if self.citus is not False and kind is Kind.WRITE:
            return self._citus_write(alias_state, prefix, execute, sql, params, many, context)
        if not _can_prefix(raw_cursor, params, many):
            connection: BaseDatabaseWrapper = context["connection"]
            return self._in_short_transaction(
                connection, prefix, execute, sql, params, many, context
            )
        if params is not None and "%" in prefix:
            prefix = prefix.replace("%", "%%")  # the driver will interpolate this message
        result = execute(
            prefix + sql if isinstance(sql, str) else _prefixed(prefix, sql), params, many, context
        )
        if _PSYCOPG3:
            # Step over each SET LOCAL's result (one or two) to the statement's own: rowcount,
            # RETURNING rows and fetch*() are then the statement's, as without the prefix.
            raw_cursor.nextset()
            if sets > 1:
                raw_cursor.nextset()
        return result

    def _citus_write(
        self,
        alias_state: AliasState,
        prefix: str,
        execute: Execute,
        sql: Any,
        params: Any,
        many: bool,
        context: dict[str, Any],
    ) -> Any:
        """A write in autocommit on a database that has, or may have, Citus.

        The settings cannot share the statement's message there: Citus forwards a SET's whole
        message text to the workers, which then run the statement as well and refuse it
        (``cannot execute a distributed query from a query on a shard``). So the settings go
        in a short transaction of their own, behind ``citus.propagate_set_commands``.
        """
        connection: BaseDatabaseWrapper = context["connection"]
        if self.citus is None:
            self.learn_citus(connection)
            if not self.citus:
                return self._autocommit(alias_state, execute, sql, params, many, context)
        if alias_state.ignore_value is not None:
            ignore = self._shard_ignore(connection, alias_state.ignore_value)
            prefix = statements.set_local(ignore, alias_state.schemas or None)
        return self._in_short_transaction(
            connection,
            f"{citus.PROPAGATE} {prefix}",
            execute,
            sql,
            params,
            many,
            context,
        )

    def _shard_ignore(self, connection: BaseDatabaseWrapper, value: str) -> str:
        """``value`` with the shard names of the triggers it names (citus.SHARD_IGNORE).

        Looked up once per connection and value: shards made later (a split, a table
        distributed since) are seen by new connections (docs/citus.md).
        """
        shard_value = self.shard_ignore.get(value)
        if shard_value is None and not value:
            return value  # nothing ignored (a value put back): nothing to look up
        if shard_value is None:
            with connection.wrap_database_errors, connection.connection.cursor() as cursor:
                cursor.execute(citus.SHARD_IGNORE, [value, value])
                row = cursor.fetchone()
            shard_value = self.shard_ignore[value] = str(row[0]) if row else value
        return shard_value

    def _wanted(
        self, alias_state: AliasState | None, kind: Kind, *, force: bool = False
    ) -> dict[str, str]:
        """The settings to send before a statement of ``kind``: name -> value.

        A setting is wanted when the context has a value for it, or when this wrapper changed
        it earlier in the transaction (then the value from before goes back), and the server
        holds something else (``force``: whatever it holds).
        """
        wanted = {}
        for guc in GUCS:
            if guc == IGNORE and kind is Kind.READ:
                continue
            value = alias_state.value(guc) if alias_state is not None else None
            if value is None:
                if guc not in self.txn:
                    continue
                value = self.base[guc]
            if force or self.txn.get(guc) != value:
                wanted[guc] = value
        return wanted

    # -- sending ---------------------------------------------------------------------------

    def _send(self, connection: BaseDatabaseWrapper, wanted: Mapping[str, str]) -> None:
        """Set ``wanted`` in the open (or opening) transaction with one separate statement.

        The same statement reads back what the server held, which becomes the value to put
        back when the blocks end (``base``): on the first change in the transaction, and
        when raw SQL changed the setting while only ``base`` was in place (between two
        blocks), as django-pgtrigger reads the search_path when a block is entered. A change
        raw SQL makes inside a block is overwritten when the block ends, as there.
        """
        self.synced = _NOT_SYNCED
        read_back = list(wanted)
        raw = connection.connection
        ask = not self.citus_sure and not self._hint(raw, stale_ok=False)
        with connection.wrap_database_errors, raw.cursor() as cursor:
            cursor.execute(statements.set_config(wanted, read_back, citus.LOADED if ask else None))
            row = cursor.fetchone()
            if ask:
                # No Citus library, no Citus; where it is loaded, is the extension here?
                loaded = row is not None and row[-1] is not None
                self._learnt(raw, loaded and has_citus(connection))
            if self.citus and IGNORE in wanted:
                # set_config is not forwarded to the workers; the coordinator keeps its value
                # from the statement above (read back), the workers get this one.
                ignore = self._shard_ignore(connection, wanted[IGNORE])
                cursor.execute(statements.citus_ignore(ignore))
        for i, guc in enumerate(read_back):
            held = (row[i] if row else None) or ""
            believed = self.txn.get(guc)
            if believed is None or (believed == self.base[guc] and held != believed):
                self.base[guc] = held
        self.txn.update(wanted)
        DIRTY.add(self)

    def _in_short_transaction(
        self,
        connection: BaseDatabaseWrapper,
        prefix: str,
        execute: Execute,
        sql: Any,
        params: Any,
        many: bool,
        context: dict[str, Any],
    ) -> Any:
        """Autocommit fallback: ``BEGIN; SET LOCAL ...`` (one round trip), the statement, COMMIT.

        Used where one message cannot carry two statements. A statement alone in autocommit
        is its own transaction, and so is this one (psycopg 3's executemany is one implicit
        transaction already), so atomicity is unchanged.
        """
        raw = connection.connection
        with connection.wrap_database_errors, raw.cursor() as cursor:
            cursor.execute(f"BEGIN; {prefix}")
        try:
            result = execute(sql, params, many, context)
        except BaseException:
            if _status(raw) != IDLE:
                with connection.wrap_database_errors, raw.cursor() as cursor:
                    cursor.execute("ROLLBACK")
            raise
        with connection.wrap_database_errors, raw.cursor() as cursor:
            cursor.execute("COMMIT")
        return result

    # -- savepoints ------------------------------------------------------------------------

    def _transaction_statement(
        self,
        connection: BaseDatabaseWrapper,
        execute: Execute,
        sql: Any,
        params: Any,
        many: bool,
        context: dict[str, Any],
    ) -> Any:
        result = execute(sql, params, many, context)
        op = statements.savepoint_op(_text(sql, context["cursor"].cursor))
        if op is not None and _status(connection.connection) == INTRANS:
            self._follow_savepoint(connection, *op)
        return result

    def _follow_savepoint(
        self, connection: BaseDatabaseWrapper, op: SavepointOp, name: str
    ) -> None:
        if op is SavepointOp.CREATE:
            self.savepoints.append((name, dict(self.txn), dict(self.base)))
            return
        index = next(
            (i for i in range(len(self.savepoints) - 1, -1, -1) if self.savepoints[i][0] == name),
            None,
        )
        if op is SavepointOp.RELEASE:
            if index is not None:
                del self.savepoints[index:]
            return
        # ROLLBACK TO: the server reverted the settings to what they were at the savepoint.
        self.synced = _NOT_SYNCED
        if index is None:
            # A savepoint this wrapper did not see: whether it came before or after our
            # changes is unknown, so the server's values are too; the next sync re-sends.
            self.txn = dict.fromkeys(self.txn, _UNKNOWN)
            self.savepoints = []
            if not self.txn:
                self.reset()
        else:
            _, txn, base = self.savepoints[index]
            self.txn, self.base = dict(txn), dict(base)
            del self.savepoints[index + 1 :]
            if not self.txn:
                DIRTY.discard(self)
        self.sync(connection)  # a block may have ended since: leave none of its values behind

    # -- whether the database has Citus -----------------------------------------------------

    def _hint(self, raw: Any, *, stale_ok: bool) -> bool:
        """Learn what can be known without a statement; True when ``citus`` is now set.

        The server's connect-time report settles it when it lacks ``search_path`` (Citus is
        not loaded: ``citus.REPORTED_WITH_CITUS``). ``stale_ok``: else take "no Citus" from
        another connection of this process to the same server and database.
        """
        if _reported(raw, citus.REPORTED_WITH_CITUS) is None:
            self.citus, self.citus_sure = False, True
            return True
        if stale_ok and _server(raw) in _NO_CITUS:
            self.citus, self.citus_sure = False, False
            return True
        return False

    def _learnt(self, raw: Any, present: bool) -> None:
        """The database answered: keep it for this connection, and for the process."""
        self.citus, self.citus_sure = present, True
        if present:
            _NO_CITUS.discard(_server(raw))
        else:
            _NO_CITUS.add(_server(raw))

    def learn_citus(self, connection: BaseDatabaseWrapper, *, stale_ok: bool = True) -> bool:
        """Whether the connection's database has Citus, asking only what nothing else told.

        For a write in autocommit (``stale_ok``: a "no" another connection learnt will do) and
        for constraints() (it will not: a wrong "no" there would let the call do nothing).
        """
        if self.citus is None or not (self.citus_sure or stale_ok):
            raw = connection.connection
            if not self._hint(raw, stale_ok=stale_ok):
                self._learnt(raw, has_citus(connection))
        return bool(self.citus)

    # -- used by the blocks ----------------------------------------------------------------

    def sync(self, connection: BaseDatabaseWrapper) -> None:
        """Put back, in the open transaction, what the current context wants (after a block
        ended or a savepoint was rolled back). Sends nothing unless this wrapper changed a
        setting in this transaction and the server now holds a value nobody wants; never
        sends in an aborted transaction (its rollback takes the values away anyway)."""
        if not self.txn:
            return
        raw = connection.connection
        status = _status(raw) if raw is not None else IDLE
        if status == IDLE:
            self.reset()
        elif status == INTRANS:
            alias_state = CURRENT.get().aliases.get(self.alias)
            wanted = self._wanted(alias_state, Kind.WRITE)
            if wanted:
                self._send(connection, wanted)
            self._note_sync(alias_state)

    def send_now(self, connection: BaseDatabaseWrapper) -> bool:
        """For set_local(): send the current values to the open transaction, whatever the
        tracker believes (raw SQL may have changed them). False when not in a transaction."""
        raw = connection.connection
        status = _status(raw)
        if status == IDLE:
            self.reset()
            if raw.autocommit:
                return False
        elif status != INTRANS:
            return False
        alias_state = CURRENT.get().aliases.get(self.alias)
        wanted = self._wanted(alias_state, Kind.WRITE, force=True)
        if wanted:
            self._send(connection, wanted)
        self._note_sync(alias_state)
        return True


#: (host, port, database) of the databases this process learnt to have no Citus: a write in
#: autocommit on a new connection to one of them does not ask again (docs/citus.md says what a
#: database that gains Citus while the process runs does to it).
_NO_CITUS: set[tuple[object, ...]] = set()


def _reported(raw: Any, name: str) -> str | None:
    """A parameter the server reported (at connect time, or since): no round trip."""
    if _PSYCOPG3:
        return raw.info.parameter_status(name)  # type: ignore[no-any-return]
    return raw.get_parameter_status(name)  # type: ignore[no-any-return]


def _server(raw: Any) -> tuple[object, ...]:
    """Where a driver connection is connected: the key of ``_NO_CITUS``."""
    info = raw.info
    return (info.host, info.port, info.dbname)


def forget_citus() -> None:
    """Forget what this process learnt of its databases' Citus (tests; after adding Citus)."""
    _NO_CITUS.clear()


def has_citus(connection: BaseDatabaseWrapper) -> bool:
    """One query: does this connection's database have the Citus extension?"""
    with connection.wrap_database_errors, connection.connection.cursor() as cursor:
        cursor.execute(citus.HAS_CITUS)
        row = cursor.fetchone()
    return bool(row and row[0])


# -- installation ------------------------------------------------------------------------------

#: The wrappers (of any thread) that changed a setting in a transaction that may still be open:
#: a block's exit only looks for connections to restore when this is not empty.
DIRTY: weakref.WeakSet[ConnectionRuntime] = weakref.WeakSet()

_RUNTIMES: weakref.WeakKeyDictionary[BaseDatabaseWrapper, ConnectionRuntime] = (
    weakref.WeakKeyDictionary()
)


def _real(connection: BaseDatabaseWrapper) -> BaseDatabaseWrapper:
    """``django.db.connection`` is a proxy (unhashable): the wrapper object it stands for."""
    if isinstance(connection, ConnectionProxy):
        return connections[connection.alias]
    return connection


def runtime_of(connection: BaseDatabaseWrapper) -> ConnectionRuntime | None:
    return _RUNTIMES.get(_real(connection))


def install(connection: BaseDatabaseWrapper) -> ConnectionRuntime | None:
    """Put the wrapper on ``connection`` (Postgres only) unless it is there; idempotent.

    Inserted first (index 0), never appended. Django's ``connection.execute_wrapper(w)``
    block appends ``w`` on entry and pops the *last* entry on exit, whatever it is. Our
    wrapper is often created inside such a block: a new thread (a ``sync_to_async`` worker,
    a threaded server) opens its connection inside ``pghistory.context()``, and
    ``connection_created`` fires there. Appended, ours would be the last entry then, and
    the block's exit would remove ours and leave theirs installed for good. At index 0 it
    sits below every entry an open block appended, so each exit pops the entry that block
    added and never ours, in any order of blocks, threads and reconnections; we never
    remove an entry either. (django-read-only inserts at 0 for the same reason.)

    Index 0 is the outermost wrapper: wrappers of ``execute_wrapper()`` blocks run inside
    it and see the ``SET LOCAL`` prefix of autocommit statements (as they did when ours was
    appended before their block); ones inserted at 0 later (the typed error translation,
    django-read-only when its app comes after ours in INSTALLED_APPS, whose
    ``connection_created`` receivers then run after ours) run outside it and see the
    statement as written. No position is safe from pops other than the first.
    """
    connection = _real(connection)
    if connection.vendor != "postgresql":
        return None
    if not _LOADED:
        _load_driver()
    runtime = _RUNTIMES.get(connection)
    if runtime is None:
        runtime = _RUNTIMES[connection] = ConnectionRuntime(connection.alias)
    if not any(wrapper is runtime for wrapper in connection.execute_wrappers):
        connection.execute_wrappers.insert(0, runtime)
    return runtime


def on_connection_created(sender: object, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """``connection_created`` receiver: a new session starts with nothing set."""
    runtime = install(connection)
    if runtime is not None:
        runtime.reset()
        runtime.citus = None  # learnt again: the alias may now point at another database
        runtime.citus_sure = False
        runtime.shard_ignore = {}
