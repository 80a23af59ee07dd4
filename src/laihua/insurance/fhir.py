"""FHIR R4 adapters for insurer exchanges, modelled on HL7 Da Vinci Prior Authorization Support (PAS).

- `claim_bundle(...)`: a Bundle (type collection) with the Claim first (use = preauthorization for a
  guarantee of payment, use = claim for the invoice's insurer part), then the Patient, the Coverage,
  the insurer and provider Organizations, the treating Practitioner and the Condition (ICD-10).
- `parse_claim_response(data)`: reads a ClaimResponse (bare, or the first one in a Bundle) into plain
  values: outcome, our status (approved, partial, pended, denied), the authorisation reference,
  amounts per adjudication category, the validity period and each item's review action.
- `parse_claim_bundle(data)`: reads an incoming Claim Bundle (from a hospital system) into plain values.

Structure and required elements are checked with the fhir.resources R4B models; what PAS needs on
top (a ClaimResponse, its references resolvable inside the Bundle, a timestamp) is checked here.
Every problem becomes one OperationOutcome issue naming the element (MalformedFhir.issues)."""

import datetime
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.claim import Claim
from fhir.resources.R4B.claimresponse import ClaimResponse
from pydantic import ValidationError

from laihua.errors import InvalidInput

PAS = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"
REVIEW_ACTION = PAS + "extension-reviewAction"
REVIEW_ACTION_CODE = PAS + "extension-reviewActionCode"
ITEM_PREAUTH_PERIOD = PAS + "extension-itemPreAuthPeriod"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
GOP_SYSTEM = "urn:laihua:gop"
INVOICE_SYSTEM = "urn:laihua:invoice"
CASE_SYSTEM = "urn:laihua:case"
MEMBER_SYSTEM = "urn:laihua:member"
CATALOG_SYSTEM = "urn:laihua:catalog"
X12_306 = "https://codesystem.x12.org/005010/306"

# X12 306 "Action code" (the PAS review action) to our status.
REVIEW_STATUS = {
    "A1": "approved",  # certified in total
    "NA": "approved",  # no action required
    "A2": "partial",  # certified, partial
    "A6": "partial",  # modified
    "A3": "denied",  # not certified
    "C": "denied",  # cancelled
    "A4": "pended",  # pended
    "CT": "pended",  # contact payer
}
STATUS_REVIEW = {"approved": "A1", "partial": "A2", "denied": "A3", "pended": "A4"}
REVIEW_DISPLAY = {"A1": "Certified in total", "A2": "Certified - partial", "A3": "Not Certified", "A4": "Pended"}


class MalformedFhir(InvalidInput):
    """FHIR input that cannot be read; `issues` lists every problem as OperationOutcome issues."""

    code = "fhir_invalid"
    status = 422
    default_message = gettext_lazy("The FHIR resource is not valid.")

    def __init__(self, issues: list[dict], message=None):
        self.issues = issues
        first = issues[0] if issues else {}
        summary = message or "; ".join(i["diagnostics"] for i in issues[:5])
        super().__init__(summary, field=first.get("expression"))


MalformedResponse = MalformedFhir


def _issue(expression: str, diagnostics: str, code: str = "required") -> dict:
    return {"severity": "error", "code": code, "diagnostics": diagnostics, "expression": expression}


def _load(data) -> dict:
    if isinstance(data, (bytes, str)):
        try:
            data = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise MalformedFhir([_issue("", _("The body is not JSON."), "structure")]) from None
    if not isinstance(data, dict) or "resourceType" not in data:
        raise MalformedFhir([_issue("resourceType", _("resourceType is missing: this is not a FHIR resource."))])
    return data


def _pydantic_issues(exc: ValidationError, prefix: str) -> list[dict]:
    issues = []
    for error in exc.errors():
        path = prefix
        for part in error.get("loc", ()):
            path += f"[{part}]" if isinstance(part, int) else f".{part}"
        missing = "missing" in error.get("type", "")
        text = (
            _("%(element)s is required but missing.") % {"element": path}
            if missing
            else _("%(element)s: %(problem)s") % {"element": path, "problem": error.get("msg", "")}
        )
        issues.append(_issue(path, text, "required" if missing else "value"))
    return issues


