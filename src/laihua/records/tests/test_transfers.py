"""Records shared with a doctor abroad by link: one token opens one transfer, in a browser verified with a
code sent to the recipient (test_transfer_codes.py), until it expires or is revoked; every opening is
audited with the address, refusals answer 410 and never the data, and the e-mail carries the link and
nothing else."""

import datetime
import hashlib
import re

import pytest
from django.core import mail
from django.test import TestCase
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from laihua.audit.models import AuditEvent
from laihua.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from laihua.kit import clock
from laihua.records import ips, services
from laihua.records.models import Transfer
from laihua.records.tests.conftest import example_bytes

EMAIL = "smith@clinic.example"


def consent(users, case, **extra):
    today = clock.today()
    data = {
        "recipient_name": "Dr Smith, family doctor",
        "recipient_email": EMAIL,
        "purpose": "Follow-up care at home",
        "data_types": ["summary"],
        "period_start": today,
        "period_end": today + datetime.timedelta(days=30),
        **extra,
    }
    return services.grant_consent(users["patient"], case, **data)


def send(users, case, capture, **extra) -> tuple[Transfer, str]:
    with capture(execute=True):
        transfer = services.send_records(users["coordinator"], case, recipient_email=EMAIL, **extra)
    token = re.search(r"/shared/([^/\s]+)/", mail.outbox[-1].body).group(1)
    return transfer, token


