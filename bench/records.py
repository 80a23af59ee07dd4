"""Records benchmark: import 1,000 realistic International Patient Summaries into PostgreSQL and compare
with the time fhir.resources alone takes to parse the same documents; then list a case of 1,000
documents and 200,000 items over the API, and export a case of 5,000 items.

    .venv/bin/python bench/records.py [--documents 1000] [--seed 7] [--drop]
                                      [--large-documents 1000] [--large-items 200000] [--export-items 5000]
                                      [--requests 100] [--workers 2] [--reload]

Creates (or reuses) its own database in DATABASE_URL (default
postgresql://postgres@127.0.0.1:5432/laihua_bench_records), migrates it, sets up a benchmark hospital
with one patient and 20 cases, clears their earlier documents, then generates the documents from the
HL7 IPS examples (src/laihua/records/tests/data): every document has a Composition, one Patient, an
author and custodian, and from a few to about 150 clinical entries (problems, allergies, medications
with Medication resources, immunizations, laboratory results, vital signs with components, procedures)
with real SNOMED CT, LOINC and ATC codes, so sizes vary from about 10 kB to about 300 kB.

It measures, on the same documents, (1) fhir.resources parse only: `Bundle.model_validate_json`
(R4B), and (2) Laihua's import: `records.services.import_document` (the model check, in the import's
helper process beside it, the IPS rules, every reference resolved, the items extracted and stored, the
distinct items decided, the audit event), each document in its own transaction; the two take turns, 25
documents each, so that a shared machine's changing load falls on both alike. R is the ratio of their
wall times. It also prints the ratio of this process's CPU time in each (the work of PostgreSQL and of the
helper process left out). `--drop` drops the database afterwards.

Then (4) it stores, in bulk (PostgreSQL COPY), a case of 1,000 documents and 200,000 items (each
document sealed as the import seals it, each item with its keys and current, as an import decides them)
and a case of 5,000 items (25 documents); it starts gunicorn (2 workers) on a free loopback port and
(5) sends the first page of `GET /api/records/cases/<ref>` from 2 closed-loop clients (p50, p95), (6)
times `GET /api/records/cases/<ref>/export` (FHIR JSON, streamed) of the 5,000 items (the median of 3)
and (7) reads the peak resident memory (VmHWM) of each serving process. The bulk cases are kept from
one run to the next (`--reload` makes them again).

The last line is `records: <N> documents/s, <R>x fhir.resources parse time, list p95 <X> ms, peak <M> MB
at <K> items, export <E> s`. Goals on the 2-core machine: R ≤ 1.5, list p95 < 300 ms, peak < 300 MB,
export < 2 s.
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

BLOCK = 25  # documents parsed, then imported, in turn
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
    parser.add_argument("--large-documents", type=int, default=1000, help="documents of the large case (1000)")
    parser.add_argument("--large-items", type=int, default=200_000, help="items of the large case (200000)")
    parser.add_argument("--export-items", type=int, default=5000, help="items of the exported case (5000)")
    parser.add_argument("--requests", type=int, default=100, help="first-page requests per client (100)")
    parser.add_argument("--clients", type=int, default=2, help="closed-loop clients (2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument("--reload", action="store_true", help="make the bulk cases again")
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


BULK = ("LH-BR-LARGE", "LH-BR-EXPORT")


def clear(case_ids: list[int]) -> None:
    """Remove the cases' documents, items and keys in three statements (not row by row)."""
    from django.db import connection

    if not case_ids:
        return
    with connection.cursor() as cursor:
        for table in ("records_clinicalitemkey", "records_clinicalitem", "records_ipsdocument"):
            cursor.execute(f"DELETE FROM {table} WHERE case_id = ANY(%s)", [case_ids])  # noqa: S608 - fixed names


