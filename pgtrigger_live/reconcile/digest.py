"""A digest of a declaration, computed without rendering it: "nothing changed" at no cost.

Compiling a trigger renders its condition through Django's query compiler and its function
body from templates; a reconcile of hundreds of triggers spends most of its time there. The
digest instead hashes everything the rendered SQL is a function of:

* the trigger's class and its whole state (``vars()``: name, when, operation, level,
  condition tree, func, declare, timing, referencing, and each subclass's own arguments);
* the model: label, table, and for every field its name, attname, column, class and the
  options a condition or template reads (null, primary key, auto_now...);
* the source of the modules that render SQL, Django's version and the server's major
  version, so an upgrade of any of them can never be taken for "unchanged".

It is recorded in the trigger's comment when the trigger is signed; a reconcile that finds
the same digest there takes the comment's hashes as the code's and renders nothing. When the
digest cannot be trusted it is None and the declaration is compiled in full, as before: a
class this module does not know (a subclass may override any hook), a value whose SQL could
depend on code outside the digest (a date, an expression, a custom field's own conversion),
a template reading attributes beyond columns and table names.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import string
import sys
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import django
from django.conf import settings
from django.db import models

from pgtrigger_live.declare import changes, clauses, conditions, contrib, triggers

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

#: Classes whose SQL is a function of their state alone (none overrides ``render_execute``:
#: each runs a generated function). Matched exactly: a subclass is compiled in full.
TRUSTED_TRIGGERS: frozenset[type[triggers.Trigger]] = frozenset(
    {
        triggers.Trigger,
        contrib.Composer,
        contrib.Protect,
        contrib.ReadOnly,
        contrib.SoftDelete,
        contrib.FSM,
        contrib.UpdateSearchVector,
    }
)
_CONDITIONS: frozenset[type[Any]] = frozenset(
    {
        conditions.Condition,
        conditions._Combined,
        conditions._Negated,
        changes.AnyChange,
        changes.AllChange,
        changes.AnyDontChange,
        changes.AllDontChange,
    }
)
#: Template attributes whose value is a name, never an object's representation.
_TEMPLATE_ATTRS = {
    "columns": 1,  # {columns.<field>}
    "cond_old_values": 0,
    "cond_new_values": 0,
    "cond_joined_values": 0,
}
_FIELD_ATTRS = frozenset({"column", "name", "attname"})
_META_ATTRS = frozenset({"db_table", "label", "label_lower", "app_label", "model_name"})
#: Lookups whose SQL Django and this package define (``df``/``ndf``: conditions.py).
_LOOKUPS = frozenset(
    {
        "exact",
        "iexact",
        "gt",
        "gte",
        "lt",
        "lte",
        "in",
        "contains",
        "icontains",
        "startswith",
        "istartswith",
        "endswith",
        "iendswith",
        "range",
        "isnull",
        "regex",
        "iregex",
        "df",
        "ndf",
    }
)
#: The modules whose code turns a declaration into SQL; their source is part of the digest,
#: with every module of the ``pgtrigger_live.declare`` package (so a module added or split
#: there is covered without being listed).
_RENDERING_MODULES = (
    "pgtrigger_live.reconcile.compiler",
    "pgtrigger_live.reconcile.digest",
    "pgtrigger_live.naming",
    "pgtrigger_live.sql",
)
_RENDERING_PACKAGE = "pgtrigger_live.declare"
#: Field options a condition or a contrib trigger may read while rendering.
_FIELD_OPTIONS = (
    "null",
    "primary_key",
    "auto_now",
    "auto_now_add",
    "max_length",
    "max_digits",
    "decimal_places",
)


class _Untrusted(Exception):
    """Part of the declaration's SQL may come from code the digest does not cover (the
    message says which part: it is logged at DEBUG, see ``Digester.digest``)."""


logger = logging.getLogger("pgtrigger_live")


@cache
def render_source() -> str:
    """A hash of the source of the modules that render SQL (read once per process).

    A release, or an edit in a checkout, that changes how SQL is rendered changes every
    digest: the next reconcile compiles in full and records the new digests (comments only).
    """
    hasher = hashlib.blake2b(digest_size=16)
    for name, path in rendering_sources():
        hasher.update(name.encode())
        try:
            hasher.update(path.read_bytes() if path else b"")
        except OSError:  # no source (a zipped or frozen install): the version must do
            top = sys.modules.get("pgtrigger_live")
            hasher.update(getattr(top, "__version__", "?").encode())
    return hasher.hexdigest()


def rendering_sources() -> list[tuple[str, Path | None]]:
    """Each module whose source is part of the digest, with its file."""
    package = importlib.import_module(_RENDERING_PACKAGE)
    folder = Path(package.__file__ or "").parent
    paths = [(name, _source_path(name)) for name in _RENDERING_MODULES]
    paths += [
        (f"{_RENDERING_PACKAGE}:{path.relative_to(folder)}", path)
        for path in sorted(folder.rglob("*.py"))
    ]
    return paths


def _source_path(name: str) -> Path | None:
    path = getattr(importlib.import_module(name), "__file__", None)
    return Path(path) if path else None


class _Canon:
    """Turns declaration values into one unambiguous text, or raises _Untrusted.

    Objects shared by many declarations (Row, Update, a Func...) are written once per
    Digester: the texts are kept by identity for as long as it lives (one reconcile).
    """

    def __init__(self) -> None:
        self.memo: dict[int, tuple[object, str, bool]] = {}
        #: A literal that a field converts (a condition's value, SoftDelete's value) was seen.
        self.literals = False

    def value(self, value: Any) -> str:
        kind = type(value)
        if kind is str or value is None:
            return repr(value)
        known = self.memo.get(id(value))
        if known is not None and known[0] is value:
            self.literals |= known[2]
            return known[1]
        if kind in _PLAIN_TYPES:
            return repr(value)
        outer, self.literals = self.literals, False
        if kind in (list, tuple):
            text = f"{kind.__name__}[{','.join([self.value(v) for v in value])}]"
        elif kind is dict:
            items = sorted((self.value(k), self.value(v)) for k, v in value.items())
            text = "dict{" + ",".join([f"{k}:{v}" for k, v in items]) + "}"
        elif kind in _Q_TYPES:
            text = self.q(value)
        elif kind in _F_TYPES:
            text = f"F({value.name!r})"
        elif kind is triggers.Func:
            text = f"Func({_template(value.func)!r})"
        elif kind in _CLAUSES or kind in _CONDITIONS:
            text = self.state(value)
        else:
            raise _Untrusted(f"a value of type {kind.__qualname__}")
        # The object is kept with its text, so its id cannot be reused by another meanwhile.
        self.memo[id(value)] = (value, text, self.literals)
        self.literals |= outer
        return text

    def literal(self, value: Any) -> str:
        """A value a field converts: trusted only for fields whose code Django defines."""
        kind = type(value)
        if kind in _PLAIN_TYPES:
            if value is not None:
                self.literals = True
            return repr(value)
        if kind in (list, tuple):
            return f"{kind.__name__}[{','.join([self.literal(v) for v in value])}]"
        return self.value(value)

    def q(self, q: models.Q) -> str:
        parts = []
        for child in q.children:
            if type(child) is tuple and len(child) == 2:
                key, value = child
                _check_lookup(key)
                parts.append(f"{key!r}={self.literal(value)}")
            else:
                parts.append(self.value(child))
        return f"Q({q.connector},{q.negated},[{','.join(parts)}])"

    def state(self, obj: Any) -> str:
        """The class and every instance attribute (slots included), in the order set.

        The same code sets the same attributes in the same order; another order only gives
        another digest (compiled and signed again), never a false match: names are included.
        """
        kind = type(obj)
        attrs = getattr(obj, "__dict__", None) or {}
        slots = _slots(kind)
        if slots:
            attrs = {name: getattr(obj, name, None) for name in slots} | attrs
        memo, parts = self.memo, []
        for name, item in attrs.items():  # value() inlined for the common cases: hot loop
            if item is None or type(item) is str:
                parts.append(f"{name}={item!r}")
                continue
            known = memo.get(id(item))
            if known is not None and known[0] is item:
                self.literals |= known[2]
                parts.append(f"{name}={known[1]}")
            else:
                parts.append(f"{name}={self.value(item)}")
        return f"{_class_path(kind)}({','.join(parts)})"


_SLOTS: dict[type, tuple[str, ...]] = {}


def _slots(kind: type) -> tuple[str, ...]:
    """Every slot of a class and its bases (the clause values keep their name in one)."""
    known = _SLOTS.get(kind)
    if known is None:
        names: list[str] = []
        for klass in reversed(kind.__mro__):
            declared = klass.__dict__.get("__slots__", ())
            names.extend([declared] if isinstance(declared, str) else declared)
        skip = ("__dict__", "__weakref__")
        known = _SLOTS[kind] = tuple(n for n in dict.fromkeys(names) if n not in skip)
    return known


_PLAIN_TYPES = frozenset({str, int, float, bool, type(None)})
_Q_TYPES = frozenset({models.Q, conditions.Q})
_F_TYPES = frozenset({models.F, conditions.F})
_CLAUSES = frozenset(
    {
        clauses.Level,
        clauses.When,
        clauses.Operation,
        clauses.Operations,
        clauses.UpdateOf,
        clauses.Timing,
        clauses.Referencing,
    }
)


def _check_lookup(key: str) -> None:
    """``old__<field>[__<lookup>]``: anything else (a transform, a custom lookup) is untrusted."""
    if not isinstance(key, str):
        raise _Untrusted(f"the condition key {key!r}, which is not a string")
    parts = key.split("__")
    if len(parts) > 3 or (len(parts) == 3 and parts[2] not in _LOOKUPS):
        raise _Untrusted(f"the lookup {key!r} (a transform, or a lookup Django does not define)")


def _template(text: str) -> str:
    """Check that a Func template reads names only (columns, table, field names)."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:  # rendering raises a clear error; compile to get it
        raise _Untrusted(f"the Func template {text!r}, which does not parse") from exc
    for _, field_name, spec, conversion in parsed:
        if field_name is None:
            continue
        if spec or conversion or "[" in field_name:
            raise _Untrusted(f"the Func template's {{{field_name}}} (a format spec or index)")
        head, *rest = field_name.split(".")
        if head in _TEMPLATE_ATTRS and len(rest) == _TEMPLATE_ATTRS[head]:
            continue
        if head == "fields" and len(rest) == 2 and rest[1] in _FIELD_ATTRS:
            continue
        if head == "meta" and (
            (len(rest) == 1 and rest[0] in _META_ATTRS)
            or rest in (["pk", "column"], ["pk", "name"])
        ):
            continue
        raise _Untrusted(f"the Func template's {{{field_name}}} (not a column or table name)")
    return text


