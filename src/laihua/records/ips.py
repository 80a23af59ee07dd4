"""Reading an International Patient Summary: parse (JSON or XML) once, check the structure with the
fhir.resources R4B models and the IPS rules, and pull out the clinical items.

Every rule reports where it failed as a FHIRPath-like location (`Bundle.entry[3].resource.subject`);
all failures are reported together, never only the first.
"""

import hashlib
import json
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from laihua.errors import InvalidInput
from laihua.kit.fhirxml import XmlError, check_xhtml, xml_to_dict

LOINC = "http://loinc.org"
PROBLEMS, ALLERGIES, MEDICATIONS = "11450-4", "48765-2", "10160-0"
REQUIRED_SECTIONS = {
    PROBLEMS: "problems",
    ALLERGIES: "allergies",
    MEDICATIONS: "medications",
}
MAX_ISSUES = 200


class IpsInvalid(InvalidInput):
    """A document that breaks one or more rules; `issues` lists them all with their locations."""

    code = "ips_invalid"

    def __init__(self, issues: list[dict]):
        self.issues = issues[:MAX_ISSUES]
        first = issues[0] if issues else {}
        message = _("The patient summary was refused (%(count)d problems). First: %(first)s") % {
            "count": len(issues),
            "first": f"{first.get('expression', '')}: {first.get('diagnostics', '')}",
        }
        super().__init__(message, field=first.get("expression"))

    def as_dict(self) -> dict:
        return {**super().as_dict(), "issues": self.issues}


def issue(expression: str, diagnostics: str, code: str = "invalid", severity: str = "error") -> dict:
    return {"severity": severity, "code": code, "diagnostics": str(diagnostics), "expression": expression}


@dataclass
class Parsed:
    data: dict
    source_format: str
    text: str
    content_hash: str
    warnings: list = field(default_factory=list)

    @property
    def identifier(self) -> tuple[str, str]:
        ident = self.data.get("identifier") or {}
        return str(ident.get("system") or ""), str(ident.get("value") or "")

    @property
    def composition(self) -> dict:
        return self.data["entry"][0]["resource"]

    def resources(self):
        for index, entry in enumerate(self.data.get("entry") or []):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict):
                yield index, entry, resource

    def patient(self) -> dict:
        return next(r for _i, _e, r in self.resources() if r.get("resourceType") == "Patient")


# --- parsing --------------------------------------------------------------------------------------


def decode(content: bytes | str) -> tuple[dict, str, str]:
    """(FHIR JSON dict, "json" | "xml", text) of a document, or IpsInvalid at `Bundle`."""
    if isinstance(content, bytes):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise IpsInvalid([issue("Bundle", _("The file is not UTF-8 text."), "structure")]) from None
    else:
        text = content
    stripped = text.lstrip()
    if stripped.startswith("<"):
        try:
            return xml_to_dict(stripped.encode("utf-8")), "xml", text
        except XmlError as exc:
            raise IpsInvalid(
                [issue("Bundle", _("Not a FHIR XML document: %(why)s") % {"why": exc}, "structure")]
            ) from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise IpsInvalid([issue("Bundle", _("Not valid JSON: %(why)s") % {"why": exc}, "structure")]) from None
    if not isinstance(data, dict):
        raise IpsInvalid([issue("Bundle", _("A FHIR resource is a JSON object."), "structure")])
    return data, "json", text


def _path(loc) -> str:
    out = "Bundle"
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and ("[" in part or "(" in part):
            continue  # pydantic's validator names, not FHIR elements
        else:
            out += f".{part}"
    return out


def structure_issues(data: dict) -> list[dict]:
    """What the fhir.resources R4B Bundle model refuses, each with its location."""
    if data.get("resourceType") != "Bundle":
        return [issue("Bundle", _("The document is a %(type)s, not a Bundle.") % {"type": data.get("resourceType")})]
    try:
        Bundle.model_validate(data)
    except ValidationError as exc:
        return [
            issue(_path(error["loc"]), error["msg"], "required" if error["type"] == "missing" else "structure")
            for error in exc.errors(include_url=False, include_input=False)
        ]
    return []


# --- the IPS rules --------------------------------------------------------------------------------


def _codes(concept) -> set[str]:
    if not isinstance(concept, dict):
        return set()
    return {c.get("code") for c in concept.get("coding") or [] if isinstance(c, dict)}