def set_up():
    """The benchmark hospital, a patient and cases, with no documents; returns the cases."""
    import datetime

    from django.db import transaction

    from laihua.accounts.models import Role, User
    from laihua.cases.models import Case
    from laihua.hospitals.models import City, Hospital
    from laihua.patients.models import Patient

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
        cases = list(Case.objects.filter(patient=patient, hospital=hospital).exclude(reference__in=BULK).order_by("pk"))
        clear([case.pk for case in cases])
        while len(cases) < CASES:
            case = Case.objects.create(patient=patient, hospital=hospital, state="inquiry")
            case.reference = f"LH-BR-{case.pk:06d}"
            case.save(update_fields=["reference"])
            cases.append(case)
    vacuum()  # the rows of the earlier run, deleted just now, gone as autovacuum would take them between runs
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


# --- a case of any size, stored in bulk ------------------------------------------------------------

KINDS = [
    ("problem", "Condition", PROBLEMS, SNOMED),
    ("medication", "MedicationStatement", [(c, n) for c, n, _dose in MEDICINES], ATC),
    ("result", "Observation", [(c, n) for c, n, _v, _u in LABS], LOINC),
    ("allergy", "AllergyIntolerance", ALLERGENS, SNOMED),
    ("immunization", "Immunization", VACCINES, SNOMED),
    ("procedure", "Procedure", PROCEDURES, SNOMED),
]


def bulk_case(reference: str, documents: int, items: int, rng: random.Random, bases: list[dict], reload: bool):
    """A case of the bench patient holding `documents` documents and `items` distinct items, stored with
    COPY as the import stores them (documents sealed, items with their keys, every item current); kept from
    one run to the next unless `reload`. Returns (case, seconds spent storing)."""
    import datetime

    from django.db import connection, transaction

    from laihua.cases.models import Case
    from laihua.kit import crypto
    from laihua.records.distinct import digest
    from laihua.records.models import ClinicalItem, IpsDocument

    template = Case.objects.filter(reference__startswith="LH-BR-").order_by("pk").first()
    case = Case.objects.filter(reference=reference).first()
    if case is None:
        case = Case.objects.create(patient=template.patient, hospital=template.hospital, state="inquiry")
        case.reference = reference
        case.save(update_fields=["reference"])
    stored = ClinicalItem.objects.filter(case=case).count()
    if stored == items and IpsDocument.objects.filter(case=case).count() == documents and not reload:
        vacuum()
        return case, 0.0
    started = time.perf_counter()
    with transaction.atomic():
        clear([case.pk])
        base = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
        content = generate(random.Random(1), bases).decode()  # one real document's size and shape
        per = items // documents
        with connection.cursor() as cursor:
            raw = cursor.cursor
            with raw.copy(
                "COPY records_ipsdocument (patient_id, case_id, hospital_id, direction, identifier_system, "
                "identifier_value, timestamp, title, author, source_format, content, content_hash, item_count, "
                "created_at, warnings, patient_mismatch, matched_by_hand_reason) FROM STDIN"
            ) as copy:
                for n in range(documents):
                    count = per + (1 if n < items - per * documents else 0)
                    copy.write_row(
                        (
                            case.patient_id,
                            case.pk,
                            case.hospital_id,
                            "imported",
                            "urn:ietf:rfc:3986",
                            _urn(),
                            base + datetime.timedelta(hours=n),
                            f"Patient summary {n + 1}",
                            "Dr. Bench",
                            "json",
                            crypto.seal(content),
                            f"{n:064x}",
                            count,
                            base + datetime.timedelta(hours=n),
                            "[]",
                            "[]",
                            "",
                        )
                    )
            cursor.execute("SELECT id, item_count FROM records_ipsdocument WHERE case_id = %s ORDER BY id", [case.pk])
            made = cursor.fetchall()
            with raw.copy(
                "COPY records_clinicalitem (document_id, patient_id, case_id, position, kind, resource_type, text, "
                "codes, status, date, value, detail, source_keys, current) FROM STDIN"
            ) as copy:
                for document_id, count in made:
                    for position in range(count):
                        kind, resource_type, terms, system = KINDS[rng.randrange(len(KINDS))]
                        code, name = rng.choice(terms)
                        detail = {"time": {"onsetDateTime": _date(rng)}} if kind == "problem" else {}
                        if kind == "medication":
                            detail = {"dosage": [{"text": "1 tablet once a day"}]}
                        copy.write_row(
                            (
                                document_id,
                                case.patient_id,
                                case.pk,
                                position,
                                kind,
                                resource_type,
                                name,
                                json.dumps([{"system": system, "code": code, "display": name}]),
                                rng.choice(["active", "active", "resolved", "completed", "final"]),
                                _date(rng),
                                "",
                                json.dumps(detail),
                                json.dumps([f"url:{_urn()}"]),
                                True,
                            )
                        )
            cursor.execute("SELECT id, source_keys FROM records_clinicalitem WHERE case_id = %s", [case.pk])
            rows = cursor.fetchall()
            with raw.copy("COPY records_clinicalitemkey (case_id, digest, item_id) FROM STDIN") as copy:
                for item_id, keys in rows:
                    for key in json.loads(keys) if isinstance(keys, str) else keys:
                        copy.write_row((case.pk, digest(key), item_id))
    vacuum()
    return case, time.perf_counter() - started