def _field(field: models.Field[Any, Any]) -> tuple[Any, ...]:
    kind = type(field)
    attrs = field.__dict__
    # Every target of a relation (``target_field`` raises for a multi-column ForeignObject).
    targets = getattr(field, "foreign_related_fields", ())
    return (
        field.name,
        field.attname,
        field.column,
        _class_path(kind),
        tuple(map(attrs.get, _FIELD_OPTIONS)),
        tuple([(_class_path(type(target)), target.column) for target in targets]),
    )


_PATHS: dict[type, str] = {}


def _class_path(kind: type) -> str:
    path = _PATHS.get(kind)
    if path is None:
        path = _PATHS[kind] = f"{kind.__module__}.{kind.__qualname__}"
    return path


def _fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    """The fields stored for the model, its MTI parents' included (``Options.fields`` minus
    the fields without a column): read from the lists Django fills when the class is made,
    not from ``fields``, which Django computes on first use (most of the cost here)."""
    meta = model._meta
    fields = list(meta.local_fields)
    for parent in meta.get_parent_list():
        fields.extend(parent._meta.local_fields)
    return fields


def _own_code(field: models.Field[Any, Any]) -> bool:
    """A field class defined outside Django: its value conversion is not in the digest."""
    return not type(field).__module__.startswith("django.")


