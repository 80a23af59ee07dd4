import io
import re

import pytest
from django.core.management import CommandError, call_command

from laihua.accounts import services
from laihua.accounts.models import ApiToken, hash_token
from laihua.audit.models import AuditEvent
from laihua.errors import PermissionDenied

pytestmark = pytest.mark.django_db


def bearer(secret):
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_token_created_on_the_settings_page_is_shown_once_and_works(client, users):
    user = users["coordinator"]
    client.force_login(user)
    response = client.post("/en/accounts/settings/tokens/", {"name": "reporting script"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    secret = re.search(r'id="new-token">(lh_[\w-]+)<', response.content.decode()).group(1)
    token = ApiToken.objects.get(user=user)
    assert token.key_hash == hash_token(secret) and token.name == "reporting script"
    assert secret not in client.get("/en/accounts/settings/").content.decode()  # never shown again

    client.logout()
    me = client.get("/api/me", **bearer(secret))
    assert me.status_code == 200
    assert me.json()["username"] == "east-coord" and me.json()["hospital"] == "east"
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert AuditEvent.objects.filter(action="accounts.api_token.create", actor=user).exists()


def test_settings_page_lists_tokens_with_hint_created_and_last_used(client, users):
    user = users["patient"]
    token, secret = services.create_api_token(user, user, "phone app")
    client.get("/api/me", **bearer(secret))
    client.force_login(user)
    page = client.get("/en/accounts/settings/").content.decode()
    assert "phone app" in page and token.hint in page
    assert "never" not in page  # it was used, so its last use is shown


def test_revoked_token_is_refused_with_a_json_401(client, users):
    user = users["patient"]
    token, secret = services.create_api_token(user, user, "old")
    client.force_login(user)
    response = client.post(f"/en/accounts/settings/tokens/{token.pk}/revoke/")
    assert response["Location"] == "/en/accounts/settings/"
    client.logout()
    refused = client.get("/api/me", **bearer(secret))
    assert refused.status_code == 401
    body = refused.json()
    assert set(body) == {"error", "detail", "field"}
    assert body["error"] == "unauthenticated" and body["field"] is None and body["detail"]
    assert AuditEvent.objects.filter(action="accounts.api_token.revoke", actor=user).exists()


def test_nobody_revokes_another_users_token(client, users):
    owner, other = users["patient"], users["coordinator"]
    token, secret = services.create_api_token(owner, owner, "mine")
    client.force_login(other)
    response = client.post(f"/en/accounts/settings/tokens/{token.pk}/revoke/")
    assert response.status_code == 404
    assert client.get("/api/me", **bearer(secret)).status_code == 200


def test_platform_admin_may_revoke_any_token(users):
    owner = users["patient"]
    token, _secret = services.create_api_token(owner, owner, "mine")
    services.revoke_api_token(users["platform_admin"], token.pk)
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_a_made_up_token_is_refused(client, users):
    response = client.get("/api/me", **bearer("lh_not-a-real-token"))
    assert response.status_code == 401 and response.json()["error"] == "unauthenticated"


def test_a_token_of_a_disabled_account_is_refused(client, users):
    user = users["patient"]
    _token, secret = services.create_api_token(user, user, "x")
    user.is_active = False
    user.save()
    assert client.get("/api/me", **bearer(secret)).status_code == 401


def test_users_create_tokens_only_for_themselves(users):
    with pytest.raises(PermissionDenied):
        services.create_api_token(users["coordinator"], users["patient"], "not mine")
    with pytest.raises(PermissionDenied):
        services.create_api_token(None, users["patient"], "nobody")
    assert not ApiToken.objects.exists()


def test_command_prints_a_working_token_once_and_audits_it_as_the_system(client, users):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_token", "east-admin", "--name", "nightly export", stdout=out, stderr=err)
    secret = out.getvalue().strip()
    assert secret.startswith("lh_") and "\n" not in secret
    assert secret not in err.getvalue()
    token = ApiToken.objects.get(user=users["hospital_admin"])
    assert token.name == "nightly export"
    assert client.get("/api/me", **bearer(secret)).json()["username"] == "east-admin"
    event = AuditEvent.objects.get(action="accounts.api_token.create")
    assert event.actor is None and event.channel == "cli"
    assert event.detail["by"] == "system" and event.detail["user"] == "east-admin"
    assert event.hospital == users["hospital_admin"].hospital


def test_command_refuses_an_unknown_or_disabled_user(users):
    with pytest.raises(CommandError, match="nobody"):
        call_command("create_api_token", "nobody", stdout=io.StringIO(), stderr=io.StringIO())
    users["patient"].is_active = False
    users["patient"].save()
    with pytest.raises(CommandError):
        call_command("create_api_token", "patient", stdout=io.StringIO(), stderr=io.StringIO())
    assert not ApiToken.objects.exists()


def test_last_use_is_written_at_most_once_a_minute(client, users, monkeypatch):
    import datetime

    from laihua.kit import clock

    user = users["coordinator"]
    token, secret = services.create_api_token(user, user, "script")
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start)
    assert client.get("/api/me", **bearer(secret)).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == start

    monkeypatch.setattr(clock, "now", lambda: start + datetime.timedelta(seconds=59))
    assert client.get("/api/me", **bearer(secret)).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == start  # within the minute: no write

    later = start + datetime.timedelta(minutes=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert client.get("/api/me", **bearer(secret)).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == later
