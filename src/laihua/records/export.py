"""Writing an International Patient Summary (FHIR R4 document Bundle) for a case: the Laihua patient,
the hospital as custodian and author (with the clinician), the episode summary written at discharge
(ICD-10 diagnoses, procedures, discharge medications, allergies, results, plan of care, follow-up) and
the items already known from imported documents. The result passes the importer's own checks."""

import uuid
from html import escape

from laihua.kit import clock
from laihua.records.ips import ALLERGIES, LOINC, MEDICATIONS, PROBLEMS

ICD10 = "http://hl7.org/fhir/sid/icd-10"
EMPTY_REASON = "http://terminology.hl7.org/CodeSystem/list-empty-reason"
IDENTIFIER_SYSTEM = "urn:ietf:rfc:3986"
GENDER = {"F": "female", "M": "male", "X": "other"}

SECTIONS = [
    # (key, LOINC code, title, item kinds, mandatory)
    ("problems", PROBLEMS, "Problem list", ("problem",), True),
    ("allergies", ALLERGIES, "Allergies and intolerances", ("allergy",), True),
    ("medications", MEDICATIONS, "Medication summary", ("medication",), True),
    ("immunizations", "11369-6", "History of immunizations", ("immunization",), False),
    ("results", "30954-2", "Relevant diagnostic tests and laboratory data", ("result",), False),
    ("procedures", "47519-4", "History of procedures", ("procedure",), False),
    ("devices", "46264-8", "Medical devices", ("device",), False),
    ("vital_signs", "8716-3", "Vital signs", ("vital_sign",), False),
]
PLAN_OF_CARE = ("18776-5", "Plan of care")


def _uuid() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _concept(text: str, codes: list[dict]) -> dict:
    concept = {}
    coding = [{k: v for k, v in c.items() if v and k in ("system", "code", "display")} for c in codes if c.get("code")]
    if coding:
        concept["coding"] = coding
    if text:
        concept["text"] = text
    return concept or {"text": "unknown"}


def _div(lines: list[str]) -> dict:
    body = "".join(f"<li>{escape(line)}</li>" for line in lines if line) or "<li>No information</li>"
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><ul>{body}</ul></div>'}


