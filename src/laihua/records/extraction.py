"""The clinical items of a checked IPS document: problems, allergies, medications, immunizations,
results, vital signs, procedures and devices, each with its original text, all its codes, its status,
its dates and value as the sender wrote them (kept in `detail` to be exported again), and the keys that
know it again in a re-sent document.

References are resolved wherever FHIR allows them: to a resource contained in the one that refers
(`#med1`), to an entry of the Bundle by its fullUrl, by `Type/id` or by an absolute URL ending in it.
An entry whose item would have neither a code nor a text is a problem of the document (the caller
refuses it, naming the entry): an item nobody can read is never stored.
"""

from django.utils.translation import gettext as _

KINDS = {
    "Condition": "problem",
    "AllergyIntolerance": "allergy",
    "MedicationStatement": "medication",
    "MedicationRequest": "medication",
    "MedicationAdministration": "medication",
    "Immunization": "immunization",
    "Observation": "result",
    "DiagnosticReport": "result",
    "Procedure": "procedure",
    "DeviceUseStatement": "device",
}
# The elements that say when, per resource type, kept as written (and exported again).
TIMES = {
    "Condition": (
        "onsetDateTime",
        "onsetAge",
        "onsetPeriod",
        "onsetRange",
        "onsetString",
        "abatementDateTime",
        "abatementAge",
        "abatementPeriod",
        "abatementRange",
        "abatementString",
        "recordedDate",
    ),
    "AllergyIntolerance": (
        "onsetDateTime",
        "onsetAge",
        "onsetPeriod",
        "onsetRange",
        "onsetString",
        "recordedDate",
        "lastOccurrence",
    ),
    "MedicationStatement": ("effectiveDateTime", "effectivePeriod", "dateAsserted"),
    "MedicationRequest": ("authoredOn",),
    "MedicationAdministration": ("effectiveDateTime", "effectivePeriod"),
    "Immunization": ("occurrenceDateTime", "occurrenceString", "recorded"),
    "Observation": ("effectiveDateTime", "effectivePeriod", "effectiveInstant", "issued"),
    "DiagnosticReport": ("effectiveDateTime", "effectivePeriod", "issued"),
    "Procedure": ("performedDateTime", "performedPeriod", "performedString", "performedAge", "performedRange"),
    "DeviceUseStatement": ("timingDateTime", "timingPeriod", "recordedOn"),
}
OBSERVATION_VALUES = (
    "valueQuantity",
    "valueCodeableConcept",
    "valueString",
    "valueBoolean",
    "valueInteger",
    "valueRange",
    "valueRatio",
    "valueTime",
    "valueDateTime",
    "valuePeriod",
)


def _codes(concept) -> set[str]:
    if not isinstance(concept, dict):
        return set()
    return {c.get("code") for c in concept.get("coding") or [] if isinstance(c, dict)}


def concept_text(concept) -> tuple[str, list[dict]]:
    """(original text, codes) of a CodeableConcept; the text falls back to a coding's display."""
    if not isinstance(concept, dict):
        return "", []
    codings = [c for c in concept.get("coding") or [] if isinstance(c, dict)]
    codes = [
        {"system": c.get("system", ""), "code": c.get("code", ""), "display": c.get("display", "")}
        for c in codings
        if c.get("code")
    ]
    text = concept.get("text") or next((c["display"] for c in codings if c.get("display")), "")
    return str(text), codes


def _first_code(concept) -> str:
    codes = concept_text(concept)[1]
    return codes[0]["code"] if codes else ""


def _date(resource: dict, *names) -> str:
    for name in names:
        value = resource.get(name)
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and isinstance(value.get("start"), str):
            return value["start"]
    return ""


def _value(resource: dict) -> str:
    quantity = resource.get("valueQuantity")
    if isinstance(quantity, dict) and quantity.get("value") is not None:
        return f"{quantity['value']} {quantity.get('unit') or quantity.get('code') or ''}".strip()
    concept = resource.get("valueCodeableConcept")
    if concept:
        return concept_text(concept)[0]
    for name in ("valueString", "valueBoolean", "valueInteger", "valueDateTime"):
        if resource.get(name) is not None:
            return str(resource[name])
    parts = []
    for component in resource.get("component") or []:
        if not isinstance(component, dict):
            continue
        label = concept_text(component.get("code"))[0]
        value = _value(component)
        if value:
            parts.append(f"{label} {value}".strip())
    if not parts and isinstance(resource.get("conclusion"), str):
        return resource["conclusion"]
    return "; ".join(parts)[:255]


