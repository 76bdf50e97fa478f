"""Trigger URIs and Postgres ids: the only place names are made.

The id rule is django-pgtrigger's, ``pgtrigger_{name}_{sha1(uri)[:5]}`` lower-cased, so a
database that django-pgtrigger manages is adopted in place instead of rebuilt.
"""

from __future__ import annotations

import functools
import hashlib
import re

from pgtrigger_live.exceptions import DeclarationError

PREFIX = "pgtrigger_"
#: Names up to this length give django-pgtrigger's exact id; longer ones are shortened.
MAX_NAME_LENGTH = 47
#: Hard cap on declared names; ids never exceed Postgres' 63-byte limit either way.
MAX_DECLARED_NAME_LENGTH = 100
MAX_IDENTIFIER_BYTES = 63

#: django-pgtrigger's rule: letters, digits, underscores and hyphens (ids are always quoted).
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def validate_name(name: object) -> str:
    """Return ``name`` if it can name a trigger, else raise DeclarationError saying why."""
    if not isinstance(name, str) or not name:
        raise DeclarationError('Trigger must have "name" attribute (a non-empty string).')
    if not _NAME.match(name):
        raise DeclarationError(
            f'Trigger name "{name}" has invalid characters. Only alphanumeric '
            "characters (letters, digits), underscores and hyphens are allowed."
        )
    if len(name) > MAX_DECLARED_NAME_LENGTH:
        raise DeclarationError(
            f'Trigger name "{name}" is longer than {MAX_DECLARED_NAME_LENGTH} characters.'
        )
    return name


def make_uri(label: str, name: str) -> str:
    """``app_label.ModelName:trigger_name``; ``label`` is ``model._meta.label``."""
    return f"{label}:{name}"


#: Orders a trigger may declare (``Trigger(order=...)``): four digits in its id.
MIN_ORDER, MAX_ORDER = 0, 9999
#: ``$`` sorts below every character a declared name can give (``[a-z0-9_-]``), so triggers
#: with an order fire before the others, and among themselves by the zero-padded number.
ORDER_MARK = "$"
_ORDERED = re.compile(r"^pgtrigger_\$(\d{4})_")


def validate_order(order: object) -> int | None:
    """Return ``order`` if a trigger can declare it, else raise DeclarationError saying why."""
    if order is None:
        return None
    if type(order) is not int or not MIN_ORDER <= order <= MAX_ORDER:
        raise DeclarationError(
            f"order must be a whole number from {MIN_ORDER} to {MAX_ORDER} (got {order!r}): "
            "triggers of one table, timing and event fire in ascending order."
        )
    return order


def make_pgid(uri: str, name: str, order: int | None = None) -> str:
    """Postgres name of the trigger and of its function.

    Hashed before lower-casing, as django-pgtrigger does, so ``Foo`` and ``foo`` differ.
    Names too long for 63 bytes keep a prefix plus a digest of the full name. Without an
    order this is django-pgtrigger's id exactly; with one, ``pgtrigger_$0010_...``: Postgres
    fires triggers of one event in name order, so the id is what carries the order.
    """
    if len(name) > MAX_DECLARED_NAME_LENGTH:  # validate_name bypassed (a subclass, a mock)
        raise DeclarationError(
            f'Trigger name "{name}" is longer than {MAX_DECLARED_NAME_LENGTH} characters '
            f"(> {MAX_DECLARED_NAME_LENGTH})."
        )
    return _pgid(uri, name, validate_order(order))


@functools.lru_cache(maxsize=8192)
def _pgid(uri: str, name: str, order: int | None) -> str:
    """make_pgid once its arguments are valid. Cached: a reconcile asks for each id several
    times (``order`` is a validated int or None, so equal keys mean equal ids)."""
    head = PREFIX if order is None else f"{PREFIX}{ORDER_MARK}{order:04d}_"
    fits = MAX_NAME_LENGTH - (len(head) - len(PREFIX))
    digest = hashlib.sha1(uri.encode()).hexdigest()[:5]
    if len(name) <= fits:
        pgid = f"{head}{name}_{digest}"
    else:
        name_digest = hashlib.sha1(name.encode()).hexdigest()[:5]
        keep = fits - len(name_digest) - 1
        pgid = f"{head}{name[:keep]}_{name_digest}_{digest}"
    pgid = pgid.lower()
    assert len(pgid.encode()) <= MAX_IDENTIFIER_BYTES  # guaranteed by the arithmetic above
    return pgid


def order_of(pgid: str) -> int | None:
    """The order an id carries (``pgtrigger_$0010_...`` -> 10), None for any other id."""
    match = _ORDERED.match(pgid)
    return int(match.group(1)) if match else None


def names_of(uri: str, name: str) -> tuple[str, str]:
    """What an installed trigger of this declaration may be called whatever its order was:
    the id without an order, and the id with its four digits blanked (``order_key``).

    The planner finds a trigger whose order changed by these, and renames it in place.
    """
    return make_pgid(uri, name), order_key(make_pgid(uri, name, MIN_ORDER))


def order_key(pgid: str) -> str:
    """``pgid`` with the digits of its order blanked: equal for every order of one trigger."""
    return _ORDERED.sub(f"{PREFIX}{ORDER_MARK}####_", pgid)  # anchored: one match at most


def split_uri(uri: str) -> tuple[str, str]:
    """Split ``app.Model:name`` into its label and trigger name, or raise a clear error."""
    label, sep, name = uri.partition(":")
    if not sep or not label or not name or "." not in label:
        raise DeclarationError(
            'Trigger URI must be in the format of "app_label.model_name:trigger_name", that is '
            f'"app_label.ModelName:trigger_name" with the model\'s class name; got "{uri}".'
        )
    return label, name
