"""Records benchmark: import 1,000 realistic International Patient Summaries into PostgreSQL and compare
with the time fhir.resources alone takes to parse the same documents.

    .venv/bin/python bench/records.py [--documents 1000] [--seed 7] [--drop]

Creates (or reuses) its own database in DATABASE_URL (default
postgresql://postgres@127.0.0.1:5432/laihua_bench_records), migrates it, sets up a benchmark hospital
with one patient and 20 cases, clears their earlier documents, then generates the documents from the
HL7 IPS examples (src/laihua/records/tests/data): every document has a Composition, one Patient, an
author and custodian, and from a few to about 150 clinical entries (problems, allergies, medications
with Medication resources, immunizations, laboratory results, vital signs with components, procedures)
with real SNOMED CT, LOINC and ATC codes, so sizes vary from about 10 kB to about 300 kB.

It measures, on the same documents, (1) fhir.resources parse only: `Bundle.model_validate_json`
(R4B), and (2) Laihua's import: `records.services.import_document` (one parse, the IPS rules, every
reference resolved, the items extracted and stored with bulk inserts, the audit event), each document
in its own transaction. `--drop` drops the database afterwards.

The last line is `records: <N> documents/s, <R>x fhir.resources parse time`.
Goal: R ≤ 2.
"""

import argparse
import copy
import json
import os
import random
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))

from search import DEFAULT_URL as SEARCH_URL  # noqa: E402
from search import ensure_database, server_environment  # noqa: E402

DEFAULT_URL = SEARCH_URL.rsplit("/", 1)[0] + "/laihua_bench_records"
DATA = ROOT / "src" / "laihua" / "records" / "tests" / "data"
SLUG = "bench-records"
CASES = 20

# The Patient of every generated document: the bench patient set_up() makes.
BENCH_PATIENT = {"name": [{"family": "DeLarosa", "given": ["Martha"]}], "gender": "female", "birthDate": "1972-05-01"}
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ATC = "http://www.whocc.no/atc"
PROBLEMS = [
    ("38341003", "Hypertensive disorder"),
    ("44054006", "Diabetes mellitus type 2"),
    ("195967001", "Asthma"),
    ("13645005", "Chronic obstructive lung disease"),
    ("49436004", "Atrial fibrillation"),
    ("35489007", "Depressive disorder"),
    ("396275006", "Osteoarthritis"),
    ("239873007", "Osteoarthritis of knee"),
    ("254837009", "Malignant neoplasm of breast"),
    ("40930008", "Hypothyroidism"),
    ("431855005", "Chronic kidney disease stage 1"),
    ("22298006", "Myocardial infarction"),
]
ALLERGENS = [
    ("764146007", "Penicillin"),
    ("256349002", "Peanut protein"),
    ("387207008", "Ibuprofen"),
    ("111088007", "Latex"),
    ("372687004", "Amoxicillin"),
]
MEDICINES = [
    ("C09AA05", "ramipril", "5 mg once a day"),
    ("A10BA02", "metformin", "500 mg twice a day"),
    ("R03AC02", "salbutamol", "2 puffs when needed"),
    ("B01AC06", "acetylsalicylic acid", "100 mg once a day"),
    ("C10AA05", "atorvastatin", "20 mg at night"),
    ("H03AA01", "levothyroxine sodium", "75 µg in the morning"),
    ("L02BG03", "anastrozole", "1 mg once a day"),
]
LABS = [
    ("718-7", "Hemoglobin [Mass/volume] in Blood", 13.5, "g/dL"),
    ("2345-7", "Glucose [Mass/volume] in Serum or Plasma", 98.0, "mg/dL"),
    ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", 6.1, "%"),
    ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", 0.9, "mg/dL"),
    ("2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", 190.0, "mg/dL"),
    ("6690-2", "Leukocytes [#/volume] in Blood by Automated count", 6.4, "10*3/uL"),
]
VACCINES = [
    ("1119349007", "Vaccine product containing only SARS-CoV-2 mRNA"),
    ("836377006", "Vaccine product containing Influenza virus antigen"),
    ("871878002", "Vaccine product containing Tetanus and Diphtheria toxoids"),
]
PROCEDURES = [
    ("80146002", "Appendectomy"),
    ("609588000", "Total knee replacement"),
    ("73761001", "Colonoscopy"),
    ("232717009", "Coronary artery bypass graft"),
]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=1000, help="documents to import (default 1000)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--drop", action="store_true", help="drop the benchmark database afterwards")
    return parser.parse_args()


