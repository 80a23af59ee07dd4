import re

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

from laihua.accounts.models import Role
from laihua.audit.models import AuditEvent
from tests.builders import PASSWORD, make_user

pytestmark = pytest.mark.django_db

LOGIN = "/en/accounts/login/"


def sign_in(client, username, password=PASSWORD, path=LOGIN, **extra):
    return client.post(path, {"username": username, "password": password, **extra})


def test_login_signs_in_and_lands_on_the_roles_start_page(client, users):
    response = sign_in(client, "east-coord")
    assert response.status_code == 302
    assert response["Location"] == "/en/accounts/"
    assert client.get("/en/accounts/")["Location"] == "/en/cases/"
    assert AuditEvent.objects.filter(action="auth.login", actor=users["coordinator"]).exists()


@pytest.mark.parametrize(
    ("role", "start"),
    [
        ("hospital_admin", "/en/cases/"),
        ("platform_admin", "/en/manage/audit/"),
        ("clinician", "/en/cases/"),
        ("finance", "/en/billing/receivables/"),
        ("patient", "/en/cases/"),
        ("insurer_agent", "/en/insurance/portal/"),
    ],
)
def test_start_page_depends_on_the_role(client, users, role, start):
    client.force_login(users[role])
    assert client.get("/en/accounts/")["Location"] == start


def test_login_page_renders_in_both_languages(client):
    assert "Sign in" in client.get(LOGIN).content.decode()
    page = client.get("/zh-hans/accounts/login/")
    assert page.status_code == 200
    assert 'lang="zh-hans"' in page.content.decode()


def test_wrong_password_is_refused_and_audited_with_the_account_named(client, users):
    response = sign_in(client, "east-coord", "wrong-password")
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.actor is None
    assert event.detail == {"username": "east-coord"}
    assert event.object_id == str(users["coordinator"].pk)
    assert event.hospital == users["coordinator"].hospital
    assert event.ip_address == "127.0.0.1"


def test_repeated_failures_lock_the_account_even_with_the_right_password(client, users):
    limit = settings.AXES_FAILURE_LIMIT
    for _attempt in range(limit):
        sign_in(client, "east-coord", "wrong-password")
    response = sign_in(client, "east-coord")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert f"Try again in {round(settings.AXES_COOLOFF_TIME * 60)} minutes" in response.content.decode()
    assert AuditEvent.objects.filter(action="auth.login_failed").count() >= limit
    assert AuditEvent.objects.filter(action="auth.locked_out", detail__username="east-coord").exists()


def test_lockout_page_is_translated(client, users):
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "east-coord", "wrong-password", path="/zh-hans/accounts/login/")
    response = sign_in(client, "east-coord", path="/zh-hans/accounts/login/")
    assert response.status_code == 429
    assert 'lang="zh-hans"' in response.content.decode()


def test_failures_below_the_limit_do_not_lock(client, users):
    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "east-coord", "wrong-password")
    assert sign_in(client, "east-coord").status_code == 302


def test_logout_needs_a_post_and_signs_out(client, users):
    client.force_login(users["patient"])
    assert client.get("/en/accounts/logout/").status_code == 405
    response = client.post("/en/accounts/logout/")
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="auth.logout", actor=users["patient"]).exists()


def test_signed_in_pages_send_anonymous_visitors_to_login(client):
    for path in ("/en/accounts/settings/", "/en/manage/catalog/", "/en/manage/audit/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/en/accounts/login/?next=")


