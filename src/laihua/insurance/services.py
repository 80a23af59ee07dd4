"""Insurers, contracts, coverage and guarantees of payment (GOP).

- Who sees what: `visible_guarantees(actor)` is the one scoping query for GOPs, `visible_contracts`
  for contracts and `may_see_case` for a case seen through insurance. An insurer agent sees only the
  cases and GOPs of their own insurer's members (never another insurer's: NotFound); hospital staff
  their own hospital's; a patient their own cases'.
- Contracts: a hospital admin keeps one contract per insurer (direct billing, what needs
  pre-authorisation by kind of service and above an amount, answer deadline, currency paid in).
- Coverage: a coordinator records the patient's policy on the case; `coverage_problems` checks it
  against the contract (a contract exists and is in force, direct billing on, policy valid over the
  planned dates). A GOP is sent only when there is no problem.
- GOP: built from the case's accepted quote (every line, those the contract requires flagged), sent
  as a FHIR Claim (use = preauthorization) with a deadline = sent + the contract's answer hours. The
  insurer answers in the portal or with a ClaimResponse; overdue requests remind the coordinator once.
Every change is one transaction with a timeline event on the case and an audit event.
"""

import datetime
import re
import uuid
from collections.abc import Mapping
from decimal import Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from laihua.accounts.models import Role
from laihua.accounts.services import require_hospital_staff, require_role
from laihua.audit.services import record_event
from laihua.cases.models import Case
from laihua.cases.services import STAFF_ROLES, add_event, require_case_staff, visible_cases
from laihua.cases.states import DESK
from laihua.catalog.models import Kind
from laihua.errors import Conflict, InvalidInput, NotFound, RateUnavailable
from laihua.insurance import fhir
from laihua.insurance.models import (
    GRANTED_STATUSES,
    OPEN_STATUSES,
    Contract,
    Coverage,
    Guarantee,
    GuaranteeLine,
    GuaranteeStatus,
    Insurer,
    InsurerAgent,
)
from laihua.kit import clock
from laihua.kit.i18n import pick
from laihua.kit.money import normalise_currency, parse_amount
from laihua.quotes.models import Quote
from laihua.quotes.models import Status as QuoteStatus
from laihua.rates import services as rates

ICD10 = re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")
MAX_ANSWER_HOURS = 24 * 30
ANSWERS = (GuaranteeStatus.APPROVED, GuaranteeStatus.PARTIAL, GuaranteeStatus.PENDED, GuaranteeStatus.DENIED)
CONTRACT_EDITORS = (Role.HOSPITAL_ADMIN,)


class GuaranteeNotOpen(Conflict):
    code = "gop_not_open"
    default_message = gettext_lazy("This guarantee request is not waiting for an answer.")


class CoverageProblem(Conflict):
    code = "coverage_problem"
    default_message = gettext_lazy("The patient's coverage does not allow a guarantee request.")


# --- who sees which -------------------------------------------------------------------------------


def insurer_of(actor) -> Insurer | None:
    """The insurer an insurer agent works for (None for anyone else, or an agent not linked yet)."""
    if actor is None or not actor.is_authenticated or actor.role != Role.INSURER_AGENT:
        return None
    link = InsurerAgent.objects.select_related("insurer").filter(user=actor, insurer__active=True).first()
    return link.insurer if link else None


def visible_cases_for_insurer(actor) -> QuerySet[Case]:
    """The cases an insurer agent may see: those whose coverage is with their insurer."""
    insurer = insurer_of(actor)
    if insurer is None:
        return Case.objects.none()
    return Case.objects.select_related("patient", "hospital").filter(coverage__insurer=insurer)


def may_see_case(actor, case: Case) -> bool:
    """A patient their own case, hospital staff their hospital's, an insurer agent their members'."""
    if actor is None or not actor.is_authenticated:
        return False
    if actor.role == Role.INSURER_AGENT:
        insurer = insurer_of(actor)
        return insurer is not None and Coverage.objects.filter(case=case, insurer=insurer).exists()
    return visible_cases(actor).filter(pk=case.pk).exists()


