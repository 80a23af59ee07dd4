"""Demo data: the demo patient's first case gets an International Patient Summary from their home doctor
(the HL7 minimal IPS example, data/demo-ips.json, with the demo patient's name, birth date, sex and
passport, so that it matches them), a few
Chinese translations in the term list, and a consent to send records to a fictional family doctor.
Loading again changes nothing."""

import copy
import datetime
import json
from pathlib import Path

from django.db import transaction

from laihua.cases.models import Case
from laihua.kit import clock
from laihua.records import identity, services
from laihua.records.models import Consent, TermTranslation

DEMO_IPS = Path(__file__).parent / "data" / "demo-ips.json"
TERMS = (
    ("http://snomed.info/sct", "198436008", "Menopausal flushing", "更年期潮热"),
    ("http://hl7.org/fhir/sid/icd-10", "N95.1", "Menopausal and female climacteric states", "绝经期和女性更年期状态"),
    ("http://snomed.info/sct", "373270004", "Penicillin class antibiotic", "青霉素类抗生素"),
    ("http://snomed.info/sct", "108774000", "Anastrozole", "阿那曲唑"),
)


def _given(patient) -> dict:
    return {"given": patient.given_names.split()} if patient.given_names else {}


def _passport(patient) -> dict:
    """The patient's passport as a FHIR identifier (type PPN, system passport-<issuing country>)."""
    country = patient.nationality.alpha3 if patient.nationality else ""
    return {
        "type": {"coding": [{"system": identity.PASSPORT_TYPE[0], "code": identity.PASSPORT_TYPE[1]}]},
        "system": f"{identity.PASSPORT_SYSTEM}{country}",
        "value": patient.passport_number,
    }


def _document_for(patient) -> bytes:
    document = copy.deepcopy(json.loads(DEMO_IPS.read_text()))
    document["identifier"]["value"] = "laihua-demo-ips-0001"
    for entry in document["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Patient":
            resource["name"] = [{"family": patient.family_name, **_given(patient)}]
            resource["birthDate"] = patient.date_of_birth.isoformat()
            resource["gender"] = identity.GENDER.get(patient.sex, "unknown")
            resource["identifier"] = [_passport(patient)] if patient.passport_number else []
            if not resource["identifier"]:
                del resource["identifier"]
    return json.dumps(document, ensure_ascii=False).encode()


@transaction.atomic
def load() -> None:
    from laihua.patients import demo as patients_demo

    users = patients_demo.demo_patient_users()
    if not users or not hasattr(users[0], "patient"):
        return
    patient = users[0].patient
    case = Case.objects.filter(patient=patient).order_by("pk").first()
    if case is None:
        return
    for system, code, en, zh in TERMS:
        TermTranslation.objects.get_or_create(system=system, code=code, defaults={"en": en, "zh_hans": zh})
    if not case.ips_documents.exists():
        services.import_document(None, case, _document_for(patient), source="demo", by_system=True)
    if not Consent.objects.filter(case=case).exists():
        today = clock.today()
        Consent.objects.create(
            patient=patient,
            case=case,
            recipient_name="Dr. Sam Demo, family doctor (demo)",
            recipient_email="family-doctor@demo.example",
            recipient_country=str(patient.nationality or "")[:2],
            purpose="Follow-up care at home after treatment",
            data_types=["summary", "discharge"],
            period_start=today,
            period_end=today + datetime.timedelta(days=180),
            granted_by=patient.user,
        )
