"""Import, view, term list, episode summary, export (round trip) and consent rules."""

import datetime
import json

import pytest
from django.core import mail

from laihua.audit.models import AuditEvent
from laihua.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from laihua.kit import clock
from laihua.records import ips, services
from laihua.records.models import ClinicalItem, Consent, IpsDocument, TermTranslation
from laihua.records.tests.conftest import EXAMPLES, as_bytes, example_bytes
from tests.builders import make_case


def kinds_and_codes(items) -> list[tuple]:
    out = []
    for item in items:
        first = item["codes"][0] if item["codes"] else {}
        out.append((item["kind"], first.get("system", ""), first.get("code", ""), item["text"]))
    return sorted(out)


@pytest.mark.parametrize("name", EXAMPLES)
def test_hl7_example_imports_exports_and_imports_again(name, case_for, hospital, users):
    clinician = users["clinician"]
    case = case_for(name)
    document, created = services.import_document(clinician, case, example_bytes(name))
    assert created and document.item_count == document.items.count() > 0
    assert document.content == example_bytes(name).decode("utf-8")  # stored as received
    before = [{"kind": i.kind, "codes": i.codes, "text": i.text} for i in document.items.order_by("position")]

    bundle = services.export_case(clinician, case)
    assert bundle["type"] == "document" and bundle["entry"][0]["resource"]["resourceType"] == "Composition"
    ips.parse(as_bytes(bundle))  # the export passes the import checks

    second = make_case(case.patient, hospital)
    again, created = services.import_document(clinician, second, as_bytes(bundle))
    assert created
    after = [{"kind": i.kind, "codes": i.codes, "text": i.text} for i in again.items.all()]
    # every item survives the round trip (duplicates within one document are exported once)
    unique_before = {tuple(x) for x in kinds_and_codes(before)}
    assert unique_before == {tuple(x) for x in kinds_and_codes(after)}


def test_importing_the_same_document_twice_stores_it_once(case, users):
    clinician = users["clinician"]
    first, created = services.import_document(clinician, case, example_bytes("hl7-bundle-minimal.json"))
    assert created
    reformatted = json.dumps(json.loads(example_bytes("hl7-bundle-minimal.json")), indent=8).encode()
    again, created = services.import_document(users["coordinator"], case, reformatted)
    assert not created and again.pk == first.pk
    assert IpsDocument.objects.count() == 1
    assert ClinicalItem.objects.count() == first.item_count
    assert AuditEvent.objects.filter(action="records.import").count() == 2


def test_same_identifier_with_other_content_is_another_version(case, users):
    services.import_document(users["clinician"], case, example_bytes("hl7-IPS-bundle-01.xml"))
    _doc, created = services.import_document(
        users["clinician"], case, example_bytes("hl7-IPS-bundle-with-immunization.xml")
    )
    assert created and IpsDocument.objects.count() == 2


def test_refused_document_stores_nothing_and_is_audited(case, users, minimal):
    del minimal["timestamp"]
    with pytest.raises(ips.IpsInvalid) as caught:
        services.import_document(users["clinician"], case, as_bytes(minimal))
    assert caught.value.issues[0]["expression"] == "Bundle.timestamp"
    assert not IpsDocument.objects.exists() and not ClinicalItem.objects.exists()
    assert AuditEvent.objects.filter(action="records.import_refused").exists()


@pytest.mark.parametrize("who", ["other_coordinator", "finance", "insurer_agent"])
def test_import_refused_for_other_hospital_and_wrong_role(case, users, who):
    with pytest.raises((NotFound, PermissionDenied)):
        services.import_document(users[who], case, example_bytes("hl7-bundle-minimal.json"))
    assert not IpsDocument.objects.exists()


def test_other_patient_cannot_see_or_import(case, users, other_patient):
    with pytest.raises(NotFound):
        services.case_records(other_patient.user, case)
    with pytest.raises(NotFound):
        services.import_document(other_patient.user, case, example_bytes("hl7-bundle-minimal.json"))


def test_view_uses_the_term_list_and_is_audited(case, users):
    services.import_document(users["clinician"], case, example_bytes("hl7-bundle-minimal.json"))
    services.save_term(
        users["coordinator"], system="http://snomed.info/sct", code="198436008", en="Hot flushes", zh_hans="潮热"
    )
    records = services.case_records(users["clinician"], case)
    problem = next(i for i in records["items"] if i.kind == "problem")
    assert (problem.text, problem.display_en, problem.display_zh) == (
        "Menopausal flushing (finding)",
        "Hot flushes",
        "潮热",
    )
    allergy = next(i for i in records["items"] if i.kind == "allergy")
    assert allergy.display_zh == "" and allergy.display_en
    assert AuditEvent.objects.filter(action="records.view").count() == 1


