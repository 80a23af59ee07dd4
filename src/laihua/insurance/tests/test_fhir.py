"""The FHIR adapters against the Da Vinci PAS test kit's real Bundles and against our own output."""

import datetime
import json
from decimal import Decimal

import pytest
from fhir.resources.R4B.bundle import Bundle

from laihua.insurance import fhir
from laihua.insurance.tests.conftest import DATA, fixture_json


def test_the_pas_approval_reads_as_approved_with_its_reference_and_validity():
    parsed = fhir.parse_claim_response((DATA / "valid_pa_response_bundle.json").read_bytes())
    assert parsed.use == "preauthorization"
    assert parsed.outcome == "complete"
    assert parsed.status == "approved"
    assert parsed.pre_auth_ref == "AUTH0001"
    assert parsed.period == (datetime.date(2005, 5, 2), datetime.date(2005, 6, 2))
    assert [(item.sequence, item.review_action) for item in parsed.items] == [(1, "A1")]
    assert parsed.identifiers == ["111099"]


def test_the_pas_denial_reads_as_denied_although_its_outcome_is_complete():
    parsed = fhir.parse_claim_response(fixture_json("valid_pa_response_bundle_denial.json"))
    assert parsed.outcome == "complete"
    assert parsed.status == "denied"
    assert parsed.items[0].review_action == "A3"


def test_the_response_with_missing_elements_is_rejected_naming_each_one():
    with pytest.raises(fhir.MalformedFhir) as caught:
        fhir.parse_claim_response(fixture_json("pa_response_bundle_missing_elements.json"))
    issues = caught.value.issues
    expressions = {issue["expression"] for issue in issues}
    assert "ClaimResponse.created" in expressions
    assert "Bundle.timestamp" in expressions
    # The references the PAS response bundle must carry but does not.
    assert any("Patient/SubscriberExample" in issue["diagnostics"] for issue in issues)
    assert all(issue["severity"] == "error" for issue in issues)
    assert "created is required but missing" in str(caught.value.message)
    assert caught.value.status == 422


@pytest.mark.parametrize(
    ("body", "expression"),
    [
        (b"not json", ""),
        ({"hello": "world"}, "resourceType"),
        ({"resourceType": "Patient", "id": "x"}, "resourceType"),
        (
            {"resourceType": "Bundle", "type": "collection", "timestamp": "2026-01-01T00:00:00Z", "entry": []},
            "Bundle.entry",
        ),
    ],
)
def test_other_wrong_inputs_are_rejected_clearly(body, expression):
    with pytest.raises(fhir.MalformedFhir) as caught:
        fhir.parse_claim_response(body if isinstance(body, bytes) else json.dumps(body))
    assert caught.value.issues[0]["expression"] == expression


def test_the_pas_request_bundle_reads_as_an_incoming_claim():
    parsed = fhir.parse_claim_bundle(fixture_json("conformant_pas_bundle_v110.json"))
    assert parsed.use == "preauthorization"
    assert [(d.code, d.display, d.location) for d in parsed.diagnoses] == [
        ("G89.4", "", "Claim.diagnosis[0].diagnosisCodeableConcept")
    ]
    assert parsed.practitioner == "SUSAN WATSON"
    assert (parsed.patient_family, parsed.patient_given) == ("SMITH", "JOE")
    assert parsed.member_ids == ["12345678901"]
    assert parsed.insurer_name == "MARYLAND CAPITAL INSURANCE COMPANY"
    assert [(item.sequence, item.code, item.display) for item in parsed.items] == [(1, "3", "Consultation")]


def test_a_claim_bundle_without_a_claim_is_rejected():
    data = fixture_json("conformant_pas_bundle_v110.json")
    data["entry"] = data["entry"][1:]
    with pytest.raises(fhir.MalformedFhir) as caught:
        fhir.parse_claim_bundle(data)
    assert caught.value.issues[0]["expression"] == "Bundle.entry"