# --- building -------------------------------------------------------------------------------------


@dataclass
class ClaimItem:
    sequence: int
    code: str
    description: str
    quantity: int
    unit_price: Decimal
    net: Decimal
    service_date: datetime.date | None = None


def claim_bundle(
    case,
    *,
    use: str,
    items: list[ClaimItem],
    currency: str,
    total: Decimal,
    identifier: str,
    coverage,
    diagnosis_code: str = "",
    diagnosis_text: str = "",
    treating_doctor: str = "",
    period: tuple[datetime.date, datetime.date] | None = None,
    pre_auth_ref: str = "",
    created: datetime.datetime | None = None,
    status: str = "active",
) -> dict:
    """A FHIR R4 Bundle (collection) holding a Claim with `use` and everything it references, as JSON."""
    from laihua.kit import clock
    from laihua.kit.i18n import pick

    created = created or clock.now()
    patient, hospital, insurer = case.patient, case.hospital, coverage.insurer
    pid, cid, iid, hid, did = "patient", "coverage", "insurer", "provider", "practitioner"
    system = GOP_SYSTEM if use == "preauthorization" else INVOICE_SYSTEM
    patient_res = {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": MEMBER_SYSTEM + ":" + insurer.code, "value": coverage.member_id}],
        "name": [{"family": patient.family_name, "given": [patient.given_names]}],
        "gender": {"F": "female", "M": "male"}.get(getattr(patient, "sex", ""), "unknown"),
    }
    if getattr(patient, "date_of_birth", None):
        patient_res["birthDate"] = patient.date_of_birth.isoformat()
    coverage_res = {
        "resourceType": "Coverage",
        "id": cid,
        "status": "active",
        "subscriberId": coverage.member_id,
        "beneficiary": {"reference": f"Patient/{pid}"},
        "payor": [{"reference": f"Organization/{iid}"}],
        "period": {"start": coverage.valid_from.isoformat(), "end": coverage.valid_until.isoformat()},
    }
    if coverage.policy_number:
        coverage_res["identifier"] = [{"system": "urn:laihua:policy", "value": coverage.policy_number}]
    if coverage.plan:
        coverage_res["class"] = [
            {
                "type": {
                    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": "plan"}]
                },
                "value": coverage.plan[:60],
                "name": coverage.plan,
            }
        ]
    insurer_res = {"resourceType": "Organization", "id": iid, "name": insurer.name, "active": True}
    if insurer.payer_id:
        insurer_res["identifier"] = [{"system": "urn:laihua:payer", "value": insurer.payer_id}]
    provider_res = {
        "resourceType": "Organization",
        "id": hid,
        "identifier": [{"system": "urn:laihua:hospital", "value": hospital.slug}],
        "name": pick(hospital.name, "en") or hospital.slug,
        "active": True,
    }
    claim = {
        "resourceType": "Claim",
        "id": identifier,
        "identifier": [
            {"system": system, "value": identifier},
            {"system": CASE_SYSTEM, "value": case.reference},
        ],
        "status": status,
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "institutional"}]},
        "use": use,
        "patient": {"reference": f"Patient/{pid}"},
        "created": created.isoformat(),
        "insurer": {"reference": f"Organization/{iid}"},
        "provider": {"reference": f"Organization/{hid}"},
        "priority": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/processpriority", "code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": f"Coverage/{cid}"}}],
        "total": {"value": Decimal(total), "currency": currency},
    }
    if pre_auth_ref:
        claim["insurance"][0]["preAuthRef"] = [pre_auth_ref]
    entries = [claim, patient_res, coverage_res, insurer_res, provider_res]
    if treating_doctor:
        name = {"text": treating_doctor}
        entries.append({"resourceType": "Practitioner", "id": did, "name": [name]})
        claim["careTeam"] = [{"sequence": 1, "provider": {"reference": f"Practitioner/{did}"}, "responsible": True}]
    if diagnosis_code:
        coding = {"system": ICD10, "code": diagnosis_code}
        if diagnosis_text:
            coding["display"] = diagnosis_text
        entries.append(
            {
                "resourceType": "Condition",
                "id": "condition",
                "subject": {"reference": f"Patient/{pid}"},
                "code": {"coding": [coding], "text": diagnosis_text or diagnosis_code},
            }
        )
        claim["diagnosis"] = [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [coding]}}]
    if period:
        claim["billablePeriod"] = {"start": period[0].isoformat(), "end": period[1].isoformat()}
        claim["supportingInfo"] = [
            {
                "sequence": 1,
                "category": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/claiminformationcategory",
                            "code": "admissionperiod",
                        }
                    ]
                },
                "timingPeriod": {"start": period[0].isoformat(), "end": period[1].isoformat()},
            }
        ]
    claim_items = []
    for item in items:
        entry = {
            "sequence": item.sequence,
            "productOrService": {
                "coding": [
                    {
                        "system": f"{CATALOG_SYSTEM}:{hospital.slug}",
                        "code": item.code or "manual",
                        "display": item.description,
                    }
                ],
                "text": item.description,
            },
            "quantity": {"value": item.quantity},
            "unitPrice": {"value": Decimal(item.unit_price), "currency": currency},
            "net": {"value": Decimal(item.net), "currency": currency},
        }
        if diagnosis_code:
            entry["diagnosisSequence"] = [1]
        if treating_doctor:
            entry["careTeamSequence"] = [1]
        if item.service_date:
            entry["servicedDate"] = item.service_date.isoformat()
        elif period:
            entry["servicedPeriod"] = {"start": period[0].isoformat(), "end": period[1].isoformat()}
        claim_items.append(entry)
    if claim_items:
        claim["item"] = claim_items
    bundle = {
        "resourceType": "Bundle",
        "identifier": {"system": system, "value": identifier},
        "type": "collection",
        "timestamp": created.isoformat(),
        "entry": [{"fullUrl": f"{res['resourceType']}/{res['id']}", "resource": res} for res in entries],
    }
    # Validate with the R4B models, and return plain JSON.
    return json.loads(Bundle.model_validate(bundle).model_dump_json())


