"""/api/insurance and the FHIR routes (/fhir/Claim, /fhir/ClaimResponse): every route, with refusals."""

import datetime
import json

import pytest

from laihua.accounts.services import create_api_token
from laihua.insurance.models import Guarantee, GuaranteeStatus
from laihua.insurance.tests.conftest import GOP_DATA, fixture_json
from laihua.kit import clock

pytestmark = pytest.mark.django_db
FHIR = "application/fhir+json"


def bearer(user):
    return {"Authorization": f"Bearer {create_api_token(user, user, 'test')[1]}"}


def in_days(n):
    return (clock.today() + datetime.timedelta(days=n)).isoformat()


# --- /api/insurance -------------------------------------------------------------------------------


def test_a_hospital_admin_keeps_contracts_over_the_api(client, users, insurer):
    admin = bearer(users["hospital_admin"])
    body = {"insurer": "acme", "preauth_kinds": ["procedure"], "preauth_threshold_cny": "2000", "currency": "eur"}
    response = client.post("/api/insurance/contracts", body, content_type="application/json", headers=admin)
    assert response.status_code == 200, response.content
    contract = response.json()
    assert contract["currency"] == "EUR" and contract["preauth_threshold_cny"] == "2000.00"
    assert client.get(f"/api/insurance/contracts/{contract['id']}", headers=admin).json()["insurer"] == "acme"
    listed = client.get("/api/insurance/contracts", headers=bearer(users["coordinator"])).json()
    assert [c["id"] for c in listed] == [contract["id"]]
    # Refusals: another role, another hospital's staff, wrong input.
    refused = client.post(
        "/api/insurance/contracts", body, content_type="application/json", headers=bearer(users["coordinator"])
    )
    assert refused.status_code == 403
    assert (
        client.get(f"/api/insurance/contracts/{contract['id']}", headers=bearer(users["other_admin"])).status_code
        == 404
    )
    wrong = client.post(
        "/api/insurance/contracts", {**body, "answer_hours": 0}, content_type="application/json", headers=admin
    )
    assert wrong.status_code == 422 and wrong.json()["field"] == "answer_hours"
    agent_post = client.post(
        "/api/insurance/contracts", body, content_type="application/json", headers=bearer(users["insurer_agent"])
    )
    assert agent_post.status_code == 403
    assert client.get("/api/insurance/contracts").status_code == 401


def test_coverage_and_gop_over_the_api_then_the_insurer_answers(client, users, quoted_case, contract, agent):
    ref = quoted_case.reference
    coord = bearer(users["coordinator"])
    cover = {"insurer": "acme", "member_id": "ACME-9", "valid_from": in_days(-10), "valid_until": in_days(300)}
    response = client.put(f"/api/insurance/cases/{ref}/coverage", cover, content_type="application/json", headers=coord)
    assert response.status_code == 200, response.content
    assert response.json()["problems"] == [] and response.json()["coverage"]["member_id"] == "ACME-9"
    assert client.get(f"/api/insurance/cases/{ref}/coverage", headers=bearer(users["patient"])).status_code == 200
    agent_view = client.get(f"/api/insurance/cases/{ref}/coverage", headers=bearer(agent))
    assert agent_view.json()["coverage"]["insurer"] == "acme"

    refused = client.post(f"/api/insurance/cases/{ref}/gops", GOP_DATA, content_type="application/json", headers=coord)
    assert refused.status_code == 409 and refused.json()["error"] == "consent_missing"  # not before the consent
    patient = bearer(users["patient"])
    assert client.post(f"/api/insurance/cases/{ref}/consent", {}, content_type="application/json", headers=patient)
    sent = client.post(f"/api/insurance/cases/{ref}/gops", GOP_DATA, content_type="application/json", headers=coord)
    assert sent.status_code == 201, sent.content
    gop = sent.json()
    assert gop["status"] == "submitted" and gop["requested_cny"] == "30972.00"
    assert [line["needs_preauth"] for line in gop["lines"]] == [True, True]
    number = gop["number"]

    agent_auth = bearer(agent)
    pending = client.get("/api/insurance/gops?status=open", headers=agent_auth).json()
    assert [g["number"] for g in pending] == [number]
    answer = {
        "status": "approved",
        "reference": "A-1",
        "amount": "4000.00",
        "currency": "USD",
        "valid_from": in_days(0),
        "valid_until": in_days(31),
    }
    answered = client.post(
        f"/api/insurance/gops/{number}/answer", answer, content_type="application/json", headers=agent_auth
    )
    assert answered.status_code == 200, answered.content
    assert answered.json()["status"] == "approved" and answered.json()["approved_amount"] == "4000.00"
    seen = client.get(f"/api/insurance/gops/{number}", headers=coord).json()
    assert (seen["reference"], seen["approved_currency"]) == ("A-1", "USD")
    again = client.post(
        f"/api/insurance/gops/{number}/answer", answer, content_type="application/json", headers=agent_auth
    )
    assert again.status_code == 409


