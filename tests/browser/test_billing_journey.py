"""Finance drafts the statement of charges of a discharged case, adds what was delivered beyond the quote, issues
it, records the patient's payment and the hospital's official receipt; the patient sees the receipt and downloads
the statement and the receipt of payments from the case page; finance reads the receivables (the demo invoice
split with Demo Global Health is there). The pages fit a phone."""

import datetime
import re

from playwright.sync_api import expect

from tests.browser.conftest import DEMO_HOSPITAL, screenshot, sign_in
from tests.builders import make_case


def discharged_case():
    from laihua.accounts.models import User
    from laihua.hospitals.models import Hospital

    hospital = Hospital.objects.get(slug=DEMO_HOSPITAL)
    patient = User.objects.get(username="demo-patient").patient
    return make_case(patient, hospital, state="discharged", description="Check-up while travelling.").reference


def test_finance_bills_a_case_and_the_patient_downloads_the_statement(page):
    reference = discharged_case()

    # Finance starts on the receivables: the demo invoice's patient part is still owed.
    sign_in(page, "huangpu-finance")
    expect(page).to_have_url(re.compile(r"/billing/receivables/$"))
    expect(page.locator("#by-payer")).to_contain_text("Patients")
    screenshot(page, "billing-receivables")

    # The list shows the case waiting for its statement; finance drafts it.
    page.get_by_role("link", name="Statements").first.click()
    row = page.locator("#to-bill tr", has_text=reference)
    row.get_by_role("button", name="Draft the statement").click()
    expect(page.locator("h1")).to_contain_text("Draft statement of charges")

    # An extra without a reason is refused; with one it is added (confirmed), then the invoice is issued.
    page.locator("#add-extra summary").click()
    mri = page.locator("#add-extra select[name=item] option", has_text="HIDH-RAD-MRI-1").get_attribute("value")
    page.select_option("#add-extra select[name=item]", mri)
    page.fill("#add-extra input[name=reason]", "MRI of the knee ordered on arrival")
    page.locator("#add-extra button[type=submit]").click()
    expect(page.locator(".messages")).to_contain_text("The line is added")
    expect(page.locator("#line-1")).to_contain_text("HIDH-RAD-MRI-1")
    screenshot(page, "billing-draft")
    page.get_by_role("button", name="Issue the statement").click()
    expect(page.locator("#invoice-status")).to_have_text("Issued")
    number = page.locator("#invoice-number").inner_text()
    assert number.startswith("HUANGPU-INTERNATIONAL-DEMO-")

    # A deposit, then the balance; a double submit of the same form records it once.
    owed = page.locator("#patient-due").inner_text()
    page.select_option("#payment-form select[name=kind]", "balance")
    page.select_option("#payment-form select[name=method]", "alipay")
    amount = re.sub(r"[^\d.]", "", owed)
    page.fill("#payment-form input[name=amount]", amount)
    page.fill("#payment-form input[name=reference]", "ALIPAY-2026-0001")
    page.locator("#payment-form button[type=submit]").click()
    expect(page.locator(".messages")).to_contain_text("The payment is recorded")
    expect(page.locator("#invoice-status")).to_have_text("Balanced")
    expect(page.locator("#payments")).to_contain_text("ALIPAY-2026-0001")
    screenshot(page, "billing-invoice")

    # The hospital issued its electronic medical receipt: finance records it on the statement.
    page.select_option("#official-receipt-form select[name=kind]", "medical_receipt")
    page.fill("#official-receipt-form input[name=number]", "31010126-0000123456")
    page.fill("#official-receipt-form input[name=date]", datetime.date.today().isoformat())
    page.locator("#official-receipt-form button[type=submit]").click()
    expect(page.locator("#official-receipt")).to_contain_text("31010126-0000123456")
    fits_a_phone(page)

    # The patient sees the hospital's receipt and downloads the statement and the receipt from the case page.
    sign_in(page, "demo-patient")
    page.goto(f"/en/cases/{reference}/")
    panel = page.locator("#invoices")
    expect(panel).to_contain_text(number)
    expect(panel).to_contain_text("Electronic medical receipt 31010126-0000123456")
    screenshot(page, "billing-patient-case")
    with page.expect_download() as download:
        panel.get_by_role("link", name="Statement of charges (PDF)").click()
    assert download.value.suggested_filename == f"{number}-statement.pdf"
    with page.expect_download() as download:
        panel.get_by_role("link", name="Receipt (PDF)").click()
    assert download.value.suggested_filename == f"{number}-receipt.pdf"
    fits_a_phone(page)
    page.goto("/en/billing/mine/")
    fits_a_phone(page)


def fits_a_phone(page):
    """At 390 px wide the page does not scroll sideways (wide tables scroll inside their card)."""
    size = page.viewport_size
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size(size)


def test_another_hospitals_finance_cannot_open_the_invoice(page):
    from laihua.billing.models import Invoice

    invoice = Invoice.objects.exclude(status="draft").first()
    sign_in(page, "pudong-finance")
    response = page.goto(f"/en/billing/invoices/{invoice.pk}/")
    assert response.status == 404
    page.goto("/en/billing/")
    expect(page.locator("#invoices")).not_to_contain_text(invoice.number)
