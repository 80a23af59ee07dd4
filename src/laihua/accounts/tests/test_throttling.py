"""Sign-in failures are limited per username and address and per address alone; password resets per
client address and per e-mail address."""

import pytest
from django.core import mail

from laihua.audit.models import AuditEvent
from tests.builders import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/en/accounts/login/"
RESET = "/en/accounts/password/reset/"


def attempt(client, username, password="wrong-password", address="203.0.113.5"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_one_address_is_locked_after_failures_across_many_usernames(client, users, settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.LAIHUA_LOGIN_IP_FAILURE_LIMIT = 6
    for number in range(5):  # at most two tries at each of three usernames: none reaches its own limit
        assert attempt(client, f"guess-{number % 3}").status_code == 200
    assert attempt(client, "guess-2").status_code == 429  # the sixth failure from the address locks it
    locked = attempt(client, "east-coord", PASSWORD)  # even the right password of another account
    assert locked.status_code == 429
    assert "too many failed sign-ins from your address" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # Another address is not affected.
    assert attempt(client, "east-coord", PASSWORD, address="198.51.100.7").status_code == 302
    assert AuditEvent.objects.filter(action="auth.locked_out").exists()


def test_the_address_limit_is_higher_than_the_username_limit(client, users, settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.LAIHUA_LOGIN_IP_FAILURE_LIMIT = 6
    for _ in range(3):
        attempt(client, "east-coord")
    locked = attempt(client, "east-coord", PASSWORD)
    assert locked.status_code == 429
    assert "After 3 failed attempts, signing in to this account" in locked.content.decode()
    # The address as a whole is still below its own limit: another account signs in.
    assert attempt(client, "east-doc", PASSWORD).status_code == 302


def test_a_successful_sign_in_does_not_clear_the_addresss_count(client, users, settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.LAIHUA_LOGIN_IP_FAILURE_LIMIT = 4
    for number in range(3):
        attempt(client, f"guess-{number}")
    assert attempt(client, "east-coord", PASSWORD).status_code == 302  # an attacker's own working account
    client.post("/en/accounts/logout/", REMOTE_ADDR="203.0.113.5")
    attempt(client, "guess-9")
    assert attempt(client, "east-doc", PASSWORD).status_code == 429


def test_password_resets_are_limited_per_client_address(client, users, settings):
    settings.LAIHUA_EMAIL_LIMIT_PER_ADDRESS = 2
    for email in ("east-coord@example.test", "nobody@example.test"):
        assert client.post(RESET, {"email": email}).status_code == 302
    refused = client.post(RESET, {"email": "east-doc@example.test"})
    assert refused.status_code == 429
    assert "Too many requests" in refused.content.decode()
    assert len(mail.outbox) == 1  # the unknown address got nothing, as before
    assert AuditEvent.objects.get(action="accounts.password_reset.throttled").detail == {"by": "address"}
    # From another address the limit starts again.
    assert client.post(RESET, {"email": "east-doc@example.test"}, REMOTE_ADDR="198.51.100.7").status_code == 302


def test_password_resets_are_limited_per_e_mail_address_from_any_client(client, users, settings):
    settings.LAIHUA_EMAIL_LIMIT_PER_EMAIL = 2
    for address in ("198.51.100.1", "198.51.100.2"):
        assert client.post(RESET, {"email": "East-Coord@example.test"}, REMOTE_ADDR=address).status_code == 302
    refused = client.post(RESET, {"email": "east-coord@example.test"}, REMOTE_ADDR="198.51.100.3")
    assert refused.status_code == 429
    assert len(mail.outbox) == 2
    assert AuditEvent.objects.get(action="accounts.password_reset.throttled").detail == {"by": "email"}


def test_an_unknown_address_counts_the_same_so_the_limit_tells_nothing(client, users, settings):
    settings.LAIHUA_EMAIL_LIMIT_PER_EMAIL = 1
    assert client.post(RESET, {"email": "nobody@example.test"}).status_code == 302
    assert client.post(RESET, {"email": "nobody@example.test"}, REMOTE_ADDR="198.51.100.9").status_code == 429
