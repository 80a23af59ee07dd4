"""The guarantee of payment (GOP) request: built from the case's accepted quote (every line, those the contract
requires pre-authorisation for flagged), sent as a FHIR Claim (use = preauthorization) with a deadline = sent +
the contract's answer hours, sent again after the insurer asked for more information, or withdrawn; and what
billing and the pages read of it (the approval in force, whether an answer is overdue). Sending and sending again
need the patient's consent for the insurer in force (services.consent), whatever the channel."""

import datetime
import re
import uuid
from collections.abc import Mapping

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from laihua.cases.models import Case
from laihua.cases.services import add_event, require_case_staff
from laihua.cases.states import DESK
from laihua.catalog.models import Kind
from laihua.errors import Conflict, InvalidInput, RateUnavailable
from laihua.insurance import fhir
from laihua.insurance.models import GRANTED_STATUSES, OPEN_STATUSES, Guarantee, GuaranteeLine, GuaranteeStatus
from laihua.insurance.services.access import audit_guarantee
from laihua.insurance.services.consent import audit_consent_refusal, require_consent
from laihua.insurance.services.contracts import contract_for, line_needs_preauth
from laihua.insurance.services.coverage import CoverageProblem, coverage_of, coverage_problems, planned_dates
from laihua.insurance.services.inputs import parse_date, text_field
from laihua.insurance.services.reminders import notify_insurer
from laihua.kit import clock
from laihua.kit.i18n import pick
from laihua.quotes.models import Quote
from laihua.quotes.models import Status as QuoteStatus
from laihua.rates import services as rates

ICD10 = re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")


class GuaranteeNotOpen(Conflict):
    code = "gop_not_open"
    default_message = gettext_lazy("This guarantee request is not waiting for an answer.")


def accepted_quote(case: Case) -> Quote | None:
    return case.quotes.filter(status=QuoteStatus.ACCEPTED).order_by("-revision").first()


def _line_kind(line) -> str:
    if line.item_id and line.item is not None:
        return line.item.kind
    return Kind.PACKAGE if line.package else ""


def gop_lines_preview(case: Case) -> list[dict]:
    """The accepted quote's lines with whether the contract requires pre-authorisation for each."""
    quote, coverage = accepted_quote(case), coverage_of(case)
    if quote is None or coverage is None:
        return []
    contract = contract_for(case.hospital, coverage.insurer)
    out = []
    for line in quote.lines.select_related("item"):
        kind = _line_kind(line)
        needs = contract is not None and line_needs_preauth(contract, kind, line.amount_cny)
        out.append({"line": line, "kind": kind, "needs_preauth": needs})
    return out


def _number(gop: Guarantee, today: datetime.date) -> str:
    """GOP-<year>-<id>: unique without a counter to race on."""
    return f"GOP-{today:%Y}-{gop.pk:06d}"


def _icd10(value) -> str:
    code = str(value or "").strip().upper()
    if not code:
        raise InvalidInput(_("Enter the diagnosis as an ICD-10 code."), field="diagnosis_code")
    if not ICD10.match(code):
        raise InvalidInput(
            _("“%(code)s” is not an ICD-10 code (for example M16.1).") % {"code": value}, field="diagnosis_code"
        )
    return code


def _claim_items(gop: Guarantee) -> list[fhir.ClaimItem]:
    return [
        fhir.ClaimItem(
            sequence=line.sequence,
            code=line.code,
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price_cny,
            net=line.amount_cny,
        )
        for line in gop.lines.all()
    ]


def gop_bundle(gop: Guarantee) -> dict:
    """The FHIR Claim (use = preauthorization) Bundle of a GOP, in CNY, the hospital's billing currency."""
    return fhir.claim_bundle(
        gop.case,
        use="preauthorization",
        items=_claim_items(gop),
        currency="CNY",
        total=gop.requested_cny,
        identifier=gop.number,
        coverage=gop.coverage,
        diagnosis_code=gop.diagnosis_code,
        diagnosis_text=gop.diagnosis_text,
        treating_doctor=gop.treating_doctor,
        period=(gop.planned_start, gop.planned_end),
        created=gop.submitted_at or clock.now(),
        status="cancelled" if gop.status == GuaranteeStatus.CANCELLED else "active",
    )


