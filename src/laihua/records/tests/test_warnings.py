"""Real documents are not refused for what does not matter: a reference to a resource the sender left
out, or a narrative that is not XHTML, is a warning, returned with the import on every route and shown
to staff on the document; what breaks the document is still refused; Laihua's own exports stay strict."""

import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from laihua.accounts.services import create_api_token
from laihua.records import ips, services
from laihua.records.tests.conftest import as_bytes, example_bytes, ips_document, martha, snomed
from tests.builders import make_case

pytestmark = pytest.mark.django_db

LEFT_OUT = {
    "Condition": ("asserter", "recorder", "encounter"),
    "Observation": ("performer", "encounter"),
    "MedicationRequest": ("requester", "recorder"),
    "DiagnosticReport": ("result", "performer"),
}


def bearer(user):
    return {"Authorization": f"Bearer {create_api_token(user, user, 'test')[1]}"}


def with_references_left_out() -> dict:
    """A document whose entries point at practitioners, encounters and results the sender did not send."""
    resources = [
        {
            "resourceType": "Condition",
            "code": snomed("38341003", "Hypertension"),
            "asserter": {"reference": "Practitioner/dr-who"},
            "recorder": {"reference": "urn:uuid:0b1b6c54-1d8b-4b36-9f0c-000000000001"},
            "encounter": {"reference": "Encounter/visit-1"},
        },
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}], "text": "HbA1c"},
            "valueQuantity": {"value": 7.5, "unit": "%"},
            "performer": [{"reference": "Organization/lab"}],
            "encounter": {"reference": "Encounter/visit-1"},
        },
        {
            "resourceType": "MedicationRequest",
            "status": "active",
            "intent": "order",
            "medicationCodeableConcept": snomed("108774000", "Anastrozole"),
            "requester": {"reference": "PractitionerRole/gp"},
            "recorder": {"reference": "Practitioner/nurse"},
        },
        {
            "resourceType": "DiagnosticReport",
            "status": "final",
            "code": {"text": "Lipid panel"},
            "result": [{"reference": "Observation/ldl"}],
            "performer": [{"reference": "Organization/lab"}],
        },
    ]
    return ips_document(resources, patient=martha(generalPractitioner=[{"reference": "Practitioner/gp"}]))


EXPECTED = {
    "Bundle.entry[1].resource.generalPractitioner[0]",
    "Bundle.entry[2].resource.asserter",
    "Bundle.entry[2].resource.recorder",
    "Bundle.entry[2].resource.encounter",
    "Bundle.entry[3].resource.performer[0]",
    "Bundle.entry[3].resource.encounter",
    "Bundle.entry[4].resource.requester",
    "Bundle.entry[4].resource.recorder",
    "Bundle.entry[5].resource.result[0]",
    "Bundle.entry[5].resource.performer[0]",
}


def test_references_to_resources_left_out_are_warnings_and_the_items_are_kept(case, users):
    document, created = services.import_document(users["coordinator"], case, as_bytes(with_references_left_out()))
    assert created and document.item_count == 4
    assert {w["expression"] for w in document.warnings} == EXPECTED
    assert {w["severity"] for w in document.warnings} == {"warning"}
    again, created = services.import_document(users["coordinator"], case, as_bytes(with_references_left_out()))
    assert not created and again.warnings == document.warnings


@pytest.mark.parametrize(
    "change,where",
    [
        (
            lambda d: d["entry"][2]["resource"].update(subject={"reference": "Patient/someone"}),
            "Bundle.entry[2].resource.subject",
        ),
        (
            lambda d: d["entry"][0]["resource"]["author"].append({"reference": "Practitioner/gone"}),
            "Bundle.entry[0].resource.author[1]",
        ),
        (
            lambda d: d["entry"][0]["resource"]["section"][0]["entry"].append({"reference": "urn:uuid:0-0-0-0-9"}),
            "Bundle.entry[0].resource.section[0].entry[1]",
        ),
        (
            lambda d: d["entry"][0]["resource"].update(encounter={"reference": "Encounter/x"}),
            "Bundle.entry[0].resource.encounter",
        ),
    ],
)
def test_what_breaks_the_document_is_still_refused(case, users, change, where):
    document = with_references_left_out()
    change(document)
    with pytest.raises(ips.IpsInvalid) as caught:
        services.import_document(users["clinician"], case, as_bytes(document))
    assert [i["expression"] for i in caught.value.issues] == [where]


