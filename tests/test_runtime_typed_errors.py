"""Typed error translation never mistakes Django's own errors for a trigger's refusal."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.transaction import TransactionManagementError

from pgtrigger_live.runtime import errors
from pgtrigger_live.runtime.errors import ProtectedError, TriggerError, translate_errors
from tests.testapp.models import Invoice


@pytest.fixture(autouse=True)
def _typed_errors() -> None:
    errors.install_translation()


@pytest.mark.django_db
def test_transaction_management_error_after_a_caught_refusal_stays_what_it_is() -> None:
    """Django chains the refusal as the cause of its "You can't execute queries until the
    end of the 'atomic' block"; that later error is not the trigger's, and must not be
    raised as a ProtectedError naming the older refusal."""
    invoice = Invoice.objects.create(number="P-1")
    for status in ("open", "paid"):
        Invoice.objects.filter(pk=invoice.pk).update(status=status)
    with transaction.atomic():
        with pytest.raises(ProtectedError):
            invoice.delete()  # caught inside the block: the transaction is broken
        with pytest.raises(TransactionManagementError) as info:
            Invoice.objects.count()
        with pytest.raises(TransactionManagementError) as outside, translate_errors():
            Invoice.objects.count()
    for error in (info.value, outside.value):
        assert not isinstance(error, TriggerError)
        assert "until the end of the 'atomic' block" in str(error)
        assert isinstance(error.__cause__, ProtectedError)  # Django's chain, untouched
        assert errors.sqlstate_of(error) is None
        assert errors.translate(error) is None


@pytest.mark.django_db
def test_only_a_driver_error_behind_a_django_error_is_translated() -> None:
    """Each rule on its own: Django's TransactionManagementError never, whatever its cause;
    a django.db error chained from another django.db error (re-raised by application code)
    is not the driver's report either."""
    invoice = Invoice.objects.create(number="P-2", status="paid")
    raw = connection.connection
    assert raw is not None
    with pytest.raises(Exception, match="Paid invoices") as caught, transaction.atomic():
        raw.cursor().execute("DELETE FROM testapp_invoice WHERE id = %s", [invoice.pk])
    driver_error = caught.value
    assert errors.sqlstate_of(driver_error) == "TG001"
    assert isinstance(errors.translate(driver_error), ProtectedError)  # the raw one: typed

    management = TransactionManagementError("You can't execute queries ...")
    management.__cause__ = driver_error
    assert errors.translate(management) is None

    typed = errors.translate(driver_error)
    rewrapped = DatabaseError("the application's own wrapping")
    rewrapped.__cause__ = typed
    assert errors.translate(rewrapped) is None
