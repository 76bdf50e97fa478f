"""Exception hierarchy: every error raised by pgtrigger_live derives from PgTriggerLiveError."""

from __future__ import annotations

from django.core.exceptions import FieldDoesNotExist
from django.db import NotSupportedError


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


class LockTimeoutError(InstallError):
    """A table or the reconcile lock stayed busy through every retry."""
