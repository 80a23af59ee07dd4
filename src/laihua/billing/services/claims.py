"""Claims after treatment: the insurer's part of an issued invoice sent as a FHIR Claim (use = claim, built
with the insurance domain's adapter, `insurance.fhir.claim_bundle`), and the insurer's answer line by line
(paid, adjusted, rejected), entered by finance or received as a FHIR ClaimResponse. What the insurer does not
pay stays owed by the insurer until finance decides: the patient pays it, or it is written off."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from laihua.accounts.models import Role
from laihua.accounts.permissions import require_role
from laihua.audit.services import record_event
from laihua.billing import arithmetic, coverage
from laihua.billing.arithmetic import ZERO, to_fen
from laihua.billing.fhir import claim_response_resource
from laihua.billing.models import (
    Claim,
    ClaimOutcome,
    ClaimResponse,
    ClaimResponseLine,
    ClaimStatus,
    Disposition,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payer,
    WriteOff,
)
from laihua.billing.services.access import (
    CASHIERS,
    InvoiceNotIssued,
    audit_invoice,
    lock_invoice,
    require_staff,
    visible_claims,
)
from laihua.billing.services.balances import settle_status
from laihua.billing.services.inputs import MAX_REASON, amount_or_zero, clean_text, parse_choice
from laihua.cases.services import add_event
from laihua.errors import Conflict, InvalidInput, NotFound
from laihua.insurance import fhir as insurance_fhir
from laihua.insurance import services as insurance
from laihua.kit import clock


def _claim_items(invoice: Invoice):
    items = []
    for line in invoice.lines.filter(insurer_cny__gt=0).order_by("position"):
        items.append(
            insurance_fhir.ClaimItem(
                sequence=line.position,
                code=line.code or f"LINE-{line.position}",
                description=line.description.get("en") or next(iter(line.description.values()), ""),
                quantity=line.quantity,
                unit_price=to_fen(line.insurer_cny / line.quantity),
                net=line.insurer_cny,
                service_date=line.service_date,
            )
        )
    return items


def _claim_resource(invoice: Invoice, number: str) -> dict:
    items = _claim_items(invoice)
    lines = list(invoice.lines.all())
    days = [line.service_date for line in lines]
    guarantee = insurance.guarantee_for_stay(invoice.case)
    return insurance_fhir.claim_bundle(
        invoice.case,
        use="claim",
        items=items,
        currency="CNY",
        total=invoice.insurer_cny,
        identifier=number,
        coverage=insurance.coverage_of(invoice.case),
        diagnosis_code=getattr(guarantee, "diagnosis_code", "") or "",
        diagnosis_text=getattr(guarantee, "diagnosis_text", "") or "",
        treating_doctor=getattr(guarantee, "treating_doctor", "") or "",
        period=(min(days), max(days)) if days else None,
        pre_auth_ref=invoice.guarantee_ref,
        created=clock.now(),
    )


@insurance.audit_consent_refusal
@transaction.atomic
def submit_claim(actor, invoice: Invoice) -> Claim:
    """Send the insurer's part of an issued invoice as a FHIR Claim (use = claim); one claim in force at a time,
    and only while the patient's consent to send their health data to that insurer is in force."""
    require_staff(actor, invoice, CASHIERS)
    invoice = lock_invoice(invoice)
    if invoice.status not in (InvoiceStatus.ISSUED, InvoiceStatus.BALANCED):
        raise InvoiceNotIssued()
    if invoice.insurer_id is None or invoice.insurer_cny <= 0:
        raise Conflict(_("This statement has no insurer's part to claim."), code="nothing_to_claim")
    if invoice.claims.filter(status=ClaimStatus.ACTIVE).exists():
        raise Conflict(_("A claim was already sent for this statement."), code="claim_exists")
    consent = insurance.require_consent(invoice.case, invoice.insurer, sending="claim")
    number = f"{invoice.number}-C{invoice.claims.count() + 1}"
    claim = Claim.objects.create(
        invoice=invoice,
        hospital_id=invoice.hospital_id,
        insurer=invoice.insurer,
        insurer_name=invoice.insurer_name,
        guarantee_ref=invoice.guarantee_ref,
        number=number,
        amount_cny=invoice.insurer_cny,
        resource=_claim_resource(invoice, number),
        submitted_by=actor,
    )
    add_event(invoice.case, actor, "claim_sent", staff_only=True, claim=number, amount_cny=str(claim.amount_cny))
    audit_invoice(
        actor,
        "claim.submit",
        invoice,
        claim=number,
        insurer=invoice.insurer_name,
        amount=str(claim.amount_cny),
        consent=consent.pk,
    )
    return claim


@dataclass
class LineAnswer:
    line: InvoiceLine
    paid: Decimal
    adjusted: Decimal
    rejected: Decimal
    disposition: str = ""
    reason: str = ""


