"""Paying exactly the foreign amount shown settles the invoice. The issued invoice pins its parts in the patient's
currency at the issue day's rate; a payment in that currency settles its share of the part at the pinned rate (all of
what is owed when it is the amount shown), and the difference with the day's rate is an exchange gain or loss on the
payment, never money owed."""

import datetime
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from laihua.audit.models import AuditEvent
from laihua.billing import services
from laihua.billing.models import InvoiceStatus, Payment, WriteOffStatus
from laihua.errors import DomainError, InvalidInput
from laihua.kit import clock
from laihua.rates.models import ExchangeRate

from .conftest import confirm_all
from .test_api import bearer, get, pdf_text

pytestmark = pytest.mark.django_db

PINNED = Decimal("9.1234")  # GBP on the issue day
TODAY = Decimal("9.3000")  # GBP today


@pytest.fixture
def in_pounds(insured, users, monkeypatch):
    """The insured case's invoice (972 CNY: 800 the insurer, 172 the patient), in pounds, issued ten days ago."""
    issue_day = clock.today() - datetime.timedelta(days=10)
    ExchangeRate.objects.create(currency="GBP", rate_date=issue_day, cny_per_unit=PINNED, source="Test rates")
    ExchangeRate.objects.create(currency="GBP", rate_date=clock.today(), cny_per_unit=TODAY, source="Test rates")
    invoice = services.start_invoice(users["finance"], insured)
    invoice.currency = "GBP"
    invoice.save(update_fields=["currency"])
    confirm_all(users["finance"], invoice)
    with monkeypatch.context() as patch:
        patch.setattr(clock, "today", lambda: issue_day)
        invoice = services.issue_invoice(users["finance"], invoice)
    return invoice


def pay(actor, invoice, amount, currency="GBP", kind="balance", key=None, **extra):
    data = {"kind": kind, "method": "card", "reference": key or f"{kind}-{amount}", "amount": amount}
    data.update(currency=currency, confirm_duplicate=True, **extra)
    payment, _created = services.record_payment(actor, invoice, data, idempotency_key=key or data["reference"])
    invoice.refresh_from_db()
    return payment


def test_the_issued_invoice_pins_its_parts_in_the_patients_currency(in_pounds, client, users):
    assert (in_pounds.rate_cny_per_unit, in_pounds.patient_cny, in_pounds.insurer_cny) == (
        PINNED,
        Decimal("172.00"),
        Decimal("800.00"),
    )
    # 172 / 9.1234 = 18.85; 972 / 9.1234 = 106.54; the insurer's part is the rest
    assert (in_pounds.patient_converted, in_pounds.total_converted, in_pounds.insurer_converted) == (
        Decimal("18.85"),
        Decimal("106.54"),
        Decimal("87.69"),
    )
    pinned = services.pinned_amounts(in_pounds)
    assert (pinned.patient_due, pinned.insurer_due) == (Decimal("18.85"), Decimal("87.69"))
    body = get(client, f"/api/billing/invoices/{in_pounds.pk}", users["finance"]).json()
    assert body["pinned"]["patient"] == "18.85" and body["pinned"]["patient_due"] == "18.85"
    client.force_login(users["finance"])
    page = client.get(f"/en/billing/invoices/{in_pounds.pk}/").content.decode()
    assert 'id="patient-due-pinned"' in page and "£18.85" in page


def test_paying_exactly_the_pounds_shown_settles_the_patients_part(in_pounds, users):
    # At the pinned rate 18.85 pounds are 171.98 CNY: 0.02 CNY used to stay owing.
    payment = pay(users["finance"], in_pounds, "18.85")
    assert payment.settled_cny == Decimal("172.00") and payment.pinned_rate == PINNED
    # Worth 175.31 CNY today (18.85 x 9.30): an exchange gain of 3.31 CNY, not money owed.
    assert payment.amount_cny == Decimal("175.31") and payment.exchange_difference_cny == Decimal("3.31")
    owed = services.balances_of(in_pounds)
    assert owed.patient_due == 0 and owed.patient_exchange == Decimal("3.31")
    assert services.pinned_amounts(in_pounds).patient_due == 0
    event = AuditEvent.objects.filter(action="payment.record").latest("pk")
    assert event.detail["exchange_difference_cny"] == "3.31" and event.detail["settled_cny"] == "172.00"
    assert Decimal(event.detail["pinned_rate"]) == PINNED and event.detail["rate_of_the_day"].startswith("9.3")
    pay(users["finance"], in_pounds, "800.00", currency="CNY", kind="remittance")
    assert in_pounds.status == InvoiceStatus.BALANCED and services.balances_of(in_pounds).balance == 0


