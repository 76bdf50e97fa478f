"""Citus, the project's own migrations and the runtime blocks, in a child process.

tests/test_citus.py runs it against a database of its own on the cluster's coordinator
(``DATABASE_URL``), with ``DJANGO_SETTINGS_MODULE=tests.citusproject.settings``, once per
driver. Every ignore() case deletes or updates rows held by each of the two workers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from io import StringIO

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import DatabaseError, connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

import pgtrigger_live as pgtrigger  # noqa: E402
from pgtrigger_live.exceptions import UnsupportedTriggerError  # noqa: E402
from pgtrigger_live.runtime import wrapper  # noqa: E402
from tests.citusproject.shop.models import Country, Memo, Note, Order  # noqa: E402

ORDER_DELETE = "shop.Order:protect_delete"
ORDER_UPDATE = "shop.Order:protect_update"
PROTECTED = "Cannot delete rows"
SHARD_OF = "get_shard_id_for_distribution_column('shop_order', %s)"


def sql(statement: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return list(cursor.fetchall()) if cursor.description else []


def refusal(action: Callable[[], object]) -> str:
    """The error ``action`` raises in a savepoint (or alone in autocommit), "" if none."""
    try:
        if connection.in_atomic_block:
            with transaction.atomic():
                action()
        else:
            action()
    except DatabaseError as exc:
        return str(exc)
    return ""


def delete_order(pk: int) -> Callable[[], object]:
    return lambda: sql("DELETE FROM shop_order WHERE id = %s", [pk])


def one_per_worker() -> tuple[int, ...]:
    """An order id held by each worker, as (worker A's, worker B's)."""
    rows = sql(
        "SELECT DISTINCT ON (s.nodeport) s.nodeport, o.id FROM shop_order o JOIN citus_shards s"
        " ON s.shardid = get_shard_id_for_distribution_column('shop_order', o.id)"
        " ORDER BY s.nodeport, o.id"
    )
    assert len(rows) == 2, f"rows are not on both workers: {rows}"
    return tuple(int(str(row[1])) for row in rows)


def fires_everywhere() -> None:
    """Nothing left behind: the trigger fires again on both workers and on the coordinator."""
    assert sql("SHOW citus.propagate_set_commands") == [("none",)]
    assert sql("SELECT current_setting('pgtrigger.ignore', true)")[0][0] in (None, "")
    for pk in one_per_worker():
        assert PROTECTED in refusal(delete_order(pk)), pk
    assert PROTECTED in refusal(lambda: Country.objects.all()._raw_delete("default"))
    assert PROTECTED in refusal(lambda: Note.objects.all()._raw_delete("default"))
    assert PROTECTED in refusal(lambda: Memo.objects.all()._raw_delete("default"))


def fill() -> None:
    with pgtrigger.ignore("shop.*"):
        for model in (Order, Country, Note, Memo):
            model.objects.all()._raw_delete("default")
        Order.objects.bulk_create([Order(amount=i) for i in range(20)])
        Country.objects.bulk_create([Country(code=c) for c in ("fr", "de", "it")])
        Note.objects.bulk_create([Note(text=t) for t in ("a", "b")])
        Memo.objects.bulk_create([Memo(text=t) for t in ("a", "b")])


def main() -> None:
    # The project's migrations create the tables and make them Citus tables (0002): migrate
    # installs the triggers on them from the coordinator, and a second run has nothing to do.
    call_command("migrate", verbosity=0)
    kinds = dict(sql("SELECT table_name::text, citus_table_type FROM citus_tables"))
    assert kinds == {
        "shop_order": "distributed",
        "shop_country": "reference",
        "shop_memo": "local",
    }, kinds
    with CaptureQueriesContext(connection) as ctx:
        call_command("pgtrigger", "install", verbosity=0)
    assert not [q for q in ctx.captured_queries if "TRIGGER" in q["sql"]]

    # ls: the table kind of each trigger, in a column and in --json.
    kinds_of = {
        "shop.Country:protect_delete": "reference",
        "shop.Memo:protect_delete": "citus local",
        "shop.Memo:protect_update": "citus local",
        "shop.Note:protect_delete": "plain",
        "shop.Order:protect_delete": "distributed",
        "shop.Order:protect_insert_of_one_more_row_with_a_long_name": "distributed",
        "shop.Order:protect_update": "distributed",
    }
    out = StringIO()
    call_command("pgtrigger", "ls", stdout=out, no_color=True)
    for uri, kind in kinds_of.items():
        assert f"INSTALLED ENABLED  {kind.ljust(11)} {uri}\n" in out.getvalue(), out.getvalue()
    out = StringIO()
    call_command("pgtrigger", "ls", "--json", stdout=out)
    listed = {e["uri"]: e["table_kind"] for e in json.loads(out.getvalue())}
    assert listed == kinds_of, listed

    fill()
    a, b = one_per_worker()
    fires_everywhere()

    # ignore() in autocommit: each statement its own transaction, on each worker.
    with pgtrigger.ignore(ORDER_DELETE):
        for pk in (a, b):
            assert refusal(delete_order(pk)) == "", (pk, refusal(delete_order(pk)))
        assert not Order.objects.filter(id__in=(a, b)).exists()
        assert PROTECTED in refusal(lambda: Country.objects.all()._raw_delete("default"))
    with pgtrigger.ignore(ORDER_UPDATE):  # one UPDATE over the shards of both workers
        assert Order.objects.update(amount=7) == 18
    with pgtrigger.ignore(
        "shop.Country:protect_delete", "shop.Note:protect_delete", "shop.Memo:protect_delete"
    ):
        Country.objects.filter(code="fr")._raw_delete("default")
        Note.objects.filter(text="a")._raw_delete("default")
        Memo.objects.filter(text="a")._raw_delete("default")
    assert set(Country.objects.values_list("code", flat=True)) == {"de", "it"}
    assert list(Note.objects.values_list("text", flat=True)) == ["b"]
    assert list(Memo.objects.values_list("text", flat=True)) == ["b"]
    fires_everywhere()

    # ignore() inside a transaction; after the block, in the same transaction, it fires again.
    fill()
    a, b = one_per_worker()
    with transaction.atomic():
        with pgtrigger.ignore(
            ORDER_DELETE, "shop.Country:protect_delete", "shop.Memo:protect_delete"
        ):
            Order.objects.filter(id=a).delete()
            Order.objects.filter(id=b).delete()
            Country.objects.filter(code="fr").delete()
            Memo.objects.filter(text="a").delete()
        assert not Order.objects.filter(id__in=(a, b)).exists()
        a2, b2 = one_per_worker()
        for pk in (a2, b2):
            assert PROTECTED in refusal(delete_order(pk)), pk
        assert PROTECTED in refusal(lambda: Country.objects.all()._raw_delete("default"))
        assert PROTECTED in refusal(lambda: Memo.objects.all()._raw_delete("default"))
        with pgtrigger.ignore(ORDER_DELETE):  # a second block in the same transaction
            Order.objects.filter(id__in=(a2, b2)).delete()
    assert Order.objects.count() == 16
    assert Country.objects.count() == 2
    assert Memo.objects.count() == 1
    fires_everywhere()

    # A 63-byte trigger name: on the shards Citus shortens it and adds a hash; ignore() follows.
    long_uri = "shop.Order:protect_insert_of_one_more_row_with_a_long_name"
    ports = {
        int(str(sql(f"SELECT nodeport FROM citus_shards WHERE shardid = {SHARD_OF}", [i])[0][0])): i
        for i in range(1000, 1040)
    }
    assert len(ports) == 2, ports
    new = [Order(id=i) for i in ports.values()]
    assert "Cannot insert rows" in refusal(lambda: Order.objects.bulk_create(new[:1]))
    assert "Cannot insert rows" in refusal(lambda: Order.objects.bulk_create(new[1:]))
    with pgtrigger.ignore(long_uri):
        Order.objects.bulk_create(new[:1])
        with transaction.atomic():
            Order.objects.bulk_create(new[1:])
    assert Order.objects.filter(id__in=ports.values()).count() == 2

    # schema(): the coordinator resolves names in the block's schemas, with ignore() too.
    sql("CREATE SCHEMA IF NOT EXISTS nowhere")
    a, b = one_per_worker()
    with pgtrigger.schema("nowhere"):  # a write with a schema only: no ignore value to send
        assert "does not exist" in refusal(delete_order(a))
    with pgtrigger.schema("nowhere"), pgtrigger.ignore(ORDER_DELETE):
        assert "does not exist" in refusal(delete_order(a))
        with transaction.atomic():
            assert "does not exist" in refusal(delete_order(a))
    with pgtrigger.schema("public"), pgtrigger.ignore(ORDER_DELETE):
        assert refusal(delete_order(a)) == ""
        with transaction.atomic():
            assert refusal(delete_order(b)) == ""
    fires_everywhere()

    # constraints(): SET CONSTRAINTS does not reach the workers (measured below), so it is
    # refused for a trigger of a distributed table, before anything is sent.
    pgid = str(sql("SELECT tgname FROM pg_trigger WHERE tgname LIKE '%%protect_update%%'")[0][0])
    with transaction.atomic():
        sql(f'SET CONSTRAINTS "{pgid}" DEFERRED')
        assert "Cannot update rows" in refusal(lambda: Order.objects.update(amount=1))
    # On a Citus local table the trigger fires on the coordinator's shard, under the shard's
    # name: SET CONSTRAINTS by the trigger's name does not reach it either.
    pgid = str(sql("SELECT tgname FROM pg_trigger WHERE tgrelid = 'shop_memo'::regclass"
                   " AND tgname LIKE '%%protect_update%%'")[0][0])  # fmt: skip
    with transaction.atomic():
        sql(f'SET CONSTRAINTS "{pgid}" DEFERRED')
        assert "Cannot update rows" in refusal(lambda: Memo.objects.update(text="z"))
    with transaction.atomic():
        try:
            pgtrigger.constraints("Deferred", "shop.Memo:protect_update")
        except UnsupportedTriggerError as exc:
            assert "Citus table (citus local)" in str(exc), str(exc)  # noqa: PT017
        else:
            raise AssertionError("constraints() on a Citus local table was not refused")
    with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
        try:
            pgtrigger.constraints("Deferred", ORDER_UPDATE)
        except UnsupportedTriggerError as exc:
            message = str(exc)
        else:
            raise AssertionError("constraints() on a distributed table was not refused")
    assert '"protect_update"' in message, message
    assert "Citus table (distributed)" in message, message
    assert not [q for q in ctx.captured_queries if "SET CONSTRAINTS" in q["sql"]]

    learning_whether_there_is_citus()
    print("runtime scenario passed")


def learning_whether_there_is_citus() -> None:
    """A Citus coordinator reports search_path at connect time, so the runtime must ask: in a
    transaction the set_config statement carries the question. A "no" this process learnt
    before Citus came (simulated) misleads a write in autocommit, the case docs/citus.md
    describes: the workers do not see the value and the trigger fires; the next block in a
    transaction on any new connection asks again for free, and the write is right again."""
    wrapper.forget_citus()
    connection.close()
    connection.ensure_connection()
    runtime = wrapper.runtime_of(connection)
    assert runtime is not None
    assert runtime.citus is None
    a, b = one_per_worker()
    with transaction.atomic(), pgtrigger.ignore(ORDER_DELETE):
        Order.objects.filter(id=a).delete()
    assert (runtime.citus, runtime.citus_sure) == (True, True)
    assert not wrapper._NO_CITUS

    connection.close()
    connection.ensure_connection()
    runtime = wrapper.runtime_of(connection)
    assert runtime is not None
    wrapper._NO_CITUS.add(wrapper._server(connection.connection))  # learnt before Citus came
    with pgtrigger.ignore(ORDER_DELETE):
        assert PROTECTED in refusal(delete_order(b))  # the workers did not get the value
        assert (runtime.citus, runtime.citus_sure) == (False, False)
        with transaction.atomic():
            Order.objects.filter(id=b).delete()
        assert (runtime.citus, runtime.citus_sure) == (True, True)
        assert not wrapper._NO_CITUS
        for pk in one_per_worker():
            assert refusal(delete_order(pk)) == "", pk
    fires_everywhere()


if __name__ == "__main__":
    main()