def test_api_gop_routes_refuse_others(client, users, gop, other_case, other_agent):
    number = gop.number
    other = bearer(other_agent)
    assert client.get(f"/api/insurance/gops/{number}", headers=other).status_code == 404
    assert client.get(f"/api/insurance/gops/{number}", headers=bearer(users["other_coordinator"])).status_code == 404
    assert client.get(f"/api/insurance/gops/{number}", headers=bearer(users["platform_admin"])).status_code == 404
    answer = {"status": "denied", "disposition": "no"}
    refused = client.post(
        f"/api/insurance/gops/{number}/answer", answer, content_type="application/json", headers=other
    )
    assert refused.status_code == 404
    by_staff = client.post(
        f"/api/insurance/gops/{number}/answer",
        answer,
        content_type="application/json",
        headers=bearer(users["coordinator"]),
    )
    assert by_staff.status_code == 403
    assert client.get(f"/api/insurance/cases/{gop.case.reference}/coverage", headers=other).status_code == 404
    assert (
        client.get(
            f"/api/insurance/cases/{gop.case.reference}/coverage", headers=bearer(users["other_coordinator"])
        ).status_code
        == 404
    )
    cancel = client.post(
        f"/api/insurance/gops/{number}/cancel",
        {},
        content_type="application/json",
        headers=bearer(users["other_coordinator"]),
    )
    assert cancel.status_code == 404
    resubmit = client.post(
        f"/api/insurance/gops/{number}/resubmit",
        {"clinical_notes": "x"},
        content_type="application/json",
        headers=bearer(users["clinician"]),
    )
    assert resubmit.status_code == 403
    sent_by_clinician = client.post(
        f"/api/insurance/cases/{gop.case.reference}/gops",
        GOP_DATA,
        content_type="application/json",
        headers=bearer(users["clinician"]),
    )
    assert sent_by_clinician.status_code == 403
    mine = client.get("/api/insurance/gops", headers=other).json()
    assert [g["number"] for g in mine] == [other_case.number]
    assert client.get("/api/insurance/gops", headers=bearer(users["patient"])).json()[0]["number"] == number
    assert client.get("/api/insurance/gops?status=bogus", headers=other).status_code == 422


def test_cancel_and_resubmit_over_the_api(client, users, gop, agent):
    coord = bearer(users["coordinator"])
    client.post(
        f"/api/insurance/gops/{gop.number}/answer",
        {"status": "pended", "disposition": "MRI report?"},
        content_type="application/json",
        headers=bearer(agent),
    )
    response = client.post(
        f"/api/insurance/gops/{gop.number}/resubmit",
        {"clinical_notes": "Attached."},
        content_type="application/json",
        headers=coord,
    )
    assert response.json()["status"] == "submitted"
    response = client.post(
        f"/api/insurance/gops/{gop.number}/cancel",
        {"reason": "Patient changed plans"},
        content_type="application/json",
        headers=coord,
    )
    assert response.json()["status"] == "cancelled"


def test_insurers_list(client, users, insurer, other_insurer):
    assert {i["code"] for i in client.get("/api/insurance/insurers", headers=bearer(users["coordinator"])).json()} == {
        "acme",
        "zenith",
    }


