"""Reading an incoming Claim Bundle (Da Vinci PAS request, or a bare Claim) into plain values.

References are resolved by fullUrl as FHIR says (refs.BundleIndex). The care team's provider may be a
Practitioner, a PractitionerRole (its practitioner's name and its organization's) or an Organization;
without a care team, a Practitioner or PractitionerRole as Claim.provider is the treating doctor.
Diagnoses (0..*) are read in PAS order (the principal one first, then by sequence), from a
CodeableConcept or a Condition in the Bundle. Every problem is one OperationOutcome issue located
FHIRPath-like from the Claim (`Claim.item[2].unitPrice.value`) or the Bundle (`Bundle.entry[3].fullUrl`)."""

import datetime
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from django.utils.translation import gettext as _
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from laihua.insurance.fhir.base import (
    ICD10_SYSTEMS,
    MalformedFhir,
    issue,
    load,
    ordered,
    pydantic_issues,
    shallow,
    to_amount,
    to_date,
    to_period,
)
from laihua.insurance.fhir.checks import claim_problems
from laihua.insurance.fhir.refs import BundleIndex, reference_of, unresolved

PREFIX = "Claim"
PROVIDERS = ("Practitioner", "PractitionerRole", "Organization")
EXPECTED = {
    "Claim.patient": ("Patient",),
    "Claim.insurer": ("Organization",),
    "Claim.provider": PROVIDERS,
    "Claim.careTeam.provider": PROVIDERS,
    "Claim.insurance.coverage": ("Coverage",),
    "Claim.diagnosis.diagnosisReference": ("Condition",),
}
DIAGNOSIS_TYPE_ORDER = {"principal": 0, "admitting": 1}


class Diagnosis(NamedTuple):
    code: str
    display: str
    system: str
    location: str


@dataclass
class ParsedClaimItem:
    sequence: int
    code: str
    display: str
    quantity: Decimal | None
    unit_price: Decimal | None
    net: Decimal | None
    location: str = ""
    currency: str = ""


@dataclass
class ParsedClaim:
    use: str
    identifiers: dict[str, str]
    created: datetime.datetime | None
    identifier_list: list[tuple[str, str]] = field(default_factory=list)
    patient_found: bool = False
    patient_reference: str = ""
    patient_family: str = ""
    patient_given: str = ""
    patient_names: list[tuple[str, str, str]] = field(default_factory=list)  # (family, given, text)
    birth_date: datetime.date | None = None
    member_ids: list[str] = field(default_factory=list)
    insurer_name: str = ""
    insurer_identifiers: list[str] = field(default_factory=list)
    diagnoses: list[Diagnosis] = field(default_factory=list)
    practitioner: str = ""
    provider_location: str = ""
    period: tuple[datetime.date | None, datetime.date | None] | None = None
    items: list[ParsedClaimItem] = field(default_factory=list)
    total: Decimal | None = None
    currency: str = ""


def _name_text(name) -> tuple[str, str, str]:
    return (name.family or "", " ".join(name.given or []), name.text or "")


def person_name(resource) -> str:
    """ "Given Family" of a Practitioner (or its text), else ""."""
    for name in getattr(resource, "name", None) or []:
        family, given, text = _name_text(name)
        joined = " ".join(part for part in (given, family) if part)
        if joined or text:
            return joined or text
    return ""


def _rebase(path: str, index: int) -> str:
    head = f"Bundle.entry[{index}].resource"
    return PREFIX + path[len(head) :] if path.startswith(head) else path


def _unwrap(data: dict) -> dict:
    if data.get("resourceType") == "Claim":
        return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": data}]}
    if data.get("resourceType") != "Bundle":
        raise MalformedFhir(
            [
                issue(
                    "resourceType",
                    _("Expected a Bundle or a Claim, got %(type)s.") % {"type": data.get("resourceType")},
                    "invalid",
                )
            ]
        )
    return data


