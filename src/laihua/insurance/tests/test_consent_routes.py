"""The consent to send health data to the insurer over every route: the JSON API, FHIR (/fhir/Claim refused,
/fhir/Consent served as a valid R4 Consent naming the insurer) and the pages (the coordinator's GOP panel, the
patient's records page), with the refusals per role."""

import json

import pytest
from fhir.resources.R4B.consent import Consent as FhirConsent

from laihua.accounts.services import create_api_token
from laihua.audit.models import AuditEvent
from laihua.insurance.models import Guarantee, GuaranteeStatus
from laihua.insurance.tests.conftest import GOP_DATA, fixture_json
from laihua.records import services as records
from laihua.records.models import Consent, ConsentStatus

pytestmark = pytest.mark.django_db
FHIR = "application/fhir+json"
JSON = "application/json"


def bearer(user):
    return {"Authorization": f"Bearer {create_api_token(user, user, 'test')[1]}"}


# --- /api/insurance -------------------------------------------------------------------------------


def test_the_consent_over_the_api(client, bare_coverage, users, agent):
    ref = bare_coverage.case.reference
    url = f"/api/insurance/cases/{ref}/consent"
    patient, coordinator = bearer(users["patient"]), bearer(users["coordinator"])

    state = client.get(url, headers=patient)
    assert state.status_code == 200
    assert state.json()["status"] == "missing" and state.json()["insurer"] == "acme"
    assert state.json()["data_types"] == ["diagnosis", "treating_doctor", "clinical_notes", "itemised_estimate"]
    assert AuditEvent.objects.filter(action="insurance.consent_view").count() == 1

    refused = client.post(f"/api/insurance/cases/{ref}/gops", GOP_DATA, content_type=JSON, headers=coordinator)
    assert refused.status_code == 409
    assert refused.json()["error"] == "consent_missing" and refused.json()["field"] == "consent"

    asked = client.post(f"{url}/request", {}, content_type=JSON, headers=coordinator)
    assert asked.status_code == 201 and asked.json()["asked_at"]

    granted = client.post(url, {}, content_type=JSON, headers=patient)
    assert granted.status_code == 201, granted.content
    body = granted.json()
    assert body["status"] == "given" and body["consent"]["status"] == "active"
    assert body["consent"]["fhir"] == f"/fhir/Consent/{body['consent']['id']}"
    again = client.post(url, {}, content_type=JSON, headers=patient)
    assert again.status_code == 409 and again.json()["error"] == "consent_exists"

    sent = client.post(f"/api/insurance/cases/{ref}/gops", GOP_DATA, content_type=JSON, headers=coordinator)
    assert sent.status_code == 201

    withdrawn = client.post(body["consent"]["withdraw"], {}, content_type=JSON, headers=patient)
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "inactive"
    assert withdrawn.json()["use"] == "payment"
    assert client.get(url, headers=coordinator).json()["status"] == "withdrawn"


def test_a_wrong_period_over_the_api_names_the_field(client, bare_coverage, users):
    response = client.post(
        f"/api/insurance/cases/{bare_coverage.case.reference}/consent",
        {"period_end": "soon"},
        content_type=JSON,
        headers=bearer(users["patient"]),
    )
    assert response.status_code == 422 and response.json()["field"] == "period_end"


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("coordinator", 403),
        ("hospital_admin", 403),
        ("clinician", 403),
        ("finance", 403),
        ("other_coordinator", 404),
        ("insurer_agent", 404),
        ("other_patient", 404),
    ],
)
def test_only_the_patient_grants_over_the_api(client, bare_coverage, users, agent, other_patient, role, status):
    user = other_patient.user if role == "other_patient" else users[role]
    response = client.post(
        f"/api/insurance/cases/{bare_coverage.case.reference}/consent", {}, content_type=JSON, headers=bearer(user)
    )
    assert response.status_code == status
    if status == 403:
        assert response.json()["field"] == "consent"
    assert not Consent.objects.exists()


@pytest.mark.parametrize(
    ("role", "status"), [("patient", 403), ("clinician", 403), ("other_coordinator", 404), ("insurer_agent", 404)]
)
def test_only_the_desk_asks_over_the_api(client, bare_coverage, users, agent, role, status):
    response = client.post(
        f"/api/insurance/cases/{bare_coverage.case.reference}/consent/request",
        {},
        content_type=JSON,
        headers=bearer(users[role]),
    )
    assert response.status_code == status
    assert not AuditEvent.objects.filter(action="insurance.consent_request").exists()


