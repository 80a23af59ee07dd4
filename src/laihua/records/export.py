"""Writing an International Patient Summary (FHIR R4 document Bundle) for a case: the Laihua patient,
the hospital as custodian and author (with the clinician), the episode summary written at discharge
(ICD-10 diagnoses, procedures, discharge medications, allergies, results, plan of care, follow-up) and
every distinct item known from imported documents, each as the sender wrote it: its status, its dates
(onset and abatement, effective period...), its dosage (structured, as received), its value and its
identifiers. A Provenance per source document says where the items come from (and whether a clinician
matched that document to the patient by hand). Each item keeps its fullUrl from one export to the next
(its own urn:uuid, or one derived from the key it is known by), so a re-sent export is known again.
The result passes every one of the importer's checks, warnings included."""

import json
import uuid
from collections.abc import Iterator
from html import escape

from laihua.kit import clock, fhirxml
from laihua.records.discharge import plan_of_care_lines, summary_items
from laihua.records.extraction import TIMES
from laihua.records.ips import ALLERGIES, LOINC, MEDICATIONS, PROBLEMS

ICD10 = "http://hl7.org/fhir/sid/icd-10"
EMPTY_REASON = "http://terminology.hl7.org/CodeSystem/list-empty-reason"
IDENTIFIER_SYSTEM = "urn:ietf:rfc:3986"
GENDER = {"F": "female", "M": "male", "X": "other"}
MATCHED_BY_HAND = "https://laihua.org/fhir/StructureDefinition/patient-matched-by-hand"
ITEM_NAMESPACE = uuid.UUID("6f1d4c1e-7b1a-4f59-9c55-3a2f0e0c9b11")

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


def _coded(system: str, code: str) -> dict:
    return {"coding": [{"system": system, "code": code}]}


def _div(lines: list[str]) -> dict:
    body = "".join(f"<li>{escape(line)}</li>" for line in lines if line) or "<li>No information</li>"
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><ul>{body}</ul></div>'}


CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
_CONDITION_STATUS = {"active", "recurrence", "relapse", "inactive", "remission", "resolved"}
_CONDITION_ABATED = {"inactive", "remission", "resolved"}  # con-4
_CONDITION_VERIFICATION = {"unconfirmed", "provisional", "differential", "confirmed", "refuted", "entered-in-error"}
_ALLERGY_STATUS = {"active", "inactive", "resolved"}
_ALLERGY_VERIFICATION = {"unconfirmed", "confirmed", "refuted", "entered-in-error"}
_MED_STATUS = {"active", "completed", "entered-in-error", "intended", "stopped", "on-hold", "unknown", "not-taken"}
# A MedicationRequest's or MedicationAdministration's status as a MedicationStatement's.
_MED_STATUS_FROM = {"cancelled": "stopped", "draft": "intended", "in-progress": "active", "not-done": "not-taken"}
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
_IMM_STATUS = {"completed", "entered-in-error", "not-done"}
_DEVICE_STATUS = {"active", "completed", "entered-in-error", "intended", "stopped", "on-hold"}
_RENAMED = {"authoredOn": "dateAsserted"}  # MedicationRequest.authoredOn as MedicationStatement.dateAsserted


def _times(res: dict, item: dict, fallback: str) -> None:
    """The item's time elements as received; an item without them (the discharge summary's, or one
    stored before they were kept) gives its date as `fallback`."""
    kept = (item.get("detail") or {}).get("time")
    if isinstance(kept, dict):
        allowed = TIMES[res["resourceType"]]  # an exported type takes the time elements it was read with
        for name, value in kept.items():
            name = _RENAMED.get(name, name)
            if name in allowed and value not in (None, "", {}, []):
                res[name] = value
        return
    if item.get("date") and fallback:
        res[fallback] = item["date"]