def test_paid_on_the_issue_day_the_rounding_is_a_two_fen_loss_not_two_fen_owed(in_pounds, users):
    """The issue's case: 18.85 pounds at the issue day's rate are 171.98 CNY, which left 0.02 CNY owing (and a
    write-off approved by a second person). Now the pinned amount settles the part; the 0.02 is an exchange loss."""
    payment = pay(users["finance"], in_pounds, "18.85", received_on=in_pounds.issue_date)
    assert payment.amount_cny == Decimal("171.98") and payment.settled_cny == Decimal("172.00")
    assert payment.exchange_difference_cny == Decimal("-0.02")
    assert services.balances_of(in_pounds).patient_due == 0 and not in_pounds.write_offs.exists()


def test_partial_payments_in_pounds_settle_proportionally_and_add_up_exactly(in_pounds, users):
    first = pay(users["finance"], in_pounds, "10.00")
    assert first.settled_cny == Decimal("91.25")  # 172 x 10 / 18.85
    assert first.exchange_difference_cny == Decimal("1.75")  # 93.00 received
    assert services.pinned_amounts(in_pounds).patient_due == Decimal("8.85")
    second = pay(users["finance"], in_pounds, "8.85")
    assert first.settled_cny + second.settled_cny == Decimal("172.00")
    assert services.balances_of(in_pounds).patient_due == 0


def test_a_loss_when_the_pound_fell_since_the_invoice_was_issued(in_pounds, users):
    ExchangeRate.objects.create(
        currency="GBP",
        rate_date=clock.today() - datetime.timedelta(days=3),
        cny_per_unit=Decimal("9.0000"),
        source="Test rates",
    )
    payment = pay(users["finance"], in_pounds, "18.85", received_on=clock.today() - datetime.timedelta(days=3))
    assert payment.amount_cny == Decimal("169.65") and payment.exchange_difference_cny == Decimal("-2.35")
    assert services.balances_of(in_pounds).patient_due == 0


def test_cny_and_a_third_currency_settle_at_the_days_rate_without_a_difference(in_pounds, users):
    cny = pay(users["finance"], in_pounds, "100.00", currency="CNY")
    assert (cny.settled_cny, cny.exchange_difference_cny, cny.pinned_rate) == (Decimal("100.00"), 0, None)
    usd = pay(users["finance"], in_pounds, "5.00", currency="USD")  # 35.62 CNY at today's 7.12345678
    assert (usd.settled_cny, usd.exchange_difference_cny, usd.pinned_rate) == (Decimal("35.62"), 0, None)
    owed = services.balances_of(in_pounds)
    assert owed.patient_due == Decimal("36.38")
    shown = services.pinned_amounts(in_pounds).patient_due
    assert shown == Decimal("3.99")  # 36.38 / 9.1234
    pay(users["finance"], in_pounds, str(shown))
    assert services.balances_of(in_pounds).patient_due == 0


def test_an_overpayment_in_pounds_is_refunded_exactly(in_pounds, users):
    pay(users["finance"], in_pounds, "20.00")
    owed = services.balances_of(in_pounds)
    assert owed.patient_due < 0
    shown = services.pinned_amounts(in_pounds).patient_due
    assert shown == Decimal("-1.15")
    refund = pay(users["finance"], in_pounds, "1.15", kind="refund")
    assert refund.settled_cny == -owed.patient_due and refund.pinned_rate == PINNED
    assert refund.exchange_difference_cny == refund.settled_cny - refund.amount_cny  # paid out at today's rate
    assert services.balances_of(in_pounds).patient_due == 0


def test_a_refund_never_gives_back_more_than_the_payments_settled(in_pounds, users):
    pay(users["finance"], in_pounds, "10.00")
    with pytest.raises(InvalidInput):
        pay(users["finance"], in_pounds, "10.01", kind="refund")
    pay(users["finance"], in_pounds, "10.00", kind="refund")
    owed = services.balances_of(in_pounds)
    assert owed.patient_due == Decimal("172.00") and owed.patient_paid - owed.patient_exchange == 0


def test_the_insurers_remittance_in_pounds_settles_its_part(in_pounds, users):
    payment = pay(users["finance"], in_pounds, "87.69", kind="remittance", method="bank_transfer")
    assert payment.settled_cny == Decimal("800.00")
    assert services.balances_of(in_pounds).insurer_due == 0


def test_a_payment_worth_less_than_a_fen_or_below_the_currencys_unit_is_refused(in_pounds, users):
    ExchangeRate.objects.create(currency="JPY", rate_date=clock.today(), cny_per_unit=Decimal("0.047"), source="T")
    with pytest.raises(InvalidInput) as caught:
        pay(users["finance"], in_pounds, "10.50", currency="JPY")
    assert caught.value.field == "amount"
    assert pay(users["finance"], in_pounds, "100", currency="JPY").amount_cny == Decimal("4.70")


