"""A records link serves one recipient: the link alone shows no data and downloads nothing; a browser opens
the transfer only with a one-time code e-mailed to the recipient's address at that moment, and keeps it
open (a signed cookie scoped to the link) until the link expires or is revoked. Codes are kept as keyed
hashes, replaced by newer ones, limited in attempts and in number; every step is audited and listed."""

import datetime
import hashlib
import re

import pytest
from django.core import mail
from django.test import Client, TestCase

from laihua.audit.models import AuditEvent
from laihua.kit import clock
from laihua.records import services
from laihua.records.models import Transfer, TransferCode, TransferOpening
from laihua.records.tests.test_transfers import EMAIL, consent, send, verify

DOWNLOADS = ["ips.json", "ips.xml", "summary.pdf"]


def ask_code(client, token: str, **extra):
    """Press "Send me a code": the response, and the code when one was e-mailed."""
    before = len(mail.outbox)
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(f"/shared/{token}/code", **extra)
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1) if len(mail.outbox) > before else None
    return response, code


def enter(client, token: str, code: str):
    return client.post(f"/shared/{token}/verify", {"code": code})


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


@pytest.fixture
def shared(case, users, django_capture_on_commit_callbacks):
    from laihua.records.tests.conftest import example_bytes

    services.import_document(users["clinician"], case, example_bytes("hl7-IPS-bundle-01.xml"))
    consent(users, case)
    transfer, token = send(users, case, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    return transfer, token


def test_the_link_alone_shows_no_data_and_its_downloads_refuse(client, shared, case):
    transfer, token = shared
    page = client.get(f"/shared/{token}/", REMOTE_ADDR="203.0.113.50")
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    # its forms post here: a browser sends "Origin: null" under no-referrer, which the CSRF check refuses
    assert page["Referrer-Policy"] == "same-origin"
    body = page.content.decode()
    assert "s***@clinic.example" in body and EMAIL not in body and "Send me a code" in body
    assert f'action="/shared/{token}/code"' in body and "csrfmiddlewaretoken" in body
    for private in (case.patient.full_name, case.patient.given_names, "Follow-up care", "ips.json", "Hemoglobin"):
        assert private not in body
    assert 'name="code"' not in body  # no code asked for yet: nothing to enter
    for what in DOWNLOADS:
        refused = client.get(f"/shared/{token}/{what}")
        assert refused.status_code == 403 and refused["Content-Type"].startswith("text/html")
        assert b"resourceType" not in refused.content and not refused.content.startswith(b"%PDF")
        assert case.patient.given_names.encode() not in refused.content
    assert not AuditEvent.objects.filter(action="records.transfer_access").exists()
    refusals = events("records.transfer_access_refused")
    assert [(e.detail["what"], e.detail["reason"]) for e in refusals] == [
        ("page", "unverified"),
        ("json", "unverified"),
        ("xml", "unverified"),
        ("pdf", "unverified"),
    ]
    assert refusals[0].ip_address == "203.0.113.50" and refusals[0].object_id == str(transfer.pk)
    assert not mail.outbox


def test_the_code_goes_only_to_the_recipient_and_says_nothing_of_the_patient(client, shared, case):
    transfer, token = shared
    asked, code = ask_code(client, token, REMOTE_ADDR="203.0.113.51")
    assert asked.status_code == 302 and asked["Location"] == f"/shared/{token}/"
    (message,) = mail.outbox
    assert message.to == [EMAIL] and not message.cc and not message.bcc
    assert re.fullmatch(r"\d{6}", code) and "10 minutes" in message.body
    text = message.subject + message.body
    patient = case.patient
    for private in (patient.full_name, patient.family_name, patient.given_names, case.reference, token, "http"):
        assert private not in text
    # stored only as a keyed hash, never as the code or its plain hash
    stored = TransferCode.objects.get(transfer=transfer)
    row = str(TransferCode.objects.filter(pk=stored.pk).values().get())
    assert code not in row and hashlib.sha256(code.encode()).hexdigest() not in row
    assert (stored.expires_at - stored.sent_at) == datetime.timedelta(minutes=10)
    (sent,) = events("records.transfer_code_sent")
    assert sent.ip_address == "203.0.113.51" and code not in str(sent.detail) and sent.actor is None
    page = client.get(f"/shared/{token}/").content.decode()
    assert 'name="code"' in page and "A code was sent to s***@clinic.example" in page
    assert "验证码已发送至 s***@clinic.example" in page  # and in Chinese beside it


def test_the_right_code_opens_the_page_and_downloads_in_that_client(client, shared, case):
    transfer, token = shared
    _asked, code = ask_code(client, token)
    opened = enter(client, token, code)
    assert opened.status_code == 302 and opened["Location"] == f"/shared/{token}/"
    cookie = opened.cookies["laihua_transfer"]
    assert cookie["path"] == f"/shared/{token}/"
    assert cookie["httponly"] and cookie["secure"] and cookie["samesite"] == "Lax"
    assert abs(int(cookie["max-age"]) - (transfer.expires_at - clock.now()).total_seconds()) < 60
    opening = TransferOpening.objects.get(transfer=transfer)
    key = cookie.value.split(":")[0]  # signed: the key, a time stamp and the signature
    assert opening.expires_at == transfer.expires_at
    assert opening.key_hash == hashlib.sha256(key.encode()).hexdigest() and key not in opening.key_hash
    page = client.get(f"/shared/{token}/")
    assert page.status_code == 200 and case.patient.full_name in page.content.decode()
    for what in DOWNLOADS:
        assert client.get(f"/shared/{token}/{what}").status_code == 200
    assert events("records.transfer_verified")[0].detail == {"opening": opening.pk}
    accesses = [e.detail["what"] for e in events("records.transfer_access")]
    assert accesses == ["page", "json", "xml", "pdf"]
    # the code was used up: it opens no other browser
    assert enter(Client(), token, code).status_code == 422


def test_another_client_with_the_same_link_is_refused_until_it_verifies_itself(client, shared, case):
    _transfer, token = shared
    verify(client, token)
    other = Client()
    page = other.get(f"/shared/{token}/")
    assert case.patient.given_names not in page.content.decode() and "Send me a code" in page.content.decode()
    assert other.get(f"/shared/{token}/ips.json").status_code == 403
    # a cookie made up, or copied without its signature, opens nothing
    other.cookies["laihua_transfer"] = client.cookies["laihua_transfer"].value.split(":")[0]
    assert other.get(f"/shared/{token}/ips.json").status_code == 403
    verify(other, token)
    assert case.patient.full_name in other.get(f"/shared/{token}/").content.decode()
    assert client.get(f"/shared/{token}/ips.json").status_code == 200  # the first browser stays open


def test_a_browser_verified_for_one_transfer_does_not_open_another(
    client, shared, case, users, django_capture_on_commit_callbacks
):
    _first, first_token = shared
    verify(client, first_token)
    _second, second_token = send(users, case, django_capture_on_commit_callbacks)
    stolen = client.cookies["laihua_transfer"].value
    thief = Client()
    thief.cookies["laihua_transfer"] = stolen  # sent to the other link's path too
    assert thief.get(f"/shared/{second_token}/ips.json").status_code == 403


def test_wrong_codes_are_counted_and_the_fifth_needs_a_new_code(client, shared):
    transfer, token = shared
    _asked, code = ask_code(client, token)
    for left in (4, 3, 2, 1):
        refused = enter(client, token, wrong(code))
        assert refused.status_code == 422 and "laihua_transfer" not in refused.cookies
        assert f"This code is not right: {left} more attempt" in refused.content.decode()
        assert 'aria-invalid="true"' in refused.content.decode() and 'role="alert"' in refused.content.decode()
    fifth = enter(client, token, wrong(code))
    assert fifth.status_code == 429 and "Too many wrong codes: ask for a new one." in fifth.content.decode()
    right_too_late = enter(client, token, code)
    assert right_too_late.status_code == 429 and "laihua_transfer" not in right_too_late.cookies
    assert TransferCode.objects.get(transfer=transfer).attempts == 5
    reasons = [e.detail["reason"] for e in events("records.transfer_code_refused")]
    assert reasons == ["wrong_code"] * 5 + ["too_many_attempts"]
    _asked, new_code = ask_code(client, token)
    assert enter(client, token, new_code).status_code == 302
    assert client.get(f"/shared/{token}/ips.json").status_code == 200


def test_a_code_expires_after_ten_minutes_and_a_new_one_replaces_the_old(client, shared):
    transfer, token = shared
    _asked, first = ask_code(client, token)
    TransferCode.objects.filter(transfer=transfer).update(expires_at=clock.now() - datetime.timedelta(seconds=1))
    expired = enter(client, token, first)
    assert expired.status_code == 422 and "This code has expired" in expired.content.decode()
    _asked, second = ask_code(client, token)
    _asked, third = ask_code(client, token)
    if third != second:  # the newer code replaced the older one
        assert enter(client, token, second).status_code == 422
    assert enter(client, token, third).status_code == 302
    reasons = [e.detail["reason"] for e in events("records.transfer_code_refused")]
    assert reasons[0] == "code_expired"
    assert enter(Client(), token, "000000").status_code == 422  # no code waiting once used
    assert events("records.transfer_code_refused")[-1].detail["reason"] == "no_code"


def test_at_most_five_codes_an_hour_from_one_address_and_fifteen_in_all(client, shared):
    transfer, token = shared
    for _ in range(5):
        asked, code = ask_code(client, token)
        assert asked.status_code == 302 and code
    sixth, none = ask_code(client, token)
    assert sixth.status_code == 429 and none is None and len(mail.outbox) == 5
    body = sixth.content.decode()
    assert "5 codes were sent in the last hour: ask for a new one in 60 minutes." in body
    refused = events("records.transfer_code_refused")[-1]
    assert refused.detail["reason"] == "too_many_codes" and refused.ip_address == "127.0.0.1"
    # whoever holds the link at one address cannot use up the recipient's codes: another address still asks
    assert enter(client, token, code).status_code == 302
    for number in range(10):
        assert ask_code(Client(), token, REMOTE_ADDR=f"203.0.113.{number + 1}")[0].status_code == 302
    assert TransferCode.objects.filter(transfer=transfer).count() == 15
    last, none = ask_code(Client(), token, REMOTE_ADDR="203.0.113.60")
    assert last.status_code == 429 and none is None and len(mail.outbox) == 15
    assert "15 codes were sent in the last hour" in last.content.decode()
    assert events("records.transfer_code_refused")[-1].ip_address == "203.0.113.60"
    # an hour on, a new one can be sent
    TransferCode.objects.filter(transfer=transfer).update(sent_at=clock.now() - datetime.timedelta(minutes=61))
    assert ask_code(Client(), token, REMOTE_ADDR="203.0.113.60")[0].status_code == 302


def test_revocation_and_expiry_close_a_verified_browser_at_once(client, shared, users):
    transfer, token = shared
    verify(client, token)
    assert client.get(f"/shared/{token}/ips.json").status_code == 200
    services.revoke_transfer(users["patient"], transfer.pk)
    for what in ["", *DOWNLOADS]:
        gone = client.get(f"/shared/{token}/{what}")
        assert gone.status_code == 410 and b"revoked" in gone.content and b"resourceType" not in gone.content
    assert ask_code(Client(), token)[0].status_code == 410 and not events("records.transfer_code_sent")[1:]


def test_an_expired_link_closes_a_verified_browser(client, shared):
    transfer, token = shared
    verify(client, token)
    Transfer.objects.filter(pk=transfer.pk).update(expires_at=clock.now() - datetime.timedelta(seconds=1))
    assert client.get(f"/shared/{token}/").status_code == 410
    assert client.get(f"/shared/{token}/ips.json").status_code == 410


def test_the_code_forms_are_csrf_protected(shared):
    _transfer, token = shared
    browser = Client(enforce_csrf_checks=True)
    assert browser.post(f"/shared/{token}/code").status_code == 403
    assert not mail.outbox
    page = browser.get(f"/shared/{token}/")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    asked, code = ask_code(browser, token, data={"csrfmiddlewaretoken": csrf})
    assert asked.status_code == 302 and code
    assert browser.post(f"/shared/{token}/verify", {"code": code}).status_code == 403
    assert browser.post(f"/shared/{token}/verify", {"code": code, "csrfmiddlewaretoken": csrf}).status_code == 302


def test_the_code_page_speaks_the_recipients_language_and_chinese(
    client, case, users, django_capture_on_commit_callbacks
):
    consent(users, case)
    _transfer, token = send(users, case, django_capture_on_commit_callbacks, language="zh-hans")
    page = client.get(f"/shared/{token}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "给我发送验证码" in page and "Send me a code" not in page
    english = client.get(f"/shared/{token}/?lang=en").content.decode()
    assert "Send me a code" in english and "给我发送验证码" in english and 'lang="zh-Hans"' in english
    _asked, _code = ask_code(client, token)
    assert "验证码" in mail.outbox[-1].subject
    asked, _code = ask_code(client, token, QUERY_STRING="lang=en")
    assert asked["Location"] == f"/shared/{token}/?lang=en" and "Your code" in mail.outbox[-1].body


def test_the_access_log_lists_codes_verifications_and_refusals(client, shared, users):
    from laihua.accounts.services import create_api_token

    transfer, token = shared
    client.get(f"/shared/{token}/ips.json", REMOTE_ADDR="198.51.100.20")
    _asked, code = ask_code(client, token, REMOTE_ADDR="198.51.100.21")
    enter(client, token, wrong(code))
    enter(client, token, code)
    client.get(f"/shared/{token}/ips.json", REMOTE_ADDR="198.51.100.22")
    headers = {"Authorization": f"Bearer {create_api_token(users['coordinator'], users['coordinator'], 't')[1]}"}
    listed = client.get(f"/api/records/cases/{transfer.case.reference}/transfers", headers=headers).json()
    log = [(a["event"], a["what"], a["refused"]) for a in reversed(listed[0]["accesses"])]
    assert log == [
        ("access_refused", "json", "unverified"),
        ("code_sent", "", ""),
        ("code_refused", "", "wrong_code"),
        ("verified", "", ""),
        ("access", "json", ""),
    ]
    assert listed[0]["accesses"][-1]["address"] == "198.51.100.20"
    assert token not in str(listed) and code not in str(listed)
    staff = Client()
    staff.force_login(users["patient"])
    page = staff.get(f"/en/records/cases/{transfer.case.reference}/").content.decode()
    for shown in (
        "Code sent to the recipient",
        "Browser verified with the code",
        "Code refused: wrong code",
        "Refused: FHIR JSON (browser not verified)",
        "198.51.100.21",
    ):
        assert shown in page
