"""The second factor: staff set one up and pass it before any page or session API call; wrong codes are
refused and throttled; recovery codes work once; tokens are not affected; a platform admin can reset it."""

import io
import re
import time

import pytest
from django.core.management import call_command
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from laihua.accounts import services
from laihua.audit.models import AuditEvent
from tests.builders import PASSWORD

pytestmark = pytest.mark.django_db

STAFF_ROLES = ["platform_admin", "hospital_admin", "coordinator", "clinician", "finance", "insurer_agent"]
LOGIN, VERIFY, SETUP = "/en/accounts/login/", "/en/accounts/two-step/", "/en/accounts/two-step/setup/"


@pytest.fixture(autouse=True)
def production_default(settings):
    """What a deployment gets without LAIHUA_MFA_REQUIRED_ROLES: every staff role needs a second factor."""
    settings.LAIHUA_MFA_REQUIRED_ROLES = STAFF_ROLES


def sign_in(client, user):
    response = client.post(LOGIN, {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, "the password step failed"
    return response


def code_for(device: TOTPDevice, offset: int = 0) -> str:
    """The code an authenticator app shows now (or `offset` steps later), from django-otp's own TOTP.

    A code is accepted once: signing in again within the same 30 seconds takes the next step's code."""
    generator = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    generator.time = time.time() + offset * device.step
    return f"{generator.token():0{device.digits}d}"


def enrol(client, user) -> tuple[TOTPDevice, list[str]]:
    """Set up an authenticator app through the pages; returns it and the recovery codes shown once."""
    page = client.get(SETUP)
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post(SETUP, {"code": code_for(device)})
    assert response.status_code == 302, response.content.decode()[:2000]
    codes_page = client.get(response["Location"]).content.decode()
    codes = re.findall(r"<li><code>(\w+)</code></li>", codes_page)
    device.refresh_from_db()
    return device, codes


def test_staff_without_a_second_factor_must_set_one_up_before_any_page(client, users):
    user = users["coordinator"]
    response = sign_in(client, user)
    landing = client.get(response["Location"])
    assert landing.status_code == 302 and landing["Location"].startswith(SETUP)
    for path in ("/en/cases/", "/en/accounts/settings/", "/en/", "/en/manage/catalog/"):
        refused = client.get(path)
        assert refused.status_code == 302 and refused["Location"].startswith(SETUP), path
    page = client.get(SETUP)
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    html = page.content.decode()
    assert 'src="/en/accounts/two-step/setup/qr.svg"' in html and 'id="totp-secret"' in html
    qr = client.get("/en/accounts/two-step/setup/qr.svg")
    assert qr["Content-Type"] == "image/svg+xml" and b"<svg" in qr.content and qr["Cache-Control"] == "no-store"


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_every_staff_role_needs_the_second_factor_by_default(client, users, role):
    sign_in(client, users[role])
    assert client.get("/en/accounts/settings/")["Location"].startswith(SETUP)


def test_a_patient_needs_none_unless_they_add_one(client, users):
    patient = users["patient"]
    sign_in(client, patient)
    assert client.get("/en/accounts/settings/").status_code == 200
    device, codes = enrol(client, patient)  # patients may opt in
    assert device.confirmed and len(codes) == 10
    client.post("/en/accounts/logout/")
    sign_in(client, patient)
    assert client.get("/en/accounts/settings/")["Location"].startswith(VERIFY)


def test_the_session_api_is_refused_until_the_second_factor_passes(client, users):
    user = users["finance"]
    sign_in(client, user)
    refused = client.get("/api/me")
    assert refused.status_code == 401
    assert refused.json()["error"] == "second_factor_required"
    assert client.get("/fhir/Claim").status_code == 401
    assert client.get("/api/catalog/search?q=mri").status_code == 200  # public routes stay public
    enrol(client, user)
    assert client.get("/api/me").json()["username"] == user.username


def test_an_api_token_is_its_own_factor(client, users):
    user = users["coordinator"]
    _token, secret = services.create_api_token(user, user, "script")
    TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    assert client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200
    sign_in(client, user)  # even beside a session that still owes its second factor
    assert client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200


def test_enrolment_shows_recovery_codes_once_and_verifies_the_session(client, users):
    user = users["clinician"]
    sign_in(client, user)
    device, codes = enrol(client, user)
    assert len(codes) == 10 and len(set(codes)) == 10
    # Only keyed hashes are stored: no code can be read back from the database.
    stored = set(StaticToken.objects.filter(device__user=user).values_list("token", flat=True))
    assert len(stored) == 10 and not stored & set(codes)
    assert not re.findall(r"<li><code>", client.get("/en/accounts/two-step/recovery-codes/").content.decode())
    assert client.get("/en/cases/").status_code == 200
    actions = set(AuditEvent.objects.filter(actor=user).values_list("action", flat=True))
    assert {"accounts.mfa.device.add", "accounts.mfa.verify", "accounts.mfa.recovery_codes.generate"} <= actions


def test_a_user_with_a_device_is_asked_for_a_code_and_a_right_one_lets_them_in(client, users):
    user = users["hospital_admin"]
    sign_in(client, user)
    device, _codes = enrol(client, user)
    client.post("/en/accounts/logout/")
    sign_in(client, user)
    assert client.get("/en/cases/")["Location"] == f"{VERIFY}?next=%2Fen%2Fcases%2F"
    assert client.get(SETUP)["Location"].startswith(VERIFY)  # no new device before passing the existing one
    assert client.get("/en/accounts/two-step/setup/qr.svg").status_code == 403
    response = client.post(VERIFY, {"code": code_for(device, offset=1), "next": "/en/cases/"})
    assert response.status_code == 302 and response["Location"] == "/en/cases/"
    assert client.get("/en/cases/").status_code == 200
    event = AuditEvent.objects.filter(action="accounts.mfa.verify", actor=user).latest("pk")
    assert event.detail == {"method": "totp"}


def test_wrong_codes_are_refused_and_throttled(client, users, settings):
    settings.LAIHUA_MFA_FAILURE_LIMIT = 3
    user = users["coordinator"]
    sign_in(client, user)
    device, _codes = enrol(client, user)
    client.post("/en/accounts/logout/")
    sign_in(client, user)
    wrong = client.post(VERIFY, {"code": "000000" if code_for(device) != "000000" else "111111"})
    assert wrong.status_code == 200 and "This code is not right" in wrong.content.decode()
    # django-otp slows the device down after a wrong code: even the right one waits.
    throttled = client.post(VERIFY, {"code": code_for(device, offset=1)})
    assert "Wait a few seconds" in throttled.content.decode()
    assert client.get("/en/cases/").status_code == 302
    client.post(VERIFY, {"code": "not-a-code"})
    stopped = client.post(VERIFY, {"code": code_for(device, offset=1)})
    assert stopped.status_code == 429 and "Too many wrong codes" in stopped.content.decode()
    assert client.get("/en/cases/").status_code == 302
    assert AuditEvent.objects.filter(action="accounts.mfa.verify_failed", actor=user).count() == 3


def test_a_recovery_code_works_once(client, users):
    user = users["finance"]
    sign_in(client, user)
    _device, codes = enrol(client, user)
    client.post("/en/accounts/logout/")
    sign_in(client, user)
    used = codes[0]
    response = client.post(VERIFY, {"code": used.upper()})
    assert response.status_code == 302
    assert client.get("/en/billing/receivables/").status_code == 200
    assert AuditEvent.objects.get(action="accounts.mfa.recovery_code.use").detail == {"left": 9}
    client.post("/en/accounts/logout/")
    sign_in(client, user)
    again = client.post(VERIFY, {"code": used})
    assert again.status_code == 200 and "already used" in again.content.decode()
    assert client.get("/en/billing/receivables/").status_code == 302


def test_users_see_their_devices_and_the_last_one_stays_while_the_role_needs_it(client, users):
    user = users["coordinator"]
    sign_in(client, user)
    device, _codes = enrol(client, user)
    page = client.get("/en/accounts/settings/").content.decode()
    assert "Authenticator app" in page and "10 recovery codes left" in page
    refused = client.post(f"/en/accounts/two-step/totp/{device.pk}/remove/")
    assert refused.status_code == 409
    assert TOTPDevice.objects.filter(pk=device.pk).exists()
    second = TOTPDevice.objects.create(user=user, name="spare", confirmed=True)
    assert client.post(f"/en/accounts/two-step/totp/{second.pk}/remove/").status_code == 302
    assert not TOTPDevice.objects.filter(pk=second.pk).exists()
    assert AuditEvent.objects.filter(action="accounts.mfa.device.remove", actor=user).exists()


def test_nobody_removes_another_users_device(client, users):
    other = TOTPDevice.objects.create(user=users["clinician"], name="app", confirmed=True)
    patient = users["patient"]
    client.force_login(patient)
    assert client.post(f"/en/accounts/two-step/totp/{other.pk}/remove/").status_code == 404
    assert TOTPDevice.objects.filter(pk=other.pk).exists()


def test_regenerating_recovery_codes_replaces_the_old_ones(client, users):
    user = users["clinician"]
    sign_in(client, user)
    _device, old = enrol(client, user)
    response = client.post("/en/accounts/two-step/recovery-codes/")
    new = re.findall(r"<li><code>(\w+)</code></li>", client.get(response["Location"]).content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    client.post("/en/accounts/logout/")
    sign_in(client, user)
    assert client.post(VERIFY, {"code": old[0]}).status_code == 200  # refused
    assert client.post(VERIFY, {"code": new[0]}).status_code == 302


def test_a_platform_admin_resets_another_users_second_factor(client, users):
    user = users["coordinator"]
    sign_in(client, user)
    enrol(client, user)
    client.post("/en/accounts/logout/")
    admin = users["platform_admin"]
    sign_in(client, admin)
    admin_device, _ = enrol(client, admin)
    response = client.post("/en/admin/accounts/user/", {"action": "reset_second_factor", "_selected_action": [user.pk]})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert not StaticToken.objects.filter(device__user=user).exists()
    event = AuditEvent.objects.get(action="accounts.mfa.reset")
    assert event.actor == admin and event.detail == {"user": "east-coord"}
    client.post("/en/accounts/logout/")
    sign_in(client, user)
    assert client.get("/en/cases/")["Location"].startswith(SETUP)  # sets up a new one


def test_only_a_platform_admin_may_reset(users):
    from laihua.accounts import mfa
    from laihua.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        mfa.reset_second_factor(users["hospital_admin"], users["coordinator"])


def test_the_command_line_resets_as_the_system(users):
    user = users["finance"]
    TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    out = io.StringIO()
    call_command("reset_second_factor", user.username, stdout=out)
    assert not TOTPDevice.objects.filter(user=user).exists()
    event = AuditEvent.objects.get(action="accounts.mfa.reset")
    assert event.actor is None and event.detail["by"] == "system"


def test_a_passkey_counts_as_a_second_factor(client, users):
    user = users["clinician"]
    WebAuthnCredential.objects.create(
        user=user, name="laptop", confirmed=True, credential_id=b"\x01" * 16, public_key=b"\x02" * 32, sign_count=0
    )
    sign_in(client, user)
    assert client.get("/en/cases/")["Location"].startswith(VERIFY)
    # Passkey ceremonies answer a session that is still verifying; registering a new one needs the first passed.
    begin = client.post("/webauthn/authentication/begin/")
    assert begin.status_code == 200 and begin.json()["allowCredentials"]
    refused = client.post("/webauthn/registration/begin/")
    assert refused.status_code == 403 and "existing second factor" in refused.json()["detail"]


def test_no_passwordless_sign_in_with_a_passkey(client, users):
    refused = client.post("/webauthn/authentication/begin/")
    assert refused.status_code == 403
    assert refused.json()["code"] == "passwordless_login_disabled"


def test_the_demo_setting_asks_no_second_factor(client, users, settings):
    settings.LAIHUA_MFA_REQUIRED_ROLES = []
    settings.DEMO_MODE = True
    assert "the demo logins need no second step" in client.get(LOGIN).content.decode()
    sign_in(client, users["coordinator"])
    assert client.get("/en/cases/").status_code == 200


def test_a_new_role_that_needs_a_second_factor_asks_for_it_in_the_same_session(client, users):
    user = users["patient"]
    sign_in(client, user)
    assert client.get("/en/accounts/settings/").status_code == 200
    user.role = "insurer_agent"
    user.save()
    assert client.get("/en/accounts/settings/")["Location"].startswith(SETUP)


def test_the_passkey_scripts_messages_come_in_chinese(client):
    catalog = client.get("/webauthn/jsi18n/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "\\u4f7f\\u7528\\u901a\\u884c\\u5bc6\\u94a5\\u9a8c\\u8bc1" in catalog or "使用通行密钥验证" in catalog
