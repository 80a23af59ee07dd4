"""A whole case's money, driven step by step in any order: the insurer answers guarantee requests (approved, partly
approved with single lines approved, reduced or declined, denied), finance drafts statements with extra lines on
any date (hand-priced, an interpreter among them), issues them (confirming the shortfall when the insurer would get
less than its guarantee allows), cancels and re-issues, records payments and refunds in CNY, in the pinned currency
(pounds, exactly the amount shown among others) and in a third currency, replays payment keys, and writes off with a
second person's approval. After every step:

- each line's parts make its amount, the lines make the parts and the total (issued, and a draft's shown split);
- the insurer's part never exceeds what the guarantee approved, per line and in all;
- a cancelled statement owes nothing (balances, receivables) and keeps no payment;
- the balance is the parts less payments, with exchange differences, less approved write-offs, exact to the fen,
  and the status follows it;
- one payment per idempotency key (a replayed key returns the same payment).

Each run is one transaction on the real test database, rolled back at the end."""

import contextlib
import datetime
import itertools
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from laihua.billing import coverage, services
from laihua.billing.models import Invoice, InvoiceStatus, Payment, WriteOffStatus
from laihua.billing.tests.test_split import accepted_and_covered
from laihua.errors import DomainError, PermissionDenied
from laihua.insurance import services as insurance
from laihua.insurance.models import Guarantee
from laihua.kit import clock
from laihua.rates.models import ExchangeRate

from .conftest import confirm_all, walk

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
FEN = Decimal("0.01")
ZERO = Decimal(0)
GBP_TODAY, GBP_EARLIER = Decimal("9.3000"), Decimal("9.0000")

money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("2000"), places=2)
line_decision = st.one_of(
    st.just({"decision": "approved"}),
    st.builds(lambda amount: {"decision": "approved", "amount": str(amount)}, money),
    st.builds(lambda amount: {"decision": "reduced", "amount": str(amount)}, money),
    st.just({"decision": "declined"}),
)


@pytest.fixture
def quoted_case(case, users, mri, hospital, insurer, agents, rates_today):
    """MRI x2 (10 % off) and an interpreter priced by hand, quoted and accepted; covered by Global Care (direct
    billing), the patient's consent to send health data to it given; discharged. No guarantee asked yet."""
    case = accepted_and_covered(case, users, mri, hospital, insurer)
    today = clock.today()
    insurance.grant_gop_consent(case.patient.user, case)
    for day, rate in ((today, GBP_TODAY), (today - 3 * DAY, GBP_EARLIER)):
        ExchangeRate.objects.create(currency="GBP", rate_date=day, cny_per_unit=rate, source="Test rates")
    ExchangeRate.objects.create(
        currency="USD", rate_date=today - 3 * DAY, cny_per_unit=Decimal("7.05"), source="Test rates"
    )
    case.refresh_from_db()
    return walk(case, users, "scheduled", "arrived", "in_treatment", "discharged")