class Digester:
    """Digests of declarations for one database connection; model parts computed once."""

    def __init__(self, vendor: str, server_major: int) -> None:
        # USE_TZ and TIME_ZONE: Django converts date/time literals with them, and the
        # converted value (its UTC offset) is written into the WHEN clause.
        zone = (settings.USE_TZ, settings.TIME_ZONE)  # Django's defaults always set both
        self.base = f"{render_source()} {django.__version__} {vendor} {server_major} {zone}"
        self._models: dict[type[models.Model], tuple[bytes, bool]] = {}
        self._canon = _Canon()

    def _model(self, model: type[models.Model]) -> tuple[bytes, bool]:
        """The hashed prefix of every digest on ``model``, and whether a field has its own
        class (then literals are not trusted)."""
        known = self._models.get(model)
        if known is None:
            meta = model._meta
            concrete = meta.concrete_model
            assert concrete is not None
            fields = _fields(model)
            text = repr(
                (
                    self.base,
                    meta.label,
                    meta.db_table,
                    concrete._meta.label,
                    meta.pk.name if meta.pk is not None else None,
                    [_field(f) for f in fields],
                )
            )
            prefix = hashlib.blake2b(text.encode(), digest_size=16).digest()
            known = (prefix, any(_own_code(f) for f in fields))
            self._models[model] = known
        return known

    def digest(self, model: type[models.Model], trigger: triggers.Trigger) -> str | None:
        """The declaration's digest, or None when only compiling it can say what it gives.

        Each None is logged at DEBUG with its reason: what to change to make a slow no-op
        reconcile fast (every declaration without a digest is compiled at every reconcile).
        """
        if type(trigger) not in TRUSTED_TRIGGERS:
            return _without(model, trigger, f"{type(trigger).__qualname__} is not a built-in class")
        canon = self._canon
        # Their values (the soft-delete value, the FSM states) are converted by the field.
        canon.literals = type(trigger) in (contrib.SoftDelete, contrib.FSM)
        try:
            state = canon.state(trigger)
        except _Untrusted as exc:
            return _without(model, trigger, str(exc))
        except RecursionError:
            return _without(model, trigger, "a condition nested too deep")
        prefix, own_code = self._model(model)
        if canon.literals and own_code:
            return _without(model, trigger, "a value converted by a field class of the project")
        return hashlib.blake2b(prefix + state.encode(), digest_size=12).hexdigest()

    @classmethod
    def for_connection(cls, connection: BaseDatabaseWrapper) -> Digester:
        """For the server behind ``connection`` (which this opens, to learn its version)."""
        return cls(connection.vendor, getattr(connection, "pg_version", 0) // 10000)


def _without(model: type[models.Model], trigger: triggers.Trigger, reason: str) -> str | None:
    """No digest (None), saying why at DEBUG."""
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "pgtrigger_live: %s has no declaration digest (%s): compiled at every reconcile",
            trigger.get_uri(model),
            reason,
        )
    return None
