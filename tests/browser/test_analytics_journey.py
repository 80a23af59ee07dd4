"""The hospital admin reads the hospital's analytics and the city health commission every hospital's side by side,
in English and in Chinese: each view's chart drawn beside its table, the filters, the CSV export, the capacity
chart, a phone's width without sideways scroll, and no axe-core violation."""

import re

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in


def no_violations(page):
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def fits_a_phone(page):
    page.set_viewport_size({"width": 390, "height": 844})
    wide = page.evaluate(
        "Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > 391)"
        ".slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id)"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, wide
    page.set_viewport_size({"width": 1280, "height": 900})


def test_hospital_admin_reads_the_hospitals_analytics(page):
    sign_in(page, "huangpu-admin")
    page.get_by_role("link", name="Analytics", exact=True).click()
    expect(page.locator("h1")).to_contain_text("Analytics: Huangpu International Demo Hospital")
    expect(page.locator("#refreshed")).to_contain_text("Figures as of")
    activity = page.locator("#view-activity")
    expect(activity.locator("table tbody tr").first).to_be_visible()
    expect(activity.locator("[data-chart=activity][data-drawn=true] svg")).to_have_count(1)
    expect(page.locator("#view-interpreters")).to_contain_text("No interpreted visits in confirmed trips")
    screenshot(page, "analytics-hospital-en")
    no_violations(page)
    fits_a_phone(page)

    # The CSV export of a view holds its table.
    with page.expect_download() as download:
        page.locator("#view-funnel").get_by_role("link", name="CSV").click()
    assert download.value.suggested_filename.startswith("analytics-huangpu-international-demo-funnel-")

    # A filter narrows the page and is kept in the export links.
    page.select_option("select[name=country]", "US")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"country=US"))
    expect(page.locator("#view-funnel").get_by_role("link", name="CSV")).to_have_attribute(
        "href", re.compile(r"country=US")
    )

    page.goto("/zh-hans/analytics/")
    expect(page.locator("h1")).to_contain_text("分析")
    expect(page.locator("[data-chart=activity][data-drawn=true] svg")).to_have_count(1)
    screenshot(page, "analytics-hospital-zh")
    no_violations(page)


def test_city_health_commission_reads_every_hospital_side_by_side(page):
    sign_in(page, "city-health")
    page.get_by_role("link", name="City analytics").click()
    expect(page.locator("h1")).to_contain_text("every hospital side by side")
    activity = page.locator("#view-activity")
    expect(activity.locator("tbody th", has_text="Huangpu International Demo Hospital ★")).to_have_count(1)
    expect(activity.locator("tbody th", has_text="Chaoyang Demo Hospital")).to_have_count(1)
    expect(activity.locator("tbody th", has_text="Chaoyang Demo Hospital ★")).to_have_count(0)
    expect(page.locator("[data-chart=activity][data-drawn=true] svg")).to_have_count(1)
    screenshot(page, "analytics-city-en")
    no_violations(page)
    fits_a_phone(page)
    # One hospital's page, from the city's.
    page.locator("#hospital-list").get_by_role("link", name="Chaoyang Demo Hospital").click()
    expect(page.locator("h1")).to_contain_text("Analytics: Chaoyang Demo Hospital")
    page.goto("/zh-hans/analytics/city/")
    expect(page.locator("[data-chart=funnel][data-drawn=true] svg")).to_have_count(1)
    screenshot(page, "analytics-city-zh")
    no_violations(page)


def test_the_utilisation_dashboard_charts_use_against_the_cap(page):
    sign_in(page, "huangpu-admin")
    page.goto("/en/capacity/utilisation/")
    charts = page.locator(".capacity-chart[data-drawn=true] svg")
    expect(charts.first).to_be_visible()
    screenshot(page, "capacity-utilisation-chart-en")
    no_violations(page)
