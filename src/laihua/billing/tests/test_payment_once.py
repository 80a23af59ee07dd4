"""One form, one payment: the invoice page's payment form carries a key the server minted for that form, so Back and
Submit (the page fetched again, or the same form sent twice) answers with the first payment instead of a second row.
Likely duplicates (the same reference and amount on the same invoice within a day) ask for confirmation first, on the
page and in the API. The API keeps its client-sent idempotency key."""

import datetime
import re

import pytest
from django.core import signing
from django.urls import reverse
from django.utils import translation

from laihua.audit.models import AuditEvent
from laihua.billing import services
from laihua.billing.models import Payment
from laihua.billing.services.payments import FORM_SALT
from laihua.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from laihua.kit import clock

from .test_api import post

pytestmark = pytest.mark.django_db


def url(name, *args):
    with translation.override("en"):
        return reverse(f"billing:{name}", args=args)


def page_of(client, invoice) -> str:
    return client.get(url("invoice", invoice.pk)).content.decode()


def form_in(page: str) -> str | None:
    found = re.search(r'name="form" value="([^"]+)"', page)
    return found.group(1) if found else None


PAYMENT = {"kind": "balance", "method": "card", "reference": "POS-77", "amount": "172.00", "currency": "CNY"}


# --- the page's form -------------------------------------------------------------------------------


def test_back_and_submit_records_one_payment_and_shows_the_first(client, users, issued):
    client.force_login(users["finance"])
    form = form_in(page_of(client, issued))
    assert form and form == form_in(page_of(client, issued))  # the same form on every load until it is used
    response = client.post(url("payment", issued.pk), {**PAYMENT, "form": form}, follow=True)
    assert "The payment is recorded" in response.content.decode()
    first = issued.payments.get()

    # Back: the page is fetched again. It offers no fresh form, only the payment this form recorded.
    again = page_of(client, issued)
    assert form_in(again) is None and 'id="payment-form-used"' in again and "POS-77" in again
    # ...and the form the browser still holds, submitted again, answers with the first payment.
    response = client.post(url("payment", issued.pk), {**PAYMENT, "form": form}, follow=True)
    text = response.content.decode()
    assert "already recorded" in text and f"payment {first.pk}" in text
    assert issued.payments.count() == 1


def test_the_same_form_with_other_data_is_refused_naming_its_payment(client, users, issued):
    client.force_login(users["finance"])
    form = form_in(page_of(client, issued))
    client.post(url("payment", issued.pk), {**PAYMENT, "form": form})
    first = issued.payments.get()
    response = client.post(url("payment", issued.pk), {**PAYMENT, "amount": "10", "form": form}, follow=True)
    text = response.content.decode()
    assert "This form already recorded a payment" in text and f"payment {first.pk}" in text
    assert issued.payments.count() == 1


def test_another_payment_needs_a_new_form(client, users, issued):
    client.force_login(users["finance"])
    first_form = form_in(page_of(client, issued))
    client.post(url("payment", issued.pk), {**PAYMENT, "amount": "100", "form": first_form})
    client.post(url("payment_form", issued.pk))
    second_form = form_in(page_of(client, issued))
    assert second_form and second_form != first_form
    client.post(url("payment", issued.pk), {**PAYMENT, "reference": "POS-78", "amount": "72", "form": second_form})
    assert sorted(issued.payments.values_list("reference", flat=True)) == ["POS-77", "POS-78"]
    assert services.balances_of(issued).patient_due == 0


def test_a_form_of_another_invoice_or_user_or_a_forged_one_records_nothing(client, users, issued):
    client.force_login(users["finance"])
    theirs = services.new_payment_form(users["hospital_admin"], issued)
    other_invoice = signing.dumps({"i": issued.pk + 1, "u": users["finance"].pk, "n": "x"}, salt=FORM_SALT)
    for form in (theirs, other_invoice, "forged", ""):
        response = client.post(url("payment", issued.pk), {**PAYMENT, "form": form}, follow=True)
        assert "This payment form is not valid" in response.content.decode()
    assert issued.payments.count() == 0


@pytest.mark.parametrize("who", ["coordinator", "clinician", "patient", "other_admin"])
def test_only_finance_and_admins_of_the_hospital_get_a_payment_form(client, users, issued, who):
    with pytest.raises((PermissionDenied, NotFound)):
        services.new_payment_form(users[who], issued)
    client.force_login(users[who])
    assert client.post(url("payment_form", issued.pk)).status_code in (302, 403, 404)
    assert 'name="form"' not in client.get(url("invoice", issued.pk)).content.decode()