def visible_guarantees(actor) -> QuerySet[Guarantee]:
    """The GOPs the actor may see (the one scoping query): insurer agents their insurer's only, hospital
    staff their hospital's, patients their own cases' (not drafts), everybody else none."""
    gops = Guarantee.objects.select_related("case", "case__patient", "hospital", "insurer", "coverage", "quote")
    if actor is None or not actor.is_authenticated:
        return gops.none()
    if actor.role == Role.INSURER_AGENT:
        insurer = insurer_of(actor)
        if insurer is None:
            return gops.none()
        return gops.filter(insurer=insurer).exclude(status=GuaranteeStatus.DRAFT)
    if actor.role in STAFF_ROLES and actor.hospital_id:
        return gops.filter(hospital_id=actor.hospital_id)
    if actor.role == Role.PATIENT:
        return gops.filter(case__patient__user=actor).exclude(status=GuaranteeStatus.DRAFT)
    return gops.none()


def _audit(actor, action: str, gop: Guarantee, /, **detail) -> None:
    record_event(
        actor, action, gop, hospital=gop.hospital, detail={"case": gop.case.reference, "gop": gop.number, **detail}
    )


def get_guarantee(actor, number: str, *, audit: str | None = "insurance.gop.view") -> Guarantee:
    """A GOP the actor may see, by number (else NotFound: never a hint that it exists)."""
    require_role(actor, Role.values)
    gop = visible_guarantees(actor).filter(number=number or "").first()
    if gop is None:
        raise NotFound(_("No such guarantee request."))
    if audit:
        _audit(actor, audit, gop, status=gop.status)
    return gop


def guarantees_of_case(actor, case: Case) -> list[Guarantee]:
    """The case's GOPs the actor may see, newest first."""
    return list(visible_guarantees(actor).filter(case=case).order_by("-created_at"))


def list_guarantees(actor, *, status: str | None = None, case: str | None = None) -> QuerySet[Guarantee]:
    """The GOPs the actor sees, optionally of one status (or "open") or one case, newest first."""
    require_role(actor, Role.values)
    gops = visible_guarantees(actor)
    if status == "open":
        gops = gops.filter(status__in=OPEN_STATUSES)
    elif status:
        if status not in GuaranteeStatus.values:
            raise InvalidInput(_("Unknown status."), field="status")
        gops = gops.filter(status=status)
    if case:
        gops = gops.filter(case__reference=case)
    record_event(actor, "insurance.gop.list", None, detail={"status": status or "", "case": case or ""})
    return gops.order_by("-created_at")


# FHIR Claim search statuses (GET /fhir/Claim?status=...) and the GOP statuses each covers.
FHIR_SEARCH_STATUSES = {
    "active": (*OPEN_STATUSES, GuaranteeStatus.APPROVED, GuaranteeStatus.PARTIAL, GuaranteeStatus.DENIED),
    "pending": tuple(OPEN_STATUSES),
    "cancelled": (GuaranteeStatus.CANCELLED,),
}


def search_claims(actor, status: str = "active", *, limit: int = 200) -> list[Guarantee]:
    """The GOP requests a FHIR Claim search returns (status active, pending, cancelled or all), audited."""
    require_role(actor, Role.values)
    gops = visible_guarantees(actor)
    if status != "all":
        if status not in FHIR_SEARCH_STATUSES:
            raise InvalidInput(_("status must be active, pending, cancelled or all."), field="status")
        gops = gops.filter(status__in=FHIR_SEARCH_STATUSES[status])
    found = list(gops.order_by("-created_at")[:limit])
    record_event(actor, "insurance.gop.search", None, detail={"status": status, "gops": [g.number for g in found]})
    return found


def insurer_case(actor, reference: str) -> Case:
    """A case an insurer agent may see (their member's), audited; NotFound otherwise."""
    require_role(actor, (Role.INSURER_AGENT,))
    case = visible_cases_for_insurer(actor).filter(reference=reference).first()
    if case is None:
        raise NotFound(_("No such case."))
    record_event(actor, "insurance.case.view", case, hospital=case.hospital)
    return case


# --- insurers and contracts -----------------------------------------------------------------------


def visible_insurers(actor) -> QuerySet[Insurer]:
    """Insurers a signed-in user may pick from (active ones; a platform admin sees all)."""
    require_role(actor, Role.values)
    if actor.is_platform_admin:
        return Insurer.objects.all()
    if actor.role == Role.INSURER_AGENT:
        insurer = insurer_of(actor)
        return Insurer.objects.filter(pk=insurer.pk) if insurer else Insurer.objects.none()
    return Insurer.objects.filter(active=True)


