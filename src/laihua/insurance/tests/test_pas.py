"""Da Vinci PAS as insurers and hospital systems send it: $submit, $inquire, references by fullUrl,
providers and diagnoses as the IG allows them, the case's patient, amounts and codes refused with their
location, items that differ from the quote kept as warnings, and ClaimResponses checked as strictly."""

import datetime
import json
from decimal import Decimal

import pytest
from fhir.resources.R4B.bundle import Bundle

from laihua.accounts.services import create_api_token
from laihua.insurance import fhir, services
from laihua.insurance.models import Guarantee, GuaranteeStatus
from laihua.insurance.tests.conftest import fixture_json, pas_request

pytestmark = pytest.mark.django_db
FHIR = "application/fhir+json"


def bearer(user):
    return {"Authorization": f"Bearer {create_api_token(user, user, 'test')[1]}"}


def post(client, path, body, user):
    return client.post(path, json.dumps(body), content_type=FHIR, headers=bearer(user))


def expressions(response) -> list[str]:
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome", outcome
    return [e for issue in outcome["issue"] for e in issue.get("expression", [])]


def resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


# --- $submit ---------------------------------------------------------------------------------------


def test_submit_reads_an_ig_bundle_and_answers_a_queued_claim_response_bundle(client, users, coverage):
    case = coverage.case
    body = pas_request(
        case,
        diagnoses=[("S83.2", "Tear of meniscus", "admitting"), ("M23.2", "Meniscus derangement", "principal")],
    )
    response = post(client, "/fhir/Claim/$submit", body, users["coordinator"])
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith(FHIR)
    answer = response.json()
    Bundle.model_validate(answer)
    assert answer["type"] == "collection"
    claim_response = answer["entry"][0]["resource"]
    assert claim_response["resourceType"] == "ClaimResponse"
    assert claim_response["outcome"] == "queued" and claim_response["use"] == "preauthorization"
    assert claim_response["request"]["identifier"] == {"system": "https://his.east.example/claims", "value": "HC-0001"}
    assert "processNote" not in claim_response  # the items are the quote's: nothing ignored
    # Every reference of the ClaimResponse is an entry of the answer (by fullUrl).
    index = fhir.BundleIndex(answer)
    assert index.problems() == []
    for element in ("patient", "insurer", "requestor"):
        found = index.resource(index.resolve(claim_response[element]["reference"], 0))
        assert found is not None, element
    assert resources(answer, "Patient")[0]["birthDate"] == case.patient.date_of_birth.isoformat()
    gop = Guarantee.objects.get()
    assert gop.status == GuaranteeStatus.SUBMITTED
    assert (gop.diagnosis_code, gop.diagnosis_text) == ("M23.2", "Meniscus derangement")  # the principal one
    assert gop.treating_doctor == "Wei Li (East Demo Hospital)"  # PractitionerRole: practitioner and organization
    assert gop.request_identifier == "https://his.east.example/claims|HC-0001"
    assert gop.warnings == []


@pytest.mark.parametrize(("care_team", "doctor"), [("practitioner", "Wei Li"), ("organization", "East Demo Hospital")])
def test_the_care_team_provider_may_be_a_practitioner_or_an_organization(client, users, coverage, care_team, doctor):
    response = post(
        client, "/fhir/Claim/$submit", pas_request(coverage.case, care_team=care_team), users["coordinator"]
    )
    assert response.status_code == 200, response.content
    assert Guarantee.objects.get().treating_doctor == doctor


def test_without_a_care_team_the_treating_doctor_is_asked_for_at_its_location(client, users, coverage):
    response = post(client, "/fhir/Claim/$submit", pas_request(coverage.case, care_team="none"), users["coordinator"])
    assert response.status_code == 422 and expressions(response) == ["Claim.careTeam"]
    assert not Guarantee.objects.exists()


def test_a_practitioner_role_whose_practitioner_is_not_in_the_bundle_is_refused(client, users, coverage):
    body = pas_request(coverage.case)
    body["entry"] = [e for e in body["entry"] if e["resource"]["resourceType"] != "Practitioner"]
    response = post(client, "/fhir/Claim/$submit", body, users["coordinator"])
    assert response.status_code == 422
    assert expressions(response) == ["Claim.careTeam[0].provider.practitioner"]