# --- likely duplicates ---------------------------------------------------------------------------


def record(actor, invoice, key, **data):
    return services.record_payment(actor, invoice, {**PAYMENT, **data}, idempotency_key=key)[0]


def test_the_same_reference_and_amount_within_a_day_asks_first(issued, users):
    finance = users["finance"]
    earlier = record(finance, issued, "k1", amount="50")
    with pytest.raises(services.PossibleDuplicate) as caught:
        record(finance, issued, "k2", amount="50", reference="pos-77")  # the reference ignoring case
    assert caught.value.code == "possible_duplicate" and caught.value.payment == earlier
    assert caught.value.field == "confirm_duplicate" and f"payment {earlier.pk}" in str(caught.value.message)
    assert issued.payments.count() == 1  # nothing written
    confirmed = record(finance, issued, "k2", amount="50", confirm_duplicate=True)
    assert confirmed.pk != earlier.pk and issued.payments.count() == 2
    event = AuditEvent.objects.filter(action="payment.record").latest("pk")
    assert event.detail["confirmed_duplicate"] is True


def test_what_is_not_a_likely_duplicate_is_recorded_at_once(issued, users):
    finance = users["finance"]
    record(finance, issued, "k1", amount="50")
    record(finance, issued, "k2", amount="50.01")  # another amount
    record(finance, issued, "k3", amount="50", reference="POS-78")  # another reference
    long_ago = (clock.today() - datetime.timedelta(days=2)).isoformat()
    record(finance, issued, "k4", amount="50", received_on=long_ago)  # two days apart
    record(finance, issued, "k5", kind="refund", amount="50")  # a refund is not a second payment
    assert issued.payments.count() == 5
    with pytest.raises(services.PossibleDuplicate):  # one day apart still asks
        record(finance, issued, "k6", amount="50", received_on=(clock.today() - datetime.timedelta(days=1)))


def test_the_page_asks_for_confirmation_and_then_records_it(client, users, issued):
    client.force_login(users["finance"])
    client.post(url("payment", issued.pk), {**PAYMENT, "amount": "50", "form": form_in(page_of(client, issued))})
    client.post(url("payment_form", issued.pk))
    form = form_in(page_of(client, issued))
    response = client.post(url("payment", issued.pk), {**PAYMENT, "amount": "50", "form": form})
    text = response.content.decode()
    assert response.status_code == 200 and 'id="possible-duplicate"' in text and "POS-77" in text
    assert "Yes, record it as well" in text and issued.payments.count() == 1
    confirm = {**PAYMENT, "amount": "50", "form": form, "confirm_duplicate": "1"}
    client.post(url("payment", issued.pk), confirm)
    client.post(url("payment", issued.pk), confirm)  # Back and Submit on the confirmation: still one
    assert issued.payments.count() == 2


def test_the_api_answers_a_likely_duplicate_with_409_naming_the_earlier_payment(client, users, issued):
    finance = users["finance"]
    base = f"/api/billing/invoices/{issued.pk}/payments"
    payload = {**PAYMENT, "amount": "50"}
    first = post(client, base, finance, {**payload, "idempotency_key": "a-1"})
    assert first.status_code == 201
    duplicate = post(client, base, finance, {**payload, "idempotency_key": "a-2"})
    body = duplicate.json()
    assert duplicate.status_code == 409 and body["error"] == "possible_duplicate"
    assert body["field"] == "confirm_duplicate" and body["duplicate_of"]["id"] == first.json()["id"]
    confirmed = post(client, base, finance, {**payload, "idempotency_key": "a-2", "confirm_duplicate": True})
    assert confirmed.status_code == 201
    replay = post(client, base, finance, {**payload, "idempotency_key": "a-2", "confirm_duplicate": True})
    assert replay.status_code == 200 and replay.json()["id"] == confirmed.json()["id"]
    assert Payment.objects.filter(invoice=issued).count() == 2


def test_the_api_keeps_its_client_sent_key(issued, users):
    finance = users["finance"]
    first = record(finance, issued, "client-1")
    assert record(finance, issued, "client-1").pk == first.pk
    with pytest.raises(Conflict) as caught:
        record(finance, issued, "client-1", amount="1")
    assert caught.value.code == "idempotency_mismatch"
    with pytest.raises(InvalidInput):
        services.record_form_payment(finance, issued, PAYMENT, form="client-1")  # a key is not a form
