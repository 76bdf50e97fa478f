"""Trigger URIs and Postgres ids: the only place names are made.

The id rule is django-pgtrigger's, ``pgtrigger_{name}_{sha1(uri)[:5]}`` lower-cased, so a
database that django-pgtrigger manages is adopted in place instead of rebuilt.
"""

from __future__ import annotations

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


def make_pgid(uri: str, name: str) -> str:
    """Postgres name of the trigger and of its function.

    Hashed before lower-casing, as django-pgtrigger does, so ``Foo`` and ``foo`` differ.
    Names over 47 characters keep a prefix plus a digest of the full name, staying at 63.
    """
    if len(name) > MAX_DECLARED_NAME_LENGTH:  # validate_name bypassed (a subclass, a mock)
        raise DeclarationError(
            f'Trigger name "{name}" is longer than {MAX_DECLARED_NAME_LENGTH} characters '
            f"(> {MAX_DECLARED_NAME_LENGTH})."
        )
    digest = hashlib.sha1(uri.encode()).hexdigest()[:5]
    if len(name) <= MAX_NAME_LENGTH:
        pgid = f"{PREFIX}{name}_{digest}"
    else:
        name_digest = hashlib.sha1(name.encode()).hexdigest()[:5]
        keep = MAX_NAME_LENGTH - len(name_digest) - 1
        pgid = f"{PREFIX}{name[:keep]}_{name_digest}_{digest}"
    pgid = pgid.lower()
    assert len(pgid.encode()) <= MAX_IDENTIFIER_BYTES  # guaranteed by the arithmetic above
    return pgid


def split_uri(uri: str) -> tuple[str, str]:
    """Split ``app.Model:name`` into its label and trigger name, or raise a clear error."""
    label, sep, name = uri.partition(":")
    if not sep or not label or not name or "." not in label:
        raise DeclarationError(
            'Trigger URI must be in the format of "app_label.model_name:trigger_name", that is '
            f'"app_label.ModelName:trigger_name" with the model\'s class name; got "{uri}".'
        )
    return label, name