def test_the_test_kit_request_with_absolute_full_urls_is_read_and_what_it_ignores_is_said(
    client, users, quoted_case, contract
):
    """conformant_pas_bundle_v110.json: absolute http fullUrls, relative references, a Practitioner care
    team, ICD-10-CM, one X12 item that is not in the quote."""
    from laihua.insurance.tests.conftest import consent, cover
    from laihua.insurance.tests.test_api import as_patient_of

    cover(users["coordinator"], quoted_case, member_id="12345678901")

    consent(quoted_case)
    body = as_patient_of(fixture_json("conformant_pas_bundle_v110.json"), quoted_case)
    response = post(client, f"/fhir/Claim/$submit?case={quoted_case.reference}", body, users["coordinator"])
    assert response.status_code == 200, response.content
    gop = Guarantee.objects.get()
    assert (gop.diagnosis_code, gop.treating_doctor) == ("G89.4", "SUSAN WATSON")
    assert gop.request_identifier == "https://prior-auth.davinci.hl7.org/fhir/PATIENT_EVENT_TRACE_NUMBER|111099"
    codes = [(w["code"], w["expression"]) for w in gop.warnings]
    assert ("claim_item_ignored", "Claim.item[0]") in codes
    assert [c for c, _e in codes].count("claim_line_added") == 2  # the quote's MRI and knee lines
    notes = [note["text"] for note in response.json()["entry"][0]["resource"]["processNote"]]
    assert any("Claim.item[0] (3 Consultation) is not a line of the accepted quote" in n for n in notes)
    assert all(note["type"] == "display" for note in response.json()["entry"][0]["resource"]["processNote"])


def test_items_that_differ_from_the_quote_are_warned_about_with_their_location(client, users, coverage):
    case = coverage.case
    body = pas_request(case, items=[("MRI-01", 3, Decimal("486.00")), ("KNEE-01", 1, Decimal("29000.00"))])
    body["entry"][0]["resource"]["total"] = {"value": 30458, "currency": "CNY"}
    response = post(client, "/fhir/Claim", body, users["coordinator"])
    assert response.status_code == 201, response.content
    answer = response.json()
    # The Claim Bundle the insurer gets carries the quote's lines; the answer ends with the warnings.
    claim = answer["entry"][0]["resource"]
    assert [item["quantity"]["value"] for item in claim["item"]] == [2, 1]
    outcome = answer["entry"][-1]["resource"]
    assert outcome["resourceType"] == "OperationOutcome"
    assert {issue["severity"] for issue in outcome["issue"]} == {"warning"}
    assert [issue["expression"] for issue in outcome["issue"]] == [
        ["Claim.item[0].quantity"],
        ["Claim.item[1].unitPrice"],
        ["Claim.total"],
    ]
    assert "the quantity 3 differs from the accepted quote's 2" in outcome["issue"][0]["diagnostics"]
    gop = Guarantee.objects.get()
    assert "OperationOutcome" not in [e["resource"]["resourceType"] for e in gop.claim_json["entry"]]
    # Shown to the coordinator on the case page and the request page, in both languages.
    coordinator = users["coordinator"]
    client.force_login(coordinator)
    english = client.get(f"/en/cases/{case.reference}/").content.decode()
    assert "Warnings on" in english and "differs from the accepted quote" in english
    chinese = client.get(f"/zh-hans/insurance/gop/{gop.number}/").content.decode()
    assert "Claim.item[0].quantity" in chinese and "differs from" not in chinese


def test_prices_in_another_currency_are_said_to_be_ignored(client, users, coverage):
    body = pas_request(coverage.case, currency="USD")
    response = post(client, "/fhir/Claim/$submit", body, users["coordinator"])
    assert response.status_code == 200
    assert [w["code"] for w in Guarantee.objects.get().warnings] == ["claim_currency"]