def _insurer(value, *, field: str = "insurer") -> Insurer:
    if isinstance(value, Insurer):
        return value
    text = str(value or "").strip()
    insurer = (
        Insurer.objects.filter(active=True).filter(Q(code=text) | Q(pk=int(text) if text.isdigit() else None)).first()
    )
    if insurer is None:
        raise InvalidInput(_("Choose an insurer."), field=field)
    return insurer


def visible_contracts(actor) -> QuerySet[Contract]:
    """Contracts: hospital staff their hospital's, an insurer agent their insurer's, a platform admin all."""
    contracts = Contract.objects.select_related("hospital", "insurer")
    if actor is None or not actor.is_authenticated:
        return contracts.none()
    if actor.is_platform_admin:
        return contracts
    if actor.role in STAFF_ROLES and actor.hospital_id:
        return contracts.filter(hospital_id=actor.hospital_id)
    if actor.role == Role.INSURER_AGENT:
        insurer = insurer_of(actor)
        return contracts.filter(insurer=insurer) if insurer else contracts.none()
    return contracts.none()


def get_contract(actor, pk) -> Contract:
    contract = visible_contracts(actor).filter(pk=pk).first()
    if contract is None:
        raise NotFound(_("No such contract."))
    return contract


def contract_for(hospital, insurer, *, on: datetime.date | None = None) -> Contract | None:
    """The active contract between the hospital and the insurer in force on `on` (default today)."""
    on = on or clock.today()
    return (
        Contract.objects.filter(hospital=hospital, insurer=insurer, active=True)
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=on))
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=on))
        .first()
    )


def _date(value, *, field: str, required: bool = True) -> datetime.date | None:
    if value in (None, ""):
        if required:
            raise InvalidInput(_("Enter a date."), field=field)
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput(_("Enter a date as YYYY-MM-DD."), field=field) from None


def _bool(value) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "true", "on", "yes")


def _kinds(value, *, field: str = "preauth_kinds") -> list[str]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    kinds = sorted(set(value or []))
    for kind in kinds:
        if kind not in Kind.values:
            raise InvalidInput(_("Unknown kind of service: %(kind)s.") % {"kind": kind}, field=field)
    return kinds


@transaction.atomic
def save_contract(actor, hospital, data: Mapping) -> Contract:
    """Create or update the hospital's contract with one insurer (hospital admins of that hospital)."""
    require_hospital_staff(actor, hospital, CONTRACT_EDITORS)
    insurer = _insurer(data.get("insurer"))
    threshold_raw = data.get("preauth_threshold_cny")
    threshold = None if threshold_raw in (None, "") else parse_amount(threshold_raw, field="preauth_threshold_cny")
    try:
        hours = int(str(data.get("answer_hours", 48)).strip() or 48)
    except ValueError:
        raise InvalidInput(_("Enter a whole number of hours."), field="answer_hours") from None
    if not 1 <= hours <= MAX_ANSWER_HOURS:
        raise InvalidInput(_("The answer deadline must be between 1 hour and 30 days."), field="answer_hours")
    valid_from = _date(data.get("valid_from"), field="valid_from", required=False)
    valid_until = _date(data.get("valid_until"), field="valid_until", required=False)
    if valid_from and valid_until and valid_until < valid_from:
        raise InvalidInput(_("The end date is before the start date."), field="valid_until")
    copay_raw = data.get("copay_percent")
    copay = Decimal("0.00") if copay_raw in (None, "") else parse_amount(copay_raw, field="copay_percent")
    if copay > 100:
        raise InvalidInput(_("A co-payment is a percentage from 0 to 100."), field="copay_percent")
    excess_raw = data.get("excess_cny")
    excess = Decimal("0.00") if excess_raw in (None, "") else parse_amount(excess_raw, field="excess_cny")
    values = {
        "direct_billing": _bool(data.get("direct_billing", True)),
        "covered_kinds": _kinds(data.get("covered_kinds"), field="covered_kinds"),
        "copay_percent": copay,
        "excess_cny": excess,
        "preauth_kinds": _kinds(data.get("preauth_kinds")),
        "preauth_threshold_cny": threshold,
        "answer_hours": hours,
        "currency": normalise_currency(data.get("currency") or "USD"),
        "valid_from": valid_from,
        "valid_until": valid_until,
        "notes": str(data.get("notes") or "")[:2000],
        "active": _bool(data.get("active", True)),
    }
    contract, created = Contract.objects.select_for_update().update_or_create(
        hospital=hospital, insurer=insurer, defaults=values
    )
    detail = {k: str(v) if isinstance(v, (Decimal, datetime.date)) else v for k, v in values.items()}
    record_event(
        actor,
        "insurance.contract.create" if created else "insurance.contract.update",
        contract,
        hospital=hospital,
        detail={"insurer": insurer.code, **detail},
    )
    return contract


