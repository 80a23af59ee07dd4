"""FHIR R4 adapters for insurer exchanges, modelled on HL7 Da Vinci Prior Authorization Support (PAS).

One name space for the rest of Laihua (`from laihua.insurance import fhir; fhir.claim_bundle(...)`):
- `build`: `claim_bundle` (the Claim Bundle sent to the insurer), `claim_response` and
  `response_bundle` (the PAS answer to $submit and $inquire);
- `claim`: `parse_claim_bundle`, an incoming PAS request Bundle into plain values;
- `response`: `parse_claim_response`, an insurer's ClaimResponse into plain values;
- `refs`: references resolved by fullUrl as FHIR requires; `checks`: amounts, quantities, currencies
  and required codes; `base`: code systems and MalformedFhir, whose `issues` are OperationOutcome issues.

Structure and required elements are checked with the fhir.resources R4B models; what FHIR and PAS
need on top is checked here, every problem one issue naming the element."""

from laihua.insurance.fhir.base import (
    CASE_SYSTEM,
    CATALOG_SYSTEM,
    GOP_SYSTEM,
    ICD10,
    ICD10_SYSTEMS,
    INVOICE_SYSTEM,
    ITEM_PREAUTH_PERIOD,
    MEMBER_SYSTEM,
    PAS,
    RESPONSE_OUTCOME,
    REVIEW_ACTION,
    REVIEW_ACTION_CODE,
    REVIEW_DISPLAY,
    REVIEW_STATUS,
    STATUS_REVIEW,
    X12_306,
    MalformedFhir,
    issue,
    load,
    plain,
)
from laihua.insurance.fhir.build import ClaimItem, claim_bundle, claim_response, full_url, response_bundle
from laihua.insurance.fhir.checks import MAX_QUANTITY
from laihua.insurance.fhir.claim import Diagnosis, ParsedClaim, ParsedClaimItem, parse_claim_bundle, patient_differences
from laihua.insurance.fhir.refs import BundleIndex
from laihua.insurance.fhir.response import ItemAdjudication, ParsedResponse, parse_claim_response

MalformedResponse = MalformedFhir


def _load(data) -> dict:
    """The body as plain JSON (what the services store), refused as MalformedFhir when it is not FHIR JSON."""
    return plain(load(data))


__all__ = [
    "CASE_SYSTEM",
    "CATALOG_SYSTEM",
    "GOP_SYSTEM",
    "ICD10",
    "ICD10_SYSTEMS",
    "INVOICE_SYSTEM",
    "ITEM_PREAUTH_PERIOD",
    "MAX_QUANTITY",
    "MEMBER_SYSTEM",
    "PAS",
    "RESPONSE_OUTCOME",
    "REVIEW_ACTION",
    "REVIEW_ACTION_CODE",
    "REVIEW_DISPLAY",
    "REVIEW_STATUS",
    "STATUS_REVIEW",
    "X12_306",
    "BundleIndex",
    "ClaimItem",
    "Diagnosis",
    "ItemAdjudication",
    "MalformedFhir",
    "MalformedResponse",
    "ParsedClaim",
    "ParsedClaimItem",
    "ParsedResponse",
    "claim_bundle",
    "claim_response",
    "full_url",
    "issue",
    "load",
    "parse_claim_bundle",
    "parse_claim_response",
    "patient_differences",
    "plain",
    "response_bundle",
]
