"""The demo billing: a discharged case whose invoice is split between the demo insurer and the patient, with a
deposit, an answered claim and a remittance; loading again changes nothing."""

from decimal import Decimal

from laihua.billing import services
from laihua.billing.models import Invoice, Payment, PaymentKind
from laihua.demo import billing as demo


def test_demo_invoice_is_split_paid_in_part_and_loads_once(db, settings):
    from laihua.demo.loader import load_demo

    settings.DEMO_MODE = True
    load_demo()
    invoice = Invoice.objects.get(case__events__detail__demo=demo.CASE_KEY)
    assert invoice.case.state == "discharged" and invoice.status == "issued"
    assert invoice.insurer.code == "demo-global-health" and invoice.insurer_cny > 0 and invoice.patient_cny > 0
    assert sorted(invoice.payments.values_list("kind", flat=True)) == ["deposit", "remittance"]
    owed = services.balances_of(invoice)
    assert owed.insurer_due == 0 and owed.patient_due == invoice.patient_cny - Decimal("500.00")
    assert invoice.claims.get().response.outcome == "complete"
    assert invoice.lines.filter(source="extra", code="HIDH-LAB-CBC").exists()
    demo.load()
    assert Invoice.objects.filter(case=invoice.case).count() == 1 and invoice.payments.count() == 2


def test_demo_statements_show_the_partial_guarantee_and_the_payment_in_dollars(db, settings):
    """The partly approved guarantee: the interpreter declined with the insurer's reason, so both interpreter lines
    (the quoted one and the one finance priced by hand) are the patient's; the statement paid exactly in the dollars
    shown is balanced, with the difference from the day's rate as an exchange gain. Loading again changes nothing."""
    from laihua.audit.models import AuditEvent
    from laihua.demo import statements
    from laihua.demo.loader import load_demo
    from laihua.insurance.models import Guarantee

    settings.DEMO_MODE = True
    load_demo()
    partial = Invoice.objects.get(case__events__detail__demo=statements.PARTIAL_KEY)
    gop = Guarantee.objects.get(case=partial.case)
    assert gop.status == "partial" and partial.status == "issued" and partial.guarantee_ref == gop.reference
    reason = statements.PARTIAL["guarantee_answer"]["declined_reason"]
    interpreters = partial.lines.filter(code=statements.PARTIAL["interpreter"]["code"]).order_by("position")
    assert [line.source for line in interpreters] == ["quote", "extra"]
    for line in interpreters:
        assert line.insurer_cny == 0 and line.patient_cny == line.amount_cny
        assert line.insurer_decision == "declined" and line.insurer_reason == reason
    mri = partial.lines.exclude(code=statements.PARTIAL["interpreter"]["code"]).get()
    # The MRI is approved: the insurer pays it but for the contract's excess and co-payment.
    assert mri.insurer_decision == "approved" and mri.declined_cny == 0 and mri.insurer_cny > 0
    assert mri.insurer_cny + mri.excess_cny + mri.copay_cny == mri.amount_cny and partial.insurer_cny == mri.insurer_cny
    issued = AuditEvent.objects.get(action="invoice.issue", object_id=str(partial.pk))
    assert [entry["line"] for entry in issued.detail["shortfall_confirmed"]["lines"]] == [1, 2, 3]  # finance confirmed

    paid = Invoice.objects.get(case__events__detail__demo=statements.FOREIGN_KEY)
    payment = paid.payments.get()
    assert paid.currency == "USD" and paid.status == "balanced" and services.balances_of(paid).balance == 0
    assert payment.kind == PaymentKind.BALANCE and payment.amount == paid.patient_converted
    assert payment.settled_cny == paid.patient_cny and payment.exchange_difference_cny > 0
    assert payment.exchange_difference_cny == payment.amount_cny - payment.settled_cny

    counts = (Invoice.objects.count(), Payment.objects.count(), Guarantee.objects.count())
    load_demo()
    assert (Invoice.objects.count(), Payment.objects.count(), Guarantee.objects.count()) == counts