# --- /fhir/ ---------------------------------------------------------------------------------------


def answer_bundle(name: str, number: str) -> str:
    """A PAS test-kit response pointed at our request (ClaimResponse.request names the GOP)."""
    data = fixture_json(name)
    data["entry"][0]["resource"]["request"] = {"identifier": {"system": "urn:laihua:gop", "value": number}}
    return json.dumps(data)


def test_the_insurer_lists_pending_claims_and_reads_one(client, gop, other_case, agent):
    auth = bearer(agent)
    response = client.get("/fhir/Claim?status=pending", headers=auth)
    assert response.status_code == 200 and response["Content-Type"].startswith(FHIR)
    bundle = response.json()
    assert bundle["type"] == "searchset" and bundle["total"] == 1
    assert bundle["entry"][0]["resource"]["entry"][0]["resource"]["use"] == "preauthorization"
    one = client.get(f"/fhir/Claim/{gop.number}", headers=auth)
    assert one.json()["resourceType"] == "Bundle"
    assert client.get(f"/fhir/Claim/{other_case.number}", headers=auth).json()["resourceType"] == "OperationOutcome"
    assert client.get(f"/fhir/Claim/{other_case.number}", headers=auth).status_code == 404
    assert client.get("/fhir/Claim?status=sideways", headers=auth).status_code == 422


def test_the_pas_approval_posted_as_claim_response_approves_the_gop(client, gop, agent):
    response = client.post(
        "/fhir/ClaimResponse",
        answer_bundle("valid_pa_response_bundle.json", gop.number),
        content_type=FHIR,
        headers=bearer(agent),
    )
    assert response.status_code == 200, response.content
    gop.refresh_from_db()
    assert gop.status == GuaranteeStatus.APPROVED
    assert gop.reference == "AUTH0001"
    assert (gop.valid_from, gop.valid_until) == (datetime.date(2005, 5, 2), datetime.date(2005, 6, 2))
    assert (gop.approved_amount, gop.approved_currency) == (gop.requested_cny, "CNY")
    assert gop.response_json["entry"][0]["resource"]["resourceType"] == "ClaimResponse"
    stored = client.get(f"/fhir/ClaimResponse/{gop.number}", headers=bearer(agent))
    assert stored.json()["resourceType"] == "Bundle"


def test_the_pas_denial_posted_as_claim_response_denies_the_gop(client, gop, agent):
    response = client.post(
        "/fhir/ClaimResponse",
        answer_bundle("valid_pa_response_bundle_denial.json", gop.number),
        content_type=FHIR,
        headers=bearer(agent),
    )
    assert response.status_code == 200
    gop.refresh_from_db()
    assert gop.status == GuaranteeStatus.DENIED
    assert set(gop.lines.values_list("review_action", flat=True)) == {"A3"}


def test_the_malformed_pas_response_is_rejected_with_an_operation_outcome(client, gop, agent):
    body = answer_bundle("pa_response_bundle_missing_elements.json", gop.number)
    response = client.post("/fhir/ClaimResponse", body, content_type=FHIR, headers=bearer(agent))
    assert response.status_code == 422
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    diagnostics = [issue["diagnostics"] for issue in outcome["issue"]]
    assert any("created is required but missing" in d for d in diagnostics)
    assert any("Bundle.timestamp" in d for d in diagnostics)
    gop.refresh_from_db()
    assert gop.status == GuaranteeStatus.SUBMITTED


def test_claim_response_refusals(client, users, gop, other_agent, agent):
    body = answer_bundle("valid_pa_response_bundle.json", gop.number)
    assert client.post("/fhir/ClaimResponse", body, content_type=FHIR, headers=bearer(other_agent)).status_code == 404
    assert (
        client.post("/fhir/ClaimResponse", body, content_type=FHIR, headers=bearer(users["coordinator"])).status_code
        == 403
    )
    assert client.post("/fhir/ClaimResponse", body, content_type=FHIR).status_code == 401
    # Without saying which request it answers (the fixture's own identifier is not ours).
    bare = json.dumps(fixture_json("valid_pa_response_bundle.json"))
    assert client.post("/fhir/ClaimResponse", bare, content_type=FHIR, headers=bearer(agent)).status_code == 404
    gop.refresh_from_db()
    assert gop.status == GuaranteeStatus.SUBMITTED
    assert client.get(f"/fhir/ClaimResponse/{gop.number}", headers=bearer(agent)).status_code == 404


