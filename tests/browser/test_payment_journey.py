"""Finance bills a patient who pays in pounds: the issued invoice shows the patient's part pinned in pounds; paying
exactly that settles it (balance zero, the difference with the day's rate an exchange gain or loss); Back and Submit
records nothing more; the month's exchange gains and losses read on a phone."""

import datetime
import re
from decimal import Decimal

from playwright.sync_api import expect

from tests.browser.conftest import DEMO_HOSPITAL, screenshot, sign_in
from tests.builders import make_case

PHONE = {"width": 390, "height": 844}


def a_case_paid_in_pounds():
    from laihua.accounts.models import User
    from laihua.hospitals.models import Hospital
    from laihua.kit import clock
    from laihua.rates.models import ExchangeRate

    today = clock.today()
    ExchangeRate.objects.create(currency="GBP", rate_date=today, cny_per_unit=Decimal("9.1234"), source="Test rates")
    ExchangeRate.objects.create(
        currency="GBP", rate_date=today - datetime.timedelta(days=2), cny_per_unit=Decimal("9.3"), source="Test rates"
    )
    hospital = Hospital.objects.get(slug=DEMO_HOSPITAL)
    patient = User.objects.get(username="demo-patient").patient
    patient.preferred_currency = "GBP"
    patient.save(update_fields=["preferred_currency"])
    return make_case(patient, hospital, state="discharged", description="Knee MRI while visiting.").reference


def no_sideways_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.url


def test_paying_the_pounds_shown_settles_the_invoice_once(page):
    reference = a_case_paid_in_pounds()
    sign_in(page, "huangpu-finance")
    page.goto("/en/billing/")
    page.locator("#to-bill tr", has_text=reference).get_by_role("button", name="Draft the statement").click()
    page.locator("#add-extra summary").click()
    mri = page.locator("#add-extra select[name=item] option", has_text="HIDH-RAD-MRI-1").get_attribute("value")
    page.select_option("#add-extra select[name=item]", mri)
    page.fill("#add-extra input[name=reason]", "MRI of the knee ordered on arrival")
    page.locator("#add-extra button[type=submit]").click()
    page.get_by_role("button", name="Issue the statement").click()
    expect(page.locator("#invoice-status")).to_have_text("Issued")

    # The patient's part is pinned in pounds; paying exactly that, received two days ago at another rate.
    pounds = page.locator("#patient-due-pinned").inner_text()
    assert pounds.startswith("£"), pounds
    page.select_option("#payment-form select[name=kind]", "balance")
    page.fill("#payment-form input[name=amount]", re.sub(r"[^\d.]", "", pounds))
    page.fill("#payment-form input[name=currency]", "GBP")
    page.fill("#payment-form input[name=reference]", "CARD-GBP-0001")
    page.fill("#payment-form input[name=received_on]", (datetime.date.today() - datetime.timedelta(days=2)).isoformat())
    page.locator("#payment-form button[type=submit]").click()
    expect(page.locator(".messages")).to_contain_text("settles")
    expect(page.locator("#invoice-status")).to_have_text("Balanced")
    expect(page.locator("#patient-due")).to_have_text(re.compile(r"0\.00"))
    expect(page.locator("#exchange-difference")).not_to_have_text(re.compile(r"^CN¥0\.00$"))
    expect(page.locator("#payment-form-used")).to_contain_text("CARD-GBP-0001")

    # Back, and Submit again: the first payment, never a second one.
    page.go_back()
    form = page.locator("#payment-form button[type=submit]")
    if form.count():
        form.click()
        expect(page.locator(".messages")).to_contain_text("already recorded")
    page.goto(page.url.split("#")[0])
    expect(page.locator("#payments tbody tr")).to_have_count(1)

    # The month's exchange gains and losses, on a phone.
    page.set_viewport_size(PHONE)
    no_sideways_scroll(page)
    page.goto("/en/billing/exchange-differences/")
    expect(page.locator("#exchange-rows")).to_contain_text("CARD-GBP-0001")
    expect(page.locator("#exchange-totals")).to_contain_text("GBP")
    no_sideways_scroll(page)
    screenshot(page, "billing-exchange-differences")