# --- reading a ClaimResponse ----------------------------------------------------------------------


@dataclass
class ItemAdjudication:
    sequence: int
    review_action: str = ""
    amounts: dict[str, Decimal] = field(default_factory=dict)
    currency: str = ""
    reason: str = ""
    pre_auth_ref: str = ""
    period: tuple[datetime.date | None, datetime.date | None] | None = None


@dataclass
class ParsedResponse:
    use: str
    outcome: str
    status: str
    disposition: str = ""
    request_identifier: str = ""
    identifiers: list[str] = field(default_factory=list)
    pre_auth_ref: str = ""
    period: tuple[datetime.date | None, datetime.date | None] | None = None
    total: dict[str, Decimal] = field(default_factory=dict)
    currency: str = ""
    payment_amount: Decimal | None = None
    items: list[ItemAdjudication] = field(default_factory=list)


def _code(concept) -> str:
    if concept is None:
        return ""
    for coding in concept.coding or []:
        if coding.code:
            return coding.code
    return concept.text or ""


def _date(value) -> datetime.date | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _period(p) -> tuple[datetime.date | None, datetime.date | None] | None:
    if p is None:
        return None
    return (_date(p.start), _date(p.end))


def _amount(money) -> Decimal | None:
    if money is None or money.value is None:
        return None
    try:
        return Decimal(str(money.value))
    except InvalidOperation:
        return None


def _review_action(extensions) -> tuple[str, str]:
    """(X12 306 code, authorisation number) from a PAS reviewAction extension, if any."""
    for ext in extensions or []:
        if ext.url != REVIEW_ACTION:
            continue
        code = number = ""
        for sub in ext.extension or []:
            if sub.url == REVIEW_ACTION_CODE:
                code = _code(sub.valueCodeableConcept)
            elif sub.url == "number":
                number = sub.valueString or ""
        return code, number
    return "", ""