def test_a_replacement_invoice_pins_again_and_its_amount_shown_settles_it(in_pounds, users):
    pay(users["finance"], in_pounds, "10.00")
    replacement = services.cancel_invoice(users["finance"], in_pounds, "Wrong quantity")
    replacement.currency = "GBP"
    replacement.save(update_fields=["currency"])
    confirm_all(users["finance"], replacement)
    reissued = services.issue_invoice(users["finance"], replacement)  # today: at 9.30
    assert reissued.rate_cny_per_unit == TODAY and reissued.patient_converted == Decimal("18.49")
    shown = services.pinned_amounts(reissued).patient_due
    pay(users["finance"], reissued, str(shown))
    assert services.balances_of(reissued).patient_due == 0


def test_the_patient_sees_what_is_still_owed_in_pounds(in_pounds, client, users):
    pay(users["finance"], in_pounds, "10.00")
    client.force_login(users["patient"])
    for page in (f"/en/cases/{in_pounds.case.reference}/", "/en/billing/mine/"):
        text = client.get(page).content.decode()
        assert "£8.85" in text, page


def test_the_pdf_asks_for_the_pinned_amount(in_pounds, client, users):
    pay(users["finance"], in_pounds, "10.00")
    text = pdf_text(client.get(f"/api/billing/invoices/{in_pounds.pk}/pdf", headers=bearer(users["patient"])).content)
    assert "£18.85" in text and "£8.85" in text  # the patient's part pinned, and what is still owed


# --- on the database, whatever happens ------------------------------------------------------------

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("300"), places=2)
operations = st.lists(
    st.tuples(
        st.sampled_from(["deposit", "balance", "refund", "remittance"]),
        st.sampled_from(["GBP", "CNY", "USD"]),
        amounts,
    ),
    max_size=8,
)


class Rollback(Exception):
    pass


@pytest.mark.django_db
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_the_balance_is_the_parts_less_payments_with_exchange_differences_and_can_reach_zero(in_pounds, users, ops):
    finance = users["finance"]
    try:
        with transaction.atomic():
            for n, (kind, currency, amount) in enumerate(ops):
                try:
                    with transaction.atomic():
                        pay(finance, in_pounds, str(amount), currency=currency, kind=kind, key=f"h{n}")
                except DomainError:
                    pass  # refused (a refund above what was paid): nothing written
                _check(in_pounds)
            # Whatever happened, paying (or refunding) the amounts shown in pounds settles the invoice exactly.
            shown = services.pinned_amounts(in_pounds)
            if shown.patient_due:
                kind = "balance" if shown.patient_due > 0 else "refund"
                pay(finance, in_pounds, str(abs(shown.patient_due)), kind=kind, key="settle-patient")
            if shown.insurer_due > 0:
                pay(finance, in_pounds, str(shown.insurer_due), kind="remittance", key="settle-insurer")
            owed = services.balances_of(in_pounds)
            assert owed.patient_due == 0
            if owed.insurer_due == 0:  # (an insurer that paid too much is not refunded here: it stays visible)
                assert in_pounds.status == InvoiceStatus.BALANCED and owed.balance == 0
            _check(in_pounds)
            raise Rollback
    except Rollback:
        pass


def _check(invoice):
    invoice.refresh_from_db()
    owed = services.balances_of(invoice)
    payments = list(Payment.objects.filter(invoice=invoice))
    received = sum((p.signed_cny for p in payments), Decimal(0))
    exchange = sum((p.exchange_difference_cny for p in payments), Decimal(0))
    settled = sum((p.signed_settled_cny for p in payments), Decimal(0))
    approved = sum((w.amount_cny for w in invoice.write_offs.filter(status=WriteOffStatus.APPROVED)), Decimal(0))
    assert owed.balance == invoice.total_cny - received + exchange - approved  # the parts less payments, with ...
    assert owed.balance == invoice.total_cny - settled - approved  # ... their exchange differences
    assert owed.insurer_due + owed.patient_due == owed.balance and owed.exchange == exchange
    for payment in payments:
        assert payment.settled_cny >= 0 and payment.settled_cny == payment.settled_cny.quantize(Decimal("0.01"))
        if payment.pinned_rate is None:
            assert payment.exchange_difference_cny == 0 and payment.settled_cny == payment.amount_cny
        else:
            sign = -1 if payment.kind == "refund" else 1
            assert payment.exchange_difference_cny == sign * (payment.amount_cny - payment.settled_cny)
    shown = services.pinned_amounts(invoice)
    assert (shown.patient_due == 0) == (owed.patient_due == 0)
    assert (shown.insurer_due == 0) == (owed.insurer_due == 0)
    settled_state = owed.insurer_due == 0 and owed.patient_due == 0
    assert (invoice.status == InvoiceStatus.BALANCED) == settled_state