def test_submitting_the_same_claim_again_answers_the_decision(client, users, coverage, agent):
    body = pas_request(coverage.case)
    first = post(client, "/fhir/Claim/$submit", body, users["coordinator"])
    gop = Guarantee.objects.get()
    services.answer_guarantee_request(
        agent,
        gop,
        {
            "status": "approved",
            "reference": "ACME-77",
            "amount": "4000",
            "currency": "USD",
            "valid_from": gop.planned_start.isoformat(),
            "valid_until": gop.planned_end.isoformat(),
        },
    )
    again = post(client, "/fhir/Claim/$submit", body, users["coordinator"])
    assert first.json()["entry"][0]["resource"]["outcome"] == "queued"
    decided = again.json()["entry"][0]["resource"]
    assert again.status_code == 200 and Guarantee.objects.count() == 1
    assert decided["outcome"] == "complete" and decided["preAuthRef"] == "ACME-77"
    assert decided["total"][0]["amount"] == {"value": 4000.0, "currency": "USD"}
    action = decided["item"][0]["adjudication"][0]["extension"][0]["extension"][-1]["valueCodeableConcept"]
    assert action["coding"][0]["code"] == "A1"


# --- diagnosis --------------------------------------------------------------------------------------


def test_a_claim_without_a_diagnosis_is_refused_saying_why_and_where(client, users, coverage):
    response = post(client, "/fhir/Claim/$submit", pas_request(coverage.case, diagnoses=()), users["coordinator"])
    assert response.status_code == 422 and expressions(response) == ["Claim.diagnosis"]
    assert "needs a diagnosis to send a guarantee of payment request" in response.json()["issue"][0]["diagnostics"]


def test_a_claim_without_a_diagnosis_is_accepted_when_the_case_has_an_earlier_request(client, users, coverage):
    earlier = services.send_guarantee_request(
        users["coordinator"],
        coverage.case,
        {"diagnosis_code": "M17.1", "diagnosis_text": "Knee arthrosis", "treating_doctor": "Dr Wu"},
    )
    services.cancel_guarantee_request(users["coordinator"], earlier, "wrong dates")
    response = post(client, "/fhir/Claim/$submit", pas_request(coverage.case, diagnoses=()), users["coordinator"])
    assert response.status_code == 200, response.content
    gop = Guarantee.objects.exclude(pk=earlier.pk).get()
    assert gop.diagnosis_code == "M17.1"
    assert gop.warnings[0]["code"] == "claim_diagnosis_reused"


def test_a_diagnosis_in_another_code_system_is_refused_at_its_location(client, users, coverage):
    body = pas_request(coverage.case)
    body["entry"][0]["resource"]["diagnosis"][0]["diagnosisCodeableConcept"]["coding"] = [
        {"system": "http://snomed.info/sct", "code": "239720000"}
    ]
    response = post(client, "/fhir/Claim/$submit", body, users["coordinator"])
    assert response.status_code == 422
    assert expressions(response) == ["Claim.diagnosis[0].diagnosisCodeableConcept"]


# --- the patient -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda p: p.update(name=[{"family": "Roe", "given": ["Jane"]}]), "the name differs"),
        (lambda p: p.update(birthDate="1981-05-17"), "the birth date differs"),
        (lambda p: p.pop("birthDate"), "has no birthDate"),
    ],
)
def test_the_claims_patient_must_be_the_cases_patient(client, users, coverage, change, says):
    body = pas_request(coverage.case)
    change(resources(body, "Patient")[0])
    response = post(client, "/fhir/Claim/$submit", body, users["coordinator"])
    assert response.status_code == 422 and expressions(response) == ["Claim.patient"]
    assert says in response.json()["issue"][0]["diagnostics"]
    assert not Guarantee.objects.exists()


def test_the_claims_patient_must_resolve_inside_the_bundle(client, users, coverage):
    body = pas_request(coverage.case)
    body["entry"][0]["resource"]["patient"] = {"reference": "urn:uuid:00000000-0000-0000-0000-000000000000"}
    response = post(client, "/fhir/Claim/$submit", body, users["coordinator"])
    assert response.status_code == 422 and expressions(response) == ["Claim.patient"]


