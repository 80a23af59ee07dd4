"""Building the FHIR R4 resources Laihua sends, validated with the fhir.resources R4B models.

- `claim_bundle(...)`: a Bundle (type collection) with the Claim first (use = preauthorization for a
  guarantee of payment, use = claim for the invoice's insurer part), then the Patient, the Coverage,
  the insurer and provider Organizations, the treating Practitioner and the Condition (ICD-10). Every
  entry has a `urn:uuid:` fullUrl (stable for the same request) and references use them, as FHIR
  requires of a Bundle that is not on a server.
- `claim_response(...)`: a ClaimResponse for an answer (portal answers are stored in this shape, and
  PAS $submit / $inquire answer with one).
- `response_bundle(...)`: the PAS answer: a collection Bundle whose first entry is the ClaimResponse,
  followed by the resources it references."""

import datetime
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.claimresponse import ClaimResponse

from laihua.insurance.fhir.base import (
    ADJUDICATION,
    CASE_SYSTEM,
    CATALOG_SYSTEM,
    CLAIM_TYPE,
    GOP_SYSTEM,
    ICD10,
    INVOICE_SYSTEM,
    MEMBER_SYSTEM,
    REVIEW_ACTION,
    REVIEW_ACTION_CODE,
    REVIEW_DISPLAY,
    STATUS_REVIEW,
    X12_306,
)


@dataclass
class ClaimItem:
    sequence: int
    code: str
    description: str
    quantity: int
    unit_price: Decimal
    net: Decimal
    service_date: datetime.date | None = None


def full_url(system: str, identifier: str, resource_type: str, resource_id: str) -> str:
    """A urn:uuid that stays the same for the same resource of the same request (rebuilt Bundles agree)."""
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"{system}|{identifier}|{resource_type}/{resource_id}"))


def _ref(url: str) -> dict:
    return {"reference": url}


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

    def url(kind: str, rid: str) -> str:
        return full_url(system, identifier, kind, rid)

    patient_url, coverage_url = url("Patient", pid), url("Coverage", cid)
    insurer_url, provider_url = url("Organization", iid), url("Organization", hid)
    practitioner_url, condition_url = url("Practitioner", did), url("Condition", "condition")
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
        "beneficiary": _ref(patient_url),
        "payor": [_ref(insurer_url)],
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
        "type": {"coding": [{"system": CLAIM_TYPE, "code": "institutional"}]},
        "use": use,
        "patient": _ref(patient_url),
        "created": created.isoformat(),
        "insurer": _ref(insurer_url),
        "provider": _ref(provider_url),
        "priority": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/processpriority", "code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": _ref(coverage_url)}],
        "total": {"value": Decimal(total), "currency": currency},
    }
    if pre_auth_ref:
        claim["insurance"][0]["preAuthRef"] = [pre_auth_ref]
    entries = [
        (url("Claim", identifier), claim),
        (patient_url, patient_res),
        (coverage_url, coverage_res),
        (insurer_url, insurer_res),
        (provider_url, provider_res),
    ]
    if treating_doctor:
        entries.append(
            (practitioner_url, {"resourceType": "Practitioner", "id": did, "name": [{"text": treating_doctor}]})
        )
        claim["careTeam"] = [{"sequence": 1, "provider": _ref(practitioner_url), "responsible": True}]
    if diagnosis_code:
        coding = {"system": ICD10, "code": diagnosis_code}
        if diagnosis_text:
            coding["display"] = diagnosis_text
        condition = {
            "resourceType": "Condition",
            "id": "condition",
            "subject": _ref(patient_url),
            "code": {"coding": [coding], "text": diagnosis_text or diagnosis_code},
        }
        entries.append((condition_url, condition))
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
        "entry": [{"fullUrl": entry_url, "resource": res} for entry_url, res in entries],
    }
    # Validate with the R4B models, and return plain JSON.
    return json.loads(Bundle.model_validate(bundle).model_dump_json())


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
    response_id: str = "",
    patient: dict | None = None,
    insurer: dict | None = None,
    requestor: dict | None = None,
    request: dict | None = None,
    notes: list[str] = (),
) -> dict:
    """A ClaimResponse JSON for an answer: overall status (submitted, approved, partial, pended, denied,
    cancelled) and, per item sequence, its own status and approved amount. `patient`, `insurer`,
    `requestor` and `request` are References (by default a display or our request's identifier);
    `notes` become processNote entries (type display) that PAS clients show."""
    outcome = {"submitted": "queued", "pended": "queued", "partial": "partial"}.get(status, "complete")
    resource = {
        "resourceType": "ClaimResponse",
        "status": "cancelled" if status == "cancelled" else "active",
        "type": {"coding": [{"system": CLAIM_TYPE, "code": "institutional"}]},
        "use": use,
        "patient": patient or {"display": "member"},
        "created": created.isoformat(),
        "insurer": insurer or {"display": insurer_name},
        "request": request
        or {
            "identifier": {
                "system": GOP_SYSTEM if use == "preauthorization" else INVOICE_SYSTEM,
                "value": request_identifier,
            }
        },
        "outcome": outcome,
    }
    if response_id:
        resource["id"] = response_id
        resource["identifier"] = [{"system": GOP_SYSTEM, "value": request_identifier}]
    if requestor:
        resource["requestor"] = requestor
    if disposition:
        resource["disposition"] = disposition
    if reference:
        resource["preAuthRef"] = reference
    if period:
        resource["preAuthPeriod"] = {"start": period[0].isoformat(), "end": period[1].isoformat()}
    if amount is not None and currency:
        resource["total"] = [
            {
                "category": {"coding": [{"system": ADJUDICATION, "code": "benefit"}]},
                "amount": {"value": Decimal(amount), "currency": currency},
            }
        ]
    out_items = []
    for sequence, item_status, item_amount in items:
        code = STATUS_REVIEW.get(item_status, "A4")
        action = [{"url": "number", "valueString": reference}] if reference else []
        action.append(
            {
                "url": REVIEW_ACTION_CODE,
                "valueCodeableConcept": {
                    "coding": [{"system": X12_306, "code": code, "display": REVIEW_DISPLAY[code]}]
                },
            }
        )
        adjudication = {
            "extension": [{"url": REVIEW_ACTION, "extension": action}],
            "category": {"coding": [{"system": ADJUDICATION, "code": "benefit"}]},
        }
        if item_amount is not None and currency:
            adjudication["amount"] = {"value": Decimal(item_amount), "currency": currency}
        out_items.append({"itemSequence": sequence, "adjudication": [adjudication]})
    if out_items:
        resource["item"] = out_items
    if notes:
        resource["processNote"] = [
            {"number": number, "type": "display", "text": str(text)} for number, text in enumerate(notes, start=1)
        ]
    return json.loads(ClaimResponse.model_validate(resource).model_dump_json())


def response_bundle(
    response: dict, others: list[tuple[str, dict]], *, response_url: str, identifier: str, timestamp: datetime.datetime
) -> dict:
    """The PAS answer to $submit and $inquire: a collection Bundle, the ClaimResponse first, then the
    resources it references (each (fullUrl, resource))."""
    bundle = {
        "resourceType": "Bundle",
        "identifier": {"system": GOP_SYSTEM, "value": identifier},
        "type": "collection",
        "timestamp": timestamp.isoformat(),
        "entry": [{"fullUrl": response_url, "resource": response}]
        + [{"fullUrl": url, "resource": resource} for url, resource in others],
    }
    return json.loads(Bundle.model_validate(bundle).model_dump_json())