def verify(client, token: str, **extra) -> str:
    """Open the link in this client as the recipient does: ask for a code, read it in the recipient's
    mailbox, enter it. The client keeps the cookie that opens the transfer; the code is returned."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        asked = client.post(f"/shared/{token}/code", **extra)
    assert asked.status_code == 302, asked.content.decode()[:500]
    assert mail.outbox[-1].to == [EMAIL]
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    entered = client.post(f"/shared/{token}/verify", {"code": code}, **extra)
    assert entered.status_code == 302 and "laihua_transfer" in entered.cookies, entered.content.decode()[:500]
    return code


@pytest.fixture
def shared(case, users, django_capture_on_commit_callbacks):
    services.import_document(users["clinician"], case, example_bytes("hl7-IPS-bundle-01.xml"))
    consent(users, case)
    return send(users, case, django_capture_on_commit_callbacks)


def test_the_email_carries_the_link_and_no_health_data(shared, case, patient):
    transfer, token = shared
    (message,) = mail.outbox
    assert message.to == [EMAIL]
    assert not message.attachments and not getattr(message, "alternatives", None)
    assert transfer.link in message.body
    text = message.subject + message.body
    for private in (patient.family_name, patient.given_names, case.reference, "Follow-up care", "1972"):
        assert private not in text
    assert text.count("http") == 1  # the link, nothing else to follow


def test_the_token_is_stored_only_as_its_hash_and_is_long(shared):
    transfer, token = shared
    assert len(token) >= 43  # 256 bits
    stored = Transfer.objects.get(pk=transfer.pk)
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(Transfer.objects.filter(pk=transfer.pk).values().get())
    assert not AuditEvent.objects.filter(detail__icontains=token).exists()


def test_the_link_expires_after_the_setting(case, users, django_capture_on_commit_callbacks, settings):
    settings.LAIHUA_TRANSFER_LINK_DAYS = 3
    consent(users, case)
    transfer, _token = send(users, case, django_capture_on_commit_callbacks)
    expected = clock.now() + datetime.timedelta(days=3)
    assert abs((transfer.expires_at - expected).total_seconds()) < 60


def test_the_page_shows_the_records_and_logs_the_access(client, shared, case):
    transfer, token = shared
    verify(client, token)
    page = client.get(f"/shared/{token}/", REMOTE_ADDR="203.0.113.7")
    assert page.status_code == 200
    body = page.content.decode()
    assert case.patient.full_name in body and "<script>" not in body and " onclick" not in body
    assert page["Cache-Control"] == "no-store" and page["Referrer-Policy"] == "no-referrer"
    event = AuditEvent.objects.get(action="records.transfer_access")
    assert event.object_id == str(transfer.pk) and event.ip_address == "203.0.113.7" and event.actor is None
    assert event.detail == {"what": "page"}


def test_the_page_speaks_the_recipients_language_and_chinese(client, shared):
    _transfer, token = shared
    verify(client, token)
    english = client.get(f"/shared/{token}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Medical records shared with you" in english and "与您共享的病历" in english
    chinese = client.get(f"/shared/{token}/", HTTP_ACCEPT_LANGUAGE="zh-Hans").content.decode()
    assert "与您共享的病历" in chinese and "Medical records shared with you" not in chinese
    assert "与您共享的病历" in client.get(f"/shared/{token}/?lang=zh-hans").content.decode()


def test_the_transfer_language_wins_over_the_browser(client, case, users, django_capture_on_commit_callbacks):
    consent(users, case)
    _transfer, token = send(users, case, django_capture_on_commit_callbacks, language="zh-hans")
    verify(client, token)
    page = client.get(f"/shared/{token}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Medical records shared with you" not in page and "与您共享的病历" in page
    with pytest.raises(InvalidInput) as caught:
        services.send_records(users["coordinator"], case, recipient_email=EMAIL, language="fr")
    assert caught.value.field == "language"


def test_downloads_json_xml_and_a_streamed_pdf(client, shared):
    transfer, token = shared
    verify(client, token)
    as_json = client.get(f"/shared/{token}/ips.json")
    assert as_json.status_code == 200 and as_json["Content-Type"] == "application/fhir+json"
    ips.parse(as_json.content)
    as_xml = client.get(f"/shared/{token}/ips.xml")
    assert as_xml.status_code == 200 and as_xml.content.startswith(b"<")
    pdf = client.get(f"/shared/{token}/summary.pdf")
    assert pdf.status_code == 200 and pdf.streaming
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    whats = list(
        AuditEvent.objects.filter(action="records.transfer_access")
        .order_by("pk")
        .values_list("detail__what", flat=True)
    )
    assert whats == ["json", "xml", "pdf"]


def test_a_restricted_transfer_offers_no_pdf(client, case, users, django_capture_on_commit_callbacks):
    consent(users, case, data_types=["allergy"])
    _transfer, token = send(users, case, django_capture_on_commit_callbacks)
    verify(client, token)
    assert client.get(f"/shared/{token}/summary.pdf").status_code == 404
    assert "summary.pdf" not in client.get(f"/shared/{token}/").content.decode()


@pytest.mark.parametrize("what", ["", "ips.json", "ips.xml", "summary.pdf"])
def test_an_expired_link_answers_410_and_never_the_data(client, shared, case, what):
    transfer, token = shared
    Transfer.objects.filter(pk=transfer.pk).update(expires_at=clock.now() - datetime.timedelta(seconds=1))
    gone = client.get(f"/shared/{token}/{what}")
    assert gone.status_code == 410
    body = gone.content.decode()
    assert "expired" in body and case.patient.family_name not in body and "resourceType" not in body
    event = AuditEvent.objects.get(action="records.transfer_access_refused")
    assert event.detail["reason"] == "expired"
    assert not AuditEvent.objects.filter(action="records.transfer_access").exists()


def test_the_patient_revokes_a_link(client, shared, users, case):
    transfer, token = shared
    verify(client, token)
    assert client.get(f"/shared/{token}/").status_code == 200
    services.revoke_transfer(users["patient"], transfer.pk)
    gone = client.get(f"/shared/{token}/ips.json")
    assert gone.status_code == 410 and b"revoked" in gone.content and b"resourceType" not in gone.content
    assert AuditEvent.objects.filter(action="records.transfer_revoke", actor=users["patient"]).count() == 1
    with pytest.raises(Conflict):
        services.revoke_transfer(users["coordinator"], transfer.pk)


def test_staff_revoke_on_the_page_and_others_are_refused(client, shared, users):
    transfer, token = shared
    with pytest.raises(PermissionDenied):
        services.revoke_transfer(users["other_coordinator"], transfer.pk)
    with pytest.raises(PermissionDenied):
        services.revoke_transfer(users["finance"], transfer.pk)
    with pytest.raises(NotFound):
        services.revoke_transfer(users["clinician"], transfer.pk + 1000)
    client.force_login(users["other_coordinator"])
    assert client.post(f"/en/records/transfers/{transfer.pk}/revoke/").status_code == 403
    assert Transfer.objects.get(pk=transfer.pk).revoked_at is None
    client.force_login(users["clinician"])
    assert client.post(f"/en/records/transfers/{transfer.pk}/revoke/").status_code == 302
    assert Transfer.objects.get(pk=transfer.pk).revoked_by == users["clinician"]
    assert client.get(f"/shared/{token}/").status_code == 410


def test_withdrawing_the_consent_closes_its_links(client, shared, users):
    transfer, token = shared
    services.withdraw_consent(users["patient"], transfer.consent_id)
    gone = client.get(f"/shared/{token}/")
    assert gone.status_code == 410 and b"consent" in gone.content


def test_one_token_opens_one_transfer(client, case, users, django_capture_on_commit_callbacks):
    consent(users, case)
    first, first_token = send(users, case, django_capture_on_commit_callbacks)
    second, second_token = send(users, case, django_capture_on_commit_callbacks)
    assert first_token != second_token and first.token_hash != second.token_hash
    verify(client, first_token)
    verify(client, second_token)
    assert client.get(f"/shared/{first_token}/").context["transfer"] == first
    assert client.get(f"/shared/{second_token}/").context["transfer"] == second
    services.revoke_transfer(users["patient"], first.pk)
    assert client.get(f"/shared/{first_token}/").status_code == 410
    assert client.get(f"/shared/{second_token}/").status_code == 200


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", max_size=60))
def test_no_other_token_opens_a_transfer(shared_token_case, guess):
    token, _transfer = shared_token_case
    if guess == token:
        return
    with pytest.raises(NotFound):
        services.open_transfer(guess)


@pytest.fixture
def shared_token_case(shared):
    transfer, token = shared
    return token, transfer


def test_an_unknown_token_is_404_and_a_case_page_lists_accesses(client, shared, users):
    transfer, token = shared
    assert client.get("/shared/not-a-token/").status_code == 404
    verify(client, token)
    client.get(f"/shared/{token}/", REMOTE_ADDR="198.51.100.9")
    client.force_login(users["patient"])
    page = client.get(f"/en/records/cases/{transfer.case.reference}/").content.decode()
    assert "198.51.100.9" in page and "Revoke the link" in page and token not in page


def test_the_api_lists_accesses_and_revokes(client, shared, users):
    from laihua.accounts.services import create_api_token

    transfer, token = shared
    verify(client, token)
    client.get(f"/shared/{token}/ips.json", REMOTE_ADDR="192.0.2.4")
    headers = {"Authorization": f"Bearer {create_api_token(users['coordinator'], users['coordinator'], 't')[1]}"}
    listed = client.get(f"/api/records/cases/{transfer.case.reference}/transfers", headers=headers).json()
    assert listed[0]["state"] == "open" and listed[0]["accesses"][0]["address"] == "192.0.2.4"
    assert "token" not in str(listed) and token not in str(listed)
    revoked = client.post(f"/api/records/transfers/{transfer.pk}/revoke", headers=headers)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    again = client.post(f"/api/records/transfers/{transfer.pk}/revoke", headers=headers)
    assert again.status_code == 409


def test_a_refused_send_sends_nothing(case, users):
    with pytest.raises(services.ConsentRequired):
        services.send_records(users["coordinator"], case, recipient_email=EMAIL)
    assert not mail.outbox and not Transfer.objects.exists()
