"""Turn (model, trigger) into the CompiledTrigger the database should hold. Pure: no queries.

The hash covers what defines the trigger and nothing incidental: the clause parts (not the
table or schema, so one definition hashes the same in every tenant schema) and the exact
function source. Template whitespace changes in pgtrigger_live therefore change nothing
unless they change the SQL Postgres stores.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from django.db import models

from pgtrigger_live.declare.clauses import Row
from pgtrigger_live.declare.conditions import compiling_for
from pgtrigger_live.declare.triggers import Trigger, ignore_id
from pgtrigger_live.exceptions import DeclarationError, InstallError
from pgtrigger_live.reconcile.state import CompiledTrigger, RenderedSQL, Signature
from pgtrigger_live.sql import quote_literal

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

_T = TypeVar("_T")

#: The ignore check every generated function starts with. ``current_setting(..., true)``
#: returns NULL when unset: no EXCEPTION block (a subtransaction per row) is needed. Nearly
#: every row sees the setting unset (NULL) or put back (''): the CASE settles both with one
#: comparison, before TG_NAME is fetched or the text[] parsed (bench/CONDITIONAL.md). A NULL
#: or '' value ignores nothing, exactly as the previous ``coalesce(nullif(...))`` form did.
IGNORE_GUC = "pgtrigger.ignore"
IGNORE_CHECK = (
    "IF (CASE WHEN current_setting('pgtrigger.ignore', true) <> '' THEN\n"
    "        TG_NAME = ANY(current_setting('pgtrigger.ignore', true)::text[]) END) THEN\n"
    "    IF TG_OP = 'DELETE' THEN RETURN OLD; ELSE RETURN NEW; END IF;\n"
    "  END IF;"
)


def ignore_check(model: type[models.Model], trigger: Trigger) -> str:
    """IGNORE_CHECK, comparing the trigger's ignore id rather than TG_NAME if they differ.

    They differ only for triggers with an order, whose name changes with it: the function
    compares a fixed id instead, so a reorder is a rename that leaves the body as it is.
    """
    name = ignore_id(trigger, model)
    if name == trigger.get_pgid(model):
        return IGNORE_CHECK
    return IGNORE_CHECK.replace("TG_NAME", quote_literal(name))  # it occurs once


def _body(trigger: Trigger, model: type[models.Model]) -> str:
    declare = trigger.render_declare(model)
    func = trigger.render_func(model).strip()
    head = f"\n{declare}" if declare else ""
    return f"{head}\nBEGIN\n  {ignore_check(model, trigger)}\n  {func}\nEND;\n"


def _clause_hash(parts: list[object]) -> str:
    # repr() of str/bool/None is stable across Python versions; \x1f never occurs in SQL.
    return hashlib.sha1("\x1f".join(map(repr, parts)).encode()).hexdigest()


def _render(
    model: type[models.Model], trigger: Trigger, connection: BaseDatabaseWrapper | None
) -> tuple[RenderedSQL, list[object]]:
    """Render the SQL text, and the clause parts the clause hash covers."""

    def render() -> tuple[str, str | None, str | None, str]:
        condition = trigger.render_condition(model, connection)
        execute = trigger.render_execute(model)
        body = _body(trigger, model) if execute is None else None
        return condition, execute, body, trigger.render_operation(model)

    # Conditions resolved anywhere in the trigger's hooks (e.g. a Composer's statement-level
    # templates) compile with this connection, not the default alias.
    with compiling_for(connection):
        condition, execute, body, events = _guarded(model, trigger, render)
    assert trigger.when is not None
    constraint = trigger.timing is not None
    timing = f"DEFERRABLE INITIALLY {trigger.timing}" if trigger.timing is not None else None
    referencing = trigger.referencing.render() if trigger.referencing is not None else None
    level = str(trigger.level or Row)
    clause = [constraint, str(trigger.when), events, level, timing, referencing, condition, execute]
    return RenderedSQL(events, referencing, condition, execute, body), clause


def _guarded(model: type[models.Model], trigger: Trigger, render: Callable[[], _T]) -> _T:
    """``render()``, its DeclarationError naming the trigger's URI."""
    try:
        return render()
    except DeclarationError as exc:
        uri = trigger.get_uri(model)
        message = str(exc)
        # Same class (UnknownFieldError, ...), so callers can still catch what they expect.
        raise type(exc)(message if uri in message else f"{uri}: {message}") from exc


def _head(
    model: type[models.Model],
    trigger: Trigger,
    signature: Signature | Callable[[], Signature],
    has_body: bool,
    sql: RenderedSQL | Callable[[], RenderedSQL],
    uri: str | None = None,
    pgid: str | None = None,
) -> CompiledTrigger:
    assert trigger.when is not None
    return CompiledTrigger(
        uri=uri if uri is not None else trigger.get_uri(model),
        pgid=pgid if pgid is not None else trigger.get_pgid(model),
        db_table=model._meta.db_table,
        constraint=trigger.timing is not None,
        when=str(trigger.when),
        level=str(trigger.level or Row),
        timing=f"DEFERRABLE INITIALLY {trigger.timing}" if trigger.timing is not None else None,
        signed=signature,
        shape=trigger_shape(trigger),
        has_body=has_body,
        sql=sql,
    )


