"""A member of the public reads the fairness report in English and Chinese, on a desktop and a phone, picks
an earlier month, and sees what patients actually paid beside a service's list price; each page passes
axe-core. The screenshots are the user guide's."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser.conftest import DEMO_HOSPITAL, screenshot

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def demo(transactional_db, settings):
    """The demo with its generated history, which the report and the real prices are built from."""
    from django.core.management import call_command

    settings.LAIHUA_DEMO_HISTORY = True
    call_command("load_demo", verbosity=0)


def no_violations(page):
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def test_the_public_reads_the_fairness_report_and_real_prices(page):
    page.goto("/en/fairness/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Fairness report")
    shanghai = page.locator("table.fairness").filter(has_text="All of Shanghai").first
    expect(shanghai).to_contain_text(re.compile(r"\d+\.\d% of the 10\.0% cap"))
    expect(page.locator("table.fairness").filter(has_text="All of Beijing").first).to_be_visible()
    expect(page.locator("#freshness")).to_contain_text("last full recount")
    expect(page.locator("#about")).to_contain_text("fewer than 10 patients")
    no_violations(page)
    screenshot(page, "fairness-report")

    # An earlier month, from the list.
    options = page.locator("select#month option")
    earlier = options.nth(options.count() - 1).get_attribute("value")
    page.select_option("select#month", earlier)
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page).to_have_url(re.compile(rf"month={earlier}"))
    expect(page.locator("h2").first).to_contain_text(earlier)

    # In Chinese.
    page.goto("/zh-hans/fairness/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", level=1)).to_contain_text("公平")
    no_violations(page)
    screenshot(page, "fairness-report-zh")

    # On a phone: no sideways scrolling.
    page.set_viewport_size(PHONE)
    page.goto("/en/fairness/")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    no_violations(page)
    screenshot(page, "fairness-report-phone")

    # What patients actually paid, beside the list price.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"/en/hospitals/{DEMO_HOSPITAL}/services/HIDH-RAD-MRI-1/")
    paid = page.locator(".paid-price")
    expect(paid).to_contain_text("What patients actually paid")
    expect(paid).to_contain_text(re.compile(r"\d+ closed, invoiced cases"))
    no_violations(page)
    screenshot(page, "real-prices")
