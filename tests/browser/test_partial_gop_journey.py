"""The whole case of issue 14, played through the pages: the insurer's agent partly approves a guarantee in the
portal, declining the interpreter with its reason; finance drafts the statement, adds a second interpreter session
priced by hand, reads why the insurer pays less than its guarantee allows and confirms it, issues; the patient's
part is pinned in pounds and paying exactly the pounds shown leaves nothing owed; with the insurer's remittance the
balance is zero and the receipt PDF downloads."""

import datetime
import re
from decimal import Decimal

from playwright.sync_api import expect

from tests.browser.conftest import DEMO_HOSPITAL, screenshot, sign_in
from tests.builders import make_case

DECLINED = "Interpreting is not a medical service"


def a_case_waiting_for_the_insurer():
    """A case of the demo patient (paying in pounds) at Huangpu: an MRI and an interpreter priced by hand quoted
    and accepted, the coverage and the patient's consent recorded, the GOP request sent. Returns the case and the
    GOP's number and the interpreter's line."""
    from laihua.accounts.models import User
    from laihua.catalog.models import CatalogItem
    from laihua.demo import quotes as quotes_demo
    from laihua.hospitals.models import Hospital
    from laihua.insurance import services as insurance
    from laihua.kit import clock
    from laihua.rates.models import ExchangeRate

    today = clock.today()
    ExchangeRate.objects.create(currency="GBP", rate_date=today, cny_per_unit=Decimal("9.1234"), source="Test rates")
    hospital = Hospital.objects.get(slug=DEMO_HOSPITAL)
    patient = User.objects.get(username="demo-patient").patient
    patient.preferred_currency = "GBP"
    patient.save(update_fields=["preferred_currency"])
    coordinator = User.objects.get(username="huangpu-coord")
    case = make_case(
        patient,
        hospital,
        state="accepted",
        services=list(CatalogItem.objects.filter(hospital=hospital, code="HIDH-RAD-MRI-1")),
        description="Shoulder MRI with an interpreter.",
        desired_arrival=today,
        desired_departure=today + datetime.timedelta(days=2),
        coordinator=coordinator,
    )
    quotes_demo.load()  # the accepted quote: the MRI and an interpreter priced by hand
    insurance.record_coverage(
        coordinator,
        case,
        {
            "insurer": "demo-global-health",
            "member_id": "M-000123",
            "valid_from": today.replace(month=1, day=1).isoformat(),
            "valid_until": (today + datetime.timedelta(days=365)).isoformat(),
        },
    )
    insurance.grant_gop_consent(patient.user, case)
    gop = insurance.send_guarantee_request(
        coordinator,
        case,
        {"diagnosis_code": "S43.4", "diagnosis_text": "Sprain of the shoulder", "treating_doctor": "Dr Demo Zhang"},
    )
    interpreter = gop.lines.get(code=quotes_demo.INTERPRETER["code"])
    return case, gop.number, interpreter


def discharge(case):
    from laihua.accounts.models import User
    from laihua.cases.services import move

    coordinator = User.objects.get(username="huangpu-coord")
    for state in ("scheduled", "arrived", "in_treatment", "discharged"):
        case = move(coordinator, case, state)