@pytest.mark.parametrize(("role", "status"), [("coordinator", 403), ("other_coordinator", 404), ("insurer_agent", 404)])
def test_staff_and_the_insurer_cannot_withdraw_over_the_api(client, coverage, users, agent, role, status):
    consent = Consent.objects.get()
    response = client.post(f"/api/records/consents/{consent.pk}/withdraw", headers=bearer(users[role]))
    assert response.status_code == status
    consent.refresh_from_db()
    assert consent.status == ConsentStatus.ACTIVE


def test_sending_again_over_the_api_after_a_withdrawal_is_refused(client, gop, users, agent):
    records.withdraw_consent(users["patient"], Consent.objects.get().pk)
    client.post(
        f"/api/insurance/gops/{gop.number}/answer",
        {"status": "pended", "disposition": "The MRI report, please."},
        content_type=JSON,
        headers=bearer(agent),
    )
    response = client.post(
        f"/api/insurance/gops/{gop.number}/resubmit",
        {"clinical_notes": "Report attached."},
        content_type=JSON,
        headers=bearer(users["coordinator"]),
    )
    assert response.status_code == 409 and response.json()["error"] == "consent_missing"
    gop.refresh_from_db()
    assert gop.status == GuaranteeStatus.PENDED


# --- FHIR -----------------------------------------------------------------------------------------


def test_posting_a_claim_without_the_consent_is_refused_with_an_operation_outcome(client, users, quoted_case, contract):
    from laihua.insurance.tests.conftest import cover
    from laihua.insurance.tests.test_api import as_patient_of

    cover(users["coordinator"], quoted_case, member_id="12345678901")
    body = json.dumps(as_patient_of(fixture_json("conformant_pas_bundle_v110.json"), quoted_case))
    response = client.post(
        f"/fhir/Claim?case={quoted_case.reference}", body, content_type=FHIR, headers=bearer(users["coordinator"])
    )
    assert response.status_code == 409
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["expression"] == ["consent"]
    assert "consent" in outcome["issue"][0]["diagnostics"]
    assert not Guarantee.objects.exists()
    assert AuditEvent.objects.get(action="insurance.consent_missing").detail["sending"] == "gop"


def test_the_consent_is_a_valid_fhir_consent_naming_the_insurer(client, coverage, users, other_patient):
    consent = Consent.objects.get()
    response = client.get(f"/fhir/Consent/{consent.pk}", headers=bearer(users["patient"]))
    assert response.status_code == 200
    body = response.json()
    FhirConsent.model_validate(body)  # R4 (the R4B model of fhir.resources)
    assert body["status"] == "active" and body["patient"]["reference"] == f"Patient/{coverage.case.patient_id}"
    provision = body["provision"]
    assert provision["type"] == "permit"
    actor = provision["actor"][0]
    assert actor["role"]["coding"][0]["code"] == "IRCP"
    assert actor["reference"] == {
        "type": "Organization",
        "identifier": {"system": "urn:laihua:insurer", "value": "acme"},
        "display": "Acme Global Health",
    }
    assert provision["purpose"] == [
        {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
            "code": "HPAYMT",
            "display": "healthcare payment",
        }
    ]
    assert [code["coding"][0]["code"] for code in provision["code"]] == [
        "diagnosis",
        "treating_doctor",
        "clinical_notes",
        "itemised_estimate",
    ]
    assert provision["period"]["start"] == consent.period_start.isoformat()
    records.withdraw_consent(users["patient"], consent.pk)
    withdrawn = client.get(f"/fhir/Consent/{consent.pk}?_format=xml", headers=bearer(users["coordinator"]))
    assert withdrawn.status_code == 200 and b'<status value="inactive"/>' in withdrawn.content
    for outsider in (users["other_coordinator"], other_patient.user, users["insurer_agent"]):
        assert client.get(f"/fhir/Consent/{consent.pk}", headers=bearer(outsider)).status_code == 404


# --- pages ----------------------------------------------------------------------------------------


def test_the_coordinator_sees_the_missing_consent_and_asks_for_it(client, bare_coverage, users):
    ref = bare_coverage.case.reference
    client.force_login(users["coordinator"])
    page = client.get(f"/en/cases/{ref}/").content.decode()
    assert "consent to send their health data to Acme Global Health is missing" in page
    assert "Ask the patient for consent" in page and "Send the GOP request" not in page
    response = client.post(f"/en/insurance/case/{ref}/consent/ask/", follow=True)
    page = response.content.decode()
    assert "The patient is asked for consent" in page and "Asked on" in page
    # the patient finds the message on the case, with the link
    client.force_login(users["patient"])
    page = client.get(f"/en/cases/{ref}/").content.decode()
    assert f'<a href="http://testserver/en/records/cases/{ref}/#insurer-consent"' in page or (
        f"/en/records/cases/{ref}/#insurer-consent" in page
    )
    assert "Your consent to send your health data to Acme Global Health is needed." in page


