"""The insurer's answer to a GOP request: in the portal (`answer_guarantee_request`) or as a FHIR ClaimResponse
(`record_guarantee_response`, handed over by `laihua.billing.flows`, which sends answers to claims after
treatment to billing): approved (reference, amount, currency, validity), partly approved, more information
needed, or denied. Only the GOP's own insurer answers; the coordinator is told."""

from collections.abc import Mapping
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from laihua.accounts.models import Role
from laihua.accounts.permissions import require_role
from laihua.cases.services import add_event
from laihua.errors import InvalidInput, NotFound
from laihua.insurance import fhir
from laihua.insurance.models import GRANTED_STATUSES, OPEN_STATUSES, Guarantee, GuaranteeStatus
from laihua.insurance.services.access import audit_guarantee, insurer_of, visible_guarantees
from laihua.insurance.services.guarantees import GuaranteeNotOpen
from laihua.insurance.services.inputs import parse_date, text_field
from laihua.insurance.services.reminders import notify_coordinator
from laihua.kit import clock
from laihua.kit.money import normalise_currency, parse_amount

ANSWERS = (GuaranteeStatus.APPROVED, GuaranteeStatus.PARTIAL, GuaranteeStatus.PENDED, GuaranteeStatus.DENIED)


def _require_answerer(actor, gop: Guarantee) -> None:
    require_role(actor, (Role.INSURER_AGENT,))
    insurer = insurer_of(actor)
    if insurer is None or insurer.pk != gop.insurer_id:
        raise NotFound(_("No such guarantee request."))


def _answer_fields(gop: Guarantee, data: Mapping) -> dict:
    status = str(data.get("status") or "").strip()
    if status not in ANSWERS:
        raise InvalidInput(
            _("Choose an answer: approved, partly approved, more information needed or denied."), field="status"
        )
    out = {"status": status, "disposition": text_field(data, "disposition", max_length=2000, required=False)}
    if status in GRANTED_STATUSES:
        out["reference"] = text_field(data, "reference", max_length=80, message=_("Give the approval reference."))
        raw_amount = data.get("amount")
        if raw_amount in (None, ""):
            if status == GuaranteeStatus.PARTIAL:
                raise InvalidInput(_("Give the approved amount."), field="amount")
            out["amount"], out["currency"] = gop.requested_cny, "CNY"
        else:
            out["amount"] = parse_amount(raw_amount, field="amount")
            out["currency"] = normalise_currency(data.get("currency"))
        out["valid_from"] = parse_date(data.get("valid_from"), field="valid_from")
        out["valid_until"] = parse_date(data.get("valid_until"), field="valid_until")
        if out["valid_until"] < out["valid_from"]:
            raise InvalidInput(_("The end date is before the start date."), field="valid_until")
    elif not out["disposition"]:
        message = (
            _("Say which information is needed.")
            if status == GuaranteeStatus.PENDED
            else _("Give the reason for the denial.")
        )
        raise InvalidInput(message, field="disposition")
    return out


def _line_decisions(gop: Guarantee, status: str, data: Mapping) -> dict[int, tuple[str, Decimal | None]]:
    """Each line's decision: all lines follow an approval or a denial; a partial approval names the
    approved lines (`approved_lines`, sequences) or gives each line's decision (`lines`)."""
    sequences = [line.sequence for line in gop.lines.all()]
    if "line_decisions" in data:
        return data["line_decisions"]
    if status == GuaranteeStatus.PARTIAL and data.get("approved_lines") not in (None, ""):
        raw = data.get("approved_lines")
        if isinstance(raw, str):
            raw = [part for part in raw.replace(" ", "").split(",") if part]
        try:
            approved = {int(seq) for seq in raw}
        except (TypeError, ValueError):
            raise InvalidInput(_("List the approved lines by number."), field="approved_lines") from None
        unknown = approved - set(sequences)
        if unknown:
            raise InvalidInput(_("There is no line %(n)s.") % {"n": min(unknown)}, field="approved_lines")
        return {seq: ("approved" if seq in approved else "denied", None) for seq in sequences}
    per_status = {"approved": "approved", "partial": "partial", "pended": "pended", "denied": "denied"}[status]
    return {seq: (per_status, None) for seq in sequences}


LINE_DECISIONS = {"approved": "approved", "reduced": "partial", "declined": "denied"}