def _category_codes(resource: dict) -> set:
    codes = set()
    for concept in resource.get("category") or []:
        codes |= _codes(concept)
    return codes


class Resolver:
    """Finds what a Reference points at: a contained resource of the referring one, or an entry."""

    def __init__(self, entries: list):
        self.by_url = {}
        for entry in entries:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(resource, dict):
                continue
            if isinstance(entry.get("fullUrl"), str):
                self.by_url[entry["fullUrl"]] = resource
            if resource.get("id"):
                self.by_url[f"{resource.get('resourceType')}/{resource['id']}"] = resource

    def resolve(self, reference, container: dict) -> dict:
        if not isinstance(reference, dict) or not isinstance(reference.get("reference"), str):
            return {}
        ref = reference["reference"]
        if ref.startswith("#"):
            return next(
                (
                    c
                    for c in container.get("contained") or []
                    if isinstance(c, dict) and c.get("id") is not None and f"#{c['id']}" == ref
                ),
                {},
            )
        return self.by_url.get(ref) or self.by_url.get("/".join(ref.rstrip("/").split("/")[-2:])) or {}


def source_keys(entry: dict, resource: dict, bundle_identifier: tuple[str, str]) -> list[str]:
    """The keys that know an entry again: its fullUrl, its id in this document, its identifiers."""
    document = "|".join(bundle_identifier)
    keys = []
    url = entry.get("fullUrl")
    if isinstance(url, str) and url:
        keys.append(f"url:{url}" if url.startswith("urn:") or "://" in url else f"doc:{document}|url:{url}")
    kind = resource.get("resourceType")
    if resource.get("id"):
        keys.append(f"doc:{document}|{kind}/{resource['id']}")
    for ident in identifiers(resource):
        if ident.get("system"):
            keys.append(f"id:{kind}|{ident['system']}|{ident['value']}")
    return keys


def identifiers(resource: dict) -> list[dict]:
    out = []
    for ident in resource.get("identifier") or []:
        if isinstance(ident, dict) and isinstance(ident.get("value"), str) and ident["value"]:
            out.append({k: ident[k] for k in ("system", "value") if isinstance(ident.get(k), str)})
    return out


def _dosages(resource: dict) -> list[dict]:
    """The Dosages of a medication resource (a MedicationAdministration's dosage as a Dosage)."""
    if resource.get("resourceType") == "MedicationAdministration":
        given = resource.get("dosage")
        if not isinstance(given, dict):
            return []
        dosage = {k: given[k] for k in ("text", "site", "route", "method") if k in given}
        rate = {k: given[k] for k in ("rateRatio", "rateQuantity") if k in given}
        if given.get("dose") or rate:
            dosage["doseAndRate"] = [{**({"doseQuantity": given["dose"]} if given.get("dose") else {}), **rate}]
        return [dosage] if dosage else []
    found = resource.get("dosage") if resource.get("resourceType") == "MedicationStatement" else None
    if found is None:
        found = resource.get("dosageInstruction")
    return [d for d in found or [] if isinstance(d, dict)]


def _medication(resource: dict, resolver: Resolver) -> tuple[str, list[dict]]:
    concept = resource.get("medicationCodeableConcept")
    reference = resource.get("medicationReference")
    text, codes = concept_text(concept)
    if concept is None and isinstance(reference, dict):
        medication = resolver.resolve(reference, resource)
        text, codes = concept_text(medication.get("code"))
        if not text and not codes:
            ingredients = [
                concept_text(i.get("itemCodeableConcept"))[0]
                or concept_text(resolver.resolve(i.get("itemReference"), medication).get("code"))[0]
                for i in medication.get("ingredient") or []
                if isinstance(i, dict)
            ]
            text = " + ".join(i for i in ingredients if i)
        if not text and isinstance(reference.get("display"), str):
            text = reference["display"]
    return text, codes


