"""The Patient of an imported document must be the case's patient: another person's summary is refused
(naming each field and both values) on every route; only a clinician may import it anyway, with a
reason, and the document is then marked as matched by hand wherever it is shown."""

import datetime
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from laihua.accounts.services import create_api_token
from laihua.audit.models import AuditEvent
from laihua.errors import InvalidInput
from laihua.records import identity, ips, services
from laihua.records.models import ClinicalItem, IpsDocument
from laihua.records.tests.conftest import JUDGE_EXAMPLE, as_bytes, example_bytes, ips_document, martha, snomed
from tests.builders import make_case, make_patient, make_user

pytestmark = pytest.mark.django_db

BORN_1968 = {
    "family_name": "Hendriks",
    "given_names": "Anna Maria",
    "sex": "F",
    "date_of_birth": datetime.date(1968, 9, 14),
    "nationality": "NL",
    "passport_number": "NXR8C2J41",
}


@pytest.fixture
def her_case(hospital):
    """The case of a patient born in 1968, into whose record two other people's summaries were imported."""
    from laihua.accounts.models import Role

    return make_case(make_patient(make_user("anna-hendriks", Role.PATIENT), **BORN_1968), hospital)


def bearer(user):
    return {"Authorization": f"Bearer {create_api_token(user, user, 'test')[1]}"}


def fields(issues) -> dict:
    return {i["field"]: (i["document"], i["patient"]) for i in issues}


# --- the incident: two other people's summaries -----------------------------------------------------


def test_another_womans_summary_is_refused_naming_each_field_and_both_values(her_case, users):
    with pytest.raises(services.PatientMismatch) as caught:
        services.import_document(users["clinician"], her_case, example_bytes("hl7-IPS-bundle-01.xml"))
    assert fields(caught.value.issues) == {
        "family_name": ("DeLarosa", "Hendriks"),
        "given_names": ("Martha", "Anna Maria"),
        "birth_date": ("1972-05-01", "1968-09-14"),
    }
    assert {i["expression"] for i in caught.value.issues} == {
        "Bundle.entry[1].resource.name[0].family",
        "Bundle.entry[1].resource.name[0].given",
        "Bundle.entry[1].resource.birthDate",
    }
    assert caught.value.status == 422 and caught.value.code == "patient_mismatch"
    assert not IpsDocument.objects.exists() and not ClinicalItem.objects.exists()
    refused = AuditEvent.objects.get(action="records.import_refused")
    assert sorted(refused.detail["mismatch"]) == ["birth_date", "family_name", "given_names"]


def test_a_mans_summary_is_refused_for_his_sex_too(her_case, users):
    with pytest.raises(services.PatientMismatch) as caught:
        services.import_document(users["coordinator"], her_case, example_bytes(JUDGE_EXAMPLE))
    assert fields(caught.value.issues)["sex"] == ("male", "female")
    assert fields(caught.value.issues)["birth_date"] == ("1985-04-25", "1968-09-14")
    assert not IpsDocument.objects.exists()


def test_her_summary_export_and_pdf_carry_nothing_of_theirs(her_case, users):
    for name in ("hl7-IPS-bundle-01.xml", "hl7-bundle-minimal.json", JUDGE_EXAMPLE):
        with pytest.raises(services.PatientMismatch):
            services.import_document(users["clinician"], her_case, example_bytes(name))
    bundle = services.export_case(users["clinician"], her_case)
    assert "Anastrozole" not in json.dumps(bundle) and "DeLarosa" not in json.dumps(bundle)
    assert not services.case_records(users["clinician"], her_case)["items"]


# --- names, birth date, sex and passport compared as a person reads them -----------------------------


@pytest.mark.parametrize(
    "name",
    [
        {"family": "DELAROSA", "given": ["martha"]},  # case
        {"family": "De La Rosa", "given": ["Martha"]},  # spacing
        {"family": "Martha", "given": ["DeLarosa"]},  # order
        {"text": "Martha DeLarosa"},  # the name as text only
        {"family": "DeLarósa", "given": ["Mártha"]},  # accents
    ],
)
def test_the_same_name_written_otherwise_matches(case, users, name):
    document = ips_document(patient=martha(name=[name]))
    imported, created = services.import_document(users["patient"], case, as_bytes(document))
    assert created and not imported.matched_by_hand