def _bundle_resources(data: dict, issues: list[dict]) -> tuple[dict | None, dict[str, dict], str]:
    """The ClaimResponse JSON, the resources of the Bundle by "Type/id", and the expression prefix."""
    if data.get("resourceType") == "ClaimResponse":
        return data, {}, "ClaimResponse"
    if data.get("resourceType") != "Bundle":
        issues.append(
            _issue(
                "resourceType",
                _("Expected a Bundle or a ClaimResponse, got %(type)s.") % {"type": data.get("resourceType")},
                "invalid",
            )
        )
        return None, {}, ""
    by_ref, found, prefix = {}, None, ""
    for index, entry in enumerate(data.get("entry") or []):
        resource = (entry or {}).get("resource") or {}
        kind = resource.get("resourceType")
        if kind and resource.get("id"):
            by_ref[f"{kind}/{resource['id']}"] = resource
        if kind == "ClaimResponse" and found is None:
            found, prefix = resource, f"Bundle.entry[{index}].resource"
    if found is None:
        issues.append(_issue("Bundle.entry", _("The Bundle holds no ClaimResponse.")))
    if not data.get("timestamp"):
        issues.append(_issue("Bundle.timestamp", _("Bundle.timestamp is required but missing.")))
    return found, by_ref, prefix


def _unresolved(response: dict, by_ref: dict, prefix: str) -> list[dict]:
    """References of a ClaimResponse in a Bundle that point at nothing in the Bundle (PAS needs them)."""
    issues = []
    for element in ("patient", "insurer", "requestor"):
        ref = ((response.get(element) or {}).get("reference")) or ""
        if ref and "/" in ref and not ref.startswith(("http", "urn:", "#")) and ref not in by_ref:
            issues.append(
                _issue(
                    f"{prefix}.{element}",
                    _("%(element)s refers to %(ref)s, which is not in the Bundle.")
                    % {"element": f"ClaimResponse.{element}", "ref": ref},
                )
            )
    return issues


def parse_claim_response(data) -> ParsedResponse:
    """Read a ClaimResponse (bare or in a Bundle); raise MalformedFhir listing every missing element."""
    data = _load(data)
    issues: list[dict] = []
    raw, by_ref, prefix = _bundle_resources(data, issues)
    if raw is not None:
        try:
            response = ClaimResponse.model_validate(raw)
        except ValidationError as exc:
            issues.extend(_pydantic_issues(exc, prefix))
            response = None
        if by_ref:
            issues.extend(_unresolved(raw, by_ref, prefix))
    if issues or raw is None or response is None:
        raise MalformedFhir(issues or [_issue(prefix, _("The ClaimResponse cannot be read."), "invalid")])
    return _read_response(response)


def _read_response(response: ClaimResponse) -> ParsedResponse:
    items, actions = [], []
    header_period = None
    for item in response.item or []:
        adj = ItemAdjudication(sequence=item.itemSequence)
        for ext in item.extension or []:
            if ext.url == ITEM_PREAUTH_PERIOD and ext.valuePeriod is not None:
                adj.period = _period(ext.valuePeriod)
        for entry in item.adjudication or []:
            code, number = _review_action(entry.extension)
            if code:
                adj.review_action, adj.pre_auth_ref = code, number or adj.pre_auth_ref
            amount = _amount(entry.amount)
            category = _code(entry.category)
            if amount is not None and category:
                adj.amounts[category] = amount
                adj.currency = adj.currency or (entry.amount.currency or "")
            if entry.reason is not None:
                adj.reason = _code(entry.reason)
        if not adj.review_action:
            code, number = _review_action(item.extension)
            adj.review_action, adj.pre_auth_ref = code, number
        if adj.review_action:
            actions.append(adj.review_action)
        header_period = header_period or adj.period
        items.append(adj)
    total, currency = {}, ""
    for entry in response.total or []:
        amount = _amount(entry.amount)
        if amount is not None:
            total[_code(entry.category)] = amount
            currency = currency or (entry.amount.currency or "")
    currency = currency or next((i.currency for i in items if i.currency), "")
    payment_amount = _amount(response.payment.amount) if response.payment else None
    request_identifier = ""
    if response.request is not None:
        if response.request.identifier is not None and response.request.identifier.value:
            request_identifier = response.request.identifier.value
        elif response.request.reference:
            request_identifier = response.request.reference.rsplit("/", 1)[-1]
    pre_auth_ref = response.preAuthRef or next((i.pre_auth_ref for i in items if i.pre_auth_ref), "")
    period = _period(response.preAuthPeriod) or header_period
    return ParsedResponse(
        use=response.use,
        outcome=response.outcome,
        status=_overall_status(response, actions, total),
        disposition=response.disposition or "",
        request_identifier=request_identifier,
        identifiers=[i.value for i in response.identifier or [] if i.value],
        pre_auth_ref=pre_auth_ref,
        period=period,
        total=total,
        currency=currency,
        payment_amount=payment_amount,
        items=items,
    )


