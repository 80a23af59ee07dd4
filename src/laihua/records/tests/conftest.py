"""Records' fixtures: the HL7 IPS examples (read from ../shared/fixtures/ips, copies in tests/data for
a fresh clone), a minimal valid IPS builder, and cases whose patients are the HL7 examples' patients:
Martha DeLarosa (born 1972, three of the examples) on `case`, James Judge (born 1985, the example
without information in its required sections) on `case_for(name)`."""

import copy
import datetime
import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).resolve().parents[4].parent / "shared" / "fixtures" / "ips"
EXAMPLES = sorted(p.name for p in DATA.iterdir() if p.suffix in (".json", ".xml"))
JUDGE_EXAMPLE = "hl7-bundle-no-info-required-sections.json"
MARTHA = {
    "family_name": "DeLarosa",
    "given_names": "Martha",
    "sex": "F",
    "date_of_birth": datetime.date(1972, 5, 1),
    "nationality": "NL",
}
JAMES = {
    "family_name": "Judge",
    "given_names": "James",
    "sex": "M",
    "date_of_birth": datetime.date(1985, 4, 25),
    "nationality": "NZ",
}


def example_bytes(name: str) -> bytes:
    """An HL7 IPS example as published (from ../shared/fixtures/ips, else the copy in tests/data)."""
    shared = SHARED / name
    return shared.read_bytes() if shared.is_file() else (DATA / name).read_bytes()


@pytest.fixture
def patient(users):
    """The profile of users["patient"]: Martha DeLarosa, the patient of three of the HL7 examples."""
    from tests.builders import make_patient

    return make_patient(users["patient"], **MARTHA)


@pytest.fixture
def case_for(db, case, hospital):
    """The case for an HL7 example: `case` (Martha's), or a case of James Judge for his example."""
    from laihua.accounts.models import Role
    from tests.builders import make_case, make_patient, make_user

    made = {}

    def make(name: str):
        if name != JUDGE_EXAMPLE:
            return case
        if "judge" not in made:
            made["judge"] = make_case(make_patient(make_user("james-judge", Role.PATIENT), **JAMES), hospital)
        return made["judge"]

    return make


MINIMAL = json.loads((DATA / "hl7-bundle-minimal.json").read_text())


@pytest.fixture
def minimal() -> dict:
    """A fresh copy of the HL7 minimal IPS (a dict) to break rule by rule."""
    return copy.deepcopy(MINIMAL)


def as_bytes(document: dict) -> bytes:
    return json.dumps(document).encode()


@pytest.fixture
def staff(users):
    return users["clinician"]


# --- documents written for the tests, following FHIR R4 and the IPS ---------------------------------

SUBJECT_OF = {"AllergyIntolerance": "patient", "Immunization": "patient"}
SECTION_OF = {
    "Condition": ("11450-4", "Problem list"),
    "AllergyIntolerance": ("48765-2", "Allergies and intolerances"),
    "MedicationStatement": ("10160-0", "Medication summary"),
    "MedicationRequest": ("10160-0", "Medication summary"),
    "MedicationAdministration": ("10160-0", "Medication summary"),
    "Immunization": ("11369-6", "History of immunizations"),
    "Observation": ("30954-2", "Results"),
    "DiagnosticReport": ("30954-2", "Results"),
    "Procedure": ("47519-4", "History of procedures"),
    "DeviceUseStatement": ("46264-8", "Medical devices"),
}
REQUIRED = ("11450-4", "48765-2", "10160-0")


def martha(**changes) -> dict:
    """The HL7 examples' Patient resource (Martha DeLarosa, born 1972-05-01), with changes."""
    resource = {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:oid:2.16.840.1.113883.2.4.6.3", "value": "574687583"}],
        "name": [{"family": "DeLarosa", "given": ["Martha"]}],
        "gender": "female",
        "birthDate": "1972-05-01",
    }
    resource.update(changes)
    return {k: v for k, v in resource.items() if v is not None}


def ips_document(
    resources=(),
    *,
    patient: dict | None = None,
    identifier: str = "urn:uuid:5d9bd3ad-3a0c-4a5e-9d2a-000000000001",
    narrative: str = '<div xmlns="http://www.w3.org/1999/xhtml">Summary</div>',
    extra=(),
) -> dict:
    """An IPS document Bundle: a Composition with the problems, allergies and medications sections
    (an empty reason when empty) and a section for each other kind, the Patient, and `resources` (each
    gets its subject or patient; `_fullUrl` sets its fullUrl, else one is made from its place).
    `extra` are entries that no section lists (such as Medication resources)."""
    patient_url = "urn:uuid:7685713c-e29e-4a75-8a90-45be7ba3be94"
    entries, sections = [], {}
    for index, given in enumerate(resources):
        resource = copy.deepcopy(given)
        url = resource.pop("_fullUrl", f"urn:uuid:00000000-0000-4000-8000-{index + 1:012d}")
        resource.setdefault(SUBJECT_OF.get(resource["resourceType"], "subject"), {"reference": patient_url})
        entries.append({"fullUrl": url, "resource": resource})
        code, title = SECTION_OF[resource["resourceType"]]
        sections.setdefault(code, (title, []))[1].append({"reference": url})
    for code, title in (("11450-4", "Problem list"), ("48765-2", "Allergies"), ("10160-0", "Medications")):
        sections.setdefault(code, (title, []))
    composition = {
        "resourceType": "Composition",
        "status": "final",
        "type": {"coding": [{"system": "http://loinc.org", "code": "60591-5"}]},
        "subject": {"reference": patient_url},
        "date": "2026-03-01T10:00:00+01:00",
        "author": [{"display": "Dr. Home"}],
        "title": "Patient summary",
        "section": [],
    }
    for code, (title, refs) in sections.items():
        section = {
            "title": title,
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "text": {"status": "generated", "div": narrative},
        }
        if refs:
            section["entry"] = refs
        else:
            section["emptyReason"] = {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/list-empty-reason", "code": "unavailable"}]
            }
        composition["section"].append(section)
    return {
        "resourceType": "Bundle",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": identifier},
        "type": "document",
        "timestamp": "2026-03-01T10:00:00+01:00",
        "entry": [
            {"fullUrl": "urn:uuid:6e1fb74a-742b-4c7b-8487-171dacb88766", "resource": composition},
            {"fullUrl": patient_url, "resource": patient or martha()},
            *entries,
            *extra,
        ],
    }


def snomed(code: str, display: str) -> dict:
    return {"coding": [{"system": "http://snomed.info/sct", "code": code, "display": display}]}