def test_a_patient_name_in_another_spelling_of_case_and_accents_still_matches(client, users, coverage):
    body = pas_request(coverage.case)
    resources(body, "Patient")[0]["name"] = [{"text": "Jane DOE"}]
    assert post(client, "/fhir/Claim/$submit", body, users["coordinator"]).status_code == 200


# --- amounts, quantities, currencies, codes, references ------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "expression"),
    [
        (lambda c: c["item"][1]["unitPrice"].update(value=-1), "Claim.item[1].unitPrice.value"),
        (lambda c: c["item"][0]["quantity"].update(value=-2), "Claim.item[0].quantity.value"),
        (lambda c: c["item"][0]["quantity"].update(value=1e9), "Claim.item[0].quantity.value"),
        (lambda c: c["item"][1]["unitPrice"].update(value=1e13), "Claim.item[1].unitPrice.value"),
        (lambda c: c["item"][1]["unitPrice"].update(currency="XYZ"), "Claim.item[1].unitPrice.currency"),
        (lambda c: c.update(total={"value": -5, "currency": "CNY"}), "Claim.total.value"),
        (lambda c: c.update(use="banana"), "Claim.use"),
        (lambda c: c.update(status="open"), "Claim.status"),
    ],
)
def test_bad_amounts_quantities_currencies_and_codes_are_refused_with_their_location(
    client, users, coverage, edit, expression
):
    body = pas_request(coverage.case)
    body["entry"][0]["resource"]["item"].append(
        {"sequence": 3, "productOrService": {"text": "extra"}, "unitPrice": {"value": 1, "currency": "CNY"}}
    )
    edit(body["entry"][0]["resource"])
    response = post(client, "/fhir/Claim/$submit", body, users["coordinator"])
    assert response.status_code == 422, response.content
    assert expression in expressions(response)
    assert not Guarantee.objects.exists()


def test_non_finite_amounts_are_refused_with_their_location(client, users, coverage):
    body = json.dumps(pas_request(coverage.case)).replace('"value": 486.0', '"value": NaN', 1)
    response = client.post("/fhir/Claim/$submit", body, content_type=FHIR, headers=bearer(users["coordinator"]))
    assert response.status_code == 422
    assert expressions(response) == ["Claim.item[0].unitPrice.value"]
    assert "not a finite number" in response.json()["issue"][0]["diagnostics"]


def test_full_urls_must_agree_with_their_entries_and_the_claim_comes_first(client, users, coverage):
    body = pas_request(coverage.case)
    body["entry"][2]["fullUrl"] = body["entry"][1]["fullUrl"]  # two entries, one fullUrl
    body["entry"][3]["fullUrl"] = "https://his.example/fhir/Patient/acme"  # an Organization
    response = post(client, "/fhir/Claim/$submit", body, users["coordinator"])
    assert response.status_code == 422
    assert {"Bundle.entry[2].fullUrl", "Bundle.entry[3].fullUrl"} <= set(expressions(response))
    body = pas_request(coverage.case)
    body["entry"].append(body["entry"].pop(0))
    response = post(client, "/fhir/Claim/$submit", body, users["coordinator"])
    assert response.status_code == 422 and "Bundle.entry[0]" in expressions(response)


def test_a_relative_reference_resolves_against_the_referring_entrys_base(client, users, coverage):
    """Absolute RESTful fullUrls with relative references, as the PAS examples write them."""
    body = pas_request(coverage.case)
    base = "https://his.east.example/fhir/"
    urls = {}
    for entry in body["entry"]:
        resource = entry["resource"]
        urls[entry["fullUrl"]] = f"{resource['resourceType']}/{resource['id']}"
        entry["fullUrl"] = base + urls[entry["fullUrl"]]
    text = json.dumps(body)
    for old, new in urls.items():
        text = text.replace(f'"{old}"', f'"{new}"')
    response = client.post("/fhir/Claim/$submit", text, content_type=FHIR, headers=bearer(users["coordinator"]))
    assert response.status_code == 200, response.content
    assert Guarantee.objects.get().treating_doctor == "Wei Li (East Demo Hospital)"