def test_the_warnings_come_back_on_every_route(client, case, users, tmp_path):
    body = as_bytes(with_references_left_out())
    api = client.post(
        f"/api/records/cases/{case.reference}/documents",
        body,
        content_type="application/json",
        headers=bearer(users["clinician"]),
    )
    assert api.status_code == 201
    assert {w["expression"] for w in api.json()["warnings"]} == EXPECTED

    fhir = client.post(
        f"/fhir/Bundle?case={case.reference}",
        body,
        content_type="application/fhir+json",
        headers=bearer(users["clinician"]),
    )
    assert fhir.status_code == 200 and fhir["Location"].startswith("/fhir/Bundle/")
    outcome = fhir.json()
    assert outcome["resourceType"] == "OperationOutcome"
    warnings = [i for i in outcome["issue"] if i["severity"] == "warning"]
    assert {i["expression"][0] for i in warnings} == EXPECTED
    assert outcome["issue"][-1]["severity"] == "information" and "Bundle/" in outcome["issue"][-1]["diagnostics"]
    asked = client.post(
        f"/fhir/Bundle?case={case.reference}",
        body,
        content_type="application/fhir+json",
        headers={**bearer(users["clinician"]), "Prefer": "return=representation"},
    )
    assert asked.json()["resourceType"] == "Bundle"

    path = tmp_path / "gp.json"
    path.write_bytes(body)
    out = io.StringIO()
    another = make_case(case.patient, case.hospital)
    call_command(
        "records", "import", str(path), "--case", another.reference, "--no-progress", stdout=out, stderr=io.StringIO()
    )
    assert "          ! Bundle.entry[2].resource.asserter: The reference “Practitioner/dr-who”" in out.getvalue()
    assert "and 5 more" in out.getvalue()


def test_a_document_without_warnings_answers_fhir_with_the_bundle(client, case, users):
    response = client.post(
        f"/fhir/Bundle?case={case.reference}",
        example_bytes("hl7-bundle-minimal.json"),
        content_type="application/fhir+json",
        headers=bearer(users["clinician"]),
    )
    assert response.status_code == 201 and response.json()["resourceType"] == "Bundle"


def test_staff_see_the_warnings_on_the_document_and_the_patient_does_not(client, case, users):
    document, _created = services.import_document(users["clinician"], case, as_bytes(with_references_left_out()))
    with translation.override("en"):
        url = reverse("records:document_detail", args=[document.pk])
        case_url = reverse("records:case", args=[case.reference])
    client.force_login(users["coordinator"])
    html = client.get(url).content.decode()
    assert "What the sender should fix" in html and "Bundle.entry[2].resource.asserter" in html
    assert f'href="{url}#warnings">10</a>' in client.get(case_url).content.decode()
    client.force_login(users["patient"])
    html = client.get(url).content.decode()
    assert "What the sender should fix" not in html and "asserter" not in html


def test_a_broken_narrative_keeps_the_data_and_is_shown_as_plain_text(client, case, users, minimal):
    minimal["entry"][0]["resource"]["section"][0]["text"] = {
        "status": "generated",
        "div": '<div xmlns="http://www.w3.org/1999/xhtml"><p>Menopausal flushing<br>since 2015 &nbsp;'
        "<script>x</script>",
    }
    document, created = services.import_document(users["clinician"], case, as_bytes(minimal))
    assert created and document.item_count == 3
    assert [w["expression"] for w in document.warnings] == ["Bundle.entry[0].resource.section[0].text.div"]
    client.force_login(users["patient"])
    with translation.override("en"):
        html = client.get(reverse("records:document_detail", args=[document.pk])).content.decode()
    assert "Menopausal flushing<br>since 2015" in html  # the text, each line its own, no markup of the sender's
    assert "<script>" not in html and "<p>Menopausal" not in html


def test_laihuas_export_of_a_document_with_warnings_is_strict(case, users):
    services.import_document(users["clinician"], case, as_bytes(with_references_left_out()))
    bundle = services.export_case(users["clinician"], case)
    assert ips.strict_issues(bundle) == [] and ips.parse(json.dumps(bundle)).warnings == []
    assert "Practitioner/dr-who" not in json.dumps(bundle)