def _resource(kind: str, item: dict, patient_ref: str) -> tuple[dict, list[tuple[str, dict]]]:
    """The FHIR resource of one item (and any resource it needs, such as a Device)."""
    subject = {"reference": patient_ref}
    concept = _concept(item.get("text", ""), item.get("codes", []))
    detail = item.get("detail") or {}
    status = item.get("status") or ""
    extra: list[tuple[str, dict]] = []
    if kind == "problem":
        res = {"resourceType": "Condition", "subject": subject, "code": concept}
        verification = detail.get("verification")
        if status in _CONDITION_STATUS and verification != "entered-in-error":  # con-5
            res["clinicalStatus"] = _coded(CONDITION_CLINICAL, status)
        if verification in _CONDITION_VERIFICATION:
            res["verificationStatus"] = _coded(CONDITION_VERIFICATION, verification)
        _times(res, item, "onsetDateTime")
        if status not in _CONDITION_ABATED:  # con-4: only an abated condition has an abatement
            for name in [n for n in res if n.startswith("abatement")]:
                del res[name]
    elif kind == "allergy":
        res = {"resourceType": "AllergyIntolerance", "patient": subject, "code": concept}
        verification = detail.get("verification")
        if status in _ALLERGY_STATUS and verification != "entered-in-error":  # ait-2
            res["clinicalStatus"] = _coded(ALLERGY_CLINICAL, status)
        if verification in _ALLERGY_VERIFICATION:
            res["verificationStatus"] = _coded(ALLERGY_VERIFICATION, verification)
        if item.get("value") in ("low", "high", "unable-to-assess"):
            res["criticality"] = item["value"]
        reactions = [r for r in detail.get("reactions") or [] if isinstance(r, str) and r]
        if reactions:
            res["reaction"] = [{"manifestation": [{"text": r} for r in reactions]}]
        _times(res, item, "onsetDateTime")
    elif kind == "medication":
        status = _MED_STATUS_FROM.get(status, status)
        res = {
            "resourceType": "MedicationStatement",
            "status": status if status in _MED_STATUS else ("active" if not detail else "unknown"),
            "medicationCodeableConcept": concept,
            "subject": subject,
        }
        dosages = [d for d in detail.get("dosage") or [] if isinstance(d, dict)]
        if dosages:
            res["dosage"] = dosages
        elif item.get("value"):
            res["dosage"] = [{"text": item["value"]}]
        _times(res, item, "effectiveDateTime")
    elif kind == "immunization":
        res = {
            "resourceType": "Immunization",
            "status": status if status in _IMM_STATUS else "completed",
            "vaccineCode": concept,
            "patient": subject,
        }
        _times(res, item, "occurrenceDateTime")
        if not any(name.startswith("occurrence") for name in res):
            res["occurrenceString"] = "unknown"
    elif kind in ("result", "vital_sign"):
        category = "vital-signs" if kind == "vital_sign" else "laboratory"
        res = {
            "resourceType": "Observation",
            "status": status if status in _OBS_STATUS else ("final" if not detail else "unknown"),
            "category": [_coded("http://terminology.hl7.org/CodeSystem/observation-category", category)],
            "code": concept,
            "subject": subject,
        }
        _times(res, item, "effectiveDateTime")
        kept = detail.get("observation") if item.get("resource_type", "Observation") == "Observation" else None
        if isinstance(kept, dict) and kept:
            res.update(kept)
        elif item.get("value"):
            res["valueString"] = item["value"]
    elif kind == "procedure":
        res = {
            "resourceType": "Procedure",
            "status": status if status in _PROC_STATUS else ("completed" if not detail else "unknown"),
            "code": concept,
            "subject": subject,
        }
        _times(res, item, "performedDateTime")
    elif kind == "device":
        device_url = _uuid()
        extra.append((device_url, {"resourceType": "Device", "type": concept}))
        res = {
            "resourceType": "DeviceUseStatement",
            "status": status if status in _DEVICE_STATUS else "active",
            "subject": subject,
            "device": {"reference": device_url},
        }
        _times(res, item, "")
    else:  # pragma: no cover - kinds are a closed list
        raise ValueError(kind)
    identifiers = [i for i in detail.get("identifiers") or [] if isinstance(i, dict) and i.get("value")]
    if identifiers:
        res = {"resourceType": res.pop("resourceType"), "identifier": identifiers, **res}
    return res, extra


