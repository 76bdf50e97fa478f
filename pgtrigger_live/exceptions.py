"""Exception hierarchy: every error raised by pgtrigger_live derives from PgTriggerLiveError."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from django.core.exceptions import FieldDoesNotExist
from django.core.management.base import CommandError
from django.db import NotSupportedError


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'default'?"`` when a close name exists, else ``""``."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


class PgTriggerLiveError(Exception):
    """Base class, so callers can catch anything this library raises on purpose."""


class DeclarationError(PgTriggerLiveError, ValueError):
    """A trigger or condition is declared wrongly; raised before any SQL is sent.

    Subclasses ValueError because django-pgtrigger raised ValueError for the same mistakes.
    """


class UnknownFieldError(DeclarationError, FieldDoesNotExist):
    """A condition or trigger names a field the model does not have.

    Also Django's FieldDoesNotExist: that is what django-pgtrigger let through.
    """


class UnsupportedTriggerError(DeclarationError, NotSupportedError):
    """A clause combination Postgres rejects (row-level TRUNCATE, INSTEAD OF with a condition...).

    Raised when the trigger is declared; also ``django.db.NotSupportedError``, which
    django-pgtrigger's users saw when Postgres refused the CREATE TRIGGER.
    """


class DuplicateTriggerError(DeclarationError, KeyError):
    """Two registrations clash on a URI, a table + name or a Postgres id.

    Also a KeyError, the class django-pgtrigger's registry raised.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UnknownTriggerError(PgTriggerLiveError, KeyError):
    """A URI or selector matches no registered trigger."""

    def __str__(self) -> str:
        # KeyError.__str__ repr()s its argument; show the message as written.
        return str(self.args[0]) if self.args else ""


class InstallError(PgTriggerLiveError):
    """Applying a plan failed; the transaction was rolled back, the database is unchanged."""


class CitusUnsupportedError(InstallError):
    """A declared trigger cannot work on the Citus table kind of its table (docs/citus.md);
    refused before any DDL, so nothing was changed."""


class LockTimeoutError(InstallError):
    """A table or the reconcile lock stayed busy through every retry."""


class SchemaError(PgTriggerLiveError):
    """A schema to reconcile does not exist, or the schema list could not be read."""


class ConnectionLostError(InstallError):
    """The connection to the database was lost during a reconcile (and was not retried)."""


class MigrateReconcileError(InstallError, CommandError):
    """``migrate`` applied its migrations, then the trigger reconcile failed.

    A CommandError, so ``manage.py migrate`` ends in one line (status 1); an InstallError, so
    code that calls ``call_command("migrate")`` and catches InstallError keeps working.
    """


class StatsError(PgTriggerLiveError):
    """Trigger statistics cannot be given as asked (e.g. a saved reading that does not fit)."""


class StatsUnavailableError(StatsError):
    """PostgreSQL does not count function calls here (``track_functions`` is off)."""