def compile_trigger(
    model: type[models.Model],
    trigger: Trigger,
    connection: BaseDatabaseWrapper | None = None,
    *,
    digest: str | None = None,
    uri: str | None = None,
    pgid: str | None = None,
) -> CompiledTrigger:
    """Compile one trigger for one model. Raises DeclarationError naming both on bad input.

    ``digest``: the declaration's digest (digest.py), recorded in the comment it signs.
    ``uri`` and ``pgid``: the trigger's, when the caller has them already.
    """
    rendered, signature = _rendered(model, trigger, connection, digest)
    return _head(model, trigger, signature, rendered.body is not None, rendered, uri, pgid)


def _rendered(
    model: type[models.Model],
    trigger: Trigger,
    connection: BaseDatabaseWrapper | None,
    digest: str | None,
) -> tuple[RenderedSQL, Signature]:
    rendered, clause = _render(model, trigger, connection)
    body_md5 = hashlib.md5((rendered.body or "").encode(), usedforsecurity=False).hexdigest()
    return rendered, Signature(clause_hash=_clause_hash(clause), body_md5=body_md5, digest=digest)


def pending_trigger(
    model: type[models.Model],
    trigger: Trigger,
    connection: BaseDatabaseWrapper | None,
    *,
    digest: str | None = None,
    uri: str | None = None,
    pgid: str | None = None,
) -> CompiledTrigger:
    """The trigger compiled on first use of its signature or SQL: what ``compile_trigger``
    gives, rendered later. For a first install, whose plan needs neither until its DDL is
    sent: the applier renders each round trip's triggers while the server runs the previous
    one. A bad declaration then fails inside the install's transaction (rolled back).
    """
    done: list[tuple[RenderedSQL, Signature]] = []

    def render() -> tuple[RenderedSQL, Signature]:
        if not done:
            done.append(_rendered(model, trigger, connection, digest))
        return done[0]

    with compiling_for(connection):
        has_body = _guarded(model, trigger, lambda: trigger.render_execute(model)) is None
    return _head(model, trigger, lambda: render()[1], has_body, lambda: render()[0], uri, pgid)


def deferred_trigger(
    model: type[models.Model],
    trigger: Trigger,
    connection: BaseDatabaseWrapper | None,
    signature: Signature,
    *,
    uri: str | None = None,
    pgid: str | None = None,
) -> CompiledTrigger:
    """The trigger as installed from the same declaration: ``signature`` is the comment of a
    trigger whose digest equals this declaration's, so it is what compiling would give.

    Nothing is rendered now; the SQL is rendered if an action needs it (the trigger was
    altered in the database), and then checked against ``signature``. Only for declarations
    that have a digest: those run their own function (``digest.TRUSTED_TRIGGERS``).
    ``uri`` and ``pgid``: the trigger's, when the caller has them already.
    """

    def render() -> RenderedSQL:
        compiled = compile_trigger(
            model, trigger, connection, digest=signature.digest, uri=uri, pgid=pgid
        )
        got, wanted = compiled.signature, signature
        if (got.clause_hash, got.body_md5) != (wanted.clause_hash, wanted.body_md5):
            raise InstallError(
                f"{compiled.uri}: a comment of trigger {compiled.pgid} records this "
                "declaration's digest with hashes its SQL does not give. Either that comment "
                f'was edited by hand (run COMMENT ON TRIGGER "{compiled.pgid}" ON <its table> '
                "IS NULL where it was: the next install replaces the trigger in place), or the "
                "digest misses something the SQL depends on (a bug; please report it). "
                "Nothing was changed."
            )
        return compiled.rendered

    return _head(model, trigger, signature, True, render, uri, pgid)


#: In a shape: a constraint trigger (``pg_trigger.tgconstraint`` set). Ours are always
#: deferrable; a NOT DEFERRABLE constraint trigger made by hand has the tgtype of a plain one.
CONSTRAINT_BIT = 1024
_WHEN_BITS = {"BEFORE": 1 << 1, "AFTER": 0, "INSTEAD OF": 1 << 6}
_EVENT_BITS = {"INSERT": 1 << 2, "DELETE": 1 << 3, "UPDATE": 1 << 4, "TRUNCATE": 1 << 5}


def trigger_shape(trigger: Trigger) -> int:
    """What pg_trigger.tgtype (and the deferrable and constraint flags) must say for this
    declaration.

    Compared with the catalog so a trigger re-created by hand with other timing, level,
    events or deferrability, or as a constraint trigger (or not), is not taken for installed
    just because it kept our comment.
    """
    assert trigger.operation is not None
    shape = 1 if trigger.level == Row else 0
    shape |= _WHEN_BITS[str(trigger.when)]
    for event in trigger.operation.events:
        shape |= _EVENT_BITS[event]
    if trigger.timing is not None:
        shape |= CONSTRAINT_BIT | 256 | (512 if str(trigger.timing) == "DEFERRED" else 0)
    return shape