def test_the_patient_reads_what_is_sent_to_whom_and_grants_then_withdraws(client, bare_coverage, users):
    ref = bare_coverage.case.reference
    client.force_login(users["patient"])
    page = client.get(f"/en/records/cases/{ref}/").content.decode()
    for text in (
        "Acme Global Health",
        "Diagnosis (with its ICD-10 code)",
        "Treating doctor",
        "Clinical notes (symptoms and reason for treatment)",
        "Itemised estimate and bill",
        "Knee arthroscopy",  # the lines of the estimate
        "I consent to sending this to Acme Global Health",
    ):
        assert text in page, text
    response = client.post(f"/en/insurance/case/{ref}/consent/", {"period_end": ""}, follow=True)
    page = response.content.decode()
    assert "your consent is recorded" in page and "Withdraw my consent" in page
    consent = Consent.objects.get()
    assert consent.granted_by == users["patient"]
    response = client.post(f"/en/records/consents/{consent.pk}/withdraw/", follow=True)
    page = response.content.decode()
    assert "nothing more will be sent to Acme Global Health" in page and "stays with it" in page
    assert "Consent withdrawn on" in page
    consent.refresh_from_db()
    assert consent.status == ConsentStatus.INACTIVE


def test_the_patient_page_is_in_the_patients_language(client, bare_coverage, users):
    client.force_login(users["patient"])
    page = client.get(f"/zh-hans/records/cases/{bare_coverage.case.reference}/").content.decode()
    assert "Acme Global Health" in page and "诊断" in page  # "diagnosis"
    assert "I consent" not in page


def test_staff_cannot_grant_on_the_pages(client, bare_coverage, users, agent):
    ref = bare_coverage.case.reference
    client.force_login(users["coordinator"])
    page = client.get(f"/en/records/cases/{ref}/").content.decode()
    assert "Only the patient can give this consent" in page and "I consent to sending" not in page
    assert client.post(f"/en/insurance/case/{ref}/consent/").status_code == 403
    for role in ("other_coordinator", "insurer_agent"):
        client.force_login(users[role])
        assert client.post(f"/en/insurance/case/{ref}/consent/").status_code == 404
        assert client.post(f"/en/insurance/case/{ref}/consent/ask/").status_code == 404
    client.force_login(users["patient"])
    assert client.post(f"/en/insurance/case/{ref}/consent/ask/").status_code == 403
    assert not Consent.objects.exists()


def test_the_coordinator_sees_a_withdrawal_under_an_open_request(client, gop, users, agent):
    records.withdraw_consent(users["patient"], Consent.objects.get().pk)
    client.force_login(agent)
    client.post(f"/en/insurance/gop/{gop.number}/answer/", {"status": "pended", "disposition": "MRI report?"})
    client.force_login(users["coordinator"])
    page = client.get(f"/en/cases/{gop.case.reference}/").content.decode()
    assert "The patient withdrew their consent to send health data to Acme Global Health" in page
    assert f"{gop.number} stays with Acme Global Health (it was already sent)" in page
    assert "no claim after treatment goes out" in page
    assert "Send again" not in page  # the form to send it again is gone
    response = client.post(
        f"/en/insurance/gop/{gop.number}/resubmit/", {"clinical_notes": "Report attached."}, follow=True
    )
    assert "withdrew their consent" in response.content.decode()
    gop.refresh_from_db()
    assert gop.status == GuaranteeStatus.PENDED


def test_the_timeline_shows_grant_request_and_withdrawal(client, bare_coverage, users):
    from laihua.insurance import services

    case = bare_coverage.case
    services.ask_for_consent(users["coordinator"], case)
    granted = services.grant_gop_consent(users["patient"], case)
    records.withdraw_consent(users["patient"], granted.pk)
    client.force_login(users["patient"])
    page = client.get(f"/en/cases/{case.reference}/").content.decode()
    for label in (
        "Patient asked for consent to send health data to the insurer",
        "Consent to send health data to the insurer given",
        "Consent to send health data to the insurer withdrawn",
    ):
        assert label in page, label