def _item(resource: dict, resolver: Resolver) -> dict | None:
    kind_of = resource.get("resourceType")
    if kind_of not in KINDS:
        return None
    item = {"kind": KINDS[kind_of], "status": resource.get("status") or "", "detail": {}}
    if kind_of == "Condition":
        item["text"], item["codes"] = concept_text(resource.get("code"))
        item["status"] = _first_code(resource.get("clinicalStatus"))
        item["date"] = _date(resource, "onsetDateTime", "onsetPeriod", "recordedDate")
        verification = _first_code(resource.get("verificationStatus"))
        if verification:
            item["detail"]["verification"] = verification
    elif kind_of == "AllergyIntolerance":
        item["text"], item["codes"] = concept_text(resource.get("code"))
        item["status"] = _first_code(resource.get("clinicalStatus"))
        item["date"] = _date(resource, "onsetDateTime", "recordedDate")
        item["value"] = resource.get("criticality") or ""
        reactions = [
            concept_text(m)[0]
            for reaction in resource.get("reaction") or []
            if isinstance(reaction, dict)
            for m in reaction.get("manifestation") or []
        ]
        if any(reactions):
            item["detail"]["reactions"] = [r for r in reactions if r]
        verification = _first_code(resource.get("verificationStatus"))
        if verification:
            item["detail"]["verification"] = verification
    elif KINDS[kind_of] == "medication":
        item["text"], item["codes"] = _medication(resource, resolver)
        item["date"] = _date(resource, "effectiveDateTime", "effectivePeriod", "authoredOn")
        dosages = _dosages(resource)
        item["value"] = "; ".join(str(d["text"]) for d in dosages if d.get("text"))[:255]
        if dosages:
            item["detail"]["dosage"] = dosages
    elif kind_of == "Immunization":
        item["text"], item["codes"] = concept_text(resource.get("vaccineCode"))
        item["date"] = _date(resource, "occurrenceDateTime")
    elif kind_of in ("Observation", "DiagnosticReport"):
        item["text"], item["codes"] = concept_text(resource.get("code"))
        if "vital-signs" in _category_codes(resource):
            item["kind"] = "vital_sign"
        item["date"] = _date(resource, "effectiveDateTime", "effectivePeriod", "issued")
        item["value"] = _value(resource)[:255]
        kept = {k: resource[k] for k in (*OBSERVATION_VALUES, "component") if k in resource}
        if kind_of == "Observation" and kept:
            item["detail"]["observation"] = kept
    elif kind_of == "Procedure":
        item["text"], item["codes"] = concept_text(resource.get("code"))
        item["date"] = _date(resource, "performedDateTime", "performedPeriod")
    elif kind_of == "DeviceUseStatement":
        reference = resource.get("device")
        device = resolver.resolve(reference, resource)
        item["text"], item["codes"] = concept_text(device.get("type"))
        if not item["text"]:
            names = [n for n in device.get("deviceName") or [] if isinstance(n, dict) and n.get("name")]
            item["text"] = names[0]["name"] if names else ""
        if not item["text"] and isinstance(reference, dict) and isinstance(reference.get("display"), str):
            item["text"] = reference["display"]
        item["date"] = _date(resource, "timingDateTime", "timingPeriod", "recordedOn")
    times = {k: resource[k] for k in TIMES[kind_of] if k in resource}
    if times:
        item["detail"]["time"] = times
    found = identifiers(resource)
    if found:
        item["detail"]["identifiers"] = found
    item["resource_type"] = kind_of
    item["text"] = (item.get("text") or "")[:2000]
    item.setdefault("value", "")
    item.setdefault("date", "")
    return item


def extract(data: dict, bundle_identifier: tuple[str, str]) -> tuple[list[dict], list[tuple[str, str]]]:
    """(the items as ClinicalItem field dicts in document order, [(location, problem)] of entries that
    would give an item with neither a code nor a text)."""
    entries = data.get("entry") if isinstance(data.get("entry"), list) else []
    resolver = Resolver(entries)
    rows, problems = [], []
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        item = _item(resource, resolver)
        if item is None:
            continue
        if not item["text"] and not item["codes"]:
            problems.append(
                (
                    f"Bundle.entry[{index}].resource",
                    _("This %(type)s names nothing: it has neither a code nor a text to show.")
                    % {"type": item["resource_type"]},
                )
            )
            continue
        item["source_keys"] = source_keys(entry, resource, bundle_identifier)
        rows.append(item)
    return rows, problems