def line_needs_preauth(contract: Contract, kind: str, amount_cny: Decimal) -> bool:
    """A line needs pre-authorisation when its kind is listed in the contract or it is above the threshold."""
    if kind and kind in (contract.preauth_kinds or []):
        return True
    threshold = contract.preauth_threshold_cny
    return threshold is not None and amount_cny > threshold


# --- coverage -------------------------------------------------------------------------------------


def coverage_of(case: Case) -> Coverage | None:
    """The coverage recorded on the case, or None (no access check: the caller has checked the case)."""
    return Coverage.objects.select_related("insurer", "contract").filter(case=case).first()


def planned_dates(case: Case, quote: Quote | None = None) -> tuple[datetime.date | None, datetime.date | None]:
    return case.desired_arrival, case.desired_departure or case.desired_arrival


def coverage_problems(
    coverage: Coverage, *, start: datetime.date | None = None, end: datetime.date | None = None
) -> list[str]:
    """What keeps this coverage from direct billing at the case's hospital (empty when all is well)."""
    problems = []
    case = coverage.case
    contract = contract_for(case.hospital, coverage.insurer)
    if contract is None:
        problems.append(_("%(insurer)s has no contract in force with this hospital.") % {"insurer": coverage.insurer})
    elif not contract.direct_billing:
        problems.append(_("The contract with %(insurer)s has no direct billing.") % {"insurer": coverage.insurer})
    if start is None and end is None:
        start, end = planned_dates(case)
    today = clock.today()
    if coverage.valid_until < today:
        problems.append(_("The policy expired on %(date)s.") % {"date": coverage.valid_until.isoformat()})
    if start and coverage.valid_from > start:
        problems.append(
            _("The policy starts on %(date)s, after the planned treatment starts.")
            % {"date": coverage.valid_from.isoformat()}
        )
    if end and coverage.valid_until < end:
        problems.append(
            _("The policy ends on %(date)s, before the planned treatment ends.")
            % {"date": coverage.valid_until.isoformat()}
        )
    return problems


@transaction.atomic
def record_coverage(actor, case: Case, data: Mapping) -> Coverage:
    """Record (or correct) the patient's policy on the case (coordinators and admins of its hospital)."""
    require_case_staff(actor, case, DESK)
    insurer = _insurer(data.get("insurer"))
    member_id = str(data.get("member_id") or "").strip()
    if not member_id:
        raise InvalidInput(_("Enter the member number."), field="member_id")
    if len(member_id) > 60:
        raise InvalidInput(_("The member number is too long."), field="member_id")
    valid_from = _date(data.get("valid_from"), field="valid_from")
    valid_until = _date(data.get("valid_until"), field="valid_until")
    if valid_until < valid_from:
        raise InvalidInput(_("The end date is before the start date."), field="valid_until")
    open_gop = Guarantee.objects.filter(case=case, status__in=OPEN_STATUSES).first()
    if open_gop is not None:
        raise Conflict(
            _("A guarantee request is waiting for the insurer; cancel it before changing the coverage."),
            field="insurer",
        )
    values = {
        "insurer": insurer,
        "member_id": member_id,
        "policy_number": str(data.get("policy_number") or "").strip()[:60],
        "plan": str(data.get("plan") or "").strip()[:120],
        "valid_from": valid_from,
        "valid_until": valid_until,
        "contract": contract_for(case.hospital, insurer),
        "recorded_by": actor,
    }
    coverage, created = Coverage.objects.update_or_create(case=case, defaults=values)
    problems = coverage_problems(coverage)
    detail = {"insurer": insurer.code, "member_id": member_id, "problems": problems}
    add_event(case, actor, "coverage_recorded", staff_only=True, insurer=insurer.name, member_id=member_id)
    record_event(
        actor, "insurance.coverage.record", coverage, hospital=case.hospital, detail={"case": case.reference, **detail}
    )
    return coverage


