"""Every built-in on tables whose ``db_table`` names a schema, on real rows.

One table is qualified with a schema on the search_path (``'"public"."t"'``), the other lives
in a schema outside it (``'s"."t'``): a trigger body that names the table must reach it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection, models, transaction

import pgtrigger_live as pgtrigger
from pgtrigger_live import sql
from pgtrigger_live.runtime import errors
from pgtrigger_live.runtime.errors import InvalidTransitionError, ProtectedError, ReadOnlyError
from tests.testapp.models import OffPathRow, QualifiedRow, SchemaRow

AddTrigger = Callable[[type[models.Model], pgtrigger.Trigger], str]
MODELS = [QualifiedRow, OffPathRow]


@pytest.mark.parametrize(
    ("db_table", "quoted"),
    [
        ("plain", '"plain"'),
        ('"quoted"', '"quoted"'),
        ('"s"."t"', '"s"."t"'),
        ('s"."t', '"s"."t"'),
        ("odd 'table'; --", "\"odd 'table'; --\""),
        ('a"b', '"a""b"'),
    ],
)
def test_quote_table_honours_django_idioms(db_table: str, quoted: str) -> None:
    assert sql.quote_table(db_table) == quoted


@pytest.fixture
def add(extra_trigger: AddTrigger) -> Callable[..., None]:
    errors.install_translation()

    def add(model: type[models.Model], *triggers: pgtrigger.Trigger) -> None:
        pgtrigger.install(*[extra_trigger(model, t) for t in triggers])

    return add


def raw(model: type[SchemaRow], statement: str) -> None:
    """Run ``statement`` with ``{t}`` standing for the model's table, as SQL would name it."""
    with connection.cursor() as cursor:
        cursor.execute(statement.format(t=sql.quote_table(model._meta.db_table)))


@pytest.fixture(params=MODELS, ids=["qualified", "off-path"])
def model(request: pytest.FixtureRequest, db: None) -> type[SchemaRow]:
    return request.param  # type: ignore[no-any-return]


def test_soft_delete(add: Callable[..., None], model: type[SchemaRow]) -> None:
    add(model, pgtrigger.SoftDelete(name="soft", field="is_active", value=False))
    rows = model.objects.bulk_create(model(name=str(i)) for i in range(3))
    rows[0].delete()
    model.objects.filter(name="1").delete()
    raw(model, "DELETE FROM {t} WHERE name = '2'")
    assert list(model.objects.order_by("name").values_list("is_active", flat=True)) == [False] * 3


def test_fsm(add: Callable[..., None], model: type[SchemaRow]) -> None:
    add(model, pgtrigger.FSM(name="fsm", field="state", transitions=[("new", "paid")]))
    row = model.objects.create(name="r")
    model.objects.filter(pk=row.pk).update(state="paid")
    with pytest.raises(InvalidTransitionError), transaction.atomic():
        raw(model, "UPDATE {t} SET state = 'new'")
    assert model.objects.get(pk=row.pk).state == "paid"


def test_protect(add: Callable[..., None], model: type[SchemaRow]) -> None:
    add(model, pgtrigger.Protect(name="protect", operation=pgtrigger.Delete))
    row = model.objects.create(name="kept")
    with pytest.raises(ProtectedError), transaction.atomic():
        row.delete()
    assert model.objects.filter(pk=row.pk).exists()


def test_read_only(add: Callable[..., None], model: type[SchemaRow]) -> None:
    add(model, pgtrigger.ReadOnly(name="frozen", fields=["name"]))
    row = model.objects.create(name="fixed")
    model.objects.filter(pk=row.pk).update(body="free")
    with pytest.raises(ReadOnlyError), transaction.atomic():
        raw(model, "UPDATE {t} SET name = 'moved'")
    assert model.objects.get(pk=row.pk).name == "fixed"


def test_update_search_vector(add: Callable[..., None], model: type[SchemaRow]) -> None:
    add(
        model,
        pgtrigger.UpdateSearchVector(
            name="search", vector_field="vector", document_fields=["name", "body"]
        ),
    )
    row = model.objects.create(name="Quick foxes", body="were jumping")
    model.objects.filter(pk=row.pk).update(body="lazy dogs")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT vector = to_tsvector('pg_catalog.english', name || ' ' || body) "
            f"FROM {sql.quote_table(model._meta.db_table)} WHERE id = %s",
            [row.pk],
        )
        assert cursor.fetchone() == (True,)
