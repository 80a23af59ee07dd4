"""The coordinator opens the demo knee case's trip from the case page, sees the planned itinerary and the
earliest-slot comparison, tries a limit that cannot fit and reads why, plans again and confirms (every
service booked); the patient then reads the itinerary and downloads it as iCalendar and PDF."""

from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in


def demo_trip_reference() -> str:
    from laihua.demo.planning import DEMO_KEY
    from laihua.planning.models import Itinerary

    found = Itinerary.objects.filter(case__events__kind="opened", case__events__detail__demo=DEMO_KEY)
    return found.select_related("case").get().case.reference


def test_coordinator_plans_and_confirms_and_the_patient_downloads_the_itinerary(page):
    reference = demo_trip_reference()
    sign_in(page, "huangpu-coord")
    page.goto(f"/en/cases/{reference}/")
    page.locator("#trip-link a").click()
    expect(page.locator("#itinerary")).to_contain_text("Planned itinerary")
    expect(page.locator("#itinerary-days")).to_contain_text("MRI")
    expect(page.locator("#comparison")).to_contain_text("earliest free day")
    screenshot(page, "planning-itinerary")

    # A stay limit the clinical order cannot meet: the reason names the limit, with the nearest plan.
    page.fill("input[name=stay_limit]", "2")
    page.locator("#plan-trip").click()
    expect(page.locator("#no-plan")).to_contain_text("limit by")
    expect(page.locator("#nearest")).to_be_visible()
    screenshot(page, "planning-no-plan")

    page.fill("input[name=stay_limit]", "30")
    page.fill("input[name=visits_per_day]", "2")
    page.locator("#plan-trip").click()
    expect(page.locator("main .messages")).to_contain_text("Trip planned")
    page.locator("#confirm-trip").click()
    expect(page.locator("main .messages")).to_contain_text("Every service is booked")
    expect(page.locator("#itinerary")).to_contain_text("Confirmed itinerary")
    screenshot(page, "planning-confirmed")

    sign_in(page, "demo-patient")
    page.goto(f"/en/cases/{reference}/")
    page.locator("#trip-link a").click()
    expect(page.locator("h1")).to_have_text("Your trip")
    expect(page.locator("#plan-form")).to_have_count(0)
    expect(page.locator("#itinerary-days")).to_contain_text("Knee arthroscopy")
    screenshot(page, "planning-patient")
    with page.expect_download() as download:
        page.locator("#download-ics").click()
    body = Path(download.value.path()).read_bytes().decode("utf-8")
    assert body.startswith("BEGIN:VCALENDAR\r\n") and "LOCATION:" in body
    with page.expect_download() as download:
        page.locator("#download-pdf").click()
    assert Path(download.value.path()).read_bytes()[:4] == b"%PDF"


def test_coordinator_keeps_the_planning_defaults_of_the_hospitals_services(page):
    sign_in(page, "huangpu-coord")
    page.goto("/en/")
    page.get_by_role("link", name="Planning defaults").click()
    expect(page.locator("h1")).to_have_text("Planning defaults")
    codes = page.locator("#catalog-codes option")
    before, after = codes.nth(0).get_attribute("value"), codes.nth(1).get_attribute("value")
    new = page.locator("#order-new")
    new.locator("input[name=before]").fill(before)
    new.locator("input[name=after]").fill(after)
    new.locator("input[name=min_gap_days]").fill("3")
    new.locator("input[name=max_gap_days]").fill("1")
    page.locator("#add-order").click()
    expect(page.locator("#order-new")).to_have_class("has-error")
    page.locator("#order-new input[name=max_gap_days]").fill("5")
    page.locator("#add-order").click()
    expect(page.locator("#rules-done")).to_contain_text(f"{after} now follows {before}")
    expect(page.locator("#clinical-orders")).to_contain_text(before)
    screenshot(page, "planning-defaults")


def test_the_demo_hip_replacement_reads_day_by_day_on_a_phone_and_its_pathway_is_kept(page):
    """The booked hip replacement: every day says why it is there, dates read "16 January 2027"; the pathway
    page lists the hospital's pathways; at 390 px no page scrolls sideways."""
    from laihua.demo.planning import HIP_KEY
    from laihua.planning.models import Itinerary

    hip = Itinerary.objects.filter(case__events__kind="opened", case__events__detail__demo=HIP_KEY).get()
    sign_in(page, "huangpu-coord")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/en/planning/cases/{hip.case.reference}/")
    expect(page.locator("#pathway-summary")).to_contain_text("5 inpatient nights")
    days = page.locator("#itinerary-days")
    expect(days).to_contain_text("inpatient night 1 of 5")
    expect(days).to_contain_text("fit to fly from")
    expect(days).to_contain_text(f"{hip.arrival.day} {hip.arrival:%B %Y}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "trip-pathway-phone")
    page.goto("/en/planning/pathways/")
    expect(page.locator("#pathways")).to_contain_text("PKG-THR")
    wide = page.evaluate(
        "[...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > 390)"
        ".map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 5)"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, wide
    page.goto("/en/planning/pathways/HIDH-PKG-THR/")
    expect(page.locator("#pathway-steps")).to_contain_text("Step 7")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "pathway-form-phone")