def as_patient_of(data: dict, case) -> dict:
    """The PAS test kit's request with the case's patient in it, as the hospital's own system would send it."""
    patient = next(e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == "Patient")
    patient["name"] = [{"family": case.patient.family_name, "given": [case.patient.given_names]}]
    patient["birthDate"] = case.patient.date_of_birth.isoformat()
    return data


def test_a_hospital_system_posts_the_pas_request_bundle_for_a_case(client, users, quoted_case, contract):
    from laihua.insurance.tests.conftest import consent, cover

    cover(users["coordinator"], quoted_case, member_id="12345678901")
    consent(quoted_case)
    body = json.dumps(as_patient_of(fixture_json("conformant_pas_bundle_v110.json"), quoted_case))
    url = f"/fhir/Claim?case={quoted_case.reference}"
    response = client.post(url, body, content_type=FHIR, headers=bearer(users["coordinator"]))
    assert response.status_code == 201, response.content
    gop = Guarantee.objects.get()
    assert (gop.diagnosis_code, gop.treating_doctor) == ("G89.4", "SUSAN WATSON")
    assert response.json()["entry"][0]["resource"]["id"] == gop.number
    # The same Claim again answers the request it made; another Claim while it is open, another hospital's staff.
    again = client.post(url, body, content_type=FHIR, headers=bearer(users["coordinator"]))
    assert again.status_code == 200 and again.json()["entry"][0]["resource"]["id"] == gop.number
    assert Guarantee.objects.count() == 1
    other = json.loads(body)
    other["entry"][0]["resource"]["identifier"][0]["value"] = "111100"
    other = json.dumps(other)
    assert client.post(url, other, content_type=FHIR, headers=bearer(users["coordinator"])).status_code == 409
    assert client.post(url, other, content_type=FHIR, headers=bearer(users["other_coordinator"])).status_code == 404


def test_posting_a_claim_checks_the_member_and_the_case(client, users, coverage):
    body = json.dumps(as_patient_of(fixture_json("conformant_pas_bundle_v110.json"), coverage.case))
    response = client.post(
        f"/fhir/Claim?case={coverage.case.reference}", body, content_type=FHIR, headers=bearer(users["coordinator"])
    )
    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"] == ["Coverage.subscriberId"]
    no_case = client.post("/fhir/Claim", body, content_type=FHIR, headers=bearer(users["coordinator"]))
    assert no_case.status_code == 422 and no_case.json()["issue"][0]["expression"] == ["Claim.identifier"]
    assert not Guarantee.objects.exists()


def test_a_claim_response_with_use_claim_goes_to_billing(client, gop, agent):
    """Answers to claims after treatment are billing's: an unknown claim number is billing's 404, and no
    guarantee request changes."""
    data = fixture_json("valid_pa_response_bundle.json")
    resource = data["entry"][0]["resource"]
    resource["use"] = "claim"
    resource["request"] = {"identifier": {"value": gop.number}}
    response = client.post("/fhir/ClaimResponse", json.dumps(data), content_type=FHIR, headers=bearer(agent))
    assert response.status_code == 404
    gop.refresh_from_db()
    assert gop.status == GuaranteeStatus.SUBMITTED


def test_searching_and_listing_requests_leave_audit_events(client, gop, agent, users):
    from laihua.audit.models import AuditEvent

    client.get("/fhir/Claim?status=pending", headers=bearer(agent))
    search = AuditEvent.objects.get(action="insurance.gop.search")
    assert search.actor == agent and search.detail == {"status": "pending", "gops": [gop.number]}
    client.get("/api/insurance/gops", headers=bearer(users["coordinator"]))
    assert AuditEvent.objects.filter(action="insurance.gop.list", actor=users["coordinator"]).count() == 1