class MoneyMachine(RuleBasedStateMachine):
    """Set up by `test_money_holds_whatever_happens` (case, users, agent); one DB transaction per run."""

    case = users = agent = None

    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.keys: dict[str, tuple[int, dict]] = {}  # idempotency key -> (payment, the data sent)
        self.counter = itertools.count(1)

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # --- what there is --------------------------------------------------------------------------

    def invoices(self):
        return list(Invoice.objects.filter(case=self.case).order_by("pk"))

    def open_invoice(self, *statuses):
        return Invoice.objects.filter(case=self.case, status__in=statuses).order_by("-pk").first()

    def draft(self):
        return self.open_invoice(InvoiceStatus.DRAFT)

    def issued(self):
        return self.open_invoice(InvoiceStatus.ISSUED, InvoiceStatus.BALANCED)

    # --- the insurer ----------------------------------------------------------------------------

    @initialize()
    def start(self):
        services.start_invoice(self.users["finance"], self.case)

    @rule(
        answer=st.sampled_from(["approved", "partial", "denied"]),
        amount=st.one_of(st.none(), money),
        currency=st.sampled_from(["CNY", "CNY", "GBP"]),
        mri=line_decision,
        interpreter=line_decision,
        starts=st.integers(min_value=-40, max_value=20),
    )
    def insurer_answers_a_guarantee_request(self, answer, amount, currency, mri, interpreter, starts):
        today = clock.today()
        gop = insurance.send_guarantee_request(
            self.users["coordinator"],
            self.case,
            {
                "diagnosis_code": "S83.2",
                "diagnosis_text": "Meniscus tear",
                "treating_doctor": "Dr Li",
                "planned_start": (today + starts * DAY).isoformat(),
                "planned_end": (today + (starts + 10) * DAY).isoformat(),
            },
        )
        data = {"status": answer, "reference": f"PA-{next(self.counter)}", "disposition": "Not medically necessary"}
        data.update(
            valid_from=(today + starts * DAY).isoformat(), valid_until=(today + (starts + 30) * DAY).isoformat()
        )
        if amount is not None or answer == "partial":
            data.update(amount=str(amount or Decimal("1200")), currency=currency)
        if answer == "partial":
            data["lines"] = [
                {"sequence": 1, "reason": "Tariff for one region", **mri},
                {"sequence": 2, "reason": "Interpreting is not a medical service", **interpreter},
            ]
        gop = insurance.answer_guarantee_request(self.agent, gop, data)
        assert gop.status == answer

    # --- the statement --------------------------------------------------------------------------

    @precondition(lambda self: self.draft() is not None)
    @rule(
        code=st.sampled_from(["INT-01", "MRI-01", "X-1"]),
        price=money,
        days_ago=st.integers(min_value=0, max_value=60),
        quantity=st.integers(min_value=1, max_value=3),
    )
    def finance_adds_a_line_priced_by_hand(self, code, price, days_ago, quantity):
        kind = {"INT-01": "other", "MRI-01": "imaging", "X-1": "procedure"}[code]
        data = {
            "code": code,
            "kind": kind,
            "description": {"en": f"Extra {code}", "zh-hans": f"加项 {code}"},
            "unit_price": str(price),
            "quantity": quantity,
            "service_date": (clock.today() - days_ago * DAY).isoformat(),
            "reason": "Delivered beyond the quote",
        }
        with contextlib.suppress(DomainError):  # (at most MAX_LINES lines)
            services.add_extra(self.users["finance"], self.draft(), data)

    @precondition(lambda self: self.draft() is not None)
    @rule(currency=st.sampled_from(["GBP", "CNY"]))
    def finance_issues(self, currency):
        finance = self.users["finance"]
        invoice = self.draft()
        Invoice.objects.filter(pk=invoice.pk).update(currency=currency)
        invoice.refresh_from_db()
        confirm_all(finance, invoice)
        shown = services.split_of(invoice)
        try:
            invoice = services.issue_invoice(finance, invoice)
            assert not shown.shortfall
        except services.InsurerShortfall as refused:
            # Named before issue: the shortfall lines and their reasons; nothing issued.
            assert shown.shortfall and refused.field == "confirm_shortfall"
            for line in shown.shortfall_lines:
                assert f"#{line.position} {line.code}" in refused.message
            assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.DRAFT
            invoice = services.issue_invoice(
                finance, invoice, confirm_shortfall=True, seen_insurer_cny=str(shown.insurer)
            )
        # The split shown on the draft is the one issued.
        assert (invoice.insurer_cny, invoice.patient_cny, invoice.total_cny) == (
            shown.insurer,
            shown.patient,
            shown.total,
        )

    @precondition(lambda self: self.issued() is not None)
    @rule()
    def finance_cancels_and_a_replacement_is_drafted(self):
        old = self.issued()
        payments = set(old.payments.values_list("pk", flat=True))
        replacement = services.cancel_invoice(self.users["finance"], old, "Wrong quantity")
        assert replacement.replaces_id == old.pk and replacement.status == InvoiceStatus.DRAFT
        assert set(replacement.payments.values_list("pk", flat=True)) == payments

    # --- money ----------------------------------------------------------------------------------

    def _pay(self, invoice, data, key=None):
        key = key or f"key-{next(self.counter)}"
        data = {"method": "card", "reference": key, "confirm_duplicate": True, **data}
        try:
            payment, created = services.record_payment(self.users["finance"], invoice, data, idempotency_key=key)
        except DomainError:
            assert not Payment.objects.filter(idempotency_key=key).exists()  # refused: nothing written
            return None
        assert created
        self.keys[key] = (payment.pk, invoice.pk, data)
        return payment

    @precondition(lambda self: self.draft() is not None or self.issued() is not None)
    @rule(
        kind=st.sampled_from(["deposit", "balance", "refund", "remittance"]),
        currency=st.sampled_from(["CNY", "GBP", "USD"]),
        amount=money,
        earlier=st.booleans(),
    )
    def a_payment_or_refund_is_recorded(self, kind, currency, amount, earlier):
        invoice = self.issued() or self.draft()
        received_on = clock.today() - (3 * DAY if earlier else 0 * DAY)
        self._pay(invoice, {"kind": kind, "currency": currency, "amount": str(amount), "received_on": received_on})

    @precondition(lambda self: self.issued() is not None)
    @rule(earlier=st.booleans(), insurer=st.booleans())
    def exactly_the_amount_shown_is_paid(self, earlier, insurer):
        """Paying (or refunding) exactly what the statement shows as owed, in its currency, settles that part."""
        invoice = self.issued()
        pinned = services.pinned_amounts(invoice)
        owed = services.balances_of(invoice)
        if pinned is not None:
            due, currency = (pinned.insurer_due if insurer else pinned.patient_due), invoice.currency
        else:
            due, currency = (owed.insurer_due if insurer else owed.patient_due), "CNY"
        if due == 0 or (insurer and due < 0):
            return
        kind = "remittance" if insurer else ("balance" if due > 0 else "refund")
        received_on = clock.today() - (3 * DAY if earlier else 0 * DAY)
        data = {"kind": kind, "currency": currency, "amount": str(abs(due)), "received_on": received_on}
        if self._pay(invoice, data) is None:
            return
        owed = services.balances_of(invoice)
        assert (owed.insurer_due if insurer else owed.patient_due) == 0

    @precondition(lambda self: bool(self.keys))
    @rule(data=st.data())
    def a_payment_form_is_submitted_again(self, data):
        key = data.draw(st.sampled_from(sorted(self.keys)))
        payment_id, invoice_id, sent = self.keys[key]
        payment = Payment.objects.get(pk=payment_id)
        replayed, created = services.record_payment(self.users["finance"], payment.invoice, sent, idempotency_key=key)
        assert replayed.pk == payment_id and not created

    @precondition(lambda self: self.issued() is not None)
    @rule(part=st.sampled_from(["patient", "insurer"]), share=st.integers(min_value=1, max_value=100), ok=st.booleans())
    def a_write_off_is_proposed_and_decided_by_a_second_person(self, part, share, ok):
        invoice = self.issued()
        owed = services.balances_of(invoice)
        due = owed.patient_due if part == "patient" else owed.insurer_due
        amount = (due * share / 100).quantize(FEN)
        if amount <= 0:
            return
        finance, admin = self.users["finance"], self.users["hospital_admin"]
        write_off = services.propose_write_off(finance, invoice, {"part": part, "amount": str(amount), "reason": "x"})
        with pytest.raises(PermissionDenied):
            services.decide_write_off(finance, invoice, write_off.pk, approve=True)
        decided = services.decide_write_off(admin, invoice, write_off.pk, approve=ok)
        assert decided.status == (WriteOffStatus.APPROVED if ok else WriteOffStatus.REJECTED)

    # --- after every step -----------------------------------------------------------------------

    @invariant()
    def every_statement_adds_up_and_the_insurer_stays_within_its_guarantee(self):
        for invoice in self.invoices():
            if invoice.status == InvoiceStatus.DRAFT:
                split = services.split_of(invoice)
                lines, insurer, patient, total = split.lines, split.insurer, split.patient, split.total
                guarantee, on = (split.guarantee if split.cover is not None else None), clock.today()
            elif invoice.is_void:
                continue
            else:
                lines = list(invoice.lines.all())
                insurer, patient, total = invoice.insurer_cny, invoice.patient_cny, invoice.total_cny
                guarantee = Guarantee.objects.filter(case=self.case, reference=invoice.guarantee_ref).first()
                on = invoice.issue_date
                if not invoice.guarantee_ref:
                    assert insurer == 0
            for line in lines:
                parts = (line.not_covered_cny, line.excess_cny, line.copay_cny, line.declined_cny, line.over_limit_cny)
                assert min((*parts, line.insurer_cny)) >= 0
                assert line.patient_cny == sum(parts) and line.insurer_cny + line.patient_cny == line.amount_cny
            assert sum((line.amount_cny for line in lines), ZERO) == total
            assert sum((line.insurer_cny for line in lines), ZERO) == insurer
            assert insurer + patient == total
            if guarantee is None:
                assert insurer == 0
                continue
            assert insurer <= coverage.guarantee_cny(guarantee, on)
            for gop_line in guarantee.lines.all():
                paid = sum((line.insurer_cny for line in lines if line.gop_sequence == gop_line.sequence), ZERO)
                if gop_line.review_action in ("A3", "A4", ""):
                    assert paid == 0
                elif gop_line.approved_amount is not None:
                    cap = gop_line.approved_amount
                    if guarantee.approved_currency != "CNY":
                        cap = coverage.guarantee_cny(
                            type("Cap", (), {"approved_amount": cap, "approved_currency": guarantee.approved_currency}),
                            on,
                        )
                    assert paid <= cap

    @invariant()
    def a_cancelled_statement_owes_nothing(self):
        listed = {row.invoice.pk for row in services.receivables(self.users["finance"]).rows}
        for invoice in self.invoices():
            if invoice.status == InvoiceStatus.CANCELLED:
                owed = services.balances_of(invoice)
                assert (owed.balance, owed.insurer_due, owed.patient_due) == (0, 0, 0)
                assert not invoice.payments.exists() and invoice.pk not in listed
                assert services.replacement_of(invoice) is not None

    @invariant()
    def the_balance_is_the_parts_less_payments_with_exchange_differences(self):
        for invoice in self.invoices():
            if invoice.is_void or invoice.status == InvoiceStatus.DRAFT:
                continue
            owed = services.balances_of(invoice)
            payments = list(invoice.payments.all())
            received = sum((p.signed_cny for p in payments), ZERO)
            exchange = sum((p.exchange_difference_cny for p in payments), ZERO)
            settled = sum((p.signed_settled_cny for p in payments), ZERO)
            approved = sum((w.amount_cny for w in invoice.write_offs.filter(status=WriteOffStatus.APPROVED)), ZERO)
            assert owed.balance == invoice.total_cny - received + exchange - approved
            assert owed.balance == invoice.total_cny - settled - approved
            assert owed.balance == owed.balance.quantize(FEN) and owed.insurer_due + owed.patient_due == owed.balance
            for payment in payments:
                if payment.pinned_rate is None:
                    assert payment.exchange_difference_cny == 0 and payment.settled_cny == payment.amount_cny
                else:
                    sign = -1 if payment.kind == "refund" else 1
                    assert payment.exchange_difference_cny == sign * (payment.amount_cny - payment.settled_cny)
            settled_state = owed.insurer_due == 0 and owed.patient_due == 0
            assert (invoice.status == InvoiceStatus.BALANCED) == settled_state

    @invariant()
    def one_payment_per_key(self):
        for key, (payment_id, _invoice, _data) in self.keys.items():
            assert list(Payment.objects.filter(idempotency_key=key).values_list("pk", flat=True)) == [payment_id]
        assert Invoice.objects.filter(case=self.case, status__in=("draft", "issued", "balanced")).count() <= 1


def test_money_holds_whatever_happens(quoted_case, users, agents):
    MoneyMachine.case, MoneyMachine.users, MoneyMachine.agent = quoted_case, users, agents["mine"]
    run_state_machine_as_test(
        MoneyMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
