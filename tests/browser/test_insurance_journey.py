"""Direct billing: the coordinator records the patient's coverage and asks the patient for their consent to send
their health data to the insurer; the patient reads what would be sent to whom, on a phone, and consents; the
coordinator sends a guarantee of payment request built from the accepted quote; the insurer's agent lands in the
insurer portal, approves it with a reference, an amount, a currency and a validity; the case shows the approval."""

import datetime
import re

from playwright.sync_api import expect

from tests.browser.conftest import DEMO_HOSPITAL, DEMO_PASSWORD, screenshot, sign_in
from tests.builders import make_case


def accepted_case():
    """A fresh case of the demo patient at Huangpu, accepted, with its accepted quote (no coverage yet)."""
    from laihua.accounts.models import User
    from laihua.catalog.models import CatalogItem
    from laihua.demo import quotes as quotes_demo
    from laihua.hospitals.models import Hospital

    hospital = Hospital.objects.get(slug=DEMO_HOSPITAL)
    patient = User.objects.get(username="demo-patient").patient
    items = list(CatalogItem.objects.filter(hospital=hospital, code__in=["HIDH-RAD-MRI-1", "HIDH-ORTH-ARTHRO"]))
    arrival = datetime.date.today() + datetime.timedelta(days=14)
    case = make_case(
        patient,
        hospital,
        state="accepted",
        services=items,
        description="Knee arthroscopy.",
        desired_arrival=arrival,
        desired_departure=arrival + datetime.timedelta(days=3),
        coordinator=User.objects.get(username="huangpu-coord"),
    )
    quotes_demo.load()
    assert case.quotes.filter(status="accepted").exists()
    return case.reference


def other_agent(username):
    """An agent of the demo assistance company (the demo has one agent only, for Demo Global Health)."""
    from laihua.accounts.models import Role, User
    from laihua.insurance.models import Insurer, InsurerAgent

    user = User.objects.create(username=username, role=Role.INSURER_AGENT, email=f"{username}@demo.example")
    user.set_password(DEMO_PASSWORD)
    user.save()
    InsurerAgent.objects.create(user=user, insurer=Insurer.objects.get(code="demo-assist"))


def test_coordinator_sends_a_gop_the_insurer_approves_and_the_case_shows_it(page, live_server, settings):
    settings.SITE_URL = live_server.url  # the link in the message to the patient
    reference = accepted_case()
    today = datetime.date.today()

    # The coordinator records the coverage, which matches the hospital's contract, and sends the request.
    sign_in(page, "huangpu-coord")
    page.goto(f"/en/cases/{reference}/")
    panel = page.locator("#insurance")
    expect(panel).to_contain_text("No insurance coverage recorded.")
    panel.locator("select[name=insurer]").select_option("demo-global-health")
    panel.locator("input[name=member_id]").fill("M-000123")
    panel.locator("input[name=policy_number]").fill("DGH-0000-0002")
    panel.locator("input[name=valid_from]").fill(today.replace(month=1, day=1).isoformat())
    panel.locator("input[name=valid_until]").fill((today + datetime.timedelta(days=365)).isoformat())
    panel.get_by_role("button", name="Save the coverage").click()
    expect(page.locator("main")).to_contain_text("matches the contract")

    # No request without the patient's consent: the coordinator asks for it.
    expect(panel).to_contain_text("consent to send their health data to Demo Global Health (demo insurer) is missing")
    expect(page.locator("form.gop-form")).to_have_count(0)
    panel.get_by_role("button", name="Ask the patient for consent").click()
    expect(page.locator("main")).to_contain_text("The patient is asked for consent")

    # The patient follows the link in the message, on a phone, reads what would be sent to whom and consents.
    sign_in(page, "demo-patient")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/en/cases/{reference}/")
    page.locator("#thread a[href*='#insurer-consent']").last.click()
    box = page.locator("#insurer-consent")
    expect(box).to_contain_text("Demo Global Health")
    expect(box).to_contain_text("Diagnosis (with its ICD-10 code)")
    expect(box).to_contain_text("Itemised estimate and bill")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "sideways scroll on a phone"
    box.scroll_into_view_if_needed()
    screenshot(page, "insurance-patient-consent")
    box.get_by_role("button", name="I consent to sending this to Demo Global Health (demo insurer)").click()
    expect(page.locator("main")).to_contain_text("your consent is recorded")
    expect(page.locator("#insurer-consent")).to_contain_text("Consent given on")
    page.set_viewport_size({"width": 1280, "height": 900})

    sign_in(page, "huangpu-coord")
    page.goto(f"/en/cases/{reference}/")
    expect(page.locator("#gop-consent")).to_contain_text("The patient consented on")
    form = page.locator("form.gop-form")
    expect(form).to_contain_text("needs pre-authorisation")
    form.locator("input[name=diagnosis_code]").fill("knee")
    form.locator("input[name=diagnosis_text]").fill("Tear of meniscus, left knee")
    form.locator("input[name=treating_doctor]").fill("Dr Demo Zhang")
    form.get_by_role("button", name="Send the GOP request").click()
    expect(page.locator("main")).to_contain_text("is not an ICD-10 code")
    form = page.locator("form.gop-form")
    form.locator("input[name=diagnosis_code]").fill("S83.2")
    form.locator("input[name=diagnosis_text]").fill("Tear of meniscus, left knee")
    form.locator("input[name=treating_doctor]").fill("Dr Demo Zhang")
    form.get_by_role("button", name="Send the GOP request").click()
    expect(page.locator("main")).to_contain_text("is sent to Demo Global Health")
    row = page.locator("#insurance .gop-table tbody tr").first
    expect(row).to_contain_text("Waiting for the insurer")
    number = row.locator("a").inner_text()
    screenshot(page, "insurance-case-gop-sent")

    # The insurer's agent starts in the portal, sees the request and approves it.
    sign_in(page, "insurer-agent")
    expect(page).to_have_url(re.compile(r"/insurance/portal/$"))
    expect(page.locator(f"#gop-{number}")).to_contain_text("S83.2")
    screenshot(page, "insurance-portal")
    page.get_by_role("link", name=number).click()
    expect(page.locator("main")).to_contain_text("Itemised estimate")
    answer = page.locator("#answer-form")
    answer.get_by_label("Approved", exact=True).check()
    answer.locator("input[name=reference]").fill("DGH-GOP-4711")
    answer.locator("input[name=amount]").fill("2500.00")
    answer.locator("input[name=currency]").fill("USD")
    answer.locator("input[name=valid_until]").fill((today + datetime.timedelta(days=31)).isoformat())
    screenshot(page, "insurance-portal-answer")
    answer.get_by_role("button", name="Send the answer").click()
    expect(page.locator("main")).to_contain_text("Your answer is recorded")

    # The coordinator sees the approval on the case.
    sign_in(page, "huangpu-coord")
    page.goto(f"/en/cases/{reference}/")
    row = page.locator(f"#gop-{number}")
    expect(row).to_contain_text("Approved")
    expect(row).to_contain_text("DGH-GOP-4711")
    expect(row).to_contain_text("2,500.00")
    page.locator("#insurance").scroll_into_view_if_needed()
    screenshot(page, "insurance-case-approved")

    # Another insurer's agent never sees it.
    other_agent("assist-agent")
    sign_in(page, "assist-agent")
    expect(page.locator("main")).not_to_contain_text(number)
    assert page.goto(f"/en/insurance/portal/{number}/").status == 404
