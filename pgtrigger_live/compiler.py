"""Turn (model, trigger) into the CompiledTrigger the database should hold. Pure: no queries.

The hash covers what defines the trigger and nothing incidental: the clause parts (not the
table or schema, so one definition hashes the same in every tenant schema) and the exact
function source. Template whitespace changes in pgtrigger_live therefore change nothing
unless they change the SQL Postgres stores.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from django.db import models

from pgtrigger_live.clauses import Row
from pgtrigger_live.conditions import compiling_for
from pgtrigger_live.exceptions import DeclarationError
from pgtrigger_live.state import CompiledTrigger, Signature
from pgtrigger_live.triggers import Trigger

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

#: The ignore check every generated function starts with. ``current_setting(..., true)``
#: returns NULL when unset: no EXCEPTION block (a subtransaction per row) is needed.
IGNORE_GUC = "pgtrigger.ignore"
IGNORE_CHECK = (
    "IF TG_NAME = ANY(coalesce(nullif(current_setting('pgtrigger.ignore', true), '')::text[],"
    " '{}')) THEN\n"
    "    IF TG_OP = 'DELETE' THEN RETURN OLD; ELSE RETURN NEW; END IF;\n"
    "  END IF;"
)


def _body(trigger: Trigger, model: type[models.Model]) -> str:
    declare = trigger.render_declare(model)
    func = trigger.render_func(model).strip()
    head = f"\n{declare}" if declare else ""
    return f"{head}\nBEGIN\n  {IGNORE_CHECK}\n  {func}\nEND;\n"


def _clause_hash(parts: list[object]) -> str:
    # repr() of str/bool/None is stable across Python versions; \x1f never occurs in SQL.
    return hashlib.sha1("\x1f".join(map(repr, parts)).encode()).hexdigest()


def compile_trigger(
    model: type[models.Model], trigger: Trigger, connection: BaseDatabaseWrapper | None = None
) -> CompiledTrigger:
    """Compile one trigger for one model. Raises DeclarationError naming both on bad input."""
    try:
        # Conditions resolved anywhere in the trigger's hooks (e.g. a Composer's statement-level
        # templates) compile with this connection, not the default alias.
        with compiling_for(connection):
            condition = trigger.render_condition(model, connection)
            execute = trigger.render_execute(model)
            body = _body(trigger, model) if execute is None else None
            events = trigger.render_operation(model)
    except DeclarationError as exc:
        uri = trigger.get_uri(model)
        message = str(exc)
        # Same class (UnknownFieldError, ...), so callers can still catch what they expect.
        raise type(exc)(message if uri in message else f"{uri}: {message}") from exc
    assert trigger.when is not None
    constraint = trigger.timing is not None
    timing = f"DEFERRABLE INITIALLY {trigger.timing}" if trigger.timing is not None else None
    referencing = trigger.referencing.render() if trigger.referencing is not None else None
    level = str(trigger.level or Row)
    clause = [constraint, str(trigger.when), events, level, timing, referencing, condition, execute]
    body_md5 = hashlib.md5((body or "").encode(), usedforsecurity=False).hexdigest()
    return CompiledTrigger(
        uri=trigger.get_uri(model),
        pgid=trigger.get_pgid(model),
        db_table=model._meta.db_table,
        constraint=constraint,
        when=str(trigger.when),
        events=events,
        level=level,
        timing=timing,
        referencing=referencing,
        condition=condition,
        execute=execute,
        body=body,
        signature=Signature(clause_hash=_clause_hash(clause), body_md5=body_md5),
        shape=_shape(trigger),
    )


_WHEN_BITS = {"BEFORE": 1 << 1, "AFTER": 0, "INSTEAD OF": 1 << 6}
_EVENT_BITS = {"INSERT": 1 << 2, "DELETE": 1 << 3, "UPDATE": 1 << 4, "TRUNCATE": 1 << 5}


def _shape(trigger: Trigger) -> int:
    """What pg_trigger.tgtype (and the deferrable flags) must say for this declaration.

    Compared with the catalog so a trigger re-created by hand with other timing, level,
    events or deferrability is not taken for installed just because it kept our comment.
    """
    assert trigger.operation is not None
    shape = 1 if trigger.level == Row else 0
    shape |= _WHEN_BITS[str(trigger.when)]
    for event in trigger.operation.events:
        shape |= _EVENT_BITS[event]
    if trigger.timing is not None:
        shape |= 256 | (512 if str(trigger.timing) == "DEFERRED" else 0)
    return shape
