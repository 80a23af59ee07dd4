"""The demo patient's first case gets an International Patient Summary from their home doctor (the HL7 minimal
IPS example, data/demo-ips.json, with the demo patient's name, birth date and sex, so that it matches them), a
few Chinese translations in the term list, and a consent to send records to a fictional family doctor
(records.yaml). Loading again changes nothing."""

import datetime
import json

from django.db import transaction

from laihua.cases.models import Case
from laihua.demo import datafiles
from laihua.demo import patients as demo_patients
from laihua.kit import clock
from laihua.records import identity, services
from laihua.records.models import Consent, TermTranslation

_DATA = datafiles.read("records")
DEMO_IPS = datafiles.DATA_DIR / _DATA["document"]["file"]
TERMS = _DATA["terms"]
CONSENT = _DATA["consent"]


def _document_for(patient) -> bytes:
    document = json.loads(DEMO_IPS.read_text())
    document["identifier"]["value"] = _DATA["document"]["identifier"]
    for entry in document["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Patient":
            given = {"given": patient.given_names.split()} if patient.given_names else {}
            resource["name"] = [{"family": patient.family_name, **given}]
            resource["birthDate"] = patient.date_of_birth.isoformat()
            resource["gender"] = identity.GENDER.get(patient.sex, "unknown")
    return json.dumps(document, ensure_ascii=False).encode()


@transaction.atomic
def load() -> None:
    users = demo_patients.demo_patient_users()
    if not users or not hasattr(users[0], "patient"):
        return
    patient = users[0].patient
    case = Case.objects.filter(patient=patient).order_by("pk").first()
    if case is None:
        return
    for term in TERMS:
        TermTranslation.objects.get_or_create(
            system=term["system"], code=term["code"], defaults={"en": term["en"], "zh_hans": term["zh-hans"]}
        )
    if not case.ips_documents.exists():
        services.import_document(None, case, _document_for(patient), source="demo", by_system=True)
    if not Consent.objects.filter(case=case).exists():
        today = clock.today()
        Consent.objects.create(
            patient=patient,
            case=case,
            recipient_name=CONSENT["recipient_name"],
            recipient_email=CONSENT["recipient_email"],
            recipient_country=str(patient.nationality or "")[:2],
            purpose=CONSENT["purpose"],
            data_types=list(CONSENT["data_types"]),
            period_start=today,
            period_end=today + datetime.timedelta(days=CONSENT["days"]),
            granted_by=patient.user,
        )
