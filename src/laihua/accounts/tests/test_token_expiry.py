"""Personal API tokens expire, are listed and revoked through the API, and end with a password change."""

import datetime
import re

import pytest
from django.core import mail
from django.core.management import call_command

from laihua.accounts import services
from laihua.accounts.models import ApiToken
from laihua.audit.models import AuditEvent
from laihua.kit import clock
from tests.builders import PASSWORD

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a-new-long-passphrase-9"


def bearer(secret):
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_a_new_token_expires_after_the_configured_days(users, settings):
    settings.LAIHUA_TOKEN_DAYS = 30
    user = users["coordinator"]
    before = clock.now()
    token, _secret = services.create_api_token(user, user, "script")
    assert before + datetime.timedelta(days=30) <= token.expires_at <= clock.now() + datetime.timedelta(days=30)


def test_a_token_past_its_expiry_is_refused_with_a_401_naming_the_reason(client, users, monkeypatch):
    user = users["coordinator"]
    token, secret = services.create_api_token(user, user, "script")
    assert client.get("/api/me", **bearer(secret)).status_code == 200
    later = token.expires_at + datetime.timedelta(seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    refused = client.get("/api/me", **bearer(secret))
    assert refused.status_code == 401
    body = refused.json()
    assert body["error"] == "token_expired"
    assert "expired" in body["detail"] and token.expires_at.date().isoformat()[:4] in body["detail"]
    chinese = client.get("/api/me", HTTP_ACCEPT_LANGUAGE="zh-hans", **bearer(secret)).json()["detail"]
    assert "过期" in chinese
    # The FHIR endpoint refuses it the same way, as an OperationOutcome.
    fhir = client.get("/fhir/Claim", **bearer(secret))
    assert fhir.status_code == 401


@pytest.mark.django_db(transaction=True)
def test_existing_tokens_get_created_plus_90_days_from_the_migration():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before, after = [("accounts", "0001_initial")], [("accounts", "0002_token_expiry")]
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps
        user = old.get_model("accounts", "User").objects.create(username="old-timer", role="patient")
        tokens = old.get_model("accounts", "ApiToken").objects
        token = tokens.create(user=user, name="old", key_hash="x" * 64, hint="lh_x")
        created = datetime.datetime(2026, 1, 10, 8, 0, tzinfo=datetime.UTC)
        old.get_model("accounts", "ApiToken").objects.filter(pk=token.pk).update(created_at=created)

        executor = MigrationExecutor(connection)
        executor.migrate(after)
        assert ApiToken.objects.get(pk=token.pk).expires_at == created + datetime.timedelta(days=90)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(leaves)


def test_the_owner_lists_and_revokes_tokens_through_the_api(client, users):
    user = users["coordinator"]
    first, _ = services.create_api_token(user, user, "first")
    second, secret = services.create_api_token(user, user, "second")
    other, _ = services.create_api_token(users["patient"], users["patient"], "someone else's")

    listed = client.get("/api/me/tokens", **bearer(secret))
    assert listed.status_code == 200
    rows = listed.json()
    assert [row["name"] for row in rows] == ["second", "first"]
    assert set(rows[0]) == {"id", "name", "hint", "created_at", "expires_at", "expired", "last_used_at"}
    assert rows[0]["expired"] is False and rows[0]["hint"] == second.hint
    assert "key_hash" not in listed.content.decode()

    assert client.delete(f"/api/me/tokens/{first.pk}", **bearer(secret)).status_code == 204
    first.refresh_from_db()
    assert first.revoked_at is not None
    assert [row["name"] for row in client.get("/api/me/tokens", **bearer(secret)).json()] == ["second"]
    event = AuditEvent.objects.get(action="accounts.api_token.revoke")
    assert event.actor == user and event.detail["name"] == "first"


def test_nobody_revokes_another_users_token_through_the_api(client, users):
    owner = users["patient"]
    token, owner_secret = services.create_api_token(owner, owner, "mine")
    admin = users["platform_admin"]
    _t, admin_secret = services.create_api_token(admin, admin, "admin's")
    for secret in (services.create_api_token(users["coordinator"], users["coordinator"], "x")[1], admin_secret):
        refused = client.delete(f"/api/me/tokens/{token.pk}", **bearer(secret))
        assert refused.status_code == 404 and refused.json()["error"] == "not_found"
    assert client.get("/api/me", **bearer(owner_secret)).status_code == 200


def test_listing_tokens_needs_a_token_or_a_session(client, users):
    assert client.get("/api/me/tokens").status_code == 401
    client.force_login(users["patient"])
    assert client.get("/api/me/tokens").json() == []


def test_changing_the_password_revokes_every_token(client, users):
    user = users["coordinator"]
    _token, secret = services.create_api_token(user, user, "script")
    client.force_login(user)
    response = client.post(
        "/en/accounts/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    client.logout()
    refused = client.get("/api/me", **bearer(secret))
    assert refused.status_code == 401
    event = AuditEvent.objects.get(action="accounts.api_token.revoke")
    assert event.detail["reason"] == "password_changed" and event.detail["user"] == "east-coord"


def test_resetting_the_password_revokes_every_token(client, users):
    user = users["patient"]
    _token, secret = services.create_api_token(user, user, "phone app")
    client.post("/en/accounts/password/reset/", {"email": user.email})
    link = re.search(r"https?://\S+/password/reset/\S+/", mail.outbox[0].body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    form = client.get("/" + path, follow=True)
    client.post(form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert user.__class__.objects.get(pk=user.pk).check_password(NEW_PASSWORD)
    assert client.get("/api/me", **bearer(secret)).status_code == 401


def test_a_password_set_in_admin_or_the_command_line_revokes_tokens_too(users, monkeypatch):
    user = users["finance"]
    _token, secret = services.create_api_token(user, user, "export")
    monkeypatch.setattr("getpass.getpass", lambda prompt="": NEW_PASSWORD)
    call_command("changepassword", user.username, stdout=__import__("io").StringIO())
    assert services.user_for_token(secret) is None


def test_a_password_hash_upgrade_at_sign_in_keeps_the_tokens(client, users, settings):
    user = users["clinician"]
    _token, secret = services.create_api_token(user, user, "script")
    # Stored with a hasher the site no longer prefers: signing in rewrites the hash, not the password.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    old_hash = user.__class__.objects.get(pk=user.pk).password
    assert old_hash.startswith("md5$")
    assert client.post("/en/accounts/login/", {"username": user.username, "password": PASSWORD}).status_code == 302
    assert user.__class__.objects.get(pk=user.pk).password.startswith("pbkdf2_")
    assert services.user_for_token(secret) == user


def test_settings_page_shows_each_tokens_expiry_and_marks_expired_ones(client, users, monkeypatch):
    user = users["patient"]
    token, _secret = services.create_api_token(user, user, "phone app")
    client.force_login(user)
    page = client.get("/en/accounts/settings/").content.decode()
    assert "Expires" in page and "expired on" not in page
    later = token.expires_at + datetime.timedelta(days=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    client.logout()  # a fresh session: the old one ran past its limits in the meantime
    client.force_login(user)
    assert "expired on" in client.get("/en/accounts/settings/").content.decode()