def _per_line(gop: Guarantee, status: str, data: Mapping, decisions: dict) -> dict[int, str]:
    """Single lines approved, reduced (to an amount in the approval's currency) or declined, each with the
    insurer's reason (`lines`: [{sequence, decision, amount, reason}]); they override the answer's default for
    those lines. Returns the reasons by sequence; `decisions` is updated in place."""
    given = data.get("lines") or []
    if status not in GRANTED_STATUSES or not given:
        return {}
    sequences = {line.sequence for line in gop.lines.all()}
    reasons = {}
    for entry in given:
        try:
            sequence = int(entry.get("sequence"))
        except (TypeError, ValueError):
            raise InvalidInput(_("List the approved lines by number."), field="lines") from None
        if sequence not in sequences:
            raise InvalidInput(_("There is no line %(n)s.") % {"n": sequence}, field="lines")
        decision = str(entry.get("decision") or "").strip()
        if decision == "":
            continue
        if decision not in LINE_DECISIONS:
            raise InvalidInput(_("Line %(n)s: choose approved, reduced or declined.") % {"n": sequence}, field="lines")
        amount = None
        if decision == "reduced" or entry.get("amount") not in (None, ""):
            if entry.get("amount") in (None, ""):
                raise InvalidInput(_("Line %(n)s: give the amount approved for it.") % {"n": sequence}, field="lines")
            amount = parse_amount(entry.get("amount"), field="lines")
        if decision == "declined":
            amount = None
        reason = str(entry.get("reason") or "").strip()
        if len(reason) > 300:
            raise InvalidInput(
                _("Line %(n)s: the reason can be at most 300 characters.") % {"n": sequence}, field="lines"
            )
        if status == GuaranteeStatus.APPROVED and decision != "approved":
            raise InvalidInput(_("Some lines are declined or reduced: answer “Partly approved”."), field="status")
        decisions[sequence] = (LINE_DECISIONS[decision], amount)
        reasons[sequence] = reason
    return reasons


def _apply_answer(
    actor,
    gop: Guarantee,
    fields: dict,
    decisions: dict,
    response_json: dict | None,
    channel: str,
    reasons: dict[int, str] | None = None,
) -> Guarantee:
    now = clock.now()
    gop.status = fields["status"]
    gop.disposition = fields.get("disposition", "")
    gop.reference = fields.get("reference", "")
    gop.approved_amount = fields.get("amount")
    gop.approved_currency = fields.get("currency", "") if gop.approved_amount is not None else ""
    gop.valid_from, gop.valid_until = fields.get("valid_from"), fields.get("valid_until")
    gop.answered_at, gop.answered_by = now, actor
    for line in gop.lines.all():
        decision, amount = decisions.get(line.sequence, ("", None))
        line.review_action = fhir.STATUS_REVIEW.get(decision, "")
        line.approved_amount = amount
        line.reason = (reasons or {}).get(line.sequence, "")[:300]
        line.save(update_fields=["review_action", "approved_amount", "reason"])
    if response_json is None:
        response_json = fhir.claim_response(
            request_identifier=gop.number,
            status=gop.status,
            created=now,
            insurer_name=gop.insurer.name,
            reference=gop.reference,
            amount=gop.approved_amount,
            currency=gop.approved_currency,
            period=(gop.valid_from, gop.valid_until) if gop.valid_from else None,
            disposition=gop.disposition,
            items=[(seq, d[0], d[1]) for seq, d in sorted(decisions.items())],
        )
    gop.response_json = response_json
    gop.save()
    detail = {
        "status": gop.status,
        "reference": gop.reference,
        "amount": str(gop.approved_amount) if gop.approved_amount is not None else "",
        "currency": gop.approved_currency,
        "valid_until": gop.valid_until.isoformat() if gop.valid_until else "",
        "channel": channel,
    }
    add_event(gop.case, actor, "gop_answered", note=gop.disposition, gop=gop.number, **detail)
    audit_guarantee(actor, "insurance.gop.answer", gop, **detail)
    transaction.on_commit(lambda: notify_coordinator(gop, "gop_answered"))
    return gop


@transaction.atomic
def answer_guarantee_request(actor, gop: Guarantee, data: Mapping) -> Guarantee:
    """The insurer's answer in the portal: approved (reference, amount, currency, validity), partly
    approved, more information needed, or denied (with the reason). Only the GOP's own insurer answers."""
    _require_answerer(actor, gop)
    gop = Guarantee.objects.select_for_update().select_related("case", "insurer").get(pk=gop.pk)
    if gop.status not in OPEN_STATUSES:
        raise GuaranteeNotOpen()
    fields = _answer_fields(gop, data)
    decisions = _line_decisions(gop, fields["status"], data)
    reasons = _per_line(gop, fields["status"], data, decisions)
    return _apply_answer(actor, gop, fields, decisions, None, "portal", reasons)