def _item_url(case, item: dict, used: set) -> str:
    """The item's fullUrl: its own urn:uuid when it came with one, else one derived from its key; the
    same from one export to the next."""
    key = item.get("key") or ""
    url = key[4:] if key.startswith("url:urn:uuid:") else ""
    if not url or url in used:
        url = f"urn:uuid:{uuid.uuid5(ITEM_NAMESPACE, f'{case.reference}|{key}')}"
    used.add(url)
    return url


def _line(item: dict) -> str:
    """The item in the section's narrative: text, value or dosage, status, date."""
    parts = [item.get("text") or "unknown"]
    how = item.get("dosage_en") or item.get("value")
    if how:
        parts.append(str(how))
    if item.get("status"):
        parts.append(str(item["status"]))
    if item.get("date"):
        parts.append(str(item["date"])[:10])
    return " — ".join(parts)


def _provenance(source: dict, targets: list[str], recorded: str) -> dict:
    """Where a document's items come from; a document matched to the patient by hand says who, when and why."""
    who = source.get("author") or source.get("title") or "unknown sender"
    provenance = {
        "resourceType": "Provenance",
        "target": [{"reference": url} for url in targets],
        "recorded": source.get("stored") or recorded,
        "agent": [
            {
                "type": _coded("http://terminology.hl7.org/CodeSystem/provenance-participant-type", "author"),
                "who": {"display": who},
            }
        ],
        "entity": [
            {
                "role": "source",
                "what": {
                    "identifier": {k: source[k] for k in ("system", "value") if source.get(k)},
                    **({"display": source["title"]} if source.get("title") else {}),
                },
            }
        ],
    }
    matched = source.get("matched_by_hand")
    if matched:
        provenance["extension"] = [
            {
                "url": MATCHED_BY_HAND,
                "extension": [
                    {"url": "reason", "valueString": matched["reason"]},
                    {"url": "matchedBy", "valueString": matched["by"] or "unknown"},
                    {"url": "matchedAt", "valueDateTime": matched["at"]},
                    *[{"url": "field", "valueCode": field} for field in matched["fields"] if field],
                ],
            }
        ]
        provenance["agent"].append(
            {
                "type": _coded("http://terminology.hl7.org/CodeSystem/provenance-participant-type", "verifier"),
                "who": {"display": matched["by"] or "unknown"},
            }
        )
    return provenance


def _plan_of_care_section(summary) -> list[dict]:
    """The discharge summary's plan of care and dated follow-up instructions (LOINC 18776-5), as narrative;
    the summary's coded entries go to the problems, procedures and medications sections (discharge.py)."""
    lines = plan_of_care_lines(summary)
    if not lines:
        return []
    return [
        {
            "title": PLAN_OF_CARE[1],
            "code": {"coding": [{"system": LOINC, "code": PLAN_OF_CARE[0]}]},
            "text": _div(lines),
        }
    ]


def build_bundle(case, *, items: list[dict], summary=None, author=None) -> dict:
    """The IPS document Bundle (FHIR JSON dict) of a case from item dicts and the episode summary."""

    numbered = [{**item, "id": index} for index, item in enumerate(items)]

    def of_kinds(kinds):
        return (item for item in numbered if item["kind"] in kinds)

    def again(ids):
        return [numbered[i] for i in ids]

    header, entries = bundle_parts(case, items=of_kinds, again=again, summary=summary, author=author)
    return {**header, "entry": [{"fullUrl": url, "resource": res} for url, res in entries]}


