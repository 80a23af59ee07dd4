"""FHIR routes of the insurance domain (mounted under /fhir/ by laihua.fhir_api).

- POST /fhir/Claim: a hospital system sends a Claim Bundle (use = preauthorization) for one case (the
  Claim's identifier with system urn:laihua:case, or ?case=REF); Laihua builds the GOP request from the
  case's accepted quote with the Claim's diagnosis, treating doctor and dates, and answers with the
  Claim Bundle it sent to the insurer (201).
- GET /fhir/Claim?status=active|cancelled|all: the GOP requests the caller may see, as a searchset
  Bundle (insurer agents: their members' only). GET /fhir/Claim/{number}: one Claim Bundle.
- GET /fhir/ClaimResponse/{number}: the stored answer. Insurers post their answers (POST /fhir/ClaimResponse) to
  laihua.billing.fhir_api, which hands an answer to a GOP back to insurance: insurance does not import billing.
"""

from django.utils.translation import gettext as _
from ninja import Router, Status

from laihua.accounts.auth import AUTH
from laihua.cases.services import get_case
from laihua.errors import NotFound
from laihua.insurance import fhir, services

router = Router(tags=["insurance"], auth=AUTH)


def _claim_issue(expression: str, diagnostics: str) -> fhir.MalformedFhir:
    return fhir.MalformedFhir(
        [{"severity": "error", "code": "invalid", "diagnostics": diagnostics, "expression": expression}]
    )


@router.post(
    "/Claim", response={201: dict}, summary="Send a GOP request (Claim Bundle, use = preauthorization) for a case"
)
def post_claim(request, case: str = ""):
    actor = request.auth
    parsed = fhir.parse_claim_bundle(request.body)
    if parsed.use != "preauthorization":
        raise _claim_issue(
            "Claim.use", _("Only pre-authorisation requests (use = preauthorization) are accepted here.")
        )
    reference = case or parsed.identifiers.get(fhir.CASE_SYSTEM, "")
    if not reference:
        raise _claim_issue(
            "Claim.identifier",
            _("Say which case this is: a Claim.identifier with system %(system)s, or ?case=REF.")
            % {"system": fhir.CASE_SYSTEM},
        )
    the_case = get_case(actor, reference, audit=None)
    coverage = services.coverage_of(the_case)
    if coverage is not None and parsed.member_ids and coverage.member_id not in parsed.member_ids:
        raise _claim_issue(
            "Coverage.subscriberId",
            _("The member number in the Claim (%(given)s) is not the one recorded on the case.")
            % {"given": parsed.member_ids[0]},
        )
    if not parsed.diagnoses:
        raise _claim_issue("Claim.diagnosis", _("Claim.diagnosis is required: the ICD-10 code of the diagnosis."))
    code, display = parsed.diagnoses[0]
    data = {
        "diagnosis_code": code,
        "diagnosis_text": display or code,
        "treating_doctor": parsed.practitioner,
        "planned_start": parsed.period[0] if parsed.period else None,
        "planned_end": parsed.period[1] if parsed.period else None,
    }
    if not data["treating_doctor"]:
        raise _claim_issue(
            "Claim.careTeam", _("Claim.careTeam must name the treating doctor (a Practitioner in the Bundle).")
        )
    gop = services.send_guarantee_request(actor, the_case, data)
    return Status(201, gop.claim_json)


@router.get("/Claim", response=dict, summary="GOP requests you may see, as a searchset Bundle")
def search_claims(request, status: str = "active"):
    gops = services.search_claims(request.auth, status)
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(gops),
        "entry": [
            {"fullUrl": f"Claim/{gop.number}", "resource": gop.claim_json, "search": {"mode": "match"}} for gop in gops
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
