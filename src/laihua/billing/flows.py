"""Steps that span insurance and billing, orchestrated above both domains' services.

An insurer's FHIR ClaimResponse, posted at /fhir/ClaimResponse, answers either a guarantee of payment
(use = preauthorization: insurance records it on the GOP) or a claim after treatment (use = claim: billing
records it on the claim, which changes what the invoice is owed). The flow reads the answer once with insurance's
adapter and hands it to the domain it concerns, so neither domain's services call the other's, and insurance
never imports billing (billing reads the GOP; never the other way round).

Why here and not in a top-level `laihua/flows/`: billing is already the layer above insurance (an invoice reads
the contract, the guarantee and the FHIR adapter), so a flow in billing adds no dependency that billing does not
have, and the one cross-domain step between the two ends in billing's books. Only entry points (routes, views)
call a flow; the domains' services never do.
"""

from django.db import transaction

from laihua.accounts.models import Role
from laihua.accounts.permissions import require_role
from laihua.billing.models import Claim
from laihua.billing.services import claims
from laihua.insurance import pas
from laihua.insurance.models import Guarantee
from laihua.insurance.services import answers


def record_claim_response(actor, data) -> tuple[Guarantee | Claim, list[dict]]:
    """The insurer's answer as a FHIR ClaimResponse (bare or in a Bundle), for a GOP of its own members
    (use = preauthorization; returns the Guarantee) or for a claim after treatment (use = claim; returns the
    billing Claim), with the warnings the coordinator is shown (an approval that does not cover the stay).
    Each domain records its answer in its own transaction."""
    require_role(actor, (Role.INSURER_AGENT,))
    parsed, raw = answers.read_claim_response(data)
    if parsed.use == "claim":
        return claims.record_claim_response(actor, parsed, raw), []
    with transaction.atomic():
        guarantee = answers.record_guarantee_response(actor, parsed, raw)
        return guarantee, pas.record_period_warning(actor, guarantee)