def test_a_reference_to_the_wrong_kind_of_resource_is_refused(client, users, coverage):
    body = pas_request(coverage.case)
    claim = body["entry"][0]["resource"]
    claim["insurance"][0]["coverage"] = dict(claim["patient"])
    response = post(client, "/fhir/Claim/$submit", body, users["coordinator"])
    assert response.status_code == 422 and expressions(response) == ["Claim.insurance[0].coverage"]


# --- $inquire ----------------------------------------------------------------------------------------


def test_inquire_answers_the_current_claim_response_for_the_claims_identifier(client, users, coverage, agent):
    body = pas_request(coverage.case)
    post(client, "/fhir/Claim/$submit", body, users["coordinator"])
    gop = Guarantee.objects.get()
    queued = post(client, "/fhir/Claim/$inquire", body, users["coordinator"])
    assert queued.status_code == 200 and queued.json()["entry"][0]["resource"]["outcome"] == "queued"
    services.answer_guarantee_request(agent, gop, {"status": "denied", "disposition": "Not covered"})
    denied = post(client, "/fhir/Claim/$inquire", body, users["coordinator"])
    response = denied.json()["entry"][0]["resource"]
    assert response["outcome"] == "complete" and response["disposition"] == "Not covered"
    assert {
        a["extension"][0]["extension"][-1]["valueCodeableConcept"]["coding"][0]["code"]
        for item in response["item"]
        for a in item["adjudication"]
    } == {"A3"}
    # By our GOP number too; the insurer's agent may ask as well.
    by_number = pas_request(coverage.case, identifier=("urn:laihua:gop", gop.number))
    assert post(client, "/fhir/Claim/$inquire", by_number, agent).status_code == 200


def test_inquire_refusals(client, users, coverage, other_case):
    body = pas_request(coverage.case)
    post(client, "/fhir/Claim/$submit", body, users["coordinator"])
    unknown = post(
        client, "/fhir/Claim/$inquire", pas_request(coverage.case, identifier=("urn:x", "nope")), users["coordinator"]
    )
    assert unknown.status_code == 404 and unknown.json()["resourceType"] == "OperationOutcome"
    assert post(client, "/fhir/Claim/$inquire", body, users["other_coordinator"]).status_code == 404
    resources(body, "Patient")[0]["birthDate"] = "1999-01-01"
    wrong = post(client, "/fhir/Claim/$inquire", body, users["coordinator"])
    assert wrong.status_code == 422 and expressions(wrong) == ["Claim.patient"]


# --- ClaimResponse input -----------------------------------------------------------------------------


def answer(name: str, number: str) -> dict:
    data = fixture_json(name)
    data["entry"][0]["resource"]["request"] = {"identifier": {"system": "urn:laihua:gop", "value": number}}
    return data


@pytest.mark.parametrize(
    ("edit", "expression"),
    [
        (lambda r: r.update(outcome="banana"), "ClaimResponse.outcome"),
        (lambda r: r.update(status="done"), "ClaimResponse.status"),
        (
            lambda r: r.update(total=[{"category": {"text": "benefit"}, "amount": {"value": -100, "currency": "USD"}}]),
            "ClaimResponse.total[0].amount.value",
        ),
        (
            lambda r: r.update(total=[{"category": {"text": "benefit"}, "amount": {"value": 100, "currency": "ABC"}}]),
            "ClaimResponse.total[0].amount.currency",
        ),
        (
            lambda r: r.update(patient={"reference": "urn:uuid:9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"}),
            "ClaimResponse.patient",
        ),
        (lambda r: r.update(insurer={"reference": "Patient/SubscriberExample"}), "ClaimResponse.insurer"),
    ],
)
def test_claim_responses_are_checked_as_strictly_as_claims(client, gop, agent, edit, expression):
    data = answer("valid_pa_response_bundle.json", gop.number)
    edit(data["entry"][0]["resource"])
    response = post(client, "/fhir/ClaimResponse", data, agent)
    assert response.status_code == 422, response.content
    assert expression in expressions(response)
    gop.refresh_from_db()
    assert gop.status == GuaranteeStatus.SUBMITTED