@audit_consent_refusal
@transaction.atomic
def send_guarantee_request(actor, case: Case, data: Mapping) -> Guarantee:
    """Build a GOP request from the case's accepted quote and send it to the insurer (coordinators and
    admins of the case's hospital). Refused without an accepted quote, a coverage without problems, the
    patient's consent for the insurer, or while another request of the case is open. Nothing is written
    when a check fails."""
    require_case_staff(actor, case, DESK)
    # FOR NO KEY UPDATE: serialises two sendings, yet lets a withdrawal of the consent (which adds a timeline line,
    # a key-share lock on the case) commit while this sending waits for the consent's lock.
    case = Case.objects.select_for_update(no_key=True).get(pk=case.pk)
    quote = accepted_quote(case)
    if quote is None:
        raise Conflict(_("The patient has not accepted a quote yet: the GOP request is built from it."), field="quote")
    coverage = coverage_of(case)
    if coverage is None:
        raise CoverageProblem(_("Record the patient's insurance coverage first."), field="insurer")
    if Guarantee.objects.filter(case=case, status__in=(GuaranteeStatus.DRAFT, *OPEN_STATUSES)).exists():
        raise Conflict(_("A guarantee request of this case is already waiting for the insurer."))
    consent = require_consent(case, coverage.insurer, sending="gop")
    diagnosis_code = _icd10(data.get("diagnosis_code"))
    diagnosis_text = text_field(data, "diagnosis_text", max_length=300, message=_("Describe the diagnosis."))
    doctor = text_field(data, "treating_doctor", max_length=200, message=_("Name the treating doctor."))
    notes = text_field(data, "clinical_notes", max_length=4000, required=False)
    trip_start, trip_end = planned_dates(case)  # the trip's booked dates, else the desired ones
    start = parse_date(data.get("planned_start") or trip_start, field="planned_start")
    end = parse_date(data.get("planned_end") or trip_end or start, field="planned_end")
    if end < start:
        raise InvalidInput(_("The end date is before the start date."), field="planned_end")
    problems = coverage_problems(coverage, start=start, end=end)
    if problems:
        raise CoverageProblem(" ".join(problems), field="insurer")
    contract = contract_for(case.hospital, coverage.insurer)
    now, today = clock.now(), clock.today()
    gop = Guarantee(
        number=f"new-{uuid.uuid4().hex[:20]}",
        case=case,
        hospital=case.hospital,
        insurer=coverage.insurer,
        coverage=coverage,
        contract=contract,
        quote=quote,
        status=GuaranteeStatus.SUBMITTED,
        diagnosis_code=diagnosis_code,
        diagnosis_text=diagnosis_text,
        treating_doctor=doctor,
        planned_start=start,
        planned_end=end,
        clinical_notes=notes,
        requested_cny=quote.total_cny,
        submitted_at=now,
        submitted_by=actor,
        deadline_at=now + datetime.timedelta(hours=contract.answer_hours),
        created_by=actor,
    )
    try:
        rate = rates.rate_for(contract.currency, today)
    except RateUnavailable:
        rate = None
    if rate is not None:
        gop.requested_amount = rates.convert_from_cny(quote.total_cny, rate)
        gop.requested_currency, gop.rate_cny_per_unit, gop.rate_date = (
            contract.currency,
            rate.cny_per_unit,
            rate.rate_date,
        )
    try:
        with transaction.atomic():
            gop.save()
    except IntegrityError:
        raise Conflict(_("A guarantee request of this case is already waiting for the insurer.")) from None
    gop.number = _number(gop, today)
    gop.save(update_fields=["number"])
    lines = []
    for seq, line in enumerate(quote.lines.select_related("item").order_by("position", "pk"), start=1):
        kind = _line_kind(line)
        lines.append(
            GuaranteeLine(
                guarantee=gop,
                sequence=seq,
                quote_line=line,
                code=line.code,
                description=pick(line.description, "en")[:300] or line.code or "-",
                kind=kind,
                quantity=line.quantity,
                unit_price_cny=line.unit_price_cny,
                amount_cny=line.amount_cny,
                needs_preauth=line_needs_preauth(contract, kind, line.amount_cny),
            )
        )
    GuaranteeLine.objects.bulk_create(lines)
    gop.claim_json = gop_bundle(gop)
    gop.save(update_fields=["claim_json", "updated_at"])
    detail = {
        "quote": quote.number,
        "insurer": gop.insurer.name,
        "requested_cny": str(gop.requested_cny),
        "deadline": gop.deadline_at.isoformat(),
    }
    add_event(case, actor, "gop_sent", staff_only=False, gop=gop.number, **detail)
    audit_guarantee(actor, "insurance.gop.send", gop, consent=consent.pk, **detail)
    transaction.on_commit(lambda: notify_insurer(gop))
    return gop