def bundle_parts(
    case, *, items, again, summary=None, author=None, chunk: int = 500
) -> tuple[dict, Iterator[tuple[str, dict]]]:
    """The IPS document Bundle of a case in parts: the Bundle without its entries, and its entries
    ((fullUrl, resource), in order) made one at a time, so that a large export is written as it is made.

    `items(kinds)` gives the item dicts (each with its `id`) of some kinds, in order: read once for the
    Composition's sections and the Provenances; `again(ids)` gives the same items again, `chunk` at a
    time, for their resources. Only the items' ids, fullUrls and narrative lines are held in between (an
    item that stopped being current meanwhile is still written: the document stays whole)."""
    patient, hospital = case.patient, case.hospital
    now = clock.now().isoformat(timespec="seconds")
    patient_url, org_url, composition_url = _uuid(), _uuid(), _uuid()
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

    written = {}
    for index, item in enumerate(summary_items(summary)):
        written.setdefault(item["kind"], []).append({**item, "key": f"summary:{item['kind']}:{index}"})

    def of_section(kinds):
        for kind in kinds:
            yield from written.get(kind, [])
            yield from items((kind,))

    sections, used, sourced = [], set(), {}
    order: list[tuple[str, str, object]] = []  # (kind, fullUrl, an imported item's id or a summary item)
    for _key_name, code, title, kinds, mandatory in SECTIONS:
        refs, lines = [], []
        for item in of_section(kinds):
            url = _item_url(case, item, used)
            order.append((item["kind"], url, item.get("id", item)))
            refs.append({"reference": url})
            lines.append(_line(item))
            if item.get("source"):
                sourced.setdefault(item["source"]["document"], (item["source"], []))[1].append(url)
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
    sections.extend(_plan_of_care_section(summary))
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
    header = {
        "resourceType": "Bundle",
        "identifier": {"system": IDENTIFIER_SYSTEM, "value": _uuid()},
        "type": "document",
        "timestamp": now,
    }

    def entries():
        yield composition_url, composition
        yield patient_url, patient_res
        yield org_url, org_res
        if practitioner:
            yield practitioner
        for start in range(0, len(order), chunk):
            part = order[start : start + chunk]
            found = iter(again([ref for _kind, _url, ref in part if not isinstance(ref, dict)]))
            for kind, url, ref in part:
                res, extra = _resource(kind, ref if isinstance(ref, dict) else next(found), patient_url)
                yield url, res
                yield from extra
        for source, targets in sourced.values():
            yield _uuid(), _provenance(source, targets, now)

    return header, entries()


def json_chunks(header: dict, entries, *, size: int = 65536) -> Iterator[bytes]:
    """The Bundle as FHIR JSON (UTF-8), written as its entries come, about `size` bytes at a time."""
    head = json.dumps({**header, "entry": []}, ensure_ascii=False)
    buffer = [head[: -len("]}")]]
    length, first = len(buffer[0]), True
    for url, resource in entries:
        text = ("" if first else ", ") + json.dumps({"fullUrl": url, "resource": resource}, ensure_ascii=False)
        first = False
        buffer.append(text)
        length += len(text)
        if length >= size:
            yield "".join(buffer).encode("utf-8")
            buffer, length = [], 0
    buffer.append("]}")
    yield "".join(buffer).encode("utf-8")


_XML_ROOT = b'<Bundle xmlns="http://hl7.org/fhir">\n  '
_XML_END = b"\n</Bundle>"


def xml_chunks(header: dict, entries, *, size: int = 65536) -> Iterator[bytes]:
    """The Bundle as FHIR XML, the same bytes as `fhirxml.to_xml` of the whole Bundle, written as its entries
    come: each entry is written alone and put in place."""
    head = fhirxml.to_xml(header)
    buffer = [head[: -len(_XML_END)]]
    length = len(buffer[0])
    for url, resource in entries:
        one = fhirxml.to_xml({"resourceType": "Bundle", "entry": [{"fullUrl": url, "resource": resource}]})
        start = one.index(_XML_ROOT) + len(_XML_ROOT)
        text = b"\n  " + one[start : -len(_XML_END)]
        buffer.append(text)
        length += len(text)
        if length >= size:
            yield b"".join(buffer)
            buffer, length = [], 0
    buffer.append(_XML_END)
    yield b"".join(buffer)