def _resource(kind: str, item: dict, patient_ref: str) -> tuple[dict, list[tuple[str, dict]]]:
    """The FHIR resource of one item (and any resource it needs, such as a Device)."""
    subject = {"reference": patient_ref}
    concept = _concept(item.get("text", ""), item.get("codes", []))
    date = item.get("date") or ""
    extra: list[tuple[str, dict]] = []
    if kind == "problem":
        res = {"resourceType": "Condition", "subject": subject, "code": concept}
        status = item.get("status") or "active"
        res["clinicalStatus"] = {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": status}]
        }
        if date:
            res["onsetDateTime"] = date
    elif kind == "allergy":
        res = {"resourceType": "AllergyIntolerance", "patient": subject, "code": concept}
        if item.get("value") in ("low", "high", "unable-to-assess"):
            res["criticality"] = item["value"]
        if date:
            res["onsetDateTime"] = date
    elif kind == "medication":
        res = {
            "resourceType": "MedicationStatement",
            "status": item.get("status") if item.get("status") in _MED_STATUS else "active",
            "medicationCodeableConcept": concept,
            "subject": subject,
        }
        if item.get("value"):
            res["dosage"] = [{"text": item["value"]}]
        if date:
            res["effectiveDateTime"] = date
    elif kind == "immunization":
        res = {
            "resourceType": "Immunization",
            "status": item.get("status")
            if item.get("status") in ("completed", "entered-in-error", "not-done")
            else "completed",
            "vaccineCode": concept,
            "patient": subject,
            "occurrenceDateTime": date or clock.today().isoformat(),
        }
    elif kind in ("result", "vital_sign"):
        category = "vital-signs" if kind == "vital_sign" else "laboratory"
        res = {
            "resourceType": "Observation",
            "status": item.get("status") if item.get("status") in _OBS_STATUS else "final",
            "category": [
                {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": category}]}
            ],
            "code": concept,
            "subject": subject,
        }
        if date:
            res["effectiveDateTime"] = date
        if item.get("value"):
            res["valueString"] = item["value"]
    elif kind == "procedure":
        res = {
            "resourceType": "Procedure",
            "status": item.get("status") if item.get("status") in _PROC_STATUS else "completed",
            "code": concept,
            "subject": subject,
        }
        if date:
            res["performedDateTime"] = date
    elif kind == "device":
        device_url = _uuid()
        extra.append((device_url, {"resourceType": "Device", "type": concept}))
        res = {
            "resourceType": "DeviceUseStatement",
            "status": item.get("status") if item.get("status") in _DEVICE_STATUS else "active",
            "subject": subject,
            "device": {"reference": device_url},
        }
    else:  # pragma: no cover - kinds are a closed list
        raise ValueError(kind)
    return res, extra


_MED_STATUS = {"active", "completed", "entered-in-error", "intended", "stopped", "on-hold", "unknown", "not-taken"}
_OBS_STATUS = {"registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown"}
_PROC_STATUS = {
    "preparation",
    "in-progress",
    "not-done",
    "on-hold",
    "stopped",
    "completed",
    "entered-in-error",
    "unknown",
}
_DEVICE_STATUS = {"active", "completed", "entered-in-error", "intended", "stopped", "on-hold"}


def summary_items(summary) -> list[dict]:
    """The episode summary's lines as item dicts (ICD-10 coded diagnoses)."""
    out = []
    if summary is None:
        return out
    for row in summary.diagnoses:
        codes = [{"system": ICD10, "code": row["code"], "display": row.get("text", "")}] if row.get("code") else []
        out.append({"kind": "problem", "text": row.get("text", ""), "codes": codes, "status": "active"})
    for row in summary.procedures:
        out.append({"kind": "procedure", "text": row.get("text", ""), "codes": [], "date": row.get("date", "")})
    for row in summary.medications:
        out.append({"kind": "medication", "text": row.get("text", ""), "codes": [], "value": row.get("dosage", "")})
    for row in summary.allergies:
        out.append({"kind": "allergy", "text": row.get("text", ""), "codes": []})
    for row in summary.results:
        out.append({"kind": "result", "text": row.get("text", ""), "codes": [], "value": row.get("value", "")})
    return out


def _key(item: dict) -> tuple:
    first = item["codes"][0] if item.get("codes") else {}
    return (item["kind"], first.get("system", ""), first.get("code", ""), (item.get("text") or "").lower())


def build_bundle(case, *, items: list[dict], summary=None, author=None) -> dict:
    """The IPS document Bundle (FHIR JSON dict) of a case from item dicts and the episode summary."""
    patient, hospital = case.patient, case.hospital
    now = clock.now().isoformat(timespec="seconds")
    patient_url, org_url, composition_url = _uuid(), _uuid(), _uuid()
    entries: list[tuple[str, dict]] = []
    patient_res = {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:laihua:patient", "value": str(patient.pk)}],
        "name": [
            {"family": patient.family_name, **({"given": patient.given_names.split()} if patient.given_names else {})}
        ],
        "gender": GENDER.get(patient.sex, "unknown"),
        "birthDate": patient.date_of_birth.isoformat(),
    }
    if patient.nationality:
        patient_res["address"] = [{"country": str(patient.nationality)}]
    org_res = {
        "resourceType": "Organization",
        "name": hospital.name.get("en") or hospital.name.get("zh-hans") or hospital.slug,
        "alias": [hospital.name.get("zh-hans")] if hospital.name.get("zh-hans") else [],
    }
    if not org_res["alias"]:
        del org_res["alias"]
    authors = [{"reference": org_url}]
    practitioner = None
    if author is not None:
        practitioner_url = _uuid()
        name = author.get_full_name() or author.get_username()
        practitioner = (practitioner_url, {"resourceType": "Practitioner", "name": [{"text": name}]})
        authors.insert(0, {"reference": practitioner_url})

    seen, by_kind = set(), {}
    for item in summary_items(summary) + items:
        key = _key(item)
        if key in seen:
            continue
        seen.add(key)
        by_kind.setdefault(item["kind"], []).append(item)

    sections = []
    for _key_name, code, title, kinds, mandatory in SECTIONS:
        refs, lines = [], []
        for kind in kinds:
            for item in by_kind.get(kind, []):
                url = _uuid()
                res, extra = _resource(kind, item, patient_url)
                entries.append((url, res))
                entries.extend(extra)
                refs.append({"reference": url})
                lines.append(" ".join(filter(None, [item.get("text"), item.get("value")])))
        if not refs and not mandatory:
            continue
        section = {
            "title": title,
            "code": {"coding": [{"system": LOINC, "code": code}]},
            "text": _div(lines),
        }
        if refs:
            section["entry"] = refs
        else:
            section["emptyReason"] = {"coding": [{"system": EMPTY_REASON, "code": "unavailable"}]}
        sections.append(section)
    if summary is not None and (summary.plan_of_care or summary.follow_up):
        sections.append(
            {
                "title": PLAN_OF_CARE[1],
                "code": {"coding": [{"system": LOINC, "code": PLAN_OF_CARE[0]}]},
                "text": _div([summary.plan_of_care, summary.follow_up and f"Follow-up: {summary.follow_up}"]),
            }
        )
    composition = {
        "resourceType": "Composition",
        "status": "final",
        "type": {"coding": [{"system": LOINC, "code": "60591-5", "display": "Patient summary Document"}]},
        "subject": {"reference": patient_url},
        "date": now,
        "author": authors,
        "title": f"International Patient Summary – {hospital.name.get('en', '')} – {case.reference}",
        "custodian": {"reference": org_url},
        "section": sections,
    }
    all_entries = [(composition_url, composition), (patient_url, patient_res), (org_url, org_res)]
    if practitioner:
        all_entries.append(practitioner)
    all_entries += entries
    return {
        "resourceType": "Bundle",
        "identifier": {"system": IDENTIFIER_SYSTEM, "value": _uuid()},
        "type": "document",
        "timestamp": now,
        "entry": [{"fullUrl": url, "resource": res} for url, res in all_entries],
    }