def _overall_status(response: ClaimResponse, actions: list[str], total: dict) -> str:
    """Our status from the items' review actions (PAS), else from the outcome and the amounts."""
    if response.outcome == "queued":
        return "pended"
    statuses = {REVIEW_STATUS.get(code, "pended") for code in actions}
    if statuses:
        if statuses == {"approved"}:
            return "approved"
        if statuses == {"denied"}:
            return "denied"
        if "pended" in statuses:
            return "pended"
        return "partial"
    if response.outcome == "error":
        return "denied"
    if response.outcome == "partial":
        return "partial"
    benefit = total.get("benefit")
    if benefit is not None and benefit == 0:
        return "denied"
    return "approved"


# --- building a ClaimResponse (portal answers are stored in the same shape) -----------------------


def claim_response(
    *,
    request_identifier: str,
    status: str,
    created: datetime.datetime,
    insurer_name: str,
    use: str = "preauthorization",
    reference: str = "",
    amount: Decimal | None = None,
    currency: str = "",
    period: tuple[datetime.date, datetime.date] | None = None,
    disposition: str = "",
    items: list[tuple[int, str, Decimal | None]] = (),
) -> dict:
    """A ClaimResponse JSON for an answer: overall status (approved, partial, pended, denied) and, per
    item sequence, its own status and approved amount."""
    outcome = {"pended": "queued", "partial": "partial"}.get(status, "complete")
    resource = {
        "resourceType": "ClaimResponse",
        "status": "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "institutional"}]},
        "use": use,
        "patient": {"display": "member"},
        "created": created.isoformat(),
        "insurer": {"display": insurer_name},
        "request": {
            "identifier": {
                "system": GOP_SYSTEM if use == "preauthorization" else INVOICE_SYSTEM,
                "value": request_identifier,
            }
        },
        "outcome": outcome,
    }
    if disposition:
        resource["disposition"] = disposition
    if reference:
        resource["preAuthRef"] = reference
    if period:
        resource["preAuthPeriod"] = {"start": period[0].isoformat(), "end": period[1].isoformat()}
    if amount is not None and currency:
        resource["total"] = [
            {
                "category": {
                    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/adjudication", "code": "benefit"}]
                },
                "amount": {"value": Decimal(amount), "currency": currency},
            }
        ]
    out_items = []
    for sequence, item_status, item_amount in items:
        code = STATUS_REVIEW.get(item_status, "A4")
        adjudication = {
            "extension": [
                {
                    "url": REVIEW_ACTION,
                    "extension": [
                        {"url": "number", "valueString": reference} if reference else None,
                        {
                            "url": REVIEW_ACTION_CODE,
                            "valueCodeableConcept": {
                                "coding": [{"system": X12_306, "code": code, "display": REVIEW_DISPLAY[code]}]
                            },
                        },
                    ],
                }
            ],
            "category": {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/adjudication", "code": "benefit"}]
            },
        }
        adjudication["extension"][0]["extension"] = [e for e in adjudication["extension"][0]["extension"] if e]
        if item_amount is not None and currency:
            adjudication["amount"] = {"value": Decimal(item_amount), "currency": currency}
        out_items.append({"itemSequence": sequence, "adjudication": [adjudication]})
    if out_items:
        resource["item"] = out_items
    return json.loads(ClaimResponse.model_validate(resource).model_dump_json())


# --- reading an incoming Claim Bundle -------------------------------------------------------------


@dataclass
class ParsedClaimItem:
    sequence: int
    code: str
    display: str
    quantity: Decimal | None
    unit_price: Decimal | None
    net: Decimal | None


@dataclass
class ParsedClaim:
    use: str
    identifiers: dict[str, str]
    created: datetime.datetime | None
    patient_family: str = ""
    patient_given: str = ""
    birth_date: datetime.date | None = None
    member_ids: list[str] = field(default_factory=list)
    insurer_name: str = ""
    insurer_identifiers: list[str] = field(default_factory=list)
    diagnoses: list[tuple[str, str]] = field(default_factory=list)  # (code, display)
    practitioner: str = ""
    period: tuple[datetime.date | None, datetime.date | None] | None = None
    items: list[ParsedClaimItem] = field(default_factory=list)
    total: Decimal | None = None
    currency: str = ""