@audit_consent_refusal
@transaction.atomic
def resubmit_guarantee_request(actor, gop: Guarantee, data: Mapping) -> Guarantee:
    """Answer the insurer's request for more information and send the GOP again with a new deadline (only
    while the patient's consent for the insurer is in force: a withdrawal leaves the request as it was)."""
    require_case_staff(actor, gop.case, DESK)
    gop = Guarantee.objects.select_for_update().get(pk=gop.pk)
    if gop.status != GuaranteeStatus.PENDED:
        raise GuaranteeNotOpen(_("Only a request the insurer asked more information about can be sent again."))
    consent = require_consent(gop.case, gop.insurer, sending="gop_resubmit")
    note = text_field(data, "clinical_notes", max_length=4000, message=_("Give the information the insurer asked for."))
    now = clock.now()
    gop.clinical_notes = (gop.clinical_notes + "\n\n" + note).strip()
    gop.status, gop.submitted_at, gop.reminded_at = GuaranteeStatus.SUBMITTED, now, None
    gop.deadline_at = now + datetime.timedelta(hours=gop.contract.answer_hours)
    gop.claim_json = gop_bundle(gop)
    gop.save()
    add_event(gop.case, actor, "gop_resubmitted", gop=gop.number, deadline=gop.deadline_at.isoformat())
    audit_guarantee(actor, "insurance.gop.resubmit", gop, consent=consent.pk)
    return gop


@transaction.atomic
def cancel_guarantee_request(actor, gop: Guarantee, reason: str = "") -> Guarantee:
    """Withdraw an open GOP request (coordinators and admins of the case's hospital)."""
    require_case_staff(actor, gop.case, DESK)
    gop = Guarantee.objects.select_for_update().get(pk=gop.pk)
    if gop.status not in (GuaranteeStatus.DRAFT, *OPEN_STATUSES):
        raise GuaranteeNotOpen()
    gop.status = GuaranteeStatus.CANCELLED
    gop.disposition = (reason or "").strip()[:2000] or gop.disposition
    gop.save(update_fields=["status", "disposition", "updated_at"])
    add_event(gop.case, actor, "gop_cancelled", staff_only=True, gop=gop.number)
    audit_guarantee(actor, "insurance.gop.cancel", gop)
    return gop


# --- what billing and the pages read --------------------------------------------------------------


def approved_guarantee(case: Case, *, on: datetime.date | None = None) -> Guarantee | None:
    """The case's latest approved or partly approved GOP valid on `on` (default today), or None."""
    on = on or clock.today()
    return (
        Guarantee.objects.filter(case=case, status__in=GRANTED_STATUSES)
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=on))
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=on))
        .order_by("-answered_at", "-pk")
        .first()
    )


def guarantee_for_stay(case: Case) -> Guarantee | None:
    """The GOP that pays for the case's stay: the case's latest approved or partly approved GOP, whatever the
    day. A case is one stay at one hospital, and a GOP is requested for that stay (its planned dates, then the
    validity the insurer gives), so neither the day the invoice is issued nor the date of a line chooses it;
    billing checks the booked services' dates against the stay itself (`stay_window`)."""
    return Guarantee.objects.filter(case=case, status__in=GRANTED_STATUSES).order_by("-answered_at", "-pk").first()


def stay_window(gop: Guarantee) -> tuple[datetime.date, datetime.date]:
    """The stay a GOP covers: from the earlier of the planned start and the approval's first day to the later of
    the planned end and the approval's last day."""
    starts = [day for day in (gop.planned_start, gop.valid_from) if day is not None]
    ends = [day for day in (gop.planned_end, gop.valid_until) if day is not None]
    return min(starts), max(ends)


def is_overdue(gop: Guarantee, now: datetime.datetime | None = None) -> bool:
    return (
        gop.status == GuaranteeStatus.SUBMITTED
        and gop.deadline_at is not None
        and gop.deadline_at < (now or clock.now())
    )


def may_send(actor, case: Case) -> bool:
    return actor.is_authenticated and actor.role in DESK and actor.hospital_id == case.hospital_id