def _line_answers(claim: Claim, given: Iterable[Mapping]) -> list[LineAnswer]:
    """Each claimed line's answer; a claimed line the answer leaves out counts as rejected."""
    claimed = {line.position: line for line in claim.invoice.lines.filter(insurer_cny__gt=0)}
    answers: dict[int, LineAnswer] = {}
    for number, row in enumerate(given):
        sequence = row.get("sequence")
        line = claimed.get(int(sequence)) if str(sequence or "").isdigit() else None
        if line is None or line.position in answers:
            raise InvalidInput(_("No such claimed line: %(line)s.") % {"line": sequence}, field=f"lines.{number}")
        answers[line.position] = _answer(line, row, number)
    for position, line in claimed.items():
        answers.setdefault(position, LineAnswer(line, ZERO, ZERO, line.insurer_cny, "", ""))
    return [answers[position] for position in sorted(answers)]


def _answer(line: InvoiceLine, row: Mapping, number: int) -> LineAnswer:
    field = f"lines.{number}"
    paid = amount_or_zero(row.get("paid"), field=f"{field}.paid")
    rejected = amount_or_zero(row.get("rejected"), field=f"{field}.rejected")
    if row.get("adjusted") in (None, ""):
        adjusted = line.insurer_cny - paid - rejected
    else:
        adjusted = amount_or_zero(row.get("adjusted"), field=f"{field}.adjusted")
    if adjusted < 0 or paid + adjusted + rejected != line.insurer_cny:
        raise InvalidInput(
            _("Paid, adjusted and rejected must add up to the %(amount)s CNY claimed on this line.")
            % {"amount": line.insurer_cny},
            field=field,
        )
    disposition = str(row.get("disposition") or "").strip()
    if disposition and disposition not in Disposition.values:
        raise InvalidInput(_("Say whether the patient pays it or it is written off."), field=f"{field}.disposition")
    return LineAnswer(
        line, paid, adjusted, rejected, disposition, clean_text(row.get("reason"), field=f"{field}.reason")
    )


def _outcome(answers: list[LineAnswer]) -> str:
    if all(answer.paid == answer.line.insurer_cny for answer in answers):
        return ClaimOutcome.COMPLETE
    return ClaimOutcome.PARTIAL


def _apply_answers(actor, claim: Claim, answers: list[LineAnswer], *, resource: dict, note: str = "") -> ClaimResponse:
    if hasattr(claim, "response"):
        raise Conflict(_("This claim was already answered."), code="claim_answered")
    if claim.status != ClaimStatus.ACTIVE:
        raise Conflict(_("This claim is no longer in force."), code="claim_not_active")
    response = ClaimResponse.objects.create(
        claim=claim,
        outcome=_outcome(answers),
        paid_cny=arithmetic.total(a.paid for a in answers),
        adjusted_cny=arithmetic.total(a.adjusted for a in answers),
        rejected_cny=arithmetic.total(a.rejected for a in answers),
        moved_to_patient_cny=ZERO,
        disposition_note=note[:MAX_REASON],
        resource=resource,
        recorded_by=actor if actor is not None and actor.is_authenticated else None,
    )
    for answer in answers:
        ClaimResponseLine.objects.create(
            response=response,
            line=answer.line,
            submitted_cny=answer.line.insurer_cny,
            paid_cny=answer.paid,
            adjusted_cny=answer.adjusted,
            rejected_cny=answer.rejected,
            reason=answer.reason,
        )
    decided = {answer.line.pk: answer.disposition for answer in answers if answer.disposition}
    if decided:
        _dispose(actor, response, decided)
    invoice = claim.invoice
    detail = {"claim": claim.number, "outcome": response.outcome, "paid_cny": str(response.paid_cny)}
    add_event(invoice.case, actor, "claim_answered", staff_only=True, **detail)
    audit_invoice(actor, "claim.response", invoice, **detail)
    return response


def _dispose(actor, response: ClaimResponse, decided: Mapping[int, str], reason: str = "") -> None:
    """Move the unpaid rest of the given lines to the patient's part or to a proposed write-off."""
    to_patient, to_write_off = ZERO, ZERO
    for row in response.lines.filter(disposition="", line_id__in=list(decided)).select_related("line"):
        unpaid = row.adjusted_cny + row.rejected_cny
        row.disposition = decided[row.line_id]
        row.save(update_fields=["disposition"])
        if row.disposition == Disposition.PATIENT:
            to_patient += unpaid
        else:
            to_write_off += unpaid
    if to_patient:
        response.moved_to_patient_cny += to_patient
        response.save(update_fields=["moved_to_patient_cny"])
    if to_write_off:
        WriteOff.objects.create(
            invoice=response.claim.invoice,
            part=Payer.INSURER,
            amount_cny=to_write_off,
            reason=reason or _("Not paid by the insurer (claim %(claim)s).") % {"claim": response.claim.number},
            requested_by=actor if actor is not None and actor.is_authenticated else None,
            claim_response=response,
        )


