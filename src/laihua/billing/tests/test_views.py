import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from laihua.billing import services
from laihua.billing.models import Invoice, InvoiceStatus

pytestmark = pytest.mark.django_db


def url(name, *args):
    with translation.override("en"):
        return reverse(f"billing:{name}", args=args)


def payment_form(client, invoice) -> str:
    """The server-minted token of the invoice page's payment form."""
    page = client.get(url("invoice", invoice.pk)).content.decode()
    return re.search(r'name="form" value="([^"]+)"', page).group(1)


def test_finance_drafts_confirms_issues_and_records_a_payment_on_the_pages(client, users, insured, blood):
    client.force_login(users["finance"])
    page = client.get(url("list"))
    assert page.status_code == 200 and insured.reference in page.content.decode()
    response = client.post(url("start", insured.reference))
    invoice = Invoice.objects.get(case=insured)
    assert response.status_code == 302 and response["Location"].endswith(url("invoice", invoice.pk))
    client.post(url("add_extra", invoice.pk), {"item": blood.pk, "quantity": "1", "reason": ""})
    assert invoice.lines.count() == 1  # refused: no reason
    client.post(url("add_extra", invoice.pk), {"item": blood.pk, "quantity": "1", "reason": "Pre-op labs"})
    for line in invoice.lines.all():
        client.post(url("confirm", invoice.pk, line.pk), {"quantity": line.quantity})
    client.post(url("issue", invoice.pk))
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.ISSUED and invoice.patient_cny == Decimal("292.00")
    form = payment_form(client, invoice)
    payment = {"kind": "balance", "method": "card", "reference": "POS-1", "amount": "292", "form": form}
    client.post(url("payment", invoice.pk), payment)
    client.post(url("payment", invoice.pk), payment)  # a double submit records it once
    assert invoice.payments.count() == 1
    page = client.get(url("invoice", invoice.pk)).content.decode()
    assert invoice.number in page and "POS-1" in page and "Global Care Assistance" in page


def test_the_patient_sees_the_invoice_on_the_case_page_and_downloads_it(client, users, issued):
    client.force_login(users["patient"])
    page = client.get(reverse("cases:detail", args=[issued.case.reference])).content.decode()
    assert issued.number in page and url("pdf", issued.pk) in page
    assert client.get(url("pdf", issued.pk))["Content-Type"] == "application/pdf"
    assert client.get(url("receipt", issued.pk)).status_code == 200
    assert issued.number in client.get(url("mine")).content.decode()
    assert client.get(url("invoice", issued.pk)).status_code in (200, 403, 404)
    client.post(
        url("payment", issued.pk),
        {"kind": "balance", "method": "card", "reference": "x", "amount": "1", "idempotency_key": "p"},
    )
    assert issued.payments.count() == 0


@pytest.mark.parametrize("who", ["other_admin", "other_coordinator"])
def test_other_hospitals_get_nothing_from_the_pages(client, users, issued, who):
    client.force_login(users[who])
    for name in ("invoice", "pdf", "receipt"):
        assert client.get(url(name, issued.pk)).status_code == 404
    assert issued.number not in client.get(url("list")).content.decode()
    client.post(
        url("payment", issued.pk),
        {"kind": "balance", "method": "card", "reference": "x", "amount": "1", "idempotency_key": "o"},
    )
    client.post(url("issue", issued.pk))
    assert issued.payments.count() == 0


def test_other_patient_cannot_download(client, issued, other_patient):
    client.force_login(other_patient.user)
    assert client.get(url("pdf", issued.pk)).status_code == 404
    assert issued.number not in client.get(url("mine")).content.decode()


def test_receivables_page_and_csv_for_finance_only(client, users, issued):
    client.force_login(users["finance"])
    page = client.get(url("receivables")).content.decode()
    assert "Global Care Assistance" in page and "800.00" in page
    assert issued.number in client.get(url("receivables_csv")).content.decode()
    client.force_login(users["coordinator"])
    assert client.get(url("receivables")).status_code == 403


def test_finance_lands_on_the_receivables_after_signing_in(client, users):
    client.force_login(users["finance"])
    response = client.get(reverse("accounts:home"))
    assert response["Location"].endswith(url("receivables"))


def test_the_claim_response_page_form_moves_the_rest_to_the_patient(client, users, issued):
    claim = services.submit_claim(users["finance"], issued)
    client.force_login(users["finance"])
    client.post(
        url("claim_response", claim.pk),
        {"line-1-paid": "700", "line-1-rejected": "100", "line-1-disposition": "patient", "line-1-reason": "Tariff"},
    )
    owed = services.balances_of(issued)
    assert (owed.insurer_due, owed.patient_due) == (Decimal("700.00"), Decimal("272.00"))
