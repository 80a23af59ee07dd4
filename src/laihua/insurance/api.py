"""Insurance in JSON: contracts, a case's coverage, GOP requests and their answers. The same services
as the pages; errors are `{error, detail, field}` (laihua.api)."""

from django.urls import reverse
from ninja import File, Router, Status
from ninja.files import UploadedFile

from laihua.accounts.auth import AUTH
from laihua.accounts.models import Role
from laihua.cases.services import get_case
from laihua.errors import PermissionDenied
from laihua.insurance import services
from laihua.insurance.models import Contract, Coverage, Guarantee
from laihua.insurance.schemas import (
    AnswerIn,
    CancelIn,
    ContractIn,
    CoverageIn,
    GuaranteeIn,
    InsurerConsentIn,
    ResubmitIn,
)
from laihua.records.models import PaymentDataType

router = Router(tags=["insurance"], auth=AUTH)


def insurer_out(insurer) -> dict:
    return {"code": insurer.code, "name": insurer.name, "country": insurer.country, "active": insurer.active}


def contract_out(contract: Contract) -> dict:
    return {
        "id": contract.pk,
        "hospital": contract.hospital.slug,
        "insurer": contract.insurer.code,
        "insurer_name": contract.insurer.name,
        "direct_billing": contract.direct_billing,
        "preauth_kinds": contract.preauth_kinds,
        "preauth_threshold_cny": contract.preauth_threshold_cny,
        "answer_hours": contract.answer_hours,
        "covered_kinds": contract.covered_kinds,
        "copay_percent": contract.copay_percent,
        "excess_cny": contract.excess_cny,
        "currency": contract.currency,
        "valid_from": contract.valid_from,
        "valid_until": contract.valid_until,
        "notes": contract.notes,
        "active": contract.active,
    }


def coverage_out(coverage: Coverage | None, problems: list[str]) -> dict:
    if coverage is None:
        return {"coverage": None, "problems": []}
    return {
        "coverage": {
            "case": coverage.case.reference,
            "insurer": coverage.insurer.code,
            "insurer_name": coverage.insurer.name,
            "member_id": coverage.member_id,
            "policy_number": coverage.policy_number,
            "plan": coverage.plan,
            "valid_from": coverage.valid_from,
            "valid_until": coverage.valid_until,
            "contract": coverage.contract_id,
        },
        "problems": problems,
    }


def gop_out(gop: Guarantee) -> dict:
    return {
        "number": gop.number,
        "case": gop.case.reference,
        "hospital": gop.hospital.slug,
        "insurer": gop.insurer.code,
        "quote": gop.quote.number,
        "status": gop.status,
        "overdue": services.is_overdue(gop),
        "diagnosis_code": gop.diagnosis_code,
        "diagnosis_text": gop.diagnosis_text,
        "treating_doctor": gop.treating_doctor,
        "planned_start": gop.planned_start,
        "planned_end": gop.planned_end,
        "clinical_notes": gop.clinical_notes,
        "requested_cny": gop.requested_cny,
        "requested_amount": gop.requested_amount,
        "requested_currency": gop.requested_currency or None,
        "submitted_at": gop.submitted_at,
        "deadline_at": gop.deadline_at,
        "answered_at": gop.answered_at,
        "reference": gop.reference or None,
        "approved_amount": gop.approved_amount,
        "approved_currency": gop.approved_currency or None,
        "valid_from": gop.valid_from,
        "valid_until": gop.valid_until,
        "disposition": gop.disposition,
        "lines": [
            {
                "sequence": line.sequence,
                "code": line.code,
                "description": line.description,
                "kind": line.kind,
                "quantity": line.quantity,
                "unit_price_cny": line.unit_price_cny,
                "amount_cny": line.amount_cny,
                "needs_preauth": line.needs_preauth,
                "review_action": line.review_action or None,
                "approved_amount": line.approved_amount,
            }
            for line in gop.lines.all()
        ],
        "fhir": reverse("fhir:claim_read", args=[gop.number]),
    }


def consent_out(state: services.ConsentState) -> dict:
    consent = state.consent or state.latest
    return {
        "insurer": state.insurer.code if state.insurer else None,
        "insurer_name": state.insurer.name if state.insurer else None,
        "status": state.status,
        "data_types": list(PaymentDataType.values),
        "asked_at": state.asked_at,
        "consent": None
        if consent is None
        else {
            "id": consent.pk,
            "status": consent.status,
            "period_start": consent.period_start,
            "period_end": consent.period_end,
            "granted_at": consent.granted_at,
            "withdrawn_at": consent.withdrawn_at,
            "on_paper": consent.on_paper,
            "recorded_by": consent.recorded_by.get_full_name() or consent.recorded_by.username
            if consent.recorded_by_id
            else None,
            "paper": f"/api/records/consents/{consent.pk}/paper" if consent.on_paper else None,
            "withdraw": f"/api/records/consents/{consent.pk}/withdraw",
            "fhir": f"/fhir/Consent/{consent.pk}",
        },
    }


def _case(actor, reference: str):
    """A case through insurance: its insurer's agents see their members' cases, others as usual."""
    if actor.role == Role.INSURER_AGENT:
        return services.insurer_case(actor, reference)
    return get_case(actor, reference)