@transaction.atomic
def enter_claim_response(actor, claim: Claim, lines: Iterable[Mapping], *, note: str = "") -> ClaimResponse:
    """Finance records the insurer's answer to a claim, line by line (paid, adjusted, rejected, and for what is
    not paid, whether the patient pays it or it is written off)."""
    require_staff(actor, claim, CASHIERS)
    lock_invoice(claim.invoice)
    claim = Claim.objects.select_for_update().select_related("invoice", "invoice__case").get(pk=claim.pk)
    answers = _line_answers(claim, list(lines))
    response = _apply_answers(actor, claim, answers, resource=claim_response_resource(claim, answers), note=note)
    settle_status(claim.invoice)
    return response


@transaction.atomic
def settle_shortfall(actor, claim: Claim, disposition: str, *, reason: str = "") -> ClaimResponse:
    """Decide for every unpaid line of an answered claim still undecided: the patient pays, or write it off."""
    require_staff(actor, claim, CASHIERS)
    invoice = lock_invoice(claim.invoice)
    disposition = parse_choice(disposition, Disposition, field="disposition")
    response = getattr(claim, "response", None)
    if response is None:
        raise Conflict(_("The insurer has not answered this claim yet."), code="claim_unanswered")
    undecided = response.lines.filter(disposition="").exclude(adjusted_cny=0, rejected_cny=0)
    ids = list(undecided.values_list("line_id", flat=True))
    if not ids:
        raise Conflict(_("Nothing unpaid is left to decide on this claim."), code="nothing_to_decide")
    _dispose(actor, response, dict.fromkeys(ids, disposition), clean_text(reason, field="reason"))
    settle_status(invoice)
    audit_invoice(actor, "claim.shortfall", invoice, claim=claim.number, disposition=disposition, lines=ids)
    return response


def _find_claim_for_insurer(actor, identifier: str) -> Claim:
    number = (identifier or "").strip()
    if number.startswith("Claim/"):
        number = number.removeprefix("Claim/")
    claim = Claim.objects.select_related("invoice", "invoice__case", "hospital").filter(number=number).first()
    if claim is None or not _may_answer(actor, claim):
        raise NotFound(_("No such claim."))
    return claim


def _may_answer(actor, claim: Claim) -> bool:
    if actor is None or not actor.is_authenticated:
        return False
    if actor.role == Role.INSURER_AGENT:
        return coverage.insurer_of(actor) == claim.insurer
    return actor.role in CASHIERS and actor.hospital_id == claim.hospital_id


def _answers_from_parsed(claim: Claim, parsed) -> list[dict]:
    rows = []
    for item in parsed.items:
        amounts = {key: Decimal(value) for key, value in (item.amounts or {}).items()}
        paid = to_fen(amounts.get("benefit", ZERO))
        line = claim.invoice.lines.filter(position=item.sequence).first()
        submitted = line.insurer_cny if line else to_fen(amounts.get("submitted", ZERO))
        unpaid = submitted - paid
        denied = item.review_action == "A3" or paid == 0
        rows.append(
            {
                "sequence": item.sequence,
                "paid": paid,
                "adjusted": ZERO if denied else unpaid,
                "rejected": unpaid if denied else ZERO,
                "reason": item.reason or "",
            }
        )
    return rows


@transaction.atomic
def record_claim_response(actor, parsed, raw: dict) -> Claim:
    """The insurer's FHIR ClaimResponse (use = claim), parsed by the insurance domain's adapter: record it.

    What it does not pay stays owed by the insurer until finance decides (patient or write-off)."""
    require_role(actor, Role.values)
    claim = _find_claim_for_insurer(actor, parsed.request_identifier)
    lock_invoice(claim.invoice)
    claim = Claim.objects.select_for_update().select_related("invoice", "invoice__case").get(pk=claim.pk)
    try:
        answers = _line_answers(claim, _answers_from_parsed(claim, parsed))
    except InvalidInput as exc:
        exc.issues = [{"severity": "error", "code": "invalid", "diagnostics": str(exc.message), "expression": []}]
        raise
    _apply_answers(actor, claim, answers, resource=raw if isinstance(raw, dict) else {}, note=parsed.disposition or "")
    settle_status(claim.invoice)
    return claim


def claim_rows(actor) -> QuerySet[Claim]:
    """The claims the actor may see, newest first (audited)."""
    require_role(actor, Role.values)
    record_event(actor, "claim.list", None, hospital=getattr(actor, "hospital", None))
    return visible_claims(actor).order_by("-submitted_at", "-pk")