def _urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _cc(system: str, code: str, display: str) -> dict:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def _date(rng) -> str:
    return f"{rng.randint(1995, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def generate(rng: random.Random, templates: list[dict]) -> bytes:
    """One IPS document: an HL7 example as the base, then a random number of realistic entries."""
    doc = copy.deepcopy(rng.choice(templates))
    doc["identifier"] = {"system": "urn:ietf:rfc:3986", "value": _urn()}
    for entry in doc["entry"]:  # every document is the bench patient's (the import refuses anyone else's)
        if entry["resource"]["resourceType"] == "Patient":
            entry["resource"].update(BENCH_PATIENT)
    composition = doc["entry"][0]["resource"]
    patient_url = next(e["fullUrl"] for e in doc["entry"] if e["resource"]["resourceType"] == "Patient")
    subject = {"reference": patient_url}
    sections = {s["code"]["coding"][0]["code"]: s for s in composition["section"]}
    scale = rng.choice([0, 1, 2, 4, 8, 16])

    def add(section_code: str, title: str, resource: dict):
        url = _urn()
        doc["entry"].append({"fullUrl": url, "resource": resource})
        section = sections.get(section_code)
        if section is None:
            section = {"title": title, "code": {"coding": [{"system": LOINC, "code": section_code}]}, "entry": []}
            section["text"] = {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">...</div>'}
            composition["section"].append(section)
            sections[section_code] = section
        section.pop("emptyReason", None)
        section.setdefault("entry", []).append({"reference": url})

    for _ in range(rng.randint(0, 2 * scale)):
        code, name = rng.choice(PROBLEMS)
        add(
            "11450-4",
            "Problems",
            {
                "resourceType": "Condition",
                "clinicalStatus": _cc("http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active"),
                "code": _cc(SNOMED, code, name),
                "subject": subject,
                "onsetDateTime": _date(rng),
            },
        )
    for _ in range(rng.randint(0, scale // 2 + 1)):
        code, name = rng.choice(ALLERGENS)
        add(
            "48765-2",
            "Allergies",
            {
                "resourceType": "AllergyIntolerance",
                "clinicalStatus": _cc(
                    "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active", "Active"
                ),
                "type": "allergy",
                "criticality": rng.choice(["low", "high"]),
                "code": _cc(SNOMED, code, name),
                "patient": subject,
                "reaction": [{"manifestation": [_cc(SNOMED, "247472004", "Hives")]}],
            },
        )
    for _ in range(rng.randint(0, 2 * scale)):
        code, name, dose = rng.choice(MEDICINES)
        medication_url = _urn()
        doc["entry"].append(
            {
                "fullUrl": medication_url,
                "resource": {
                    "resourceType": "Medication",
                    "code": _cc(ATC, code, name),
                },
            }
        )
        add(
            "10160-0",
            "Medications",
            {
                "resourceType": "MedicationStatement",
                "status": "active",
                "medicationReference": {"reference": medication_url},
                "subject": subject,
                "effectivePeriod": {"start": _date(rng)},
                "dosage": [{"text": dose, "timing": {"repeat": {"count": 1, "periodUnit": "d"}}}],
            },
        )
    for _ in range(rng.randint(0, scale)):
        code, name = rng.choice(VACCINES)
        add(
            "11369-6",
            "Immunizations",
            {
                "resourceType": "Immunization",
                "status": "completed",
                "vaccineCode": _cc(SNOMED, code, name),
                "patient": subject,
                "occurrenceDateTime": _date(rng),
            },
        )
    for _ in range(rng.randint(0, 4 * scale)):
        code, name, value, unit = rng.choice(LABS)
        add(
            "30954-2",
            "Results",
            {
                "resourceType": "Observation",
                "status": "final",
                "category": [
                    _cc("http://terminology.hl7.org/CodeSystem/observation-category", "laboratory", "Laboratory")
                ],
                "code": _cc(LOINC, code, name),
                "subject": subject,
                "effectiveDateTime": _date(rng),
                "valueQuantity": {
                    "value": round(value * rng.uniform(0.7, 1.3), 1),
                    "unit": unit,
                    "system": "http://unitsofmeasure.org",
                    "code": unit,
                },
            },
        )
    for _ in range(rng.randint(0, scale)):
        add(
            "8716-3",
            "Vital signs",
            {
                "resourceType": "Observation",
                "status": "final",
                "category": [
                    _cc("http://terminology.hl7.org/CodeSystem/observation-category", "vital-signs", "Vital Signs")
                ],
                "code": _cc(LOINC, "85354-9", "Blood pressure panel"),
                "subject": subject,
                "effectiveDateTime": _date(rng),
                "component": [
                    {
                        "code": _cc(LOINC, "8480-6", "Systolic blood pressure"),
                        "valueQuantity": {"value": rng.randint(100, 160), "unit": "mmHg"},
                    },
                    {
                        "code": _cc(LOINC, "8462-4", "Diastolic blood pressure"),
                        "valueQuantity": {"value": rng.randint(60, 100), "unit": "mmHg"},
                    },
                ],
            },
        )
    for _ in range(rng.randint(0, scale // 2)):
        code, name = rng.choice(PROCEDURES)
        add(
            "47519-4",
            "Procedures",
            {
                "resourceType": "Procedure",
                "status": "completed",
                "code": _cc(SNOMED, code, name),
                "subject": subject,
                "performedDateTime": _date(rng),
            },
        )
    return json.dumps(doc, ensure_ascii=False, indent=rng.choice([None, 2])).encode("utf-8")


def templates() -> list[dict]:
    from laihua.kit.fhirxml import xml_to_dict

    out = []
    for path in sorted(DATA.iterdir()):
        if path.suffix == ".json":
            out.append(json.loads(path.read_text()))
        elif path.suffix == ".xml":
            out.append(xml_to_dict(path.read_bytes()))
    return out


def set_up():
    """The benchmark hospital, a patient and cases, with no documents; returns the cases."""
    import datetime

    from django.db import transaction

    from laihua.accounts.models import Role, User
    from laihua.cases.models import Case
    from laihua.hospitals.models import City, Hospital
    from laihua.patients.models import Patient
    from laihua.records.models import IpsDocument

    with transaction.atomic():
        city = City.objects.get_or_create(slug="shanghai", defaults={"name": {"en": "Shanghai", "zh-hans": "上海"}})[0]
        hospital, _created = Hospital.objects.get_or_create(
            slug=SLUG,
            defaults={
                "name": {"en": "Records Bench Hospital", "zh-hans": "病历测试医院"},
                "city": city,
                "address": {"en": "1 Bench Road", "zh-hans": "测试路1号"},
                "is_demo": True,
            },
        )
        user, _created = User.objects.get_or_create(
            username="bench-records-patient", defaults={"role": Role.PATIENT, "email": "bench@example.test"}
        )
        patient, _created = Patient.objects.get_or_create(
            user=user,
            defaults={
                "family_name": "DeLarosa",
                "given_names": "Martha",
                "sex": "F",
                "date_of_birth": datetime.date(1972, 5, 1),
                "nationality": "NL",
                "passport_number": "NX0000000",
                "email": user.email,
            },
        )
        IpsDocument.objects.filter(patient=patient).delete()
        cases = list(Case.objects.filter(patient=patient, hospital=hospital).order_by("pk"))
        while len(cases) < CASES:
            case = Case.objects.create(patient=patient, hospital=hospital, state="inquiry")
            case.reference = f"LH-BR-{case.pk:06d}"
            case.save(update_fields=["reference"])
            cases.append(case)
    return cases


def bench_environment(url: str) -> dict:
    """The server environment, with a fixed field key: the bench patient is read again on the next run."""
    import base64

    os.environ.setdefault("LAIHUA_FIELD_KEYS", base64.urlsafe_b64encode(b"laihua bench records, not secret").decode())
    return server_environment(url)


def drop_database(url: str) -> None:
    import dj_database_url
    import psycopg

    config = dj_database_url.parse(url)
    admin = psycopg.connect(
        dbname="postgres",
        user=config["USER"] or None,
        password=config["PASSWORD"] or None,
        host=config["HOST"] or None,
        port=config["PORT"] or None,
        autocommit=True,
    )
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{config["NAME"]}" WITH (FORCE)')


def main():
    args = parse_args()
    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    ensure_database(url)
    env = bench_environment(url)
    os.environ.update({k: v for k, v in env.items() if k.startswith(("LAIHUA_", "DJANGO_")) or k == "DATABASE_URL"})
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from fhir.resources.R4B.bundle import Bundle

    from laihua.records import services
    from laihua.records.models import ClinicalItem, IpsDocument

    cases = set_up()
    rng = random.Random(args.seed)
    bases = templates()
    documents = [generate(rng, bases) for _ in range(args.documents)]
    sizes = sorted(len(d) for d in documents)
    print(
        f"{len(documents)} documents, {sum(sizes) / 1e6:.1f} MB, sizes {sizes[0] / 1e3:.0f}–{sizes[-1] / 1e3:.0f} kB "
        f"(median {sizes[len(sizes) // 2] / 1e3:.0f} kB)"
    )

    # warm both paths (imports, model caches) on documents that are not measured
    for warm in (generate(rng, bases) for _ in range(5)):
        Bundle.model_validate_json(warm)
    start = time.perf_counter()
    for document in documents:
        Bundle.model_validate_json(document)
    parse_seconds = time.perf_counter() - start
    print(f"fhir.resources parse only: {parse_seconds:.2f} s ({len(documents) / parse_seconds:.0f} documents/s)")

    start = time.perf_counter()
    for index, document in enumerate(documents):
        services.import_document(None, cases[index % len(cases)], document, source="bench", by_system=True)
    import_seconds = time.perf_counter() - start
    stored = IpsDocument.objects.filter(case__in=cases).count()
    items = ClinicalItem.objects.filter(case__in=cases).count()
    print(f"import into PostgreSQL: {import_seconds:.2f} s, {stored} documents, {items} items stored")
    if stored != len(documents):
        sys.exit(f"expected {len(documents)} documents stored, found {stored}")
    if args.drop:
        from django.db import connections

        connections.close_all()
        drop_database(url)
    rate = len(documents) / import_seconds
    print(f"records: {rate:.0f} documents/s, {import_seconds / parse_seconds:.2f}x fhir.resources parse time")


if __name__ == "__main__":
    main()