def test_a_name_in_cyrillic_matches_the_passports_latin_spelling(hospital, users):
    from laihua.accounts.models import Role

    russian = make_patient(
        make_user("yulia", Role.PATIENT),
        family_name="IVANOVA",
        given_names="IULIIA",
        sex="F",
        date_of_birth=datetime.date(1979, 2, 3),
        nationality="RU",
        passport_number="751234567",
    )
    case = make_case(russian, hospital)
    document = ips_document(
        patient=martha(name=[{"family": "Иванова", "given": ["Юлия"]}], birthDate="1979-02-03", identifier=None)
    )
    _document, created = services.import_document(users["clinician"], case, as_bytes(document))
    assert created
    older = ips_document(
        patient=martha(name=[{"family": "Ivanova", "given": ["Yuliya"]}], birthDate="1979-02-03", identifier=None),
        identifier="urn:uuid:5d9bd3ad-3a0c-4a5e-9d2a-000000000002",
    )
    with pytest.raises(services.PatientMismatch) as caught:  # a spelling no passport rule gives Юлия
        services.import_document(users["clinician"], case, as_bytes(older))
    assert set(fields(caught.value.issues)) == {"given_names"}


def test_umlauts_match_both_passport_spellings():
    assert identity.same_name(["Müller"], ["MUELLER"]) and identity.same_name(["Müller"], ["MULLER"])
    assert identity.same_name(["Søren Ærø"], ["SOEREN", "AEROE"])
    assert identity.same_name(["Παπαδόπουλος"], ["PAPADOPOULOS"])
    assert not identity.same_name(["Marta"], ["Martha"])
    assert not identity.same_name([], ["Martha"])


def test_a_birth_year_alone_matches_and_a_missing_birth_date_does_not(case, users):
    services.import_document(users["clinician"], case, as_bytes(ips_document(patient=martha(birthDate="1972"))))
    with pytest.raises(services.PatientMismatch) as caught:
        services.import_document(
            users["clinician"],
            case,
            as_bytes(ips_document(patient=martha(birthDate=None), identifier="urn:uuid:0-0-0-0-2")),
        )
    assert fields(caught.value.issues) == {"birth_date": ("—", "1972-05-01")}


def passport(value: str, system: str = "http://hl7.org/fhir/sid/passport-NLD") -> dict:
    return {
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "PPN"}]},
        "system": system,
        "value": value,
    }


def test_the_passport_number_is_compared_where_the_document_carries_one(case, users):
    case.patient.passport_number = "NXR8C2J41"
    case.patient.save()
    same = ips_document(patient=martha(identifier=[passport("nxr 8c2 j41")]))
    assert services.import_document(users["clinician"], case, as_bytes(same))[1]
    another_country = ips_document(
        patient=martha(identifier=[passport("C01X00T47", "http://hl7.org/fhir/sid/passport-DEU")]),
        identifier="urn:uuid:0-0-0-0-2",
    )
    assert services.import_document(users["clinician"], case, as_bytes(another_country))[1]  # a second passport
    other = ips_document(patient=martha(identifier=[passport("NXX000000")]), identifier="urn:uuid:0-0-0-0-3")
    with pytest.raises(services.PatientMismatch) as caught:
        services.import_document(users["clinician"], case, as_bytes(other))
    assert fields(caught.value.issues) == {"passport_number": ("NXX000000", "••••••J41")}
    assert caught.value.issues[0]["expression"] == "Bundle.entry[1].resource.identifier[0].value"


NAME_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=8)


@settings(max_examples=60, deadline=None)
@given(
    words=st.lists(NAME_WORD, min_size=1, max_size=4),
    order=st.randoms(use_true_random=False),
    separator=st.sampled_from([" ", "  ", "-", ""]),
    upper=st.booleans(),
    accent=st.sampled_from(["", "\u0301", "\u0300", "\u0302"]),
)
def test_names_match_whatever_their_case_accents_spacing_or_order(words, order, separator, upper, accent):
    written = list(words)
    order.shuffle(written)
    text = separator.join(w[0] + accent + w[1:] for w in written)
    assert identity.same_name([text.upper() if upper else text], [" ".join(words)])


