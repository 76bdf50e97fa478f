"""States a documentation example starts from, named by ``<!-- example: setup=NAME -->``.

Each function changes the database (or the registry) the way the page describes it; the next
page's reset (a full install, which prunes, and enable) puts everything back.
"""

from __future__ import annotations

from django.db import connection

import pgtrigger_live as pgtrigger
from tests.docsproject.shop.models import Account, Order


def drifted() -> None:
    """One trigger edited by hand, one disabled, one dropped, one removed from the code."""
    gone = pgtrigger.Protect(name="no_updates", operation=pgtrigger.Update)
    gone.register(Account)
    pgtrigger.install("shop.Account:no_updates")
    gone.unregister(Account)
    pgtrigger.disable("shop.Invoice:no_truncate")
    pgtrigger.uninstall("shop.Order:status_flow")
    priority = pgtrigger.status("shop.Order:priority_flow")[0].pgid
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE OR REPLACE TRIGGER {priority} BEFORE UPDATE OF priority ON shop_order "
            f"FOR EACH ROW EXECUTE FUNCTION {priority}()"
        )


def uninstalled_order() -> None:
    """The Order model's triggers are not installed yet (a new model before its deploy)."""
    pgtrigger.uninstall(Order)


def two_schemas() -> None:
    """Schemas ``sales`` and ``support``, each with its own copy of the Account table."""
    with connection.cursor() as cursor:
        for schema in ("sales", "support"):
            cursor.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            cursor.execute(f"CREATE SCHEMA {schema}")
            cursor.execute(
                f"CREATE TABLE {schema}.shop_account (LIKE public.shop_account INCLUDING ALL)"
            )