@shallow
def parse_claim_bundle(data) -> ParsedClaim:
    """Read a Claim Bundle (or a bare Claim); raise MalformedFhir listing every problem."""
    data = _unwrap(load(data))
    issues: list[dict] = []
    entries = data.get("entry") if isinstance(data.get("entry"), list) else []
    bare = (
        not data.get("timestamp") and len(entries) == 1 and isinstance(entries[0], dict) and "fullUrl" not in entries[0]
    )
    kinds = [((e or {}).get("resource") or {}).get("resourceType") if isinstance(e, dict) else None for e in entries]
    if "Claim" not in kinds:
        raise MalformedFhir([issue("Bundle.entry", _("The Bundle holds no Claim."), "structure")])
    if kinds[0] != "Claim":
        issues.append(issue("Bundle.entry[0]", _("The Claim must be the first entry of the Bundle."), "structure"))
    if not bare and not data.get("timestamp"):
        issues.append(issue("Bundle.timestamp", _("Bundle.timestamp is required but missing.")))
    claim_index = kinds.index("Claim")
    raw_claim = entries[claim_index]["resource"]
    issues.extend(claim_problems(raw_claim, PREFIX))
    covered = {i["expression"] for i in issues}
    try:
        bundle = Bundle.model_validate(data)
    except ValidationError as exc:
        more = pydantic_issues(exc, "Bundle", lambda path: _rebase(path, claim_index))
        raise MalformedFhir(ordered(issues + [i for i in more if i["expression"] not in covered])) from None
    index = BundleIndex(data)
    issues.extend(index.problems())
    issues.extend(unresolved(index, claim_index, raw_claim, PREFIX, EXPECTED, skip=("Claim.related",)))
    if issues:
        raise MalformedFhir(ordered(issues))
    reader = _Reader(bundle, index, claim_index)
    parsed = reader.read()
    if reader.issues:
        raise MalformedFhir(reader.issues)
    return parsed