# --- importing it anyway: only a clinician, with a reason ----------------------------------------------


def test_a_clinician_imports_it_anyway_with_a_reason_and_it_is_marked_everywhere(client, her_case, users):
    clinician = users["clinician"]
    reason = "New passport after marriage; the summary is from her own GP, checked by phone."
    document, created = services.import_document(
        clinician, her_case, example_bytes("hl7-bundle-minimal.json"), match_reason=reason
    )
    assert created and document.matched_by_hand
    assert document.matched_by_hand_by == clinician and document.matched_by_hand_reason == reason
    assert {d["field"] for d in document.patient_mismatch} == {"family_name", "given_names", "birth_date"}
    event = AuditEvent.objects.get(action="records.import_matched_by_hand")
    assert event.detail["reason"] == reason and event.actor == clinician

    client.force_login(clinician)
    with translation.override("en"):
        page = client.get(reverse("records:case", args=[her_case.reference])).content.decode()
        about = client.get(reverse("records:document_detail", args=[document.pk])).content.decode()
    assert "matched by hand" in page
    assert reason in about and "1972-05-01" in about

    api = client.get(f"/api/records/cases/{her_case.reference}", headers=bearer(clinician)).json()
    assert api["documents"][0]["matched_by_hand"]["reason"] == reason
    assert all(item["matched_by_hand"] for item in api["items"])

    bundle = services.export_case(clinician, her_case)
    provenance = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Provenance")
    extension = provenance["extension"][0]
    assert extension["url"].endswith("patient-matched-by-hand")
    assert {"url": "reason", "valueString": reason} in extension["extension"]
    assert len(provenance["target"]) == 3
    ips.parse(as_bytes(bundle))
    assert b"Matched to the patient by hand" in _pdf_text(her_case)


def _pdf_text(case) -> bytes:
    from django.template.loader import render_to_string

    from laihua.records.services.exporting import _pdf_context

    with translation.override("en"):
        return render_to_string("records/summary_pdf.html", _pdf_context(case)).encode()


def test_only_a_clinician_may_and_never_for_the_patients_own_upload(her_case, users):
    reason = "She says it is hers."
    with pytest.raises(services.MatchByHandRefused):
        services.import_document(
            users["coordinator"], her_case, example_bytes("hl7-bundle-minimal.json"), match_reason=reason
        )
    with pytest.raises(services.PatientMismatch):
        services.import_document(
            her_case.patient.user, her_case, example_bytes("hl7-bundle-minimal.json"), match_reason=reason
        )
    with pytest.raises(InvalidInput) as caught:
        services.import_document(
            users["clinician"], her_case, example_bytes("hl7-bundle-minimal.json"), match_reason="ok"
        )
    assert caught.value.field == "match_reason"
    assert not IpsDocument.objects.exists()


def test_a_matching_document_ignores_a_reason(case, users):
    document, _created = services.import_document(
        users["clinician"], case, example_bytes("hl7-bundle-minimal.json"), match_reason="Not needed at all."
    )
    assert not document.matched_by_hand and not AuditEvent.objects.filter(action="records.import_matched_by_hand")


# --- every route -----------------------------------------------------------------------------------------


