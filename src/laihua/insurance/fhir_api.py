"""FHIR routes of the insurance domain (mounted under /fhir/ by laihua.fhir_api), Da Vinci PAS style.

- POST /fhir/Claim/$submit: a hospital system sends a PAS request Bundle (Claim, use = preauthorization)
  for one case (a Claim.identifier with system urn:laihua:case, or ?case=REF). Laihua builds the GOP
  request from the case's accepted quote with the Claim's diagnosis, treating doctor and dates, and
  answers with a PAS response Bundle: the ClaimResponse first (outcome queued until the insurer decides,
  or the decision when the same Claim was already decided), then the resources it references. What of
  the Claim was ignored is in ClaimResponse.processNote.
- POST /fhir/Claim/$inquire: a PAS inquiry Bundle; the answer is the same Bundle for the request its
  Claim.identifier names.
- POST /fhir/Claim: the same as $submit, answered with the Claim Bundle kept for the insurer (201), and
  an OperationOutcome entry at its end when something was ignored.
- GET /fhir/Claim?status=active|pending|cancelled|all: the GOP requests the caller may see, as a
  searchset Bundle (insurer agents: their members' only). GET /fhir/Claim/{number}: one Claim Bundle.
- GET /fhir/ClaimResponse/{number}: the stored answer. Insurers post their answers (POST /fhir/ClaimResponse)
  to laihua.billing.fhir_api, which hands an answer to a GOP back to insurance: insurance does not import
  billing.

The $-operations are declared before /Claim/{number}, so that their paths are never read as a number.
"""

import uuid

from django.utils.translation import gettext as _
from ninja import Router, Status

from laihua.accounts.auth import AUTH
from laihua.errors import NotFound
from laihua.insurance import fhir, pas, services
from laihua.kit.fhirhttp import json_response, operation_outcome

router = Router(tags=["insurance"], auth=AUTH)


@router.post(
    "/Claim/$submit",
    response=dict,
    summary="PAS $submit: a prior-authorisation request Bundle for a case; answers a ClaimResponse Bundle",
)
def submit(request, case: str = ""):
    gop, _created = pas.submit(request.auth, request.body, case)
    return json_response(request, pas.answer_bundle(gop), 200)


@router.post(
    "/Claim/$inquire",
    response=dict,
    summary="PAS $inquire: the current ClaimResponse Bundle for the Claim the posted Bundle identifies",
)
def inquire(request):
    gop = pas.inquire(request.auth, request.body)
    return json_response(request, pas.answer_bundle(gop), 200)


@router.post(
    "/Claim", response={200: dict, 201: dict}, summary="Send a GOP request (Claim Bundle, use = preauthorization)"
)
def post_claim(request, case: str = ""):
    gop, created = pas.submit(request.auth, request.body, case)
    body = dict(gop.claim_json)
    if created and gop.warnings:
        outcome = operation_outcome(pas.warning_issues(gop.warnings))
        body["entry"] = [*body.get("entry", []), {"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": outcome}]
    return Status(201 if created else 200, body)


@router.get("/Claim", response=dict, summary="GOP requests you may see, as a searchset Bundle")
def search_claims(request, status: str = "active"):
    gops = services.search_claims(request.auth, status)
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(gops),
        "entry": [
            {
                "fullUrl": fhir.full_url(fhir.GOP_SYSTEM, gop.number, "Bundle", gop.number),
                "resource": gop.claim_json,
                "search": {"mode": "match"},
            }
            for gop in gops
        ],
    }


@router.get("/Claim/{number}", response=dict, url_name="claim_read", summary="One GOP request as a Claim Bundle")
def read_claim(request, number: str):
    return services.get_guarantee(request.auth, number).claim_json


@router.get("/ClaimResponse/{number}", response=dict, summary="The answer recorded for a GOP request")
def read_claim_response(request, number: str):
    gop = services.get_guarantee(request.auth, number)
    if not gop.response_json:
        raise NotFound(_("No answer yet."))
    return gop.response_json
