"""/api/records and the FHIR routes (/fhir/Bundle, /fhir/Patient/{id}/$summary, /fhir/Consent/{id}),
with the refusals for another hospital, another patient and the wrong role on each."""

import datetime
import json

import pytest

from laihua.accounts.services import create_api_token
from laihua.audit.models import AuditEvent
from laihua.kit import clock
from laihua.records import ips, services
from laihua.records.models import IpsDocument
from laihua.records.tests.conftest import as_bytes, example_bytes

pytestmark = pytest.mark.django_db


def bearer(user):
    return {"Authorization": f"Bearer {create_api_token(user, user, 'test')[1]}"}


def consent(users, case):
    today = clock.today()
    return services.grant_consent(
        users["patient"],
        case,
        recipient_name="Dr Smith",
        recipient_email="smith@clinic.example",
        purpose="Follow-up",
        data_types=["summary"],
        period_start=today,
        period_end=today + datetime.timedelta(days=10),
    )


# --- FHIR -----------------------------------------------------------------------------------------


def test_post_bundle_imports_once_and_returns_fhir(client, users, case):
    headers = bearer(users["coordinator"])
    url = f"/fhir/Bundle?case={case.reference}"
    body = example_bytes("hl7-bundle-minimal.json")
    response = client.post(url, body, content_type="application/fhir+json", headers=headers)
    assert response.status_code == 201, response.content
    assert response["Content-Type"].startswith("application/fhir+json")
    assert response.json()["resourceType"] == "Bundle"
    document = IpsDocument.objects.get()
    assert response["Location"] == f"/fhir/Bundle/{document.pk}"
    again = client.post(url, body, content_type="application/fhir+json", headers=headers)
    assert again.status_code == 200 and IpsDocument.objects.count() == 1
    read = client.get(f"/fhir/Bundle/{document.pk}", headers=headers)
    assert read.status_code == 200 and read.json()["identifier"]["value"] == "28b95815-76ce-457b-b7ae-a972e527db40"


def test_post_xml_bundle(client, users, case):
    response = client.post(
        f"/fhir/Bundle?case={case.reference}",
        example_bytes("hl7-IPS-bundle-01.xml"),
        content_type="application/fhir+xml",
        headers=bearer(users["clinician"]),
    )
    assert response.status_code == 201, response.content
    assert IpsDocument.objects.get().source_format == "xml"


def test_refused_bundle_is_an_operation_outcome_with_every_issue(client, users, case, minimal):
    del minimal["timestamp"]
    minimal["entry"][4]["resource"]["subject"] = {"reference": "Patient/elsewhere"}
    response = client.post(
        f"/fhir/Bundle?case={case.reference}",
        as_bytes(minimal),
        content_type="application/fhir+json",
        headers=bearer(users["coordinator"]),
    )
    assert response.status_code == 422
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert [i["expression"] for i in outcome["issue"]] == [["Bundle.timestamp"], ["Bundle.entry[4].resource.subject"]]
    assert not IpsDocument.objects.exists()


@pytest.mark.parametrize("who,status", [("other_coordinator", 404), ("finance", 403), ("insurer_agent", 404)])
def test_post_bundle_refusals(client, users, case, who, status):
    response = client.post(
        f"/fhir/Bundle?case={case.reference}",
        example_bytes("hl7-bundle-minimal.json"),
        content_type="application/fhir+json",
        headers=bearer(users[who]),
    )
    assert response.status_code == status and response.json()["resourceType"] == "OperationOutcome"
    assert not IpsDocument.objects.exists()


def test_post_bundle_needs_sign_in(client, case):
    response = client.post(f"/fhir/Bundle?case={case.reference}", b"{}", content_type="application/fhir+json")
    assert response.status_code == 401 and response.json()["resourceType"] == "OperationOutcome"


def test_patient_summary_operation(client, users, case, patient):
    services.import_document(users["clinician"], case, example_bytes("hl7-bundle-minimal.json"))
    for who in ("clinician", "patient"):
        response = client.get(f"/fhir/Patient/{patient.pk}/$summary", headers=bearer(users[who]))
        assert response.status_code == 200, response.content
        ips.parse(response.content)
    assert AuditEvent.objects.filter(action="records.export").count() == 2


def test_patient_summary_refusals(client, users, case, patient, other_patient):
    assert (
        client.get(f"/fhir/Patient/{patient.pk}/$summary", headers=bearer(users["other_coordinator"])).status_code
        == 404
    )
    assert client.get(f"/fhir/Patient/{patient.pk}/$summary", headers=bearer(other_patient.user)).status_code == 404
    assert client.get(f"/fhir/Patient/{patient.pk}/$summary", headers=bearer(users["insurer_agent"])).status_code == 403
    assert client.get(f"/fhir/Patient/{patient.pk}/$summary", headers=bearer(users["finance"])).status_code == 403


def test_consent_as_fhir(client, users, case, other_patient):
    granted = consent(users, case)
    response = client.get(f"/fhir/Consent/{granted.pk}", headers=bearer(users["coordinator"]))
    assert response.status_code == 200
    body = response.json()
    assert body["resourceType"] == "Consent" and body["status"] == "active"
    assert body["provision"]["actor"][0]["reference"]["display"] == "Dr Smith"
    assert client.get(f"/fhir/Consent/{granted.pk}", headers=bearer(users["other_coordinator"])).status_code == 404
    assert client.get(f"/fhir/Consent/{granted.pk}", headers=bearer(other_patient.user)).status_code == 404