def test_api_answers_422_with_each_field(client, her_case, users):
    response = client.post(
        f"/api/records/cases/{her_case.reference}/documents",
        example_bytes("hl7-bundle-minimal.json"),
        content_type="application/json",
        headers=bearer(users["coordinator"]),
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "patient_mismatch"
    assert fields(body["issues"])["birth_date"] == ("1972-05-01", "1968-09-14")
    done = client.post(
        f"/api/records/cases/{her_case.reference}/documents?match_reason=Checked+with+her+GP+by+phone",
        example_bytes("hl7-bundle-minimal.json"),
        content_type="application/json",
        headers=bearer(users["clinician"]),
    )
    assert done.status_code == 201 and done.json()["matched_by_hand"]["reason"] == "Checked with her GP by phone"


def test_fhir_answers_an_operation_outcome_with_an_issue_per_field(client, her_case, users):
    response = client.post(
        f"/fhir/Bundle?case={her_case.reference}",
        example_bytes(JUDGE_EXAMPLE),
        content_type="application/fhir+json",
        headers=bearer(users["clinician"]),
    )
    assert response.status_code == 422
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert [i["expression"] for i in outcome["issue"]] == [
        ["Bundle.entry[1].resource.name[0].family"],
        ["Bundle.entry[1].resource.name[0].given"],
        ["Bundle.entry[1].resource.birthDate"],
        ["Bundle.entry[1].resource.gender"],
    ]
    assert all(i["severity"] == "error" and i["code"] == "business-rule" for i in outcome["issue"])
    assert "1985-04-25" in outcome["issue"][2]["diagnostics"] and "1968-09-14" in outcome["issue"][2]["diagnostics"]


def test_the_page_shows_what_differs_and_offers_a_clinician_the_reason(client, her_case, users):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(users["clinician"])
    with translation.override("en"):
        url = reverse("records:import", args=[her_case.reference])
    upload = SimpleUploadedFile("gp.xml", example_bytes("hl7-IPS-bundle-01.xml"))
    response = client.post(url, {"file": upload})
    assert response.status_code == 422
    html = response.content.decode()
    assert "“gp.xml” is about someone else; nothing was stored." in html
    assert "1972-05-01" in html and "1968-09-14" in html and "Reason to import it anyway" in html
    upload = SimpleUploadedFile("gp.xml", example_bytes("hl7-IPS-bundle-01.xml"))
    done = client.post(url, {"file": upload, "match_reason": "Her maiden name; confirmed with her GP."})
    assert done.status_code == 302 and IpsDocument.objects.get().matched_by_hand


def run(*args):
    out = io.StringIO()
    try:
        call_command("records", *args, stdout=out, stderr=io.StringIO())
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def test_the_command_refuses_it_and_a_clinician_may_import_it_anyway(her_case, users, tmp_path):
    path = tmp_path / "gp.json"
    path.write_bytes(example_bytes("hl7-bundle-minimal.json"))
    output, error = run("import", str(path), "--case", her_case.reference, "--no-progress")
    assert error.returncode == 1 and "0 accepted, 0 already stored, 1 rejected." in str(error)
    assert "This summary is about someone else" in output and "birth date: the document says 1972-05-01" in output
    output, error = run(
        "import",
        str(path),
        "--case",
        her_case.reference,
        "--user",
        users["clinician"].username,
        "--match-reason",
        "Her maiden name; confirmed with her GP.",
        "--no-progress",
    )
    assert error is None and "matched to the patient by hand" in output


def test_mismatches_lists_documents_stored_before_the_check(her_case, case, users):
    services.import_document(users["clinician"], case, example_bytes("hl7-bundle-minimal.json"))  # hers: matches
    services.store(ips.parse(example_bytes("hl7-IPS-bundle-01.xml")), her_case, None)  # as stored before the check
    services.import_document(
        users["clinician"], her_case, example_bytes(JUDGE_EXAMPLE), match_reason="Checked: adopted name, same person."
    )
    output, error = run("mismatches")
    assert error.returncode == 1
    assert "2 documents do not match their case's patient (1 of them matched by hand)." in str(error)
    assert f"case {her_case.reference}" in output and f"case {case.reference}" not in output
    assert "birth date: the document says 1972-05-01; the case's patient: 1968-09-14" in output
    assert "matched by hand by" in output and "adopted name" in output
    output, error = run("mismatches", "--case", case.reference)
    assert error is None and "0 documents do not match" in output


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(birth=st.dates(min_value=datetime.date(1900, 1, 1), max_value=datetime.date(2020, 12, 31)))
def test_any_other_birth_date_is_refused(case, users, birth):
    document = ips_document(
        [{"resourceType": "Condition", "code": snomed("38341003", "Hypertension")}],
        patient=martha(birthDate=birth.isoformat()),
    )
    if birth == datetime.date(1972, 5, 1):
        return
    with pytest.raises(services.PatientMismatch) as caught:
        services.import_document(users["patient"], case, as_bytes(document))
    assert fields(caught.value.issues) == {"birth_date": (birth.isoformat(), "1972-05-01")}
