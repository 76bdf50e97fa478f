"""The harness itself: both database aliases reach a real PostgreSQL, as separate databases."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.db import connections

ALIASES = ["default", "other"]
pytestmark = pytest.mark.django_db(databases=ALIASES)


def scalar(alias: str, sql: str) -> Any:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql)
        row = cursor.fetchone()
    assert row is not None
    return row[0]


@pytest.mark.parametrize("alias", ALIASES)
def test_alias_reaches_postgresql(alias: str) -> None:
    assert connections[alias].vendor == "postgresql"
    assert scalar(alias, "SELECT version()").startswith("PostgreSQL ")
    assert int(scalar(alias, "SHOW server_version_num")) >= 140000  # Django 5.2's minimum
    assert scalar(alias, "SHOW server_encoding") == "UTF8"


def test_aliases_are_distinct_test_databases() -> None:
    names = {alias: scalar(alias, "SELECT current_database()") for alias in ALIASES}
    assert names["default"] != names["other"]
    assert all(name.startswith("test_") for name in names.values())
    if worker := os.environ.get("PYTEST_XDIST_WORKER"):  # per-worker databases
        assert all(name.endswith(f"_{worker}") for name in names.values())
    with connections["default"].cursor() as cursor:
        cursor.execute("CREATE TABLE harness_only_in_default (id int)")
    assert scalar("default", "SELECT to_regclass('harness_only_in_default')::text") is not None
    assert scalar("other", "SELECT to_regclass('harness_only_in_default')::text") is None


@pytest.mark.parametrize("alias", ALIASES)
def test_plpgsql_function_and_trigger(alias: str) -> None:
    with connections[alias].cursor() as cursor:
        cursor.execute("CREATE TABLE harness_counter (n int NOT NULL)")
        cursor.execute(
            "CREATE FUNCTION harness_bump() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN NEW.n := NEW.n + 1; RETURN NEW; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER harness_bump BEFORE INSERT ON harness_counter"
            " FOR EACH ROW EXECUTE FUNCTION harness_bump()"
        )
        cursor.execute("INSERT INTO harness_counter (n) VALUES (41)")
    assert scalar(alias, "SELECT n FROM harness_counter") == 42