def test_partial_gop_declined_interpreter_paid_in_pounds_to_a_zero_balance(page):
    case, number, interpreter = a_case_waiting_for_the_insurer()
    today = datetime.date.today()

    # The insurer's agent partly approves in the portal, declining the interpreter with its reason.
    sign_in(page, "insurer-agent")
    page.goto(f"/en/insurance/portal/{number}/")
    answer = page.locator("#answer-form")
    answer.get_by_label("Partly approved", exact=True).check()
    answer.locator("input[name=reference]").fill("DGH-PA-5150")
    answer.locator("input[name=amount]").fill("3000.00")
    answer.locator("input[name=currency]").fill("CNY")
    answer.locator("input[name=valid_until]").fill((today + datetime.timedelta(days=30)).isoformat())
    answer.locator("#line-decisions summary").click()
    answer.locator(f"select[name=line-{interpreter.sequence}-decision]").select_option("declined")
    answer.locator(f"input[name=line-{interpreter.sequence}-reason]").fill(DECLINED)
    screenshot(page, "billing-gop-partial-answer")
    answer.get_by_role("button", name="Send the answer").click()
    expect(page.locator("main")).to_contain_text("Your answer is recorded")
    discharge(case)

    # Finance drafts the statement, confirms what was delivered and adds a second interpreter session by hand.
    sign_in(page, "huangpu-finance")
    page.goto("/en/billing/")
    page.locator("#to-bill tr", has_text=case.reference).get_by_role("button", name="Draft the statement").click()
    expect(page.locator("#invoice-status")).to_have_text("Draft")
    confirm = page.locator("#lines").get_by_role("button", name="Confirm", exact=True)
    while confirm.count():
        confirm.first.click()
        page.wait_for_load_state()
    page.locator("#add-extra summary").click()
    extra = page.locator("#add-extra")
    extra.locator("input[name=code]").fill(interpreter.code)
    extra.locator("input[name=description_en]").fill("Medical interpreter (English), at discharge")
    extra.locator("input[name=description_zh]").fill("医疗翻译（英语），出院时")
    extra.locator("input[name=unit_price]").fill("300")
    extra.locator("input[name=reason]").fill("The patient asked for the interpreter at discharge")
    extra.locator("button[type=submit]").click()
    expect(page.locator(".messages")).to_contain_text("The line is added")

    # The draft shows its split and why the insurer pays less than its guarantee allows, naming the lines.
    shortfall = page.locator("#shortfall")
    expect(shortfall).to_contain_text(DECLINED)
    expect(shortfall).to_contain_text(interpreter.code)
    shortfall.scroll_into_view_if_needed()
    screenshot(page, "billing-draft-shortfall")
    page.locator("#issue-form input[name=confirm_shortfall]").check()
    page.get_by_role("button", name="Issue the statement").click()
    expect(page.locator("#invoice-status")).to_have_text("Issued")
    expect(page.locator("#lines")).to_contain_text(DECLINED)

    # The patient pays exactly the pounds shown: nothing left owing, not even a fen.
    pounds = page.locator("#patient-due-pinned").inner_text()
    assert pounds.startswith("£"), pounds
    form = page.locator("#payment-form")
    form.locator("select[name=kind]").select_option("balance")
    form.locator("input[name=amount]").fill(re.sub(r"[^\d.]", "", pounds))
    form.locator("input[name=currency]").fill("GBP")
    form.locator("input[name=reference]").fill("CARD-GBP-5150")
    form.locator("button[type=submit]").click()
    expect(page.locator("#patient-due")).to_have_text(re.compile(r"^CN¥0\.00$"))
    expect(page.locator("#patient-due-pinned")).to_have_text(re.compile(r"^£0\.00$"))

    # The insurer's remittance of its part: balanced, balance zero.
    insurer_due = page.locator("#insurer-due").inner_text()
    page.locator("#payment-form-used").get_by_role("button", name="Record another payment").click()
    form = page.locator("#payment-form")
    form.locator("select[name=kind]").select_option("remittance")
    form.locator("select[name=method]").select_option("bank_transfer")
    form.locator("input[name=amount]").fill(re.sub(r"[^\d.]", "", insurer_due))
    form.locator("input[name=currency]").fill("CNY")
    form.locator("input[name=reference]").fill("DGH-REMIT-5150")
    form.locator("button[type=submit]").click()
    expect(page.locator("#invoice-status")).to_have_text("Balanced")
    expect(page.locator("#balance-value")).to_have_text(re.compile(r"^CN¥0\.00$"))
    screenshot(page, "billing-partial-gop-paid-in-pounds")

    # The receipt.
    with page.expect_download() as download:
        page.get_by_role("link", name="Receipt PDF").click()
    path = download.value.path()
    with open(path, "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    assert download.value.suggested_filename.endswith("-receipt.pdf")