def test_the_claim_response_must_be_the_first_entry(client, gop, agent):
    data = answer("valid_pa_response_bundle.json", gop.number)
    data["entry"].append(data["entry"].pop(0))
    response = post(client, "/fhir/ClaimResponse", data, agent)
    assert response.status_code == 422 and expressions(response) == ["Bundle.entry[0]"]


def test_the_test_kits_incomplete_response_is_rejected_naming_every_element(client, gop, agent):
    response = post(
        client, "/fhir/ClaimResponse", answer("pa_response_bundle_missing_elements.json", gop.number), agent
    )
    assert response.status_code == 422
    assert {
        "Bundle.timestamp",
        "ClaimResponse.created",
        "ClaimResponse.patient",
        "ClaimResponse.insurer",
        "ClaimResponse.requestor",
    } <= set(expressions(response))
    assert {issue["severity"] for issue in response.json()["issue"]} == {"error"}


def test_an_approval_that_does_not_cover_the_planned_stay_is_kept_with_a_warning(client, users, gop, agent):
    """The test kit's approval is valid in May 2005; the stay is planned in ten days."""
    response = post(client, "/fhir/ClaimResponse", answer("valid_pa_response_bundle.json", gop.number), agent)
    assert response.status_code == 200, response.content
    issues = response.json()["issue"]
    assert [i["severity"] for i in issues] == ["information", "warning"]
    assert issues[1]["expression"] == ["ClaimResponse.preAuthPeriod"]
    assert "2005-05-02 – 2005-06-02" in issues[1]["diagnostics"]
    gop.refresh_from_db()
    assert gop.status == GuaranteeStatus.APPROVED and gop.reference == "AUTH0001"
    assert [w["code"] for w in gop.warnings] == ["preauth_period_short"]
    client.force_login(users["coordinator"])
    english = client.get(f"/en/cases/{gop.case.reference}/").content.decode()
    assert "which does not cover the planned stay" in english
    chinese = client.get(f"/zh-hans/cases/{gop.case.reference}/").content.decode()
    assert "2005-05-02" in chinese and "which does not cover" not in chinese
    client.force_login(agent)
    assert "which does not cover" in client.get(f"/en/insurance/gop/{gop.number}/").content.decode()


def test_an_approval_covering_the_stay_has_no_warning(client, gop, agent):
    data = answer("valid_pa_response_bundle.json", gop.number)
    period = {"start": gop.planned_start.isoformat(), "end": (gop.planned_end + datetime.timedelta(days=5)).isoformat()}
    data["entry"][0]["resource"]["preAuthPeriod"] = period
    response = post(client, "/fhir/ClaimResponse", data, agent)
    assert response.status_code == 200 and [i["severity"] for i in response.json()["issue"]] == ["information"]
    gop.refresh_from_db()
    assert gop.warnings == []


def test_the_test_kits_denial_is_read_as_denied(client, gop, agent):
    response = post(client, "/fhir/ClaimResponse", answer("valid_pa_response_bundle_denial.json", gop.number), agent)
    assert response.status_code == 200
    gop.refresh_from_db()
    assert gop.status == GuaranteeStatus.DENIED and gop.warnings == []


@pytest.mark.parametrize("path", ["/fhir/Claim/$submit", "/fhir/ClaimResponse", "/fhir/Claim/$inquire"])
@pytest.mark.parametrize(
    "body",
    [
        '{"resourceType": "Bundle", "type": "collection", "entry": [5]}',
        '{"resourceType": "Bundle", "type": "collection", "entry": {"resource": 1}}',
        '{"resourceType": "Claim", "extension": ' + "[" * 980 + "]" * 980 + "}",
        '{"resourceType": "ClaimResponse", "extension": ' + "[" * 980 + "]" * 980 + "}",
    ],
)
def test_odd_and_deeply_nested_bodies_are_refused_not_server_errors(client, users, agent, path, body):
    user = agent if path == "/fhir/ClaimResponse" else users["coordinator"]
    response = client.post(path, body, content_type=FHIR, headers=bearer(user))
    assert response.status_code == 422, response.content
    assert response.json()["resourceType"] == "OperationOutcome"