def _person_name(names) -> tuple[str, str]:
    for name in names or []:
        return (name.family or "", " ".join(name.given or []))
    return "", ""


def parse_claim_bundle(data) -> ParsedClaim:
    """Read a Claim Bundle (or a bare Claim); raise MalformedFhir listing every problem."""
    data = _load(data)
    issues: list[dict] = []
    if data.get("resourceType") == "Claim":
        data = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": data}]}
    if data.get("resourceType") != "Bundle":
        raise MalformedFhir(
            [
                _issue(
                    "resourceType",
                    _("Expected a Bundle or a Claim, got %(type)s.") % {"type": data.get("resourceType")},
                    "invalid",
                )
            ]
        )
    try:
        bundle = Bundle.model_validate(data)
    except ValidationError as exc:
        raise MalformedFhir(_pydantic_issues(exc, "Bundle")) from None
    resources = {}
    claim = None
    for entry in bundle.entry or []:
        res = entry.resource
        if res is None:
            continue
        kind = res.get_resource_type()
        if res.id:
            resources[f"{kind}/{res.id}"] = res
        if isinstance(res, Claim) and claim is None:
            claim = res
    if claim is None:
        issues.append(_issue("Bundle.entry", _("The Bundle holds no Claim.")))
        raise MalformedFhir(issues)

    def resolve(ref):
        return resources.get(ref.reference) if ref is not None and ref.reference else None

    parsed = ParsedClaim(
        use=claim.use,
        identifiers={(i.system or ""): i.value for i in claim.identifier or [] if i.value},
        created=claim.created if isinstance(claim.created, datetime.datetime) else None,
    )
    patient = resolve(claim.patient)
    if patient is not None:
        parsed.patient_family, parsed.patient_given = _person_name(patient.name)
        parsed.birth_date = _date(patient.birthDate)
        parsed.member_ids.extend(i.value for i in patient.identifier or [] if i.value)
    for insurance in claim.insurance or []:
        coverage = resolve(insurance.coverage)
        if coverage is not None and getattr(coverage, "subscriberId", None):
            parsed.member_ids.insert(0, coverage.subscriberId)
    insurer = resolve(claim.insurer)
    if insurer is not None:
        parsed.insurer_name = insurer.name or ""
        parsed.insurer_identifiers = [i.value for i in insurer.identifier or [] if i.value]
    for diagnosis in claim.diagnosis or []:
        concept = diagnosis.diagnosisCodeableConcept
        if concept is not None:
            for coding in concept.coding or []:
                if coding.code:
                    parsed.diagnoses.append((coding.code, coding.display or concept.text or ""))
                    break
    for member in claim.careTeam or []:
        practitioner = resolve(member.provider)
        if practitioner is not None and getattr(practitioner, "name", None):
            family, given = _person_name(practitioner.name)
            parsed.practitioner = " ".join(p for p in (given, family) if p) or (practitioner.name[0].text or "")
            break
    parsed.period = _period(claim.billablePeriod)
    for info in claim.supportingInfo or []:
        if info.timingPeriod is not None and parsed.period is None:
            parsed.period = _period(info.timingPeriod)
    for item in claim.item or []:
        code, display = "", ""
        for coding in (item.productOrService.coding or []) if item.productOrService else []:
            code, display = coding.code or "", coding.display or ""
            break
        quantity = Decimal(str(item.quantity.value)) if item.quantity and item.quantity.value is not None else None
        parsed.items.append(
            ParsedClaimItem(item.sequence, code, display, quantity, _amount(item.unitPrice), _amount(item.net))
        )
        if parsed.period is None and item.servicedPeriod is not None:
            parsed.period = _period(item.servicedPeriod)
        elif parsed.period is None and item.servicedDate is not None:
            day = _date(item.servicedDate)
            parsed.period = (day, day)
    parsed.total = _amount(claim.total)
    parsed.currency = (claim.total.currency or "") if claim.total else ""
    return parsed