def vacuum() -> None:
    """VACUUM ANALYZE the records tables, as autovacuum does after a bulk load: the planner's statistics, and
    the visibility map that lets a count read only the index."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("records_clinicalitem", "records_clinicalitemkey", "records_ipsdocument"):
            cursor.execute(f"VACUUM ANALYZE {table}")


# --- over a real server ----------------------------------------------------------------------------


def peak_mb(pids) -> dict[int, float]:
    """The peak resident memory (VmHWM) of each process, in MB."""
    found = {}
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    found[pid] = int(line.split()[1]) / 1024
        except OSError:
            continue
    return found


def workers_of(server_pid: int) -> list[int]:
    children = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(f"/proc/{entry.name}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == server_pid:
                children.append(int(entry.name))
    return children


def get(url: str, token: str) -> tuple[float, int, bytes]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            body, status = response.read(), response.status
    except urllib.error.HTTPError as error:
        body, status = error.read(), error.code
    return (time.perf_counter() - started) * 1000, status, body


def first_pages(base: str, reference: str, token: str, clients: int, per_client: int) -> dict:
    import statistics
    import threading
    from concurrent.futures import ThreadPoolExecutor

    url = f"{base}/api/records/cases/{reference}"
    latencies, failures, lock = [], [], threading.Lock()

    def client(_number):
        mine, failed = [], []
        for _ in range(per_client):
            ms, status, _body = get(url, token)
            mine.append(ms)
            if status != 200:
                failed.append(status)
        with lock:
            latencies.extend(mine)
            failures.extend(failed)

    for _ in range(6):  # warm each worker
        get(url, token)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(client, range(clients)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "errors": len(failures),
        "p50": statistics.median(ordered),
        "p95": ordered[int(0.95 * (len(ordered) - 1))],
        "throughput": len(ordered) / elapsed,
    }


def bench_token() -> str:
    from laihua.accounts.models import Role, User
    from laihua.accounts.services import create_api_token
    from laihua.hospitals.models import Hospital

    hospital = Hospital.objects.get(slug=SLUG)
    user, _created = User.objects.get_or_create(
        username="bench-records-clinician",
        defaults={"role": Role.CLINICIAN, "hospital": hospital, "email": "bench-clinician@example.test"},
    )
    return create_api_token(user, user, "records bench")[1]


def main():
    args = parse_args()
    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    ensure_database(url)
    env = bench_environment(url)
    env["LAIHUA_HTTPS_REDIRECT"] = "false"  # plain HTTP on the loopback
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
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

    # warm both paths (imports, model caches, the import's helper process) on documents that are not measured
    for warm in (generate(rng, bases) for _ in range(5)):
        Bundle.model_validate_json(warm)
    services.import_document(None, cases[0], generate(rng, bases), source="bench", by_system=True)
    clear([case.pk for case in cases])
    # the two are measured in turns, BLOCK documents each, so that a shared machine's changing load falls on both
    parse_seconds = parse_cpu = import_seconds = import_cpu = 0.0
    for first in range(0, len(documents), BLOCK):
        block = documents[first : first + BLOCK]
        start, cpu = time.perf_counter(), time.process_time()
        for document in block:
            Bundle.model_validate_json(document)
        parse_seconds += time.perf_counter() - start
        parse_cpu += time.process_time() - cpu
        start, cpu = time.perf_counter(), time.process_time()
        for index, document in enumerate(block, start=first):
            services.import_document(None, cases[index % len(cases)], document, source="bench", by_system=True)
        import_seconds += time.perf_counter() - start
        import_cpu += time.process_time() - cpu
    print(f"fhir.resources parse only: {parse_seconds:.2f} s ({len(documents) / parse_seconds:.0f} documents/s)")
    stored = IpsDocument.objects.filter(case__in=cases).count()
    items = ClinicalItem.objects.filter(case__in=cases).count()
    print(f"import into PostgreSQL: {import_seconds:.2f} s, {stored} documents, {items} items stored")
    if stored != len(documents):
        sys.exit(f"expected {len(documents)} documents stored, found {stored}")
    rate = len(documents) / import_seconds
    ratio = import_seconds / parse_seconds
    print(
        f"this process's CPU time: parse {parse_cpu:.2f} s, import {import_cpu:.2f} s "
        f"({import_cpu / parse_cpu:.2f}x; the time of PostgreSQL and of the check's helper process is not in it)"
    )

    large, seconds = bulk_case("LH-BR-LARGE", args.large_documents, args.large_items, rng, bases, args.reload)
    exported, more = bulk_case(
        "LH-BR-EXPORT", max(1, args.export_items // 200), args.export_items, rng, bases, args.reload
    )
    if seconds or more:
        print(f"stored in bulk: {args.large_items} items in {seconds:.1f} s, {args.export_items} items in {more:.1f} s")
    token = bench_token()
    from django.db import connections

    connections.close_all()
    from search import start_server

    server, base = start_server(env, args.workers)
    try:
        workers = workers_of(server.pid)
        listed = first_pages(base, large.reference, token, args.clients, args.requests)
        _ms, status, body = get(f"{base}/api/records/cases/{large.reference}", token)
        counts = json.loads(body)["counts"] if status == 200 else {}
        print(
            f"first page of {counts.get('items')} items in {counts.get('documents')} documents: "
            f"{listed['requests']} requests from {args.clients} clients, {listed['errors']} errors; "
            f"p50 {listed['p50']:.1f} ms, p95 {listed['p95']:.1f} ms, {listed['throughput']:.1f} requests/s"
        )
        listing_peak = max(peak_mb(workers).values())
        exports = []
        for _ in range(3):
            ms, status, body = get(f"{base}/api/records/cases/{exported.reference}/export", token)
            if status != 200:
                sys.exit(f"the export answered {status}: {body[:300]!r}")
            exports.append(ms / 1000)
        entries = len(json.loads(body)["entry"])
        ms_xml, status_xml, body_xml = get(f"{base}/api/records/cases/{exported.reference}/export?format=xml", token)
        print(
            f"export of {args.export_items} items: {len(body) / 1e6:.1f} MB FHIR JSON, {entries} entries, "
            f"{', '.join(f'{s:.2f}' for s in exports)} s; "
            f"FHIR XML {len(body_xml) / 1e6:.1f} MB in {ms_xml / 1000:.2f} s"
        )
        peaks = peak_mb(workers)
        print(
            "peak resident memory of the workers: "
            + ", ".join(f"{mb:.0f} MB" for mb in peaks.values())
            + f" (after the listing: {listing_peak:.0f} MB)"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    if args.drop:
        connections.close_all()
        drop_database(url)
    export_seconds = sorted(exports)[1]
    failed = listed["errors"] or status_xml != 200
    print(
        f"records: {rate:.0f} documents/s, {ratio:.2f}x fhir.resources parse time, list p95 {listed['p95']:.0f} ms, "
        f"peak {max(peaks.values()):.0f} MB at {counts.get('items', 0)} items, export {export_seconds:.2f} s"
    )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