def coverage_for_case(actor, case: Case) -> tuple[Coverage | None, list[str]]:
    """The case's coverage and its problems, for a party of the case (patient, staff, the insurer)."""
    if not may_see_case(actor, case):
        raise NotFound(_("No such case."))
    coverage = coverage_of(case)
    return coverage, (coverage_problems(coverage) if coverage else [])


# --- the GOP request ------------------------------------------------------------------------------


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


def _text(data: Mapping, name: str, *, max_length: int, required: bool = True, message: str = "") -> str:
    value = str(data.get(name) or "").strip()
    if required and not value:
        raise InvalidInput(message or _("This field is required."), field=name)
    if len(value) > max_length:
        raise InvalidInput(_("This text is too long."), field=name)
    return value


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


@transaction.atomic
def send_guarantee_request(actor, case: Case, data: Mapping) -> Guarantee:
    """Build a GOP request from the case's accepted quote and send it to the insurer (coordinators and
    admins of the case's hospital). Refused without an accepted quote, a coverage without problems, or
    while another request of the case is open. Nothing is written when a check fails."""
    require_case_staff(actor, case, DESK)
    case = Case.objects.select_for_update().get(pk=case.pk)
    quote = accepted_quote(case)
    if quote is None:
        raise Conflict(_("The patient has not accepted a quote yet: the GOP request is built from it."), field="quote")
    coverage = coverage_of(case)
    if coverage is None:
        raise CoverageProblem(_("Record the patient's insurance coverage first."), field="insurer")
    if Guarantee.objects.filter(case=case, status__in=(GuaranteeStatus.DRAFT, *OPEN_STATUSES)).exists():
        raise Conflict(_("A guarantee request of this case is already waiting for the insurer."))
    diagnosis_code = _icd10(data.get("diagnosis_code"))
    diagnosis_text = _text(data, "diagnosis_text", max_length=300, message=_("Describe the diagnosis."))
    doctor = _text(data, "treating_doctor", max_length=200, message=_("Name the treating doctor."))
    notes = _text(data, "clinical_notes", max_length=4000, required=False)
    start = _date(data.get("planned_start") or case.desired_arrival, field="planned_start")
    end = _date(data.get("planned_end") or case.desired_departure or start, field="planned_end")
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
    _audit(actor, "insurance.gop.send", gop, **detail)
    transaction.on_commit(lambda: _notify_insurer(gop))
    return gop


@transaction.atomic
def resubmit_guarantee_request(actor, gop: Guarantee, data: Mapping) -> Guarantee:
    """Answer the insurer's request for more information and send the GOP again with a new deadline."""
    require_case_staff(actor, gop.case, DESK)
    gop = Guarantee.objects.select_for_update().get(pk=gop.pk)
    if gop.status != GuaranteeStatus.PENDED:
        raise GuaranteeNotOpen(_("Only a request the insurer asked more information about can be sent again."))
    note = _text(data, "clinical_notes", max_length=4000, message=_("Give the information the insurer asked for."))
    now = clock.now()
    gop.clinical_notes = (gop.clinical_notes + "\n\n" + note).strip()
    gop.status, gop.submitted_at, gop.reminded_at = GuaranteeStatus.SUBMITTED, now, None
    gop.deadline_at = now + datetime.timedelta(hours=gop.contract.answer_hours)
    gop.claim_json = gop_bundle(gop)
    gop.save()
    add_event(gop.case, actor, "gop_resubmitted", gop=gop.number, deadline=gop.deadline_at.isoformat())
    _audit(actor, "insurance.gop.resubmit", gop)
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
    _audit(actor, "insurance.gop.cancel", gop)
    return gop


# --- the insurer's answer -------------------------------------------------------------------------


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
    out = {"status": status, "disposition": _text(data, "disposition", max_length=2000, required=False)}
    if status in GRANTED_STATUSES:
        out["reference"] = _text(data, "reference", max_length=80, message=_("Give the approval reference."))
        raw_amount = data.get("amount")
        if raw_amount in (None, ""):
            if status == GuaranteeStatus.PARTIAL:
                raise InvalidInput(_("Give the approved amount."), field="amount")
            out["amount"], out["currency"] = gop.requested_cny, "CNY"
        else:
            out["amount"] = parse_amount(raw_amount, field="amount")
            out["currency"] = normalise_currency(data.get("currency"))
        out["valid_from"] = _date(data.get("valid_from"), field="valid_from")
        out["valid_until"] = _date(data.get("valid_until"), field="valid_until")
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