def rule_issues(data: dict) -> list[dict]:
    """The IPS document rules the models do not check."""
    found = []
    if data.get("type") != "document":
        found.append(issue("Bundle.type", _("An IPS is a Bundle of type “document”.")))
    ident = data.get("identifier")
    if not isinstance(ident, dict) or not ident.get("value"):
        found.append(issue("Bundle.identifier", _("A document Bundle needs an identifier."), "required"))
    if not data.get("timestamp"):
        found.append(issue("Bundle.timestamp", _("A document Bundle needs a timestamp."), "required"))
    entries = data.get("entry") if isinstance(data.get("entry"), list) else []
    if not entries:
        found.append(issue("Bundle.entry", _("The document has no entries."), "required"))
        return found
    first = entries[0].get("resource") if isinstance(entries[0], dict) else None
    composition = first if isinstance(first, dict) and first.get("resourceType") == "Composition" else None
    if composition is None:
        found.append(issue("Bundle.entry[0].resource", _("The first entry of a document must be its Composition.")))
    patients = [
        i
        for i, e in enumerate(entries)
        if isinstance(e, dict)
        and isinstance(e.get("resource"), dict)
        and e["resource"].get("resourceType") == "Patient"
    ]
    if not patients:
        found.append(issue("Bundle.entry", _("The document must hold exactly one Patient; it holds none."), "required"))
    for extra in patients[1:]:
        found.append(
            issue(
                f"Bundle.entry[{extra}].resource",
                _("The document must hold exactly one Patient; this is another one."),
            )
        )
    if composition is not None:
        found += _section_issues(composition)
    found += reference_issues(entries)
    return found


def _section_issues(composition: dict) -> list[dict]:
    found = []
    sections = composition.get("section") if isinstance(composition.get("section"), list) else []
    seen = {}
    for index, section in enumerate(sections):
        if isinstance(section, dict):
            for code in _codes(section.get("code")):
                seen.setdefault(code, (index, section))
    for code, name in REQUIRED_SECTIONS.items():
        if code not in seen:
            found.append(
                issue(
                    "Bundle.entry[0].resource.section",
                    _("The %(name)s section (LOINC %(code)s) is missing.") % {"name": name, "code": code},
                    "required",
                )
            )
            continue
        index, section = seen[code]
        if not section.get("entry") and not section.get("emptyReason"):
            found.append(
                issue(
                    f"Bundle.entry[0].resource.section[{index}]",
                    _("The %(name)s section has no entries and no empty-reason.") % {"name": name},
                    "required",
                )
            )
    return found


def _targets(entries: list) -> tuple[set, set]:
    full_urls, relative = set(), set()
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        if entry.get("fullUrl"):
            full_urls.add(entry["fullUrl"])
        resource = entry.get("resource")
        if isinstance(resource, dict) and resource.get("id"):
            relative.add(f"{resource.get('resourceType')}/{resource['id']}")
    return full_urls, relative