def test_our_claim_response_reads_back_with_amounts_and_partial_status():
    created = datetime.datetime(2026, 3, 1, 9, 0, tzinfo=datetime.UTC)
    data = fhir.claim_response(
        request_identifier="GOP-2026-000001",
        status="partial",
        created=created,
        insurer_name="Acme",
        reference="ACME-AUTH-9",
        amount=Decimal("1234.56"),
        currency="USD",
        period=(datetime.date(2026, 3, 1), datetime.date(2026, 3, 31)),
        disposition="Implants not covered",
        items=[(1, "approved", Decimal("1234.56")), (2, "denied", None)],
    )
    parsed = fhir.parse_claim_response(data)
    assert parsed.status == "partial"
    assert parsed.request_identifier == "GOP-2026-000001"
    assert parsed.pre_auth_ref == "ACME-AUTH-9"
    assert parsed.total == {"benefit": Decimal("1234.56")}
    assert parsed.currency == "USD"
    assert [(i.sequence, i.review_action) for i in parsed.items] == [(1, "A1"), (2, "A3")]
    assert parsed.items[0].amounts["benefit"] == Decimal("1234.56")
    assert parsed.disposition == "Implants not covered"


def test_a_queued_response_is_pended():
    data = fhir.claim_response(
        request_identifier="GOP-1",
        status="pended",
        created=datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC),
        insurer_name="A",
    )
    assert data["outcome"] == "queued"
    assert fhir.parse_claim_response(data).status == "pended"


def test_the_gop_claim_bundle_is_valid_fhir_with_every_element(gop):
    bundle = gop.claim_json
    Bundle.model_validate(bundle)  # valid R4 structure
    kinds = [entry["resource"]["resourceType"] for entry in bundle["entry"]]
    assert kinds == ["Claim", "Patient", "Coverage", "Organization", "Organization", "Practitioner", "Condition"]
    claim = bundle["entry"][0]["resource"]
    assert claim["use"] == "preauthorization"
    assert {"system": fhir.GOP_SYSTEM, "value": gop.number} in claim["identifier"]
    assert claim["diagnosis"][0]["diagnosisCodeableConcept"]["coding"][0] == {
        "system": fhir.ICD10,
        "code": "M23.2",
        "display": "Meniscus tear, right knee",
    }
    assert [item["sequence"] for item in claim["item"]] == [1, 2]
    assert sum(Decimal(str(item["net"]["value"])) for item in claim["item"]) == gop.requested_cny
    assert Decimal(str(claim["total"]["value"])) == gop.requested_cny
    assert claim["supportingInfo"][0]["timingPeriod"]["start"] == gop.planned_start.isoformat()
    coverage = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Coverage")
    assert coverage["subscriberId"] == "ACME-0001"
    # And it reads back as an incoming Claim.
    parsed = fhir.parse_claim_bundle(bundle)
    assert [(d.code, d.display) for d in parsed.diagnoses] == [("M23.2", "Meniscus tear, right knee")]
    assert parsed.practitioner == "Dr Li Wei"
    assert parsed.identifiers[fhir.CASE_SYSTEM] == gop.case.reference


def test_a_claim_for_billing_carries_the_preauth_reference(gop):
    items = [fhir.ClaimItem(1, "MRI-01", "MRI", 1, Decimal("486.00"), Decimal("486.00"), datetime.date(2026, 3, 2))]
    bundle = fhir.claim_bundle(
        gop.case,
        use="claim",
        items=items,
        currency="CNY",
        total=Decimal("486.00"),
        identifier="INV-1",
        coverage=gop.coverage,
        pre_auth_ref="AUTH-1",
    )
    claim = bundle["entry"][0]["resource"]
    assert claim["use"] == "claim"
    assert claim["insurance"][0]["preAuthRef"] == ["AUTH-1"]
    assert claim["item"][0]["servicedDate"] == "2026-03-02"