def _apply_answer(
    actor, gop: Guarantee, fields: dict, decisions: dict, response_json: dict | None, channel: str
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
        line.save(update_fields=["review_action", "approved_amount"])
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
    _audit(actor, "insurance.gop.answer", gop, **detail)
    transaction.on_commit(lambda: _notify_coordinator(gop, "gop_answered"))
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
    return _apply_answer(actor, gop, fields, decisions, None, "portal")


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


@transaction.atomic
def record_claim_response(actor, data):
    """The insurer's answer as a FHIR ClaimResponse (bare or in a Bundle), for a GOP of its own members
    (use = preauthorization; returns the Guarantee) or for a claim after treatment (use = claim; handed
    to billing, returns its Claim)."""
    require_role(actor, (Role.INSURER_AGENT,))
    parsed = fhir.parse_claim_response(data)
    if parsed.use == "claim":
        from laihua.billing import services as billing

        return billing.record_claim_response(actor, parsed, fhir._load(data))
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
    decisions = {}
    sequences = {line.sequence for line in gop.lines.all()}
    for item in parsed.items:
        if item.sequence in sequences:
            decisions[item.sequence] = (fhir.REVIEW_STATUS.get(item.review_action, status), item.amounts.get("benefit"))
    for seq in sequences - set(decisions):
        decisions[seq] = (status, None)
    raw = fhir._load(data)
    return _apply_answer(actor, gop, fields, decisions, raw, "fhir")


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


def is_overdue(gop: Guarantee, now: datetime.datetime | None = None) -> bool:
    return (
        gop.status == GuaranteeStatus.SUBMITTED
        and gop.deadline_at is not None
        and gop.deadline_at < (now or clock.now())
    )


def may_send(actor, case: Case) -> bool:
    return actor.is_authenticated and actor.role in DESK and actor.hospital_id == case.hospital_id


# --- reminders and notices ------------------------------------------------------------------------


def remind_overdue(now: datetime.datetime | None = None) -> list[str]:
    """Remind the coordinator once about every GOP request past its deadline without an answer."""
    now = now or clock.now()
    reminded = []
    due = Guarantee.objects.filter(status=GuaranteeStatus.SUBMITTED, deadline_at__lt=now, reminded_at__isnull=True)
    for pk in due.values_list("pk", flat=True):
        with transaction.atomic():
            gop = (
                Guarantee.objects.select_for_update()
                .select_related("case", "insurer", "hospital")
                .filter(pk=pk, status=GuaranteeStatus.SUBMITTED, reminded_at__isnull=True)
                .first()
            )
            if gop is None:
                continue
            gop.reminded_at = now
            gop.save(update_fields=["reminded_at", "updated_at"])
            add_event(
                gop.case, None, "gop_overdue", staff_only=True, gop=gop.number, deadline=gop.deadline_at.isoformat()
            )
            record_event(
                None,
                "insurance.gop.remind",
                gop,
                hospital=gop.hospital,
                detail={"case": gop.case.reference, "gop": gop.number, "by": "system"},
            )
            transaction.on_commit(lambda gop=gop: _notify_coordinator(gop, "gop_overdue"))
        reminded.append(gop.number)
    return reminded


def _send(users, kind: str, gop: Guarantee, url_for) -> int:
    sent = 0
    for user in users:
        if not user or not user.email:
            continue
        language = user.preferred_language or "zh-hans"
        with translation.override(language):
            data = {"gop": gop, "case": gop.case, "user": user, "url": url_for(language)}
            subject = render_to_string(f"insurance/email/{kind}_subject.txt", data).strip()
            body = render_to_string(f"insurance/email/{kind}.txt", data)
        sent += send_mail(subject, body, None, [user.email])
    return sent


def _notify_coordinator(gop: Guarantee, kind: str) -> int:
    from laihua.cases.notices import case_url

    case = gop.case
    if case.coordinator_id:
        users = [case.coordinator]
    else:
        users = list(case.hospital.staff.filter(role=Role.COORDINATOR, is_active=True))
    return _send(users, kind, gop, lambda language: case_url(case, language))


def _notify_insurer(gop: Guarantee) -> int:
    from django.urls import reverse

    users = [link.user for link in gop.insurer.agents.select_related("user").filter(user__is_active=True)]

    def url(language):
        with translation.override(language):
            return settings.SITE_URL.rstrip("/") + reverse("insurance:portal_detail", args=[gop.number])

    return _send(users, "gop_received", gop, url)