def _elements(node, path: str, skip=()):
    """(location, element) of every complex element below node, itself included, in document order;
    `skip` names elements not to enter (and `_name` primitive companions are never entered)."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            if key in skip or key.startswith("_"):
                continue
            if isinstance(value, (dict, list)):
                yield from _elements(value, f"{path}.{key}", skip)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            if isinstance(value, (dict, list)):
                yield from _elements(value, f"{path}[{index}]", skip)


def reference_issues(entries: list) -> list[dict]:
    """Every reference must point at an entry of the Bundle (by fullUrl or Type/id) or a contained resource."""
    full_urls, relative = _targets(entries)
    found = []
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        contained = {f"#{c.get('id')}" for c in resource.get("contained") or [] if isinstance(c, dict)}
        refs = [
            (path, element["reference"])
            for path, element in _elements(resource, f"Bundle.entry[{index}].resource", skip=("contained",))
            if isinstance(element.get("reference"), str)
        ]
        for path, ref in refs:
            if ref in full_urls or ref in relative or ref in contained:
                continue
            tail = "/".join(ref.rstrip("/").split("/")[-2:])
            if "://" in ref and tail in relative and any(u.endswith(tail) for u in full_urls):
                continue
            found.append(
                issue(
                    path, _("The reference “%(ref)s” does not resolve inside the Bundle.") % {"ref": ref}, "not-found"
                )
            )
    return found


def narrative_issues(data: dict) -> list[dict]:
    """Every narrative is one well-formed XHTML <div> (FHIR's rule; the XML form could not carry it else)."""
    narratives = [
        (f"{path}.div", element["div"])
        for path, element in _elements(data, data.get("resourceType") or "Bundle")
        if isinstance(element.get("div"), str)
    ]
    found = []
    for path, text in narratives:
        try:
            check_xhtml(text, path)
        except XmlError as exc:
            found.append(issue(path, _("The narrative is not well-formed XHTML: %(why)s") % {"why": exc.args[0]}))
    return found


def parse(content: bytes | str) -> Parsed:
    """Parse and check a document; IpsInvalid with every issue, or the parsed document."""
    data, source_format, text = decode(content)
    found = structure_issues(data)
    if data.get("resourceType") == "Bundle":
        found += rule_issues(data)
    found += narrative_issues(data)
    if found:
        raise IpsInvalid(found)
    return Parsed(data, source_format, text, canonical_hash(data))


def canonical_hash(data: dict) -> str:
    """sha256 of the FHIR JSON with sorted keys and no spaces: the same whatever the file's layout."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --- clinical items -------------------------------------------------------------------------------


def concept_text(concept) -> tuple[str, list[dict]]:
    """(original text, codes) of a CodeableConcept."""
    if not isinstance(concept, dict):
        return "", []
    codes = [
        {"system": c.get("system", ""), "code": c.get("code", ""), "display": c.get("display", "")}
        for c in concept.get("coding") or []
        if isinstance(c, dict) and c.get("code")
    ]
    text = concept.get("text") or next((c["display"] for c in codes if c["display"]), "")
    return text, codes


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
        label = concept_text(component.get("code"))[0]
        value = _value(component)
        if value:
            parts.append(f"{label} {value}".strip())
    return "; ".join(parts)[:255]


def _category_codes(resource: dict) -> set:
    codes = set()
    for concept in resource.get("category") or []:
        codes |= _codes(concept)
    return codes


def items(parsed: Parsed) -> list[dict]:
    """The clinical items of a checked document, in document order, as ClinicalItem field dicts."""
    by_url = {}
    for _index, entry, resource in parsed.resources():
        if entry.get("fullUrl"):
            by_url[entry["fullUrl"]] = resource
        if resource.get("id"):
            by_url[f"{resource.get('resourceType')}/{resource['id']}"] = resource

    def resolve(reference) -> dict:
        if not isinstance(reference, dict):
            return {}
        ref = reference.get("reference") or ""
        return by_url.get(ref) or by_url.get("/".join(ref.split("/")[-2:])) or {}

    out = []
    for _index, _entry, resource in parsed.resources():
        kind_of = resource.get("resourceType")
        item = None
        if kind_of == "Condition":
            text, codes = concept_text(resource.get("code"))
            item = {
                "kind": "problem",
                "text": text,
                "codes": codes,
                "status": _first_code(resource.get("clinicalStatus")),
                "date": _date(resource, "onsetDateTime", "onsetPeriod", "recordedDate"),
            }
        elif kind_of == "AllergyIntolerance":
            text, codes = concept_text(resource.get("code"))
            reactions = [
                concept_text(m)[0]
                for reaction in resource.get("reaction") or []
                for m in reaction.get("manifestation") or []
            ]
            item = {
                "kind": "allergy",
                "text": text,
                "codes": codes,
                "status": _first_code(resource.get("clinicalStatus")),
                "date": _date(resource, "onsetDateTime", "recordedDate"),
                "value": resource.get("criticality") or "",
                "detail": {"reactions": [r for r in reactions if r]} if reactions else {},
            }
        elif kind_of in ("MedicationStatement", "MedicationRequest", "MedicationAdministration"):
            concept = resource.get("medicationCodeableConcept")
            if concept is None:
                concept = resolve(resource.get("medicationReference")).get("code")
            text, codes = concept_text(concept)
            dosage = resource.get("dosage") or resource.get("dosageInstruction") or []
            dose_text = dosage[0].get("text", "") if dosage and isinstance(dosage[0], dict) else ""
            item = {
                "kind": "medication",
                "text": text,
                "codes": codes,
                "status": resource.get("status") or "",
                "date": _date(resource, "effectiveDateTime", "effectivePeriod", "authoredOn"),
                "value": dose_text[:255],
            }
        elif kind_of == "Immunization":
            text, codes = concept_text(resource.get("vaccineCode"))
            item = {
                "kind": "immunization",
                "text": text,
                "codes": codes,
                "status": resource.get("status") or "",
                "date": _date(resource, "occurrenceDateTime"),
            }
        elif kind_of in ("Observation", "DiagnosticReport"):
            text, codes = concept_text(resource.get("code"))
            vital = "vital-signs" in _category_codes(resource)
            item = {
                "kind": "vital_sign" if vital else "result",
                "text": text,
                "codes": codes,
                "status": resource.get("status") or "",
                "date": _date(resource, "effectiveDateTime", "effectivePeriod", "issued"),
                "value": _value(resource)[:255],
            }
        elif kind_of == "Procedure":
            text, codes = concept_text(resource.get("code"))
            item = {
                "kind": "procedure",
                "text": text,
                "codes": codes,
                "status": resource.get("status") or "",
                "date": _date(resource, "performedDateTime", "performedPeriod"),
            }
        elif kind_of in ("DeviceUseStatement", "DeviceUseStatement"):
            device = resolve(resource.get("device"))
            text, codes = concept_text(device.get("type"))
            if not text:
                names = device.get("deviceName") or []
                text = names[0].get("name", "") if names else ""
            item = {
                "kind": "device",
                "text": text,
                "codes": codes,
                "status": resource.get("status") or "",
                "date": _date(resource, "timingDateTime", "timingPeriod", "recordedOn"),
            }
        if item is not None:
            item["resource_type"] = kind_of
            item["text"] = (item["text"] or "")[:2000]
            out.append(item)
    return out
