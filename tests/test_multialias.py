"""Several aliases on one physical database, each migrated in turn, twice: no trigger is ever
dropped (tests/multialias/scenario.py in a child process, on a database of its own)."""

from __future__ import annotations

import pytest

from tests.conftest import run_scenario


@pytest.mark.django_db(transaction=True)
def test_three_aliases_on_one_database() -> None:
    run_scenario("tests.multialias.scenario", "tests.multialias.settings", "pgtl_multialias")
