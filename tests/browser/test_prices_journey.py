"""The foreign visitor's journey through transparent prices, in English and in Chinese."""

import json
import re
from pathlib import Path

import jsonschema
from playwright.sync_api import expect

from tests.browser.conftest import screenshot

SCHEMA = Path(__file__).resolve().parents[2] / "src" / "laihua" / "catalog" / "data" / "cms-hpt-v3.0.0-schema.json"
HUANGPU = "huangpu-international-demo"


def test_visitor_finds_an_mri_at_several_hospitals_priced_in_usd(page):
    page.goto("/en/")
    screenshot(page, "home-en")
    page.get_by_role("link", name="Prices", exact=True).first.click()
    page.select_option("#currency", "USD")  # the currency menu remembers the choice
    page.fill("#q", "MRI")
    page.locator("#q").press("Enter")
    results = page.locator("table.results tbody tr")
    expect(results.first).to_be_visible()
    hospitals = {text.strip() for text in page.locator("table.results tbody tr td:nth-child(2) a").all_inner_texts()}
    assert len(hospitals) >= 3, hospitals
    expect(page.locator(".rate-line")).to_contain_text(re.compile(r"1 USD = [\d.]+ CNY"))
    expect(page.locator(".rate-line")).to_contain_text("2026")
    expect(page.locator("td.converted").first).to_contain_text("$")
    assert "currency=USD" in page.url or page.locator("#currency").input_value() == "USD"
    screenshot(page, "search-mri-usd-en")


def test_visitor_searches_in_chinese_and_sees_pounds(page):
    page.goto("/zh-hans/prices/?q=核磁&currency=GBP")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("table.results tbody tr").first).to_be_visible()
    expect(page.locator("table.results")).to_contain_text("磁共振")
    expect(page.locator("td.converted").first).to_contain_text("£")
    expect(page.locator(".rate-line")).to_contain_text("GBP")
    screenshot(page, "search-mri-gbp-zh")


def test_service_page_shows_rate_date_and_sourced_home_country_comparison(page):
    page.goto(f"/en/hospitals/{HUANGPU}/services/HIDH-RAD-MRI-1/?currency=USD")
    expect(page.locator("h1")).to_contain_text("MRI")
    expect(page.locator(".rate-line")).to_contain_text("USD")
    abroad = page.locator("section.abroad")
    expect(abroad).to_contain_text("International Federation of Health Plans")
    expect(abroad).to_contain_text("2015")
    expect(abroad).to_contain_text("United States")
    screenshot(page, "service-mri-usd-en")
    page.get_by_role("link", name=re.compile("Compare", re.I)).first.click()
    expect(page).to_have_url(re.compile(r"/en/compare/"))
    expect(page.locator("main table").first.locator("tbody tr")).to_have_count(3)
    screenshot(page, "compare-mri-en")


def test_visitor_downloads_a_price_file_that_validates_against_cms_v3(page):
    page.goto(f"/en/hospitals/{HUANGPU}/")
    screenshot(page, "hospital-profile-en")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Price file (JSON)").click()
    path = download_info.value.path()
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    jsonschema.validate(document, json.loads(SCHEMA.read_text(encoding="utf-8")))
    codes = {code["code"] for item in document["standard_charge_information"] for code in item["code_information"]}
    assert "HIDH-RAD-MRI-1" in codes


def test_language_switcher_moves_between_english_and_chinese(page):
    page.goto("/en/hospitals/")
    page.select_option("#language", "zh-hans")
    expect(page).to_have_url(re.compile(r"/zh-hans/hospitals/"))
    expect(page.locator("main")).to_contain_text("示范")
    screenshot(page, "hospitals-zh")
    page.goto("/hospitals/")  # no prefix: the remembered choice wins
    expect(page).to_have_url(re.compile(r"/zh-hans/hospitals/"))
