"""Interpreters in a browser: the coordinator keeps the pool (an error first) and confirms the demo trip, whose
visits name their interpreter; the interpreter reads their own day on a phone, 390 px wide, without sideways
scrolling; the hospital admin reads the shortages on a phone too."""

from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in


def confirm_demo_trip():
    from laihua.accounts.models import User
    from laihua.demo import planning as demo
    from laihua.planning import services
    from laihua.planning.models import Itinerary

    # The knee trip (the hip replacement is booked already); the first visit of the interpreter with the account.
    knee = Itinerary.objects.select_related("case")
    itinerary = knee.get(case__events__kind="opened", case__events__detail__demo=demo.DEMO_KEY)
    services.confirm_itinerary(User.objects.get(username="huangpu-coord"), itinerary)
    visits = itinerary.items.filter(kind="visit", interpreter__user__username="huangpu-interp")
    return itinerary, visits.order_by("day", "starts_at").first()


def test_the_desk_keeps_the_pool_and_the_interpreter_reads_their_day_on_a_phone(browser, live_server, demo):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in(page, "huangpu-coord")
        page.goto("/en/interpreters/")
        expect(page.locator("#pool")).to_contain_text("Wang Fang (demo)")
        expect(page.locator("#pool")).to_contain_text("Arabic")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.fill("#id_name", "Kim Minji (demo)")
        page.fill("#id_languages", "ko xx")
        page.locator("#add-interpreter").click()
        expect(page.locator("main")).to_contain_text("xx is not an ISO 639 language code")
        page.fill("#id_languages", "ko")
        page.locator("#add-interpreter").click()
        expect(page.locator("#pool")).to_contain_text("Korean")
        screenshot(page, "interpreter-pool-phone")

        itinerary, first = confirm_demo_trip()
        assert first is not None
        page.goto(f"/en/planning/cases/{itinerary.case.reference}/")
        expect(page.locator("#itinerary-days")).to_contain_text(f"Interpreter: {first.interpreter.name}, English")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

        sign_in(page, "huangpu-interp")
        page.goto(f"/en/planning/interpreters/my-day/?day={first.day.isoformat()}")
        expect(page.locator("#visits")).to_contain_text("Patient: Alex")
        expect(page.locator("#visits")).to_contain_text("English")
        expect(page.locator("#visits")).to_contain_text("黄浦国际示范医院")
        expect(page.locator("#visits")).not_to_contain_text("PATIENT")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, "interpreter-day-phone")
        page.goto(f"/zh-hans/planning/interpreters/my-day/?day={first.day.isoformat()}")
        expect(page.locator("#visits")).to_contain_text("英语")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

        sign_in(page, "huangpu-admin")
        page.goto("/en/planning/interpreters/shortages/")
        expect(page.locator("h1")).to_contain_text("Interpreter shortages")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()