def _match_request(actor, parsed: fhir.ParsedResponse) -> Guarantee:
    candidates = [parsed.request_identifier, *parsed.identifiers]
    candidates = [c for c in candidates if c]
    if not candidates:
        raise fhir.MalformedFhir(
            [
                {
                    "severity": "error",
                    "code": "required",
                    "diagnostics": _(
                        "ClaimResponse.request is missing: say which Claim (our GOP number) this answers."
                    ),
                    "expression": "ClaimResponse.request",
                }
            ]
        )
    gop = visible_guarantees(actor).filter(number__in=candidates).first()
    if gop is None:
        raise NotFound(_("No such guarantee request."))
    return gop


def read_claim_response(data) -> tuple[fhir.ParsedResponse, dict]:
    """An insurer's FHIR ClaimResponse (bare or in a Bundle): what it says, and the resource as received."""
    parsed = fhir.parse_claim_response(data)
    return parsed, fhir._load(data)


@transaction.atomic
def record_guarantee_response(actor, parsed: fhir.ParsedResponse, raw: dict) -> Guarantee:
    """The insurer's answer to a GOP of its own members as a FHIR ClaimResponse (use = preauthorization), read
    by `read_claim_response`; kept as received."""
    require_role(actor, (Role.INSURER_AGENT,))
    if parsed.use != "preauthorization":
        raise InvalidInput(
            _("Only answers to pre-authorisation requests or claims (use = preauthorization or claim) are accepted."),
            field="use",
        )
    gop = _match_request(actor, parsed)
    _require_answerer(actor, gop)
    gop = Guarantee.objects.select_for_update().select_related("case", "insurer").get(pk=gop.pk)
    if gop.status not in OPEN_STATUSES:
        raise GuaranteeNotOpen()
    status = parsed.status
    fields = {"status": status, "disposition": parsed.disposition[:2000]}
    if status in GRANTED_STATUSES:
        if not parsed.pre_auth_ref:
            raise fhir.MalformedFhir(
                [
                    {
                        "severity": "error",
                        "code": "required",
                        "expression": "ClaimResponse.preAuthRef",
                        "diagnostics": _(
                            "An approval needs its reference: ClaimResponse.preAuthRef or the review action number."
                        ),
                    }
                ]
            )
        if not parsed.period or not parsed.period[0] or not parsed.period[1]:
            raise fhir.MalformedFhir(
                [
                    {
                        "severity": "error",
                        "code": "required",
                        "expression": "ClaimResponse.preAuthPeriod",
                        "diagnostics": _(
                            "An approval needs its validity: ClaimResponse.preAuthPeriod or the item's preAuthPeriod."
                        ),
                    }
                ]
            )
        amount = parsed.total.get("benefit", parsed.payment_amount)
        if amount is None and status == GuaranteeStatus.PARTIAL:
            amounts = [i.amounts.get("benefit") for i in parsed.items if i.amounts.get("benefit") is not None]
            amount = sum(amounts, Decimal("0")) if amounts else None
        if amount is None:
            if status == GuaranteeStatus.PARTIAL:
                raise fhir.MalformedFhir(
                    [
                        {
                            "severity": "error",
                            "code": "required",
                            "expression": "ClaimResponse.total",
                            "diagnostics": _(
                                "A partial approval needs the approved amount (ClaimResponse.total, category benefit)."
                            ),
                        }
                    ]
                )
            amount, currency = gop.requested_cny, "CNY"
        else:
            currency = normalise_currency(parsed.currency or "CNY", field="ClaimResponse.total.amount.currency")
        fields.update(
            reference=parsed.pre_auth_ref[:80],
            amount=Decimal(amount).quantize(Decimal("0.01")),
            currency=currency,
            valid_from=parsed.period[0],
            valid_until=parsed.period[1],
        )
    decisions, reasons = {}, {}
    sequences = {line.sequence for line in gop.lines.all()}
    for item in parsed.items:
        if item.sequence in sequences:
            decisions[item.sequence] = (fhir.REVIEW_STATUS.get(item.review_action, status), item.amounts.get("benefit"))
            reasons[item.sequence] = item.reason or ""
    for seq in sequences - set(decisions):
        decisions[seq] = (status, None)
    return _apply_answer(actor, gop, fields, decisions, raw, "fhir", reasons)
