"""django-tenants from PyPI, end to end: tests/tenantproject/scenario.py in a child process
against a database of its own (django-tenants' settings cannot share this process)."""

from __future__ import annotations

import pytest

from tests.conftest import run_scenario

pytest.importorskip("django_tenants")


@pytest.mark.django_db(transaction=True)
def test_django_tenants_end_to_end() -> None:
    run_scenario("tests.tenantproject.scenario", "tests.tenantproject.settings", "pgtl_tenants")