def test_password_reset_mails_a_link_that_sets_a_new_password(client, users):
    response = client.post("/en/accounts/password/reset/", {"email": "east-coord@example.test"})
    assert response["Location"] == "/en/accounts/password/reset/sent/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["east-coord@example.test"]
    assert "password" in message.subject.lower()
    link = re.search(r"https?://[^/\s]+(/en/accounts/password/reset/\S+/)", message.body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.context["validlink"]
    new_password = "a-brand-new-long-secret"
    done = client.post(form_page.redirect_chain[-1][0], {"new_password1": new_password, "new_password2": new_password})
    assert done["Location"] == "/en/accounts/password/reset/done/"
    users["coordinator"].refresh_from_db()
    assert users["coordinator"].check_password(new_password)
    assert AuditEvent.objects.filter(
        action="accounts.password_reset.request", object_id=str(users["coordinator"].pk)
    ).exists()
    assert AuditEvent.objects.filter(action="accounts.password_reset.complete", actor=users["coordinator"]).exists()
    assert client.get(link, follow=True).context["validlink"] is False  # the link works once


def test_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same(client, users):
    response = client.post("/en/accounts/password/reset/", {"email": "nobody@example.test"})
    assert response["Location"] == "/en/accounts/password/reset/sent/"
    assert mail.outbox == []


def test_password_reset_mail_is_written_in_the_users_language(client, hospital):
    make_user("zh-coord", Role.COORDINATOR, hospital, preferred_language="zh-hans")
    client.post("/en/accounts/password/reset/", {"email": "zh-coord@example.test"})
    assert "/zh-hans/accounts/password/reset/" in mail.outbox[0].body


def test_password_reset_lifts_a_lockout(client, users):
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "east-coord", "wrong-password")
    client.post("/en/accounts/password/reset/", {"email": "east-coord@example.test"})
    link = re.search(r"(/en/accounts/password/reset/\S+/)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    new_password = "a-brand-new-long-secret"
    client.post(form_page.redirect_chain[-1][0], {"new_password1": new_password, "new_password2": new_password})
    assert sign_in(client, "east-coord", new_password).status_code == 302


def test_password_change_requires_the_old_password_and_is_audited(client, users):
    client.force_login(users["patient"])
    refused = client.post(
        "/en/accounts/password/",
        {"old_password": "nope", "new_password1": "x-long-secret-1", "new_password2": "x-long-secret-1"},
    )
    assert refused.status_code == 200 and refused.context["form"].errors["old_password"]
    response = client.post(
        "/en/accounts/password/",
        {"old_password": PASSWORD, "new_password1": "x-long-secret-1", "new_password2": "x-long-secret-1"},
    )
    assert response["Location"] == "/en/accounts/password/changed/"
    users["patient"].refresh_from_db()
    assert users["patient"].check_password("x-long-secret-1")
    assert AuditEvent.objects.filter(action="accounts.password.change", actor=users["patient"]).exists()


def test_settings_page_shows_the_account(client, users):
    client.force_login(users["coordinator"])
    page = client.get("/en/accounts/settings/").content.decode()
    assert "east-coord" in page and "International coordinator" in page and "East Demo Hospital" in page


def test_preferences_are_saved_and_the_page_follows_the_new_language(client, users):
    client.force_login(users["patient"])
    response = client.post("/en/accounts/settings/preferences/", {"language": "zh-hans", "currency": "GBP"})
    assert response["Location"] == "/zh-hans/accounts/settings/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    users["patient"].refresh_from_db()
    assert (users["patient"].preferred_language, users["patient"].preferred_currency) == ("zh-hans", "GBP")
    assert client.session["currency"] == "GBP"
    assert AuditEvent.objects.filter(action="accounts.preferences.update", actor=users["patient"]).exists()


def test_bad_preferences_are_refused_beside_the_field(client, users):
    client.force_login(users["patient"])
    response = client.post("/en/accounts/settings/preferences/", {"language": "xx", "currency": "XYZ"})
    assert response.status_code == 200
    form = response.context["preferences_form"]
    assert set(form.errors) == {"language", "currency"}
    users["patient"].refresh_from_db()
    assert users["patient"].preferred_language == ""


def test_login_goes_to_the_users_remembered_language(client, hospital):
    make_user("zh-coord", Role.COORDINATOR, hospital, preferred_language="zh-hans")
    response = sign_in(client, "zh-coord")
    assert response["Location"] == "/zh-hans/accounts/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"


def test_login_keeps_next_but_in_the_users_language(client, hospital):
    make_user("zh-coord", Role.COORDINATOR, hospital, preferred_language="zh-hans")
    response = sign_in(client, "zh-coord", next="/en/manage/catalog/")
    assert response["Location"] == "/zh-hans/manage/catalog/"


def test_switching_language_while_signed_in_is_remembered(client, users):
    user = users["patient"]
    client.force_login(user)
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": "/accounts/settings/"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.preferred_language == "zh-hans"
    # A later visit without a language in the address opens in the remembered language.
    client.cookies.pop(settings.LANGUAGE_COOKIE_NAME, None)
    assert client.get("/accounts/settings/")["Location"] == "/zh-hans/accounts/settings/"


def test_switching_language_anonymously_stores_nothing(client, users):
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert not AuditEvent.objects.filter(action="accounts.preferences.update").exists()


def test_the_switcher_on_a_chinese_page_leads_to_the_same_page_in_english(client, users):
    user = users["patient"]
    user.preferred_language = "zh-hans"
    user.save()
    client.force_login(user)
    page = client.get("/zh-hans/accounts/settings/").content.decode()
    next_path = re.search(r'name="next" type="hidden" value="([^"]*)"', page).group(1)
    response = client.post(reverse("set_language"), {"language": "en", "next": next_path}, follow=True)
    assert response.redirect_chain[-1][0] == "/en/accounts/settings/"
    user.refresh_from_db()
    assert user.preferred_language == "en"
