"""The demo billing: a discharged case whose invoice is split between the demo insurer and the patient, with a
deposit, an answered claim and a remittance; loading again changes nothing."""

from decimal import Decimal

from laihua.billing import services
from laihua.billing.models import Invoice, Payment
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
    assert Invoice.objects.count() == 1 and Payment.objects.count() == 2