# --- /api/records ---------------------------------------------------------------------------------


def test_api_import_view_and_refusal_issues(client, users, case, minimal):
    headers = bearer(users["coordinator"])
    response = client.post(
        f"/api/records/cases/{case.reference}/documents",
        example_bytes("hl7-bundle-minimal.json"),
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 201 and response.json()["items"] == 3
    view = client.get(f"/api/records/cases/{case.reference}", headers=headers).json()
    assert {i["kind"] for i in view["items"]} == {"problem", "medication", "allergy"}
    del minimal["identifier"]
    refused = client.post(
        f"/api/records/cases/{case.reference}/documents",
        as_bytes(minimal),
        content_type="application/json",
        headers=headers,
    )
    assert refused.status_code == 422
    assert refused.json()["error"] == "ips_invalid"
    assert refused.json()["issues"][0]["expression"] == "Bundle.identifier"


@pytest.mark.parametrize("who,status", [("other_coordinator", 404), ("finance", 403), ("insurer_agent", 404)])
def test_api_refusals(client, users, case, who, status):
    headers = bearer(users[who])
    assert client.get(f"/api/records/cases/{case.reference}", headers=headers).status_code == status
    assert client.get(f"/api/records/cases/{case.reference}/export", headers=headers).status_code == status


def test_api_other_patient_is_refused(client, case, other_patient):
    assert client.get(f"/api/records/cases/{case.reference}", headers=bearer(other_patient.user)).status_code == 404


def test_api_episode_summary_export_and_terms(client, users, case):
    doctor = bearer(users["clinician"])
    payload = {
        "diagnoses": [{"code": "M17.1", "text": "Primary gonarthrosis"}],
        "plan_of_care": "Rest",
        "complete": True,
    }
    response = client.put(
        f"/api/records/cases/{case.reference}/episode-summary", payload, content_type="application/json", headers=doctor
    )
    assert response.status_code == 200 and response.json()["completed_at"]
    coordinator = bearer(users["coordinator"])
    refused = client.put(
        f"/api/records/cases/{case.reference}/episode-summary",
        payload,
        content_type="application/json",
        headers=coordinator,
    )
    assert refused.status_code == 403
    response = client.get(f"/api/records/cases/{case.reference}/export", headers=bearer(users["patient"]))
    bundle = json.loads(b"".join(response.streaming_content))
    ips.parse(json.dumps(bundle))
    term = client.post(
        "/api/records/terms",
        {"system": "http://hl7.org/fhir/sid/icd-10", "code": "M17.1", "en": "Knee arthrosis", "zh_hans": "膝关节病"},
        content_type="application/json",
        headers=coordinator,
    )
    assert term.status_code == 200
    assert (
        client.post(
            "/api/records/terms",
            {"system": "x", "code": "y", "en": "z"},
            content_type="application/json",
            headers=bearer(users["patient"]),
        ).status_code
        == 403
    )


def test_api_consent_and_transfer(client, users, case, mailoutbox):
    patient = bearer(users["patient"])
    today = clock.today()
    payload = {
        "recipient_name": "Insurer X",
        "recipient_email": "claims@insurer.example",
        "purpose": "Claim",
        "data_types": ["discharge"],
        "period_start": today.isoformat(),
        "period_end": (today + datetime.timedelta(days=5)).isoformat(),
    }
    coordinator = bearer(users["coordinator"])
    transfer = {"recipient_email": "claims@insurer.example"}
    refused = client.post(
        f"/api/records/cases/{case.reference}/transfers", transfer, content_type="application/json", headers=coordinator
    )
    assert refused.status_code == 403 and refused.json()["error"] == "consent_required"
    assert (
        client.post(
            f"/api/records/cases/{case.reference}/consents",
            payload,
            content_type="application/json",
            headers=coordinator,
        ).status_code
        == 403
    )
    granted = client.post(
        f"/api/records/cases/{case.reference}/consents", payload, content_type="application/json", headers=patient
    )
    assert granted.status_code == 201
    sent = client.post(
        f"/api/records/cases/{case.reference}/transfers", transfer, content_type="application/json", headers=coordinator
    )
    assert sent.status_code == 201, sent.content
    withdrawn = client.post(f"/api/records/consents/{granted.json()['id']}/withdraw", headers=patient)
    assert withdrawn.json()["status"] == "inactive"
    again = client.post(
        f"/api/records/cases/{case.reference}/transfers", transfer, content_type="application/json", headers=coordinator
    )
    assert again.status_code == 403


def test_summary_defaults_to_the_case_with_a_completed_discharge_summary(client, users, case, patient, hospital):
    from tests.builders import make_case

    later = make_case(patient, hospital)  # newer, but nothing written
    services.save_episode_summary(
        users["clinician"], case, {"diagnoses": [{"code": "I10", "text": "Hypertension"}]}, complete=True
    )
    body = client.get(f"/fhir/Patient/{patient.pk}/$summary", headers=bearer(users["clinician"])).json()
    assert case.reference in body["entry"][0]["resource"]["title"]
    body = client.get(f"/fhir/Patient/{patient.pk}/$summary?case={later.reference}", headers=bearer(users["clinician"]))
    assert later.reference in body.json()["entry"][0]["resource"]["title"]