@router.get("/insurers", response=list[dict], summary="Insurers you may choose from")
def list_insurers(request):
    return [insurer_out(insurer) for insurer in services.visible_insurers(request.auth)]


@router.get("/contracts", response=list[dict], summary="Contracts you may see (your hospital's or your insurer's)")
def list_contracts(request):
    return [contract_out(contract) for contract in services.list_contracts(request.auth)]


@router.post("/contracts", response={200: dict}, summary="Create or update your hospital's contract with an insurer")
def save_contract(request, payload: ContractIn):
    actor = request.auth
    if actor.hospital_id is None:
        raise PermissionDenied()
    contract = services.save_contract(actor, actor.hospital, payload.dict())
    return contract_out(contract)


@router.get("/contracts/{contract_id}", response=dict, summary="One contract")
def get_contract(request, contract_id: int):
    return contract_out(services.get_contract(request.auth, contract_id))


@router.get(
    "/cases/{reference}/coverage", response=dict, summary="The case's coverage and what keeps it from direct billing"
)
def get_coverage(request, reference: str):
    case = _case(request.auth, reference)
    return coverage_out(*services.coverage_for_case(request.auth, case))


@router.put("/cases/{reference}/coverage", response=dict, summary="Record the patient's policy on the case")
def put_coverage(request, reference: str, payload: CoverageIn):
    case = get_case(request.auth, reference, audit=None)
    coverage = services.record_coverage(request.auth, case, payload.dict())
    return coverage_out(coverage, services.coverage_problems(coverage))


@router.get(
    "/gops", response=list[dict], summary="GOP requests you may see (?status=open|submitted|approved...&case=REF)"
)
def list_gops(request, status: str = "", case: str = ""):
    gops = services.list_guarantees(request.auth, status=status or None, case=case or None)
    return [gop_out(gop) for gop in gops.prefetch_related("lines")[:200]]


@router.post(
    "/cases/{reference}/gops", response={201: dict}, summary="Send a GOP request built from the accepted quote"
)
def send_gop(request, reference: str, payload: GuaranteeIn):
    case = get_case(request.auth, reference, audit=None)
    gop = services.send_guarantee_request(request.auth, case, payload.dict())
    return Status(201, gop_out(gop))


@router.get("/gops/{number}", response=dict, summary="One GOP request with its answer")
def get_gop(request, number: str):
    return gop_out(services.get_guarantee(request.auth, number))


@router.post("/gops/{number}/answer", response=dict, summary="The insurer answers (approved, partial, pended, denied)")
def answer_gop(request, number: str, payload: AnswerIn):
    gop = services.get_guarantee(request.auth, number, audit=None)
    data = payload.dict()
    if data.get("approved_lines") is None:
        data.pop("approved_lines")
    if data.get("lines") is None:
        data.pop("lines")
    return gop_out(services.answer_guarantee_request(request.auth, gop, data))


@router.post("/gops/{number}/resubmit", response=dict, summary="Send the information the insurer asked for")
def resubmit_gop(request, number: str, payload: ResubmitIn):
    gop = services.get_guarantee(request.auth, number, audit=None)
    return gop_out(services.resubmit_guarantee_request(request.auth, gop, payload.dict()))


@router.post("/gops/{number}/cancel", response=dict, summary="Withdraw an open GOP request")
def cancel_gop(request, number: str, payload: CancelIn):
    gop = services.get_guarantee(request.auth, number, audit=None)
    return gop_out(services.cancel_guarantee_request(request.auth, gop, payload.reason))


@router.get(
    "/cases/{reference}/consent", response=dict, summary="The patient's consent to send health data to the insurer"
)
def get_consent(request, reference: str):
    case = get_case(request.auth, reference, audit=None)
    return consent_out(services.get_consent_state(request.auth, case))


@router.post(
    "/cases/{reference}/consent",
    response={201: dict},
    summary="The patient consents to sending health data to the insurer",
)
def grant_consent(request, reference: str, payload: InsurerConsentIn):
    case = get_case(request.auth, reference, audit=None)
    services.grant_gop_consent(request.auth, case, period_end=payload.period_end)
    return Status(201, consent_out(services.consent_state(case)))


@router.post(
    "/cases/{reference}/consent/paper",
    response={201: dict},
    summary="Record the consent the patient signed on paper (multipart: file, the scan as PDF/JPEG/PNG; period_end)",
)
def record_paper_consent(request, reference: str, file: File[UploadedFile] = None, period_end: str = ""):
    case = get_case(request.auth, reference, audit=None)
    period_end = period_end or request.POST.get("period_end", "")
    services.record_paper_gop_consent(request.auth, case, file=file, period_end=period_end or None)
    return Status(201, consent_out(services.consent_state(case)))


@router.post(
    "/cases/{reference}/consent/request", response={201: dict}, summary="Ask the patient for the consent (a message)"
)
def ask_for_consent(request, reference: str):
    case = get_case(request.auth, reference, audit=None)
    message = services.ask_for_consent(request.auth, case)
    return Status(201, {"message": message.pk, **consent_out(services.consent_state(case))})
