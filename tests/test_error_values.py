"""Error translation and statement text helpers on plain values (no server, no database)."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from django.db import utils as db_utils

from pgtrigger_live.runtime import errors, wrapper
from pgtrigger_live.runtime.errors import TriggerError, sqlstate_of, translate


def test_errors_without_a_driver_error_are_not_translated() -> None:
    assert sqlstate_of(db_utils.DatabaseError("no cause")) is None
    assert translate(db_utils.DatabaseError("no cause")) is None
    assert translate(ValueError("not a database error")) is None
    assert errors._raise_exception_class("no_such_driver") is None


def test_a_plain_trigger_error_survives_pickling() -> None:
    error = TriggerError("raised by hand")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is TriggerError
    assert copy.args == ("raised by hand",)


def test_statement_text_for_classification() -> None:
    assert wrapper._text("SELECT 1", None) == "SELECT 1"
    assert wrapper._text(b"SELECT \xff", None) == "SELECT \ufffd"
    assert wrapper._text(memoryview(b"SELECT 2"), None) == "SELECT 2"
    assert wrapper._text(42, None) == "42"
    assert wrapper._prefixed("SET x; ", bytearray(b"SELECT 1")) == b"SET x; SELECT 1"


def test_django_pgtrigger_setting_names_are_read_when_ours_are_absent(settings: Any) -> None:
    from pgtrigger_live import conf

    settings.PGTRIGGER_PRUNE_ON_INSTALL = False
    assert conf.prune_on_install() is False
    settings.PGTRIGGER_LIVE_PRUNE_ON_INSTALL = True
    assert conf.prune_on_install() is True  # ours wins
    del settings.PGTRIGGER_LIVE_PRUNE_ON_INSTALL
    del settings.PGTRIGGER_PRUNE_ON_INSTALL
    assert conf.prune_on_install() is True  # the default


def test_a_bad_busy_table_policy_is_refused(settings: Any) -> None:
    from django.core.exceptions import ImproperlyConfigured

    from pgtrigger_live import conf

    settings.PGTRIGGER_LIVE_ON_BUSY_TABLE = "wait"
    with pytest.raises(ImproperlyConfigured, match="must be one of fail, defer, not 'wait'"):
        conf.on_busy_table()