class _Reader:
    def __init__(self, bundle, index: BundleIndex, claim_index: int):
        self.bundle, self.index, self.claim_index = bundle, index, claim_index
        self.claim = bundle.entry[claim_index].resource
        self.issues: list[dict] = []

    def resolve(self, ref, from_index: int | None = None):
        """(entry index, R4B resource) of a Reference, or (None, None)."""
        found = self.index.resolve(reference_of(ref), self.claim_index if from_index is None else from_index)
        if found is None:
            return None, None
        return found, self.bundle.entry[found].resource

    def read(self) -> ParsedClaim:
        claim = self.claim
        parsed = ParsedClaim(
            use=claim.use,
            identifiers={(i.system or ""): i.value for i in claim.identifier or [] if i.value},
            identifier_list=[(i.system or "", i.value) for i in claim.identifier or [] if i.value],
            created=claim.created if isinstance(claim.created, datetime.datetime) else None,
        )
        self._patient(parsed)
        for insurance in claim.insurance or []:
            _i, coverage = self.resolve(insurance.coverage)
            if coverage is not None and getattr(coverage, "subscriberId", None):
                parsed.member_ids.insert(0, coverage.subscriberId)
        _i, insurer = self.resolve(claim.insurer)
        if insurer is not None:
            parsed.insurer_name = insurer.name or ""
            parsed.insurer_identifiers = [i.value for i in insurer.identifier or [] if i.value]
        parsed.diagnoses = self._diagnoses()
        parsed.practitioner, parsed.provider_location = self._treating()
        self._dates_and_items(parsed)
        return parsed

    def _patient(self, parsed: ParsedClaim) -> None:
        parsed.patient_reference = reference_of(self.claim.patient)
        _i, patient = self.resolve(self.claim.patient)
        if patient is None:
            self.issues.append(
                issue(
                    "Claim.patient",
                    _("Claim.patient must refer to the Patient entry of the Bundle (by its fullUrl)."),
                )
            )
            return
        parsed.patient_found = True
        parsed.patient_names = [_name_text(name) for name in patient.name or []]
        if parsed.patient_names:
            parsed.patient_family, parsed.patient_given = parsed.patient_names[0][:2]
        parsed.birth_date = to_date(patient.birthDate)
        parsed.member_ids.extend(i.value for i in patient.identifier or [] if i.value)

    def _coded(self, concept, location: str) -> Diagnosis | None:
        if concept is None:
            return None
        codings = [c for c in concept.coding or [] if c.code]
        icd = [c for c in codings if (c.system or "") in ICD10_SYSTEMS]
        chosen = (icd or codings or [None])[0]
        if chosen is None:
            return None
        return Diagnosis(chosen.code.strip(), chosen.display or concept.text or "", chosen.system or "", location)

    def _diagnoses(self) -> list[Diagnosis]:
        ranked = []
        for position, diagnosis in enumerate(self.claim.diagnosis or []):
            location = f"Claim.diagnosis[{position}]"
            found = self._coded(diagnosis.diagnosisCodeableConcept, f"{location}.diagnosisCodeableConcept")
            if found is None and diagnosis.diagnosisReference is not None:
                _i, condition = self.resolve(diagnosis.diagnosisReference)
                if condition is not None:
                    found = self._coded(getattr(condition, "code", None), f"{location}.diagnosisReference")
            if found is None:
                continue
            rank = min(
                (DIAGNOSIS_TYPE_ORDER.get(c.code, 9) for t in diagnosis.type or [] for c in t.coding or []), default=9
            )
            ranked.append((rank, diagnosis.sequence or position + 1, position, found))
        return [found for *_order, found in sorted(ranked, key=lambda row: row[:3])]

    def _provider_text(self, ref, location: str) -> str:
        """The name of a Practitioner, PractitionerRole (practitioner and organization) or Organization."""
        found, provider = self.resolve(ref)
        if provider is None:
            return ""
        kind = provider.get_resource_type()
        if kind == "Practitioner":
            return person_name(provider)
        if kind == "Organization":
            return provider.name or ""
        if kind == "PractitionerRole":
            names = {}
            for element in ("practitioner", "organization"):
                target = getattr(provider, element, None)
                if target is None:
                    continue
                _j, resolved = self.resolve(target, found)
                if resolved is None:
                    self.issues.append(
                        issue(
                            f"{location}.{element}",
                            _("PractitionerRole.%(element)s refers to %(ref)s, which is not in the Bundle.")
                            % {"element": element, "ref": reference_of(target) or "?"},
                            "not-found",
                        )
                    )
                    continue
                names[element] = person_name(resolved) if element == "practitioner" else (resolved.name or "")
            doctor, organisation = names.get("practitioner", ""), names.get("organization", "")
            if doctor and organisation:
                return f"{doctor} ({organisation})"
            return doctor or organisation
        return ""

    def _treating(self) -> tuple[str, str]:
        """(name, location) of the treating doctor: the care team's responsible or primary member first."""
        members = []
        for position, member in enumerate(self.claim.careTeam or []):
            roles = {c.code for c in (member.role.coding or [])} if member.role else set()
            rank = 0 if member.responsible else 1 if "primary" in roles else 2
            members.append((rank, member.sequence or position + 1, position, member))
        for *_order, position, member in sorted(members, key=lambda row: row[:3]):
            location = f"Claim.careTeam[{position}].provider"
            text = self._provider_text(member.provider, location)
            if text:
                return text[:200], location
        provider = self.claim.provider
        _i, resource = self.resolve(provider)
        if resource is not None and resource.get_resource_type() in ("Practitioner", "PractitionerRole"):
            text = self._provider_text(provider, "Claim.provider")
            if text:
                return text[:200], "Claim.provider"
        return "", ""

    def _dates_and_items(self, parsed: ParsedClaim) -> None:
        claim = self.claim
        parsed.period = to_period(claim.billablePeriod)
        for info in claim.supportingInfo or []:
            if info.timingPeriod is not None and parsed.period is None:
                parsed.period = to_period(info.timingPeriod)
        for position, item in enumerate(claim.item or []):
            code, display = "", ""
            for coding in (item.productOrService.coding or []) if item.productOrService else []:
                code, display = coding.code or "", coding.display or ""
                break
            display = display or (item.productOrService.text or "" if item.productOrService else "")
            quantity = Decimal(str(item.quantity.value)) if item.quantity and item.quantity.value is not None else None
            currency = (item.unitPrice.currency if item.unitPrice else None) or (
                item.net.currency if item.net else None
            )
            parsed.items.append(
                ParsedClaimItem(
                    item.sequence,
                    code,
                    display,
                    quantity,
                    to_amount(item.unitPrice),
                    to_amount(item.net),
                    location=f"Claim.item[{position}]",
                    currency=(currency or "").upper(),
                )
            )
            if parsed.period is None and item.servicedPeriod is not None:
                parsed.period = to_period(item.servicedPeriod)
            elif parsed.period is None and item.servicedDate is not None:
                day = to_date(item.servicedDate)
                parsed.period = (day, day)
        parsed.total = to_amount(claim.total)
        parsed.currency = ((claim.total.currency or "") if claim.total else "").upper()


def _fold(text: str) -> str:
    """A name compared loosely: case, accents, spaces, hyphens and apostrophes do not count."""
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[\s\-'’.,]+", "", text.casefold())


def patient_differences(parsed: ParsedClaim, family: str, given: str, birth_date: datetime.date | None) -> list[str]:
    """What of the Bundle's Patient does not match the case's patient: "name" and/or "birthDate"."""
    wanted_family, wanted_given = _fold(family), _fold(given)
    whole = {_fold(f"{given} {family}"), _fold(f"{family} {given}")}
    name_ok = any(
        (_fold(f) == wanted_family and _fold(g) == wanted_given) or (t and _fold(t) in whole)
        for f, g, t in parsed.patient_names
    )
    out = [] if name_ok else ["name"]
    if birth_date is not None and parsed.birth_date != birth_date:
        out.append("birthDate")
    return out
