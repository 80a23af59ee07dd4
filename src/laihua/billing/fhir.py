"""FHIR at billing's boundary. The Claim (use = claim) is built by the insurance domain's adapter
(laihua.insurance.fhir.claim_bundle) and insurers' ClaimResponses are parsed by it; here: the
ClaimResponse finance enters by hand, and the invoice as a FHIR Invoice, both validated with the R4B models."""

import json
from decimal import Decimal

from fhir.resources.R4B.claimresponse import ClaimResponse
from fhir.resources.R4B.invoice import Invoice as FhirInvoice

ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
INVOICE_SYSTEM = "urn:laihua:invoice"


def _category(code: str, amount: Decimal, currency: str = "CNY", reason: str = "") -> dict:
    entry = {
        "category": {"coding": [{"system": ADJUDICATION, "code": code}]},
        "amount": {"value": amount, "currency": currency},
    }
    if reason:
        entry["reason"] = {"text": reason}
    return entry


def claim_response_resource(claim, answers) -> dict:
    """The answer to a claim as a FHIR ClaimResponse (use = claim): per item what was submitted and paid."""
    items = []
    for answer in answers:
        adjudication = [_category("submitted", answer.line.insurer_cny), _category("benefit", answer.paid)]
        unpaid = answer.adjusted + answer.rejected
        if unpaid:
            reason = answer.reason or ("rejected" if answer.rejected else "adjusted")
            adjudication.append(_category("eligible", answer.paid, reason=reason))
        items.append({"itemSequence": answer.line.position, "adjudication": adjudication})
    paid = sum((answer.paid for answer in answers), Decimal("0.00"))
    submitted = sum((answer.line.insurer_cny for answer in answers), Decimal("0.00"))
    resource = {
        "resourceType": "ClaimResponse",
        "status": "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "institutional"}]},
        "use": "claim",
        "patient": {"display": claim.invoice.case.reference},
        "created": claim.submitted_at.isoformat(),
        "insurer": {"display": claim.insurer_name or "insurer"},
        "request": {"identifier": {"system": INVOICE_SYSTEM, "value": claim.number}},
        "outcome": "complete" if paid == submitted else "partial",
        "total": [_category("submitted", submitted), _category("benefit", paid)],
    }
    if items:
        resource["item"] = items
    return json.loads(ClaimResponse.model_validate(resource).model_dump_json())


def invoice_resource(invoice, lines) -> dict:
    """The invoice as a FHIR Invoice (status draft | issued | balanced | cancelled | entered-in-error)."""
    resource = {
        "resourceType": "Invoice",
        "status": invoice.status,
        "subject": {"display": invoice.case.reference},
        "issuer": {"display": invoice.hospital.name.get("en", "")},
        "lineItem": [
            {
                "sequence": line.position,
                "chargeItemCodeableConcept": {"text": line.code or line.description.get("en", "")},
                "priceComponent": [{"type": "base", "amount": {"value": line.amount_cny, "currency": "CNY"}}],
            }
            for line in lines
        ],
        "totalGross": {"value": invoice.total_cny, "currency": "CNY"},
        "totalNet": {"value": invoice.total_cny, "currency": "CNY"},
    }
    if invoice.number:
        resource["identifier"] = [{"system": INVOICE_SYSTEM, "value": invoice.number}]
    if invoice.issued_at:
        resource["date"] = invoice.issued_at.isoformat()
    if invoice.cancel_reason:
        resource["cancelledReason"] = invoice.cancel_reason
    return json.loads(FhirInvoice.model_validate(resource).model_dump_json())
