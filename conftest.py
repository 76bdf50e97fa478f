"""Give the test suite a real PostgreSQL.

With ``DATABASE_URL`` set, that server is used (the role needs CREATEDB: pytest-django creates
``test_<name>[_gwN]`` databases). Otherwise the single pytest process, or the xdist controller,
starts one throwaway server (pgtrigger_live/testing/postgres.py) and exports its URL, which
the xdist workers inherit; pytest-django then gives every worker databases of its own.
"""

from __future__ import annotations

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    from pgtrigger_live.testing import postgres as pgtest
    from tests.settings import build_databases

    worker = hasattr(config, "workerinput")
    idle = config.getoption("help", False) or config.getoption("collectonly", False)
    # mutmut runs only the pure test files ([tool.mutmut] in pyproject.toml): no server.
    idle = idle or "MUTANT_UNDER_TEST" in os.environ
    if not os.environ.get("DATABASE_URL") and not worker and not idle:
        server = pgtest.start_throwaway_server()
        os.environ["DATABASE_URL"] = server.url
        config.add_cleanup(server.stop)  # cleanups run last-in first-out
        config.add_cleanup(lambda: os.environ.pop("DATABASE_URL", None))
    if not os.environ.get("DATABASE_URL"):
        return

    # pytest-django has imported the settings (and maybe the connection handler, which keeps
    # references to these very dicts) before this hook runs, so update them in place.
    from django.conf import settings

    for alias, fresh in build_databases(os.environ["DATABASE_URL"]).items():
        current = settings.DATABASES.setdefault(alias, {})
        current.setdefault("TEST", {}).update(fresh.pop("TEST"))
        current.update({"OPTIONS": {}, **fresh})
