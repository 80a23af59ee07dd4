"""Staff sign in, change their own hospital's catalog, and the hospital admin reads the audit trail."""

import datetime
import re

from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in


def test_coordinator_sets_a_new_price_and_history_is_kept(page):
    sign_in(page, "huangpu-coord")
    expect(page).to_have_url(re.compile(r"/cases/"))
    page.get_by_role("link", name="Our catalog").click()
    expect(page).to_have_url(re.compile(r"/manage/catalog/"))
    screenshot(page, "staff-catalog-en")
    page.get_by_role("link", name="MRI scan, one region, without contrast").click()
    screenshot(page, "staff-edit-item-en")
    tomorrow = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()
    page.fill("input[name=effective_from]", tomorrow)
    page.fill("input[name=amount_min]", "499")
    page.get_by_role("button", name="Set the price").click()
    expect(page.locator("main")).to_contain_text("499")
    screenshot(page, "staff-price-history-en")


def test_a_past_price_date_is_refused_with_the_field_named(page):
    sign_in(page, "huangpu-coord")
    page.goto("/en/manage/catalog/")
    page.get_by_role("link", name="MRI scan, one region, without contrast").click()
    page.fill("input[name=effective_from]", "2020-01-01")
    page.fill("input[name=amount_min]", "1")
    page.get_by_role("button", name="Set the price").click()
    expect(page.locator(".errorlist").first).to_be_visible()
    expect(page.locator(".errorlist").first).to_contain_text("past prices are kept")


def test_hospital_admin_reads_the_audit_trail(page):
    sign_in(page, "huangpu-admin")
    page.goto("/en/manage/audit/")
    expect(page.locator("main table")).to_contain_text("auth.login")
    screenshot(page, "audit-en")


def test_wrong_password_is_refused(page):
    page.goto("/en/accounts/login/")
    page.fill("input[name=username]", "huangpu-coord")
    page.fill("input[name=password]", "not-the-password")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
