"""What the statement of charges says: nothing owed on a cancelled one (pages, API, receivables, balances) and
each names the other; the hospital's official receipt (finance records it, the patient and the exports see it);
discounts with their reason; and it is never called a fapiao (发票)."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader

from laihua.accounts.services import create_api_token
from laihua.audit.models import AuditEvent
from laihua.billing import services
from laihua.billing.models import Invoice
from laihua.billing.pdf import invoice_pdf, receipt_pdf
from laihua.errors import InvalidInput, NotFound, PermissionDenied
from laihua.kit import clock

from .conftest import confirm_all

pytestmark = pytest.mark.django_db


def url(name, *args):
    with translation.override("en"):
        return reverse(f"billing:{name}", args=args)


def api(client, user, path):
    return client.get(path, headers={"Authorization": f"Bearer {create_api_token(user, user, 'test')[1]}"})


def pdf_text(content: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


@pytest.fixture
def replaced(issued, users):
    """The issued statement (800 insurer, 172 patient) cancelled after a 100 CNY deposit; its replacement issued."""
    services.record_payment(
        users["finance"],
        issued,
        {"kind": "deposit", "method": "card", "reference": "D-1", "amount": "100"},
        idempotency_key="d1",
    )
    replacement = services.cancel_invoice(users["finance"], issued, "Wrong quantity")
    confirm_all(users["finance"], replacement)
    replacement = services.issue_invoice(users["finance"], replacement)
    issued.refresh_from_db()
    return issued, replacement


# --- a cancelled statement owes nothing -----------------------------------------------------------


def test_a_cancelled_statement_owes_nothing_in_the_balances_and_the_api(replaced, users, client):
    cancelled, replacement = replaced
    owed = services.balances_of(cancelled)
    assert (owed.balance, owed.patient_due, owed.insurer_due, owed.total) == (0, 0, 0, 0)
    assert services.balances_of(replacement).patient_due == Decimal("72.00")  # 172 less the deposit moved over
    body = api(client, users["patient"], f"/api/billing/invoices/{cancelled.pk}").json()
    assert body["balances"]["patient_due"] == "0.00" and body["balances"]["balance"] == "0.00"
    assert body["replaced_by"] == replacement.number
    other = api(client, users["patient"], f"/api/billing/invoices/{replacement.pk}").json()
    assert other["replaces"] == cancelled.number and other["replaces_id"] == cancelled.pk


def test_the_patients_pages_show_nothing_owed_on_the_cancelled_one_and_name_each_other(replaced, users, client):
    cancelled, replacement = replaced
    client.force_login(users["patient"])
    for page in (client.get(url("mine")), client.get(reverse("cases:detail", args=[cancelled.case.reference]))):
        rows = page.content.decode().split("<tr")
        (old,) = [row for row in rows if "nothing (cancelled)" in row]
        (new,) = [row for row in rows if f"replaces {cancelled.number}" in row]
        assert cancelled.number in old and f"replaced by {replacement.number}" in old and "CN¥172.00" not in old
        assert replacement.number in new and "CN¥72.00" in new


def test_a_cancelled_statement_before_its_replacement_is_issued_tells_the_patient(issued, users, client):
    services.cancel_invoice(users["finance"], issued, "Wrong quantity")
    client.force_login(users["patient"])
    html = client.get(url("mine")).content.decode()
    assert "replaced by a new statement being prepared" in html and "nothing (cancelled)" in html


def test_the_invoice_page_and_the_pdfs_name_the_replacement(replaced, users, client):
    cancelled, replacement = replaced
    client.force_login(users["finance"])
    page = client.get(url("invoice", cancelled.pk)).content.decode()
    assert f"replaced by {replacement.number}" in page and 'id="nothing-owed"' in page
    assert f"replaces {cancelled.number}" in client.get(url("invoice", replacement.pk)).content.decode()
    text = pdf_text(invoice_pdf(cancelled))
    assert replacement.number in text[text.index("Replaced by") :]
    text = pdf_text(invoice_pdf(replacement))
    assert cancelled.number in text[text.index("Replaces") :]


def test_receivables_never_count_a_cancelled_statement(issued, users, client):
    services.cancel_invoice(users["finance"], issued, "Wrong quantity")
    assert services.receivables(users["finance"]).rows == []
    client.force_login(users["finance"])
    assert issued.number not in client.get(url("receivables_csv")).content.decode()
    assert issued.number not in client.get(url("receivables")).content.decode()


def test_a_cancelled_statement_does_not_stop_the_case_closing_once_its_replacement_is_paid(replaced, users):
    from laihua.cases.services import move

    _cancelled, replacement = replaced
    services.record_payment(
        users["finance"],
        replacement,
        {"kind": "balance", "method": "card", "reference": "B-1", "amount": "72"},
        idempotency_key="b1",
    )
    services.record_payment(
        users["finance"],
        replacement,
        {"kind": "remittance", "method": "bank_transfer", "reference": "R-1", "amount": "800"},
        idempotency_key="r1",
    )
    assert move(users["coordinator"], replacement.case, "closed").state == "closed"


# --- the hospital's official receipt --------------------------------------------------------------

RECEIPT = {"kind": "medical_receipt", "number": "31010126-0000123456", "date": "2026-01-01"}


@pytest.fixture
def receipt_data():
    return {**RECEIPT, "date": clock.today().isoformat()}


def test_finance_records_the_official_receipt_and_the_patient_and_the_exports_see_it(
    issued, users, client, receipt_data
):
    services.record_official_receipt(users["finance"], issued, receipt_data)
    issued.refresh_from_db()
    assert (issued.official_receipt_kind, issued.official_receipt_number) == ("medical_receipt", receipt_data["number"])
    event = AuditEvent.objects.get(action="invoice.official_receipt")
    assert event.detail["before"]["number"] == "" and event.detail["after"]["number"] == receipt_data["number"]

    client.force_login(users["patient"])
    for page in (url("mine"), reverse("cases:detail", args=[issued.case.reference])):
        html = client.get(page).content.decode()
        assert "Electronic medical receipt" in html and receipt_data["number"] in html
    text = pdf_text(client.get(url("pdf", issued.pk)).content)
    assert "Electronic medical receipt" in text and receipt_data["number"] in text
    body = api(client, users["patient"], f"/api/billing/invoices/{issued.pk}").json()
    assert body["official_receipt"]["number"] == receipt_data["number"]
    assert body["official_receipt"]["date"] == receipt_data["date"]

    client.force_login(users["finance"])
    rows = list(csv.DictReader(io.StringIO(client.get(url("receivables_csv")).content.decode())))
    assert {row["official_receipt_number"] for row in rows} == {receipt_data["number"]}
    assert {row["official_receipt_kind"] for row in rows} == {"medical_receipt"}
    receivables = api(client, users["finance"], "/api/billing/receivables").json()
    assert receivables["rows"][0]["official_receipt"]["number"] == receipt_data["number"]


def test_the_page_form_records_the_receipt(issued, users, client, receipt_data):
    client.force_login(users["hospital_admin"])
    client.post(url("official_receipt", issued.pk), {**receipt_data, "kind": "fapiao"})
    issued.refresh_from_db()
    assert issued.official_receipt_kind == "fapiao" and issued.official_receipt_number == receipt_data["number"]


@pytest.mark.parametrize(
    ("who", "error"),
    [
        ("coordinator", PermissionDenied),
        ("clinician", PermissionDenied),
        ("patient", PermissionDenied),
        ("other_admin", PermissionDenied),
    ],
)
def test_only_finance_or_the_admin_of_that_hospital_record_a_receipt(issued, users, who, error, receipt_data):
    with pytest.raises((error, NotFound)):
        services.record_official_receipt(users[who], issued, receipt_data)
    issued.refresh_from_db()
    assert issued.official_receipt_number == ""
    assert not AuditEvent.objects.filter(action="invoice.official_receipt").exists()


def test_other_hospitals_finance_cannot_reach_the_receipt_route(issued, users, client, receipt_data):
    client.force_login(users["other_admin"])
    client.post(url("official_receipt", issued.pk), receipt_data)
    issued.refresh_from_db()
    assert issued.official_receipt_number == ""


def test_a_receipt_only_on_an_issued_statement(draft, users, receipt_data):
    with pytest.raises(services.InvoiceNotIssued):
        services.record_official_receipt(users["finance"], draft, receipt_data)
    assert Invoice.objects.get(pk=draft.pk).official_receipt_number == ""


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "vat"}, "kind"),
        ({"number": ""}, "number"),
        ({"number": "12 <script>"}, "number"),
        ({"date": "tomorrow"}, "date"),
        ({"date": (datetime.date.today() + datetime.timedelta(days=400)).isoformat()}, "date"),
    ],
)
def test_a_wrong_receipt_names_the_field_and_saves_nothing(issued, users, change, field, receipt_data):
    with pytest.raises(InvalidInput) as caught:
        services.record_official_receipt(users["finance"], issued, {**receipt_data, **change})
    assert caught.value.field == field
    issued.refresh_from_db()
    assert issued.official_receipt_number == ""


def test_the_api_records_the_receipt(issued, users, client, receipt_data):
    headers = {"Authorization": f"Bearer {create_api_token(users['finance'], users['finance'], 'test')[1]}"}
    path = f"/api/billing/invoices/{issued.pk}/official-receipt"
    response = client.put(path, receipt_data, content_type="application/json", headers=headers)
    assert response.status_code == 200 and response.json()["official_receipt"]["kind"] == "medical_receipt"
    headers = {"Authorization": f"Bearer {create_api_token(users['coordinator'], users['coordinator'], 't')[1]}"}
    assert client.put(path, receipt_data, content_type="application/json", headers=headers).status_code == 403


# --- discounts and the name of the document -------------------------------------------------------


@pytest.fixture
def discounted(insured, users):
    """The quoted MRI line carries a 10 % discount for a returning patient."""
    from laihua.quotes.models import QuoteLine

    QuoteLine.objects.filter(quote__case=insured).update(
        discount_percent=Decimal("10"), discount_reason="Returning patient"
    )
    invoice = services.start_invoice(users["finance"], insured)
    confirm_all(users["finance"], invoice)
    return services.issue_invoice(users["finance"], invoice)


def test_discounts_show_unit_price_discount_reason_and_amount(discounted, users, client):
    line = discounted.lines.get()
    assert (line.gross_cny, line.discount_cny, line.amount_cny, line.discount_reason) == (
        Decimal("972.00"),
        Decimal("97.20"),
        Decimal("874.80"),
        "Returning patient",
    )
    client.force_login(users["finance"])
    page = client.get(url("invoice", discounted.pk)).content.decode()
    assert "CN¥486.00" in page and "−CN¥97.20" in page and "Returning patient" in page and "CN¥874.80" in page
    text = pdf_text(invoice_pdf(discounted))
    assert "CN¥486.00" in text and "CN¥97.20" in text and "Returning patient" in text and "CN¥874.80" in text
    body = api(client, users["finance"], f"/api/billing/invoices/{discounted.pk}").json()["lines"][0]
    assert (body["discount_percent"], body["discount_reason"], body["gross_cny"]) == (
        "10.00",
        "Returning patient",
        "972.00",
    )


def test_it_is_a_statement_of_charges_never_a_fapiao(issued, users, client):
    for language, title in (("en", "Statement of charges"), ("zh-hans", "费用结算单")):
        issued.language = language
        text = pdf_text(invoice_pdf(issued))
        assert title in text
        # 发票 appears only where the statement says it is not one.
        assert text.count("发票") == text.count("并非发票") + text.count("发票或医疗收费电子票据")
        receipt = pdf_text(receipt_pdf(issued))
        assert receipt.count("发票") == receipt.count("并非发票") + receipt.count("发票或医疗收费电子票据")
    client.force_login(users["patient"])
    with translation.override("zh-hans"):
        mine = client.get(reverse("billing:mine")).content.decode()
    assert "我的费用结算单" in mine and "发票" not in mine
    client.force_login(users["finance"])
    with translation.override("zh-hans"):
        page = client.get(reverse("billing:invoice", args=[issued.pk])).content.decode()
    # Besides the notes saying what it is not, 发票 names only the kind of official receipt finance can record.
    assert "费用结算单" in page
    assert page.count("发票") == page.count("并非发票") + page.count("开具发票或") + page.count(">发票</option>")