def test_term_list_rules(users):
    with pytest.raises(InvalidInput) as caught:
        services.save_term(users["coordinator"], system="http://loinc.org", code="", en="x")
    assert caught.value.field == "code"
    with pytest.raises(PermissionDenied):
        services.save_term(users["patient"], system="http://loinc.org", code="1", en="x")
    with pytest.raises(PermissionDenied):
        services.save_term(users["clinician"], system="http://loinc.org", code="1", en="x")
    services.save_term(users["coordinator"], system="http://loinc.org", code="1", en="x")
    services.save_term(users["coordinator"], system="http://loinc.org", code="1", en="y", zh_hans="乙")
    assert TermTranslation.objects.get().zh_hans == "乙"


def test_episode_summary_needs_icd10_and_a_clinician(case, users):
    data = {"diagnoses": [{"code": "S83.2", "text": "Meniscus tear"}], "plan_of_care": "Physiotherapy"}
    with pytest.raises(PermissionDenied):
        services.save_episode_summary(users["coordinator"], case, data, complete=True)
    with pytest.raises(InvalidInput) as caught:
        services.save_episode_summary(users["clinician"], case, {"diagnoses": [{"code": "knee", "text": "x"}]})
    assert caught.value.field == "diagnoses[0].code"
    with pytest.raises(InvalidInput) as caught:
        services.save_episode_summary(users["clinician"], case, {}, complete=True)
    assert caught.value.field == "diagnoses"
    summary = services.save_episode_summary(users["clinician"], case, data, complete=True)
    assert summary.completed_at is not None


def test_export_of_the_episode_summary(case, users):
    services.save_episode_summary(
        users["clinician"],
        case,
        {
            "diagnoses": [{"code": "S83.2", "text": "Tear of meniscus"}],
            "procedures": [{"text": "Arthroscopic meniscectomy", "date": "2026-03-02"}],
            "medications": [{"text": "Ibuprofen 400 mg", "dosage": "three times a day for 5 days"}],
            "allergies": [{"text": "Penicillin"}],
            "results": [{"text": "MRI right knee", "value": "bucket-handle tear"}],
            "plan_of_care": "Physiotherapy twice a week",
            "follow_up": "Home orthopaedist in 6 weeks",
        },
        complete=True,
    )
    bundle = services.export_case(users["patient"], case)  # the patient's own download
    parsed = ips.parse(as_bytes(bundle))
    resources = [e["resource"] for e in bundle["entry"]]
    condition = next(r for r in resources if r["resourceType"] == "Condition")
    assert condition["code"]["coding"][0] == {
        "system": "http://hl7.org/fhir/sid/icd-10",
        "code": "S83.2",
        "display": "Tear of meniscus",
    }
    assert any(r["resourceType"] == "Practitioner" for r in resources)
    codes = [s["code"]["coding"][0]["code"] for s in resources[0]["section"]]
    assert {"11450-4", "48765-2", "10160-0", "47519-4", "30954-2", "18776-5"} <= set(codes)
    assert {i["kind"] for i in ips.items(parsed)} == {"problem", "procedure", "medication", "allergy", "result"}
    assert AuditEvent.objects.filter(action="records.export").exists()


def test_export_without_anything_has_empty_reasons(case, users):
    bundle = services.export_case(users["clinician"], case)
    ips.parse(as_bytes(bundle))
    sections = bundle["entry"][0]["resource"]["section"]
    assert all("emptyReason" in s for s in sections)


def consent_data(**extra):
    today = clock.today()
    data = {
        "recipient_name": "Dr Smith, family doctor",
        "recipient_email": "smith@clinic.example",
        "purpose": "Follow-up care at home",
        "data_types": ["summary"],
        "period_start": today,
        "period_end": today + datetime.timedelta(days=30),
    }
    data.update(extra)
    return data


def test_sending_needs_a_consent(case, users, settings):
    with pytest.raises(services.ConsentRequired):
        services.send_records(users["coordinator"], case, recipient_email="smith@clinic.example")
    assert AuditEvent.objects.filter(action="records.transfer_refused").exists()
    assert not mail.outbox


