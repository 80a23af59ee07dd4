"""Two-step sign-in as a deployment has it (not the demo's setting): a coordinator sets up an authenticator app,
keeps the recovery codes and signs in again with a code; another adds a passkey (Chromium's virtual
authenticator) and signs in with it."""

import base64
import re
import time

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import expect

from tests.browser.conftest import DEMO_PASSWORD, screenshot

STAFF_ROLES = ["platform_admin", "hospital_admin", "coordinator", "clinician", "finance", "insurer_agent"]


@pytest.fixture
def mfa_required(settings, live_server):
    settings.LAIHUA_MFA_REQUIRED_ROLES = STAFF_ROLES
    # Passkeys belong to the live server's origin (a deployment takes it from LAIHUA_SITE_URL).
    settings.OTP_WEBAUTHN_RP_ID = "localhost"
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [live_server.url]
    settings.LAIHUA_PASSKEYS = True


def password_step(page, username):
    page.context.clear_cookies()
    page.goto("/en/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()


def fits_a_phone(page):
    """At 390 px wide the page scrolls only down, never sideways."""
    size = page.viewport_size
    page.set_viewport_size({"width": 390, "height": 844})
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')]"
        ".filter(e => e.getBoundingClientRect().right > 390 && !e.closest('table'))"
        ".map(e => e.tagName + '.' + e.className + ' ' + (e.textContent || '').slice(0, 40))"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, wide
    page.set_viewport_size(size)


def code_from(secret: str, steps_ahead: int = 0) -> str:
    """What an authenticator app shows for the key on the page (django-otp's own TOTP)."""
    key = base64.b32decode(secret.replace(" ", "") + "=" * (-len(secret.replace(" ", "")) % 8))
    generator = TOTP(key, step=30, digits=6)
    generator.time = time.time() + steps_ahead * 30
    return f"{generator.token():06d}"


def test_a_coordinator_sets_up_an_authenticator_app_and_signs_in_with_it(page, mfa_required):
    password_step(page, "huangpu-coord")
    expect(page).to_have_url(re.compile(r"/en/accounts/two-step/setup/"))
    expect(page.locator("h1")).to_have_text("Set up two-step sign-in")
    expect(page.locator("img[alt='QR code for your authenticator app']")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text()
    screenshot(page, "mfa-setup-en")
    fits_a_phone(page)
    page.goto("/en/cases/")  # nothing else opens before the second step
    expect(page).to_have_url(re.compile(r"/en/accounts/two-step/setup/\?next="))

    page.fill("input[name=code]", code_from(secret))
    page.get_by_role("button", name="Confirm the app").click()
    expect(page.locator("h1")).to_have_text("Recovery codes")
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    screenshot(page, "mfa-recovery-codes-en")
    fits_a_phone(page)
    page.get_by_role("link", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/en/cases/"))

    password_step(page, "huangpu-coord")
    expect(page).to_have_url(re.compile(r"/en/accounts/two-step/"))
    expect(page.locator("h1")).to_have_text("Confirm it is you")
    page.fill("input[name=code]", "000000" if code_from(secret, 1) != "000000" else "111111")
    page.get_by_role("button", name="Confirm", exact=True).click()
    expect(page.locator("main")).to_contain_text("This code is not right")
    screenshot(page, "mfa-verify-en")
    fits_a_phone(page)
    time.sleep(1.1)  # django-otp slows a device down for a second after a wrong code
    page.fill("input[name=code]", code_from(secret, 1))
    page.get_by_role("button", name="Confirm", exact=True).click()
    expect(page).to_have_url(re.compile(r"/en/cases/"))

    page.goto("/en/accounts/settings/")
    expect(page.locator("#second-factor")).to_contain_text("Authenticator app")
    expect(page.locator("#second-factor")).to_contain_text("10 recovery codes left")
    fits_a_phone(page)


def test_a_clinician_adds_a_passkey_and_signs_in_with_it(page, mfa_required):
    session = page.context.new_cdp_session(page)
    session.send("WebAuthn.enable")
    session.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    password_step(page, "huangpu-doctor")
    expect(page).to_have_url(re.compile(r"/en/accounts/two-step/setup/"))
    # The passkey buttons work once the page's scripts have loaded; on a busy machine that takes a while.
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.locator("h1")).to_have_text("Recovery codes", timeout=20_000)
    expect(page.locator("#recovery-codes code")).to_have_count(10)

    password_step(page, "huangpu-doctor")
    expect(page.locator("h1")).to_have_text("Confirm it is you")
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="Use my passkey").click()
    expect(page).to_have_url(re.compile(r"/en/cases/"), timeout=20_000)
    page.goto("/en/accounts/settings/")
    expect(page.locator("#second-factor")).to_contain_text("Passkey")
