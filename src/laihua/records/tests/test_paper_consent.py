"""A consent the patient signed on paper: recorded with its scan (PDF, JPEG or PNG, checked like every
attachment) by a coordinator or admin of the case's hospital, for sending records; it shows who recorded it and
when, the patient sees it and its scan on their page, it is audited, and nobody else records one. Reading a
case's consents is audited like every read of patient data."""

import datetime

import pytest
from django.urls import reverse
from django.utils import translation

from laihua.accounts.services import create_api_token
from laihua.audit.models import AuditEvent
from laihua.cases.tests.files import a_disguised_exe, a_pdf
from laihua.errors import InvalidInput, NotFound, PermissionDenied
from laihua.kit import clock
from laihua.records import services
from laihua.records.models import Consent

pytestmark = pytest.mark.django_db


def url(name, *args):
    with translation.override("en"):
        return reverse(f"records:{name}", args=args)


def fields(**extra):
    today = clock.today()
    return {
        "recipient_name": "Dr Smith",
        "recipient_email": "smith@clinic.example",
        "purpose": "Follow-up at home",
        "data_types": ["summary"],
        "period_start": today.isoformat(),
        "period_end": (today + datetime.timedelta(days=30)).isoformat(),
        **extra,
    }


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_a_coordinator_records_a_signed_paper_consent_and_it_lets_records_go(users, case):
    consent = services.record_paper_consent(users["coordinator"], case, file=a_pdf("signed.pdf"), **fields())
    consent.refresh_from_db()
    assert consent.on_paper and consent.granted_by is None and consent.recorded_by == users["coordinator"]
    assert consent.paper_content_type == "application/pdf" and len(consent.paper_sha256) == 64
    assert consent.paper_file.read().startswith(b"%PDF")
    assert services.matching_consent(case, "smith@clinic.example", ["summary"]) == consent
    event = AuditEvent.objects.get(action="records.consent_grant")
    assert event.actor == users["coordinator"] and event.detail["paper"] is True
    assert case.events.get(kind="consent_granted").detail == {"paper": True}
    # the patient reads it and its scan, and withdraws it like any other
    assert services.paper_of_consent(users["patient"], consent.pk) == consent
    assert AuditEvent.objects.filter(action="records.consent_paper_view", actor=users["patient"]).count() == 1
    services.withdraw_consent(users["patient"], consent.pk)


def test_only_the_cases_hospital_coordinators_and_admins_record_one(users, case):
    for role in ("clinician", "finance", "patient", "insurer_agent", "platform_admin"):
        with pytest.raises((PermissionDenied, NotFound)):
            services.record_paper_consent(users[role], case, file=a_pdf(), **fields())
    for role in ("other_coordinator", "other_admin"):
        with pytest.raises(PermissionDenied):
            services.record_paper_consent(users[role], case, file=a_pdf(), **fields())
    services.record_paper_consent(users["hospital_admin"], case, file=a_pdf(), **fields())
    assert Consent.objects.count() == 1


def test_the_scan_is_checked_and_a_bad_one_stores_nothing(users, case):
    with pytest.raises(InvalidInput) as caught:
        services.record_paper_consent(users["coordinator"], case, file=None, **fields())
    assert caught.value.field == "file"
    with pytest.raises(InvalidInput) as caught:
        services.record_paper_consent(users["coordinator"], case, file=a_disguised_exe(), **fields())
    assert caught.value.field == "file"
    with pytest.raises(InvalidInput) as caught:
        services.record_paper_consent(users["coordinator"], case, file=a_pdf(), **fields(recipient_email="nope"))
    assert caught.value.field == "recipient_email"
    assert not Consent.objects.exists() and not AuditEvent.objects.filter(action="records.consent_grant").exists()


def test_reading_a_cases_consents_is_audited(users, case):
    services.record_paper_consent(users["coordinator"], case, file=a_pdf(), **fields())
    for role in ("patient", "clinician"):
        assert len(services.consents_of_case(users[role], case)) == 1
        event = AuditEvent.objects.filter(action="records.consent_view", actor=users[role]).get()
        assert event.detail["case"] == case.reference and len(event.detail["consents"]) == 1
    with pytest.raises(PermissionDenied):
        services.consents_of_case(users["finance"], case)
    with pytest.raises((PermissionDenied, NotFound)):
        services.consents_of_case(users["other_coordinator"], case)


def test_the_page_records_it_and_the_patient_sees_it_and_its_scan(client, users, case):
    client.force_login(users["clinician"])
    assert (
        "Record a consent the patient signed on paper" not in client.get(url("case", case.reference)).content.decode()
    )
    client.force_login(users["coordinator"])
    assert "Record a consent the patient signed on paper" in client.get(url("case", case.reference)).content.decode()
    refused = client.post(url("consent_paper", case.reference), {**fields(), "file": a_disguised_exe()})
    assert refused.status_code == 422 and not Consent.objects.exists()
    response = client.post(url("consent_paper", case.reference), {**fields(), "file": a_pdf()})
    assert response.status_code == 302
    consent = Consent.objects.get()
    client.force_login(users["patient"])
    html = client.get(url("case", case.reference)).content.decode()
    assert "Signed on paper; recorded by" in html and url("consent_paper_file", consent.pk) in html
    scan = client.get(url("consent_paper_file", consent.pk))
    assert scan.status_code == 200 and scan["Content-Type"] == "application/pdf"
    assert scan["Content-Disposition"].startswith("attachment")
    assert b"".join(scan.streaming_content).startswith(b"%PDF")
    client.force_login(users["other_coordinator"])
    assert client.get(url("consent_paper_file", consent.pk)).status_code == 404


def test_the_api_records_it_and_serves_its_scan(client, users, case):
    token = {"Authorization": f"Bearer {create_api_token(users['coordinator'], users['coordinator'], 't')[1]}"}
    response = client.post(
        f"/api/records/cases/{case.reference}/consents/paper", {**fields(), "file": a_pdf()}, headers=token
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["on_paper"] is True and body["recorded_by"] and body["paper"].endswith("/paper")
    assert client.get(body["paper"], headers=token).status_code == 200
    fhir = client.get(f"/fhir/Consent/{body['id']}", headers=token).json()
    assert fhir["sourceAttachment"]["contentType"] == "application/pdf"
    assert fhir["sourceAttachment"]["url"] == body["paper"]
    clinician = {"Authorization": f"Bearer {create_api_token(users['clinician'], users['clinician'], 't')[1]}"}
    refused = client.post(
        f"/api/records/cases/{case.reference}/consents/paper", {**fields(), "file": a_pdf()}, headers=clinician
    )
    assert refused.status_code == 403 and Consent.objects.count() == 1


def test_finance_does_not_read_records_consents_as_the_docs_say(client, users, case):
    consent = services.record_paper_consent(users["coordinator"], case, file=a_pdf(), **fields())
    token = {"Authorization": f"Bearer {create_api_token(users['finance'], users['finance'], 't')[1]}"}
    assert client.get(f"/api/records/cases/{case.reference}/consents", headers=token).status_code == 403
    assert (
        client.get(f"/fhir/Consent/{consent.pk}", headers=token).status_code == 403
    )  # same hospital, a role that does not read them (docs/roles.md)
    assert client.get(f"/api/records/consents/{consent.pk}/paper", headers=token).status_code == 403
