"""The FHIR route that may end in billing (mounted under /fhir/ by laihua.fhir_api).

- POST /fhir/ClaimResponse: an insurer answers a GOP request or a claim after treatment (a ClaimResponse, bare
  or in a Bundle, whose request.identifier is the GOP or claim number); `billing.flows` hands the answer to
  insurance or billing by its `use`. The answer is an OperationOutcome: information, and a warning for each
  thing the coordinator is told (an approval period that does not cover the planned stay).

It lives here rather than with insurance's FHIR routes (laihua.insurance.fhir_api, which keeps
GET /fhir/ClaimResponse/{number}) because insurance does not import billing.
"""

from django.utils.translation import gettext as _
from ninja import Router

from laihua.accounts.auth import AUTH
from laihua.billing import flows
from laihua.insurance import pas
from laihua.kit.fhirhttp import operation_outcome

router = Router(tags=["insurance"], auth=AUTH)


@router.post(
    "/ClaimResponse",
    response=dict,
    summary="The insurer's answer to a GOP request (ClaimResponse)",
    operation_id="laihua_insurance_fhir_api_post_claim_response",  # as published before the route moved here
)
def post_claim_response(request):
    answered, warnings = flows.record_claim_response(request.auth, request.body)
    recorded = _("Recorded %(gop)s as %(status)s.") % {"gop": answered.number, "status": answered.status}
    issues = [{"severity": "information", "code": "informational", "diagnostics": recorded}]
    return operation_outcome([*issues, *pas.warning_issues(warnings)])