def test_consent_lets_the_named_recipient_receive_until_withdrawn(case, users, django_capture_on_commit_callbacks):
    consent = services.grant_consent(users["patient"], case, **consent_data())
    with pytest.raises(services.ConsentRequired):  # another recipient
        services.send_records(users["coordinator"], case, recipient_email="insurer@example.test")
    with pytest.raises(services.ConsentRequired):  # a data type not consented to
        services.send_records(
            users["coordinator"], case, recipient_email="smith@clinic.example", data_types=["discharge"]
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.send_records(users["clinician"], case, recipient_email="SMITH@clinic.example")
    assert len(mail.outbox) == 1
    assert not mail.outbox[0].attachments  # a link, not the records

    services.withdraw_consent(users["patient"], consent.pk)
    with pytest.raises(services.ConsentRequired):
        services.send_records(users["coordinator"], case, recipient_email="smith@clinic.example")
    with pytest.raises(Conflict):
        services.withdraw_consent(users["patient"], consent.pk)
    assert Consent.objects.get().status == "inactive"
    assert AuditEvent.objects.filter(action="records.transfer").count() == 1


def test_expired_consent_does_not_count(case, users):
    consent = services.grant_consent(users["patient"], case, **consent_data())
    Consent.objects.filter(pk=consent.pk).update(period_end=clock.today() - datetime.timedelta(days=1))
    with pytest.raises(services.ConsentRequired):
        services.send_records(users["coordinator"], case, recipient_email="smith@clinic.example")


def test_only_the_patient_grants_and_withdraws(case, users):
    with pytest.raises(PermissionDenied):
        services.grant_consent(users["coordinator"], case, **consent_data())
    with pytest.raises(InvalidInput) as caught:
        services.grant_consent(users["patient"], case, **consent_data(data_types=["everything"]))
    assert caught.value.field == "data_types"
    with pytest.raises(InvalidInput) as caught:
        services.grant_consent(users["patient"], case, **consent_data(recipient_email="nope"))
    assert caught.value.field == "recipient_email"
    consent = services.grant_consent(users["patient"], case, **consent_data())
    with pytest.raises(PermissionDenied):
        services.withdraw_consent(users["coordinator"], consent.pk)
    with pytest.raises(NotFound):
        services.withdraw_consent(users["other_coordinator"], consent.pk)


def test_restricted_consent_sends_only_its_data_types(case, users):
    services.import_document(users["clinician"], case, example_bytes("hl7-IPS-bundle-01.xml"))
    bundle = services.build_export(case, data_types=["allergy"])
    kinds = {i["kind"] for i in ips.items(ips.parse(as_bytes(bundle)))}
    assert kinds == {"allergy"}


def test_an_ips_attached_to_the_case_is_offered_and_imported(case, users, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from laihua.cases.uploads import store_attachment

    settings.MEDIA_ROOT = str(tmp_path)
    upload = SimpleUploadedFile("home-doctor.xml", example_bytes("hl7-IPS-bundle-01.xml"))
    attachment = store_attachment(case, users["patient"], upload)
    staff_only = store_attachment(
        case,
        users["coordinator"],
        SimpleUploadedFile("x.json", example_bytes("hl7-bundle-minimal.json")),
        internal=True,
    )
    assert services.importable_attachments(users["patient"], case) == [attachment]
    assert services.importable_attachments(users["coordinator"], case) == [attachment, staff_only]
    with pytest.raises(NotFound):
        services.import_attachment(users["patient"], case, staff_only.pk)
    document, created = services.import_attachment(users["patient"], case, attachment.pk)
    assert created and document.source_format == "xml" and document.item_count == 13


def test_a_consent_for_allergies_only_sends_only_allergies(case, users, django_capture_on_commit_callbacks):
    services.import_document(users["clinician"], case, example_bytes("hl7-IPS-bundle-01.xml"))
    services.grant_consent(users["patient"], case, **consent_data(data_types=["allergy"]))
    with django_capture_on_commit_callbacks(execute=True):
        transfer = services.send_records(users["coordinator"], case, recipient_email="smith@clinic.example")
    assert not services.shows_pdf(transfer)  # the PDF would show more than allergies
    kinds = {i["kind"] for i in ips.items(ips.parse(as_bytes(services.transfer_bundle(transfer))))}
    assert kinds == {"allergy"}


def test_too_big_or_empty_documents_are_refused(case, users, settings):
    settings.LAIHUA_UPLOAD_MAX_BYTES = 1000
    with pytest.raises(InvalidInput) as caught:
        services.import_document(users["clinician"], case, example_bytes("hl7-bundle-minimal.json"))
    assert caught.value.field == "file"
    with pytest.raises(InvalidInput):
        services.import_document(users["clinician"], case, b"")
    assert not IpsDocument.objects.exists()


def test_the_same_document_at_another_hospital_is_that_hospitals_own_copy(case, users, patient, other_hospital):
    elsewhere = make_case(patient, other_hospital)
    first, _created = services.import_document(users["clinician"], case, example_bytes("hl7-bundle-minimal.json"))
    second, created = services.import_document(
        users["other_coordinator"], elsewhere, example_bytes("hl7-bundle-minimal.json")
    )
    assert created and second.pk != first.pk and second.case == elsewhere
    assert list(services.visible_documents(users["other_coordinator"])) == [second]
