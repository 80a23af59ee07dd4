"""The patient's days in China in a browser: the coordinator records a flight on the case page (htmx, an error
first), and the patient reads the day-by-day trip on a phone, 390 px wide, without sideways scrolling."""

from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS, screenshot, sign_in


def demo_trip_reference() -> str:
    from laihua.demo.planning import DEMO_KEY
    from laihua.planning.models import Itinerary

    found = Itinerary.objects.filter(case__events__kind="opened", case__events__detail__demo=DEMO_KEY)
    return found.select_related("case").get().case.reference


def test_the_coordinator_records_the_stay_on_the_case_page(page):
    reference = demo_trip_reference()
    sign_in(page, "huangpu-coord")
    page.goto(f"/en/cases/{reference}/")
    stay = page.locator("#stay")
    expect(stay).to_contain_text("UA857")
    expect(stay).to_contain_text("Permitted stay")
    page.locator("#flight-form summary").click()
    page.select_option("#flight-direction", "out")
    page.fill("#flight-number", "MU 589")
    page.fill("#flight-from", "PVG")
    page.fill("#flight-departs", "2027-03-01T10:00")
    page.fill("#flight-to", "XQZ")
    page.fill("#flight-arrives", "2027-03-01T14:00")
    page.locator("#add-flight").click()
    expect(page.locator("#stay-error")).to_contain_text("airport")
    page.fill("#flight-to", "JFK")
    page.locator("#add-flight").click()
    expect(page.locator("#flights")).to_contain_text("MU589")
    expect(page.locator("#stay-error")).to_have_count(0)
    stay.screenshot(path=str(SCREENSHOTS / "stay-coordinator.png"))


def test_the_patient_reads_the_trip_day_by_day_on_a_phone(browser, live_server, demo):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        reference = demo_trip_reference()
        sign_in(page, "demo-patient")
        page.goto(f"/en/planning/cases/{reference}/")
        expect(page.locator("#taxi-card")).to_contain_text("黄浦国际示范医院")
        expect(page.locator("#taxi-card")).to_contain_text("上海市黄浦区示范滨江路8号")
        expect(page.locator("#itinerary-days")).to_contain_text("Flight UA857 lands at PVG")
        expect(page.locator("#itinerary-days")).to_contain_text("Airport pickup")
        expect(page.locator("#trip-notes")).to_contain_text("eat nothing after midnight")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, "trip-itinerary-phone")
        page.goto(f"/en/cases/{reference}/")
        expect(page.locator("#stay")).to_contain_text("Your days in China")
        expect(page.locator("#stay")).to_contain_text("外滩滨江示范酒店")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.locator("#stay").screenshot(path=str(SCREENSHOTS / "stay-patient-phone.png"))
        page.goto(f"/zh-hans/planning/cases/{reference}/")
        expect(page.locator("#itinerary-days")).to_contain_text("年")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()
