"""Billing: the invoice of a case, its split between insurer and patient, claims, payments, write-offs.

- Who: finance, coordinators and hospital admins of the case's hospital draft invoices and confirm what
  was delivered; finance and hospital admins issue and cancel, record payments, send claims and approve
  write-offs (never their own). The case's patient sees its issued invoices and payments; an insurer
  agent sees only the claims (and their invoices) of the insurer it works for. Everything is read
  through `visible_invoices` / `visible_claims` and audited.
- Drafting: a draft starts from the accepted quote's lines (frozen prices) and the case's booked
  services (the catalog price in force on the service day); staff confirm each delivered quantity
  (0: not delivered) and add extras, each with a reason.
- Issuing: lines are split by `arithmetic.split_lines` under the insurer's contract rules up to the
  approved guarantee, the rate of the day is frozen, the invoice gets its hospital's next number and
  never changes again; a correction cancels it and drafts its replacement, which takes over the
  payments.
- Money: Decimal CNY to the fen. The balance is computed from the rows (`balances_of`): total minus
  payments (refunds negative) minus approved write-offs. A case cannot close while an invoice is a
  draft or has a balance (the `case_moved` receiver refuses the move inside its transaction).
"""

import csv
import datetime
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet, Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from laihua.accounts.models import Role
from laihua.accounts.services import require_hospital_staff, require_role
from laihua.audit.services import record_event
from laihua.billing import arithmetic, coverage
from laihua.billing.arithmetic import ZERO, to_fen
from laihua.billing.models import (
    OPEN_STATUSES,
    Claim,
    ClaimOutcome,
    ClaimResponse,
    ClaimResponseLine,
    ClaimStatus,
    Disposition,
    Invoice,
    InvoiceLine,
    InvoiceSequence,
    InvoiceStatus,
    LineSource,
    Payer,
    Payment,
    PaymentKind,
    PaymentMethod,
    WriteOff,
    WriteOffStatus,
)
from laihua.capacity.models import BookingRequest, BookingStatus
from laihua.cases.models import Case
from laihua.cases.services import add_event, get_case, visible_cases
from laihua.cases.states import State
from laihua.catalog.models import CatalogItem
from laihua.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RateUnavailable
from laihua.kit import clock
from laihua.kit.i18n import language_codes
from laihua.kit.money import MAX_AMOUNT, normalise_currency, parse_amount
from laihua.quotes.models import Quote
from laihua.quotes.models import Status as QuoteStatus
from laihua.quotes.services import line_amounts
from laihua.rates import services as rates

DRAFTERS = (Role.FINANCE, Role.COORDINATOR, Role.HOSPITAL_ADMIN)
READERS = DRAFTERS
CASHIERS = (Role.FINANCE, Role.HOSPITAL_ADMIN)  # issue, cancel, payments, claims, write-off decisions
BILLABLE_STATES = (State.ARRIVED, State.IN_TREATMENT, State.DISCHARGED, State.FOLLOW_UP)
MAX_QUANTITY = 999
MAX_LINES = 200
MAX_REASON = 300
MAX_REFERENCE = 120
AGE_BUCKETS = ((0, 30, "0-30"), (31, 60, "31-60"), (61, 90, "61-90"), (91, None, ">90"))


# --- errors ---------------------------------------------------------------------------------------


class InvoiceFrozen(Conflict):
    code = "invoice_frozen"
    default_message = gettext_lazy("This invoice is issued and can no longer change: cancel it to correct it.")


class InvoiceNotIssued(Conflict):
    code = "invoice_not_issued"
    default_message = gettext_lazy("Issue the invoice first.")


class UnexplainedBalance(Conflict):
    code = "unexplained_balance"


class IdempotencyMismatch(Conflict):
    code = "idempotency_mismatch"
    default_message = gettext_lazy("This idempotency key was already used for a different payment.")


# --- who sees which -------------------------------------------------------------------------------


def _is_reader(actor) -> bool:
    return actor is not None and actor.is_authenticated and actor.role in READERS and bool(actor.hospital_id)


def visible_invoices(actor) -> QuerySet[Invoice]:
    """THE scoping query: staff (finance, coordinator, admin) their hospital's invoices; a patient the issued
    invoices of their own cases; an insurer agent the invoices its insurer was sent a claim for."""
    invoices = Invoice.objects.select_related("case", "case__patient", "hospital", "insurer")
    if actor is None or not actor.is_authenticated:
        return invoices.none()
    if actor.role == Role.PATIENT:
        return invoices.filter(case__in=visible_cases(actor)).exclude(status=InvoiceStatus.DRAFT)
    if _is_reader(actor):
        return invoices.filter(hospital_id=actor.hospital_id)
    if actor.role == Role.INSURER_AGENT:
        insurer = coverage.insurer_of(actor)
        if insurer is None:
            return invoices.none()
        return invoices.filter(insurer=insurer, claims__isnull=False).distinct()
    return invoices.none()


def visible_claims(actor) -> QuerySet[Claim]:
    """Claims: hospital staff of the hospital's readers, an insurer agent only its own insurer's, nobody else."""
    claims = Claim.objects.select_related("invoice", "invoice__case", "hospital", "insurer")
    if actor is None or not actor.is_authenticated:
        return claims.none()
    if _is_reader(actor):
        return claims.filter(hospital_id=actor.hospital_id)
    if actor.role == Role.INSURER_AGENT:
        insurer = coverage.insurer_of(actor)
        return claims.filter(insurer=insurer) if insurer is not None else claims.none()
    if actor.role == Role.PATIENT:
        return claims.filter(invoice__case__in=visible_cases(actor))
    return claims.none()


def _audit(actor, action: str, invoice: Invoice, /, **detail) -> None:
    record_event(actor, action, invoice, hospital=invoice.hospital, detail={"case": invoice.case.reference, **detail})


def get_invoice(actor, pk, *, audit: str | None = "invoice.view") -> Invoice:
    """An invoice the actor may see (else NotFound: never a hint that it exists)."""
    require_role(actor, Role.values)
    invoice = _by_id(visible_invoices(actor), pk, _("No such invoice."))
    if audit:
        _audit(actor, audit, invoice, status=invoice.status)
    return invoice


def get_claim(actor, pk, *, audit: str | None = "claim.view") -> Claim:
    """A claim the actor may see (else NotFound)."""
    require_role(actor, Role.values)
    claim = _by_id(visible_claims(actor), pk, _("No such claim."))
    if audit:
        _audit(actor, audit, claim.invoice, claim=claim.number)
    return claim


def invoices_of_case(actor, case: Case) -> list[Invoice]:
    return list(visible_invoices(actor).filter(case=case).order_by("-created_at", "-pk"))


def list_invoices(actor, *, case: str | None = None, status: str | None = None) -> QuerySet[Invoice]:
    """The invoices the actor may see, of one case or in one status (audited)."""
    require_role(actor, Role.values)
    invoices = visible_invoices(actor)
    if case:
        invoices = invoices.filter(case=get_case(actor, case, audit=None))
    if status:
        if status not in InvoiceStatus.values:
            raise InvalidInput(_("Unknown status “%(status)s”.") % {"status": status}, field="status")
        invoices = invoices.filter(status=status)
    record_event(actor, "invoice.list", None, hospital=getattr(actor, "hospital", None), detail={"case": case or ""})
    return invoices.order_by("-created_at", "-pk")


def may_draft(actor, invoice_or_case) -> bool:
    hospital_id = invoice_or_case.hospital_id
    return _is_reader(actor) and actor.hospital_id == hospital_id


def may_cash(actor, invoice: Invoice) -> bool:
    return may_draft(actor, invoice) and actor.role in CASHIERS


def _lock(invoice: Invoice) -> Invoice:
    locked = Invoice.objects.select_for_update(of=("self",)).select_related("case", "hospital").get(pk=invoice.pk)
    return locked


def _require_staff(actor, invoice_or_case, roles) -> None:
    require_hospital_staff(actor, invoice_or_case.hospital, roles)


def _require_draft(actor, invoice: Invoice, roles=DRAFTERS) -> Invoice:
    _require_staff(actor, invoice, roles)
    invoice = _lock(invoice)
    if invoice.status != InvoiceStatus.DRAFT:
        raise InvoiceFrozen()
    return invoice


# --- input ----------------------------------------------------------------------------------------


def _text(value, *, field: str, required: bool = False, max_length: int = MAX_REASON) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise InvalidInput(_("This field is required."), field=field)
    if len(text) > max_length:
        raise InvalidInput(_("At most %(count)d characters.") % {"count": max_length}, field=field)
    return text


def _quantity(value, *, minimum: int = 0) -> int:
    try:
        quantity = int(str(value).strip())
    except (TypeError, ValueError):
        raise InvalidInput(_("The quantity is a whole number."), field="quantity") from None
    if not minimum <= quantity <= MAX_QUANTITY:
        raise InvalidInput(
            _("The quantity is between %(min)d and %(max)d.") % {"min": minimum, "max": MAX_QUANTITY},
            field="quantity",
        )
    return quantity


def _date(value, *, field: str, default: datetime.date | None = None) -> datetime.date:
    if value in (None, ""):
        if default is None:
            raise InvalidInput(_("Give a date in the form YYYY-MM-DD."), field=field)
        return default
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput(_("Give a date in the form YYYY-MM-DD."), field=field) from None


def _positive_amount(value, *, field: str) -> Decimal:
    if value in (None, ""):
        raise InvalidInput(_("Give an amount."), field=field)
    amount = parse_amount(value, field=field)
    if amount <= 0:
        raise InvalidInput(_("The amount must be more than zero."), field=field)
    return amount


def _amount(value, *, field: str) -> Decimal:
    return ZERO if value in (None, "") else parse_amount(value, field=field)


def _choice(value, choices, *, field: str) -> str:
    value = str(value or "").strip()
    if value not in choices.values:
        raise InvalidInput(_("Choose one of: %(choices)s.") % {"choices": ", ".join(choices.values)}, field=field)
    return value


def _texts(value, *, field: str) -> dict:
    """A description in every required language (one text stands for all)."""
    if isinstance(value, str):
        value = dict.fromkeys(language_codes(), value)
    if not isinstance(value, Mapping):
        raise InvalidInput(_('Give the text by language, e.g. {"en": ..., "zh-hans": ...}.'), field=field)
    texts = {code: _text(text, field=field) for code, text in value.items() if code in language_codes()}
    texts = {code: text for code, text in texts.items() if text}
    if not texts.get("en") or not texts.get("zh-hans"):
        raise InvalidInput(_("Describe the line in English and in Chinese, for the bilingual invoice."), field=field)
    return texts


# --- drafting -------------------------------------------------------------------------------------


def _next_position(invoice: Invoice) -> int:
    return (invoice.lines.aggregate(last=Max("position"))["last"] or 0) + 1


def _set_amounts(line: InvoiceLine) -> None:
    amounts = line_amounts(
        line.quantity, line.unit_price_cny, percent=line.discount_percent, fixed=line.discount_fixed_cny
    )
    if amounts.gross >= MAX_AMOUNT:
        raise InvalidInput(_("This line's amount is too large."), field="quantity")
    line.gross_cny, line.discount_cny, line.amount_cny = amounts.gross, amounts.discount, amounts.amount


def _refresh_total(invoice: Invoice) -> None:
    """A draft's total (its split is made at issue: until then the patient's part is the whole)."""
    total = arithmetic.total(invoice.lines.values_list("amount_cny", flat=True))
    if total >= MAX_AMOUNT:
        raise InvalidInput(_("The invoice's total is too large."), field="lines")
    invoice.total_cny, invoice.insurer_cny, invoice.patient_cny = total, ZERO, total
    invoice.save(update_fields=["total_cny", "insurer_cny", "patient_cny", "updated_at"])


def _accepted_quote(case: Case) -> Quote | None:
    return case.quotes.filter(status=QuoteStatus.ACCEPTED).order_by("-revision").first()


def _booked_requests(case: Case) -> list[BookingRequest]:
    """The case's booking requests of which something is still booked (not cancelled)."""
    return list(
        BookingRequest.objects.filter(case=case, bookings__status=BookingStatus.BOOKED)
        .select_related("item")
        .distinct()
        .order_by("start_day", "pk")
    )


def _seed_from_quote(invoice: Invoice, quote: Quote, booked: dict[int, BookingRequest], today) -> None:
    for quote_line in quote.lines.select_related("item").order_by("position", "pk"):
        request = booked.pop(quote_line.item_id, None) if quote_line.item_id else None
        line = InvoiceLine(
            invoice=invoice,
            position=_next_position(invoice),
            source=LineSource.QUOTE,
            quote_line=quote_line,
            booking_request=request,
            item=quote_line.item,
            code=quote_line.code,
            kind=quote_line.item.kind if quote_line.item_id else "",
            description=dict(quote_line.description),
            service_date=request.start_day if request else today,
            quantity=quote_line.quantity,
            unit_price_cny=quote_line.unit_price_cny,
            discount_percent=quote_line.discount_percent,
            discount_fixed_cny=quote_line.discount_fixed_cny,
        )
        _set_amounts(line)
        line.save()


def _catalog_line(invoice: Invoice, item: CatalogItem, day: datetime.date, **extra) -> InvoiceLine:
    price = item.price_on(day)
    if price is None:
        raise InvalidInput(
            _("%(code)s has no price in force on %(date)s.") % {"code": item.code, "date": day.isoformat()},
            field="item",
        )
    line = InvoiceLine(
        invoice=invoice,
        position=_next_position(invoice),
        item=item,
        code=item.code,
        kind=item.kind,
        description=dict(item.name),
        service_date=day,
        unit_price_cny=price.amount_min,
        **extra,
    )
    return line


@transaction.atomic
def start_invoice(actor, case: Case) -> Invoice:
    """Draft the case's invoice from the accepted quote's lines and the booked services (one invoice in force
    per case); staff then confirm what was delivered."""
    _require_staff(actor, case, DRAFTERS)
    case = Case.objects.select_for_update(of=("self",)).select_related("patient", "hospital").get(pk=case.pk)
    if case.state not in BILLABLE_STATES:
        raise Conflict(
            _("An invoice is drafted once the patient has arrived; this case is “%(state)s”.")
            % {"state": State(case.state).label},
            code="case_not_billable",
            field="case",
        )
    if case.invoices.filter(status__in=OPEN_STATUSES).exists():
        raise Conflict(_("This case already has an invoice."), code="invoice_exists", field="case")
    return _new_draft(actor, case)


def _new_draft(actor, case: Case, replaces: Invoice | None = None) -> Invoice:
    quote = _accepted_quote(case)
    currency = (quote.currency if quote else case.patient.preferred_currency) or "CNY"
    invoice = Invoice.objects.create(
        case=case,
        hospital=case.hospital,
        quote=quote,
        replaces=replaces,
        currency=currency,
        language=case.language if case.language in language_codes() else "en",
        created_by=actor,
    )
    today = clock.today()
    if replaces is not None:
        _copy_lines(replaces, invoice)
    else:
        booked = {request.item_id: request for request in _booked_requests(case)}
        if quote is not None:
            _seed_from_quote(invoice, quote, booked, today)
        for request in booked.values():
            line = _catalog_line(invoice, request.item, request.start_day, source=LineSource.BOOKING)
            line.booking_request = request
            _set_amounts(line)
            line.save()
    _refresh_total(invoice)
    add_event(case, actor, "invoice_draft", staff_only=True, replaces=replaces.number if replaces else "")
    _audit(actor, "invoice.create", invoice, lines=invoice.lines.count(), replaces=replaces.number if replaces else "")
    return invoice


def _copy_lines(old: Invoice, invoice: Invoice) -> None:
    for line in old.lines.all():
        line.pk = None
        line.invoice = invoice
        line.not_covered_cny = line.excess_cny = line.copay_cny = line.over_limit_cny = ZERO
        line.insurer_cny = line.patient_cny = ZERO
        line.save()


def _by_id(rows: QuerySet, pk, message: str):
    """The row with this id among `rows`, else NotFound with the message (a malformed id is not found either)."""
    try:
        found = rows.filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise NotFound(message)
    return found


def _line_of(invoice: Invoice, line_id) -> InvoiceLine:
    return _by_id(invoice.lines.all(), line_id, _("No such line on this invoice."))


@transaction.atomic
def confirm_line(actor, invoice: Invoice, line_id, quantity) -> InvoiceLine:
    """Staff confirm how much of a line was delivered (0: not delivered; it is left off when issuing)."""
    invoice = _require_draft(actor, invoice)
    line = _line_of(invoice, line_id)
    line.quantity = _quantity(quantity, minimum=0 if line.source != LineSource.EXTRA else 1)
    line.confirmed = True
    _set_amounts(line)
    line.save()
    _refresh_total(invoice)
    _audit(actor, "invoice.line.confirm", invoice, line=line.pk, quantity=line.quantity)
    return line


def _extra_line(invoice: Invoice, data: Mapping, day: datetime.date) -> InvoiceLine:
    if data.get("item") not in (None, ""):
        try:
            item_id = int(data["item"])
        except (TypeError, ValueError):
            item_id = None
        item = CatalogItem.objects.filter(pk=item_id, hospital_id=invoice.hospital_id).first() if item_id else None
        if item is None:
            raise InvalidInput(_("This hospital offers no such service."), field="item")
        line = _catalog_line(invoice, item, day, source=LineSource.EXTRA)
        price = item.price_on(day)
        if data.get("unit_price") not in (None, ""):
            unit = parse_amount(data["unit_price"], field="unit_price")
            if not price.amount_min <= unit <= price.amount_max:
                raise InvalidInput(
                    _("Choose a unit price within the catalog price of %(low)s to %(high)s CNY.")
                    % {"low": price.amount_min, "high": price.amount_max},
                    field="unit_price",
                )
            line.unit_price_cny = unit
        return line
    if data.get("unit_price") in (None, ""):
        raise InvalidInput(_("Give the unit price of a line priced by hand."), field="unit_price")
    return InvoiceLine(
        invoice=invoice,
        position=_next_position(invoice),
        source=LineSource.EXTRA,
        code=_text(data.get("code"), field="code", max_length=40),
        kind=_text(data.get("kind"), field="kind", max_length=20),
        description=_texts(data.get("description"), field="description"),
        service_date=day,
        unit_price_cny=parse_amount(data["unit_price"], field="unit_price"),
    )


@transaction.atomic
def add_extra(actor, invoice: Invoice, data: Mapping) -> InvoiceLine:
    """Add something delivered beyond the quote: a catalog service at its price on the service date, or a line
    priced by hand; the reason is mandatory."""
    invoice = _require_draft(actor, invoice)
    reason = _text(data.get("reason"), field="reason", required=True)
    if invoice.lines.count() >= MAX_LINES:
        raise InvalidInput(_("An invoice has at most %(count)d lines.") % {"count": MAX_LINES}, field="lines")
    day = _date(data.get("service_date"), field="service_date", default=clock.today())
    if day > clock.today():
        raise InvalidInput(_("A service date cannot be in the future."), field="service_date")
    line = _extra_line(invoice, data, day)
    line.quantity = _quantity(data.get("quantity", 1), minimum=1)
    line.reason, line.confirmed, line.added_by = reason, True, actor
    _set_amounts(line)
    line.save()
    _refresh_total(invoice)
    _audit(actor, "invoice.line.add", invoice, line=line.pk, code=line.code, reason=reason, amount=str(line.amount_cny))
    return line


@transaction.atomic
def remove_extra(actor, invoice: Invoice, line_id) -> Invoice:
    """Take an extra off a draft (a quoted or booked line is confirmed at 0 instead, which keeps it on record)."""
    invoice = _require_draft(actor, invoice)
    line = _line_of(invoice, line_id)
    if line.source != LineSource.EXTRA:
        raise Conflict(_("Confirm a quoted or booked line with quantity 0 instead."), field="line")
    _audit(actor, "invoice.line.remove", invoice, line=line.pk, code=line.code)
    line.delete()
    _refresh_total(invoice)
    return invoice


# --- issuing --------------------------------------------------------------------------------------


def _number(invoice: Invoice, day: datetime.date) -> str:
    sequence, _created = InvoiceSequence.objects.select_for_update().get_or_create(
        hospital_id=invoice.hospital_id, year=day.year
    )
    sequence.last += 1
    sequence.save(update_fields=["last"])
    return f"{invoice.hospital.slug.upper()}-{day.year}-{sequence.last:05d}"


def _apply_split(invoice: Invoice, lines: list[InvoiceLine], rules: arithmetic.Rules) -> None:
    splits = arithmetic.split_lines([(line.amount_cny, line.kind) for line in lines], rules)
    for line, part in zip(lines, splits, strict=True):
        line.not_covered_cny, line.excess_cny, line.copay_cny = part.not_covered, part.excess, part.copay
        line.over_limit_cny, line.insurer_cny, line.patient_cny = part.over_limit, part.insurer, part.patient
        line.save()
    invoice.total_cny = arithmetic.total(part.amount for part in splits)
    invoice.insurer_cny = arithmetic.total(part.insurer for part in splits)
    invoice.patient_cny = invoice.total_cny - invoice.insurer_cny


def _check_issuable(invoice: Invoice) -> list[InvoiceLine]:
    lines = list(invoice.lines.all())
    unconfirmed = [line.code or str(line.position) for line in lines if not line.confirmed]
    if unconfirmed:
        raise InvalidInput(
            _("Confirm the delivered quantity of every line first: %(lines)s.") % {"lines": ", ".join(unconfirmed)},
            field="lines",
        )
    delivered = [line for line in lines if line.quantity > 0]
    if not delivered:
        raise InvalidInput(_("An invoice needs at least one delivered line."), field="lines")
    return delivered


def _renumber(invoice: Invoice, delivered: list[InvoiceLine]) -> None:
    invoice.lines.filter(quantity=0).delete()
    for position, line in enumerate(delivered, start=1):
        line.position = position


def _freeze_rate(invoice: Invoice, today: datetime.date) -> None:
    if invoice.currency == "CNY":
        invoice.rate_cny_per_unit, invoice.rate_date, invoice.rate_source = Decimal(1), today, ""
        invoice.total_converted = invoice.total_cny
        return
    try:
        rate = rates.rate_for(invoice.currency, today)
    except RateUnavailable as exc:
        exc.field = "currency"
        raise
    invoice.rate_cny_per_unit, invoice.rate_date, invoice.rate_source = rate.cny_per_unit, rate.rate_date, rate.source
    invoice.total_converted = rates.convert_from_cny(invoice.total_cny, rate)


@transaction.atomic
def issue_invoice(actor, invoice: Invoice, *, cover: coverage.CaseCover | None | bool = True) -> Invoice:
    """Split the confirmed lines between insurer and patient, freeze the rate, number and issue the invoice.

    `cover` defaults to the case's insurer, approved guarantee and contract rules (insurance domain)."""
    invoice = _require_draft(actor, invoice, CASHIERS)
    today = clock.today()
    delivered = _check_issuable(invoice)
    _renumber(invoice, delivered)
    if cover is True:
        cover = coverage.cover_of(invoice.case, today, min(line.service_date for line in delivered))
    rules = cover.rules if cover else arithmetic.NO_INSURER
    _apply_split(invoice, delivered, rules)
    if cover:
        invoice.insurer, invoice.insurer_name = cover.insurer, cover.insurer.name
        invoice.guarantee_ref = cover.guarantee_ref
    invoice.rules = coverage.rules_as_json(rules) if cover else {}
    _freeze_rate(invoice, today)
    invoice.number = _number(invoice, today)
    invoice.status, invoice.issue_date, invoice.issued_at, invoice.issued_by = (
        InvoiceStatus.ISSUED,
        today,
        clock.now(),
        actor,
    )
    invoice.save()
    _settle_status(invoice)
    detail = {
        "invoice": invoice.number,
        "total_cny": str(invoice.total_cny),
        "insurer_cny": str(invoice.insurer_cny),
        "patient_cny": str(invoice.patient_cny),
        "insurer": invoice.insurer_name,
    }
    add_event(invoice.case, actor, "invoice_issued", **detail)
    _audit(actor, "invoice.issue", invoice, **detail)
    return invoice


@transaction.atomic
def cancel_invoice(actor, invoice: Invoice, reason: str) -> Invoice:
    """Cancel an issued invoice to correct it: a new draft replaces it and takes over its payments and
    write-offs; a claim sent for it is cancelled. Returns the new draft."""
    _require_staff(actor, invoice, CASHIERS)
    invoice = _lock(invoice)
    reason = _text(reason, field="reason", required=True, max_length=2000)
    if invoice.status not in (InvoiceStatus.ISSUED, InvoiceStatus.BALANCED):
        raise Conflict(_("Only an issued invoice can be cancelled."), code="invoice_not_issued")
    if ClaimResponse.objects.filter(claim__invoice=invoice).exists():
        raise Conflict(
            _("The insurer has answered the claim of this invoice: record a credit with a write-off instead."),
            code="claim_answered",
        )
    invoice.status, invoice.cancelled_at, invoice.cancel_reason = InvoiceStatus.CANCELLED, clock.now(), reason
    invoice.save(update_fields=["status", "cancelled_at", "cancel_reason", "updated_at"])
    invoice.claims.filter(status=ClaimStatus.ACTIVE).update(status=ClaimStatus.CANCELLED)
    replacement = _new_draft(actor, invoice.case, replaces=invoice)
    moved = list(invoice.payments.values_list("pk", flat=True))
    invoice.payments.update(invoice=replacement)
    invoice.write_offs.exclude(status=WriteOffStatus.REJECTED).update(invoice=replacement)
    add_event(invoice.case, actor, "invoice_cancelled", staff_only=True, invoice=invoice.number, note=reason)
    _audit(actor, "invoice.cancel", invoice, reason=reason, payments_moved=moved, replacement=replacement.pk)
    return replacement


# --- balances -------------------------------------------------------------------------------------


@dataclass
class InvoiceBalances:
    total: Decimal
    insurer_part: Decimal
    patient_part: Decimal
    moved_to_patient: Decimal
    patient_paid: Decimal
    insurer_paid: Decimal
    patient_written_off: Decimal
    insurer_written_off: Decimal
    pending_write_offs: Decimal
    insurer_due: Decimal
    patient_due: Decimal
    balance: Decimal


def _sum(queryset, column: str = "amount_cny") -> Decimal:
    return to_fen(queryset.aggregate(total=Sum(column))["total"] or ZERO)


def balances_of(invoice: Invoice) -> InvoiceBalances:
    """Everything owed on the invoice, computed from its rows."""
    payments = invoice.payments.all()
    patient_paid = _sum(payments.filter(payer=Payer.PATIENT).exclude(kind=PaymentKind.REFUND)) - _sum(
        payments.filter(kind=PaymentKind.REFUND)
    )
    insurer_paid = _sum(payments.filter(payer=Payer.INSURER))
    approved = invoice.write_offs.filter(status=WriteOffStatus.APPROVED)
    amounts = {
        "insurer_part": invoice.insurer_cny,
        "patient_part": invoice.patient_cny,
        "moved_to_patient": _sum(ClaimResponse.objects.filter(claim__invoice=invoice), "moved_to_patient_cny"),
        "patient_paid": patient_paid,
        "insurer_paid": insurer_paid,
        "patient_written_off": _sum(approved.filter(part=Payer.PATIENT)),
        "insurer_written_off": _sum(approved.filter(part=Payer.INSURER)),
    }
    result = arithmetic.balances(**amounts)
    return InvoiceBalances(
        **amounts,
        total=result.total,
        pending_write_offs=_sum(invoice.write_offs.filter(status=WriteOffStatus.PROPOSED)),
        insurer_due=result.insurer_due,
        patient_due=result.patient_due,
        balance=result.balance,
    )


def _settle_status(invoice: Invoice) -> None:
    """An issued invoice with nothing owed is balanced; one owed again (a refund, a reopened part) is issued."""
    if invoice.status not in (InvoiceStatus.ISSUED, InvoiceStatus.BALANCED):
        return
    owed = balances_of(invoice)
    status = InvoiceStatus.BALANCED if owed.insurer_due == 0 and owed.patient_due == 0 else InvoiceStatus.ISSUED
    if status != invoice.status:
        invoice.status = status
        invoice.save(update_fields=["status", "updated_at"])


# --- payments -------------------------------------------------------------------------------------


def _payment_key(value) -> str:
    key = str(value or "").strip()
    if not key or len(key) > 100:
        raise InvalidInput(_("Send an idempotency key of 1 to 100 characters."), field="idempotency_key")
    return key


@dataclass(frozen=True)
class PaymentInput:
    kind: str
    payer: str
    method: str
    reference: str
    amount: Decimal
    currency: str
    received_on: datetime.date


def _payment_input(data: Mapping) -> PaymentInput:
    kind = _choice(data.get("kind"), PaymentKind, field="kind")
    payer = Payer.INSURER if kind == PaymentKind.REMITTANCE else Payer.PATIENT
    if data.get("payer") not in (None, "") and data["payer"] != payer:
        raise InvalidInput(_("A remittance comes from the insurer; everything else from the patient."), field="payer")
    received_on = _date(data.get("received_on"), field="received_on", default=clock.today())
    if received_on > clock.today():
        raise InvalidInput(_("A payment cannot be received in the future."), field="received_on")
    return PaymentInput(
        kind=kind,
        payer=payer,
        method=_choice(data.get("method"), PaymentMethod, field="method"),
        reference=_text(data.get("reference"), field="reference", required=True, max_length=MAX_REFERENCE),
        amount=_positive_amount(data.get("amount"), field="amount"),
        currency=normalise_currency(data.get("currency") or "CNY"),
        received_on=received_on,
    )


def _same_payment(payment: Payment, given: PaymentInput, invoice: Invoice) -> bool:
    return (
        payment.invoice_id == invoice.pk
        and payment.kind == given.kind
        and payment.amount == given.amount
        and payment.currency == given.currency
        and payment.reference == given.reference
    )


def _in_cny(given: PaymentInput) -> tuple[Decimal, Decimal | None]:
    if given.currency == "CNY":
        return given.amount, None
    rate = rates.rate_for(given.currency, given.received_on)
    return to_fen(given.amount * rate.cny_per_unit), rate.cny_per_unit


def _check_payment(invoice: Invoice, given: PaymentInput, amount_cny: Decimal) -> None:
    if invoice.status in (InvoiceStatus.CANCELLED, InvoiceStatus.ENTERED_IN_ERROR):
        raise Conflict(_("This invoice is cancelled: record the payment on its replacement."), field="invoice")
    if given.kind == PaymentKind.REMITTANCE and (invoice.is_draft or invoice.insurer_id is None):
        raise Conflict(_("A remittance is recorded on an issued invoice with an insurer's part."), field="kind")
    if given.kind == PaymentKind.BALANCE and invoice.is_draft:
        raise InvoiceNotIssued(_("Issue the invoice before taking the balance; a draft takes deposits."))
    if given.kind == PaymentKind.REFUND and amount_cny > balances_of(invoice).patient_paid:
        raise InvalidInput(_("A refund cannot exceed what the patient paid."), field="amount")


def _replayed(invoice: Invoice, given: PaymentInput, key: str) -> Payment | None:
    previous = Payment.objects.filter(hospital_id=invoice.hospital_id, idempotency_key=key).first()
    if previous is None:
        return None
    if not _same_payment(previous, given, invoice):
        raise IdempotencyMismatch(field="idempotency_key")
    return previous


def record_payment(actor, invoice: Invoice, data: Mapping, *, idempotency_key: str) -> tuple[Payment, bool]:
    """Record a deposit, balance, refund or remittance; the same key at the hospital returns the payment
    recorded the first time (and `False` for "not created")."""
    _require_staff(actor, invoice, CASHIERS)
    key = _payment_key(idempotency_key)
    given = _payment_input(data)
    try:
        with transaction.atomic():
            locked = _lock(invoice)
            previous = _replayed(locked, given, key)
            if previous is not None:
                return previous, False
            payment = _create_payment(actor, locked, given, key)
    except IntegrityError:
        previous = _replayed(invoice, given, key)  # a concurrent retry won the race
        if previous is None:
            raise
        return previous, False
    return payment, True


def _create_payment(actor, invoice: Invoice, given: PaymentInput, key: str) -> Payment:
    amount_cny, rate = _in_cny(given)
    _check_payment(invoice, given, amount_cny)
    claim = invoice.claims.filter(status=ClaimStatus.ACTIVE).first() if given.kind == PaymentKind.REMITTANCE else None
    payment = Payment.objects.create(
        invoice=invoice,
        hospital_id=invoice.hospital_id,
        kind=given.kind,
        payer=given.payer,
        method=given.method,
        reference=given.reference,
        amount=given.amount,
        currency=given.currency,
        amount_cny=amount_cny,
        rate_cny_per_unit=rate,
        received_on=given.received_on,
        idempotency_key=key,
        claim=claim,
        recorded_by=actor,
    )
    _settle_status(invoice)
    detail = {
        "payment": payment.pk,
        "payment_kind": given.kind,
        "amount_cny": str(amount_cny),
        "reference": given.reference,
    }
    add_event(invoice.case, actor, "payment_recorded", staff_only=True, **detail)
    _audit(actor, "payment.record", invoice, **detail)
    return payment


def payments_of(actor, invoice: Invoice) -> list[Payment]:
    """The invoice's payments (the caller already read the invoice through get_invoice)."""
    return list(invoice.payments.order_by("received_on", "pk"))


# --- write-offs -----------------------------------------------------------------------------------


def _due(invoice: Invoice, part: str) -> Decimal:
    owed = balances_of(invoice)
    return owed.insurer_due if part == Payer.INSURER else owed.patient_due


@transaction.atomic
def propose_write_off(actor, invoice: Invoice, data: Mapping, *, claim_response=None) -> WriteOff:
    """Propose giving up an amount of one part of an issued invoice; it counts once approved by finance."""
    _require_staff(actor, invoice, DRAFTERS)
    invoice = _lock(invoice)
    if invoice.status not in (InvoiceStatus.ISSUED, InvoiceStatus.BALANCED):
        raise InvoiceNotIssued()
    part = _choice(data.get("part"), Payer, field="part")
    amount = _positive_amount(data.get("amount"), field="amount")
    reason = _text(data.get("reason"), field="reason", required=True)
    pending = _sum(invoice.write_offs.filter(status=WriteOffStatus.PROPOSED, part=part))
    if amount + pending > _due(invoice, part):
        raise InvalidInput(_("A write-off cannot exceed what is still owed on this part."), field="amount")
    write_off = WriteOff.objects.create(
        invoice=invoice, part=part, amount_cny=amount, reason=reason, requested_by=actor, claim_response=claim_response
    )
    _audit(actor, "writeoff.propose", invoice, write_off=write_off.pk, part=part, amount=str(amount), reason=reason)
    return write_off


def _get_write_off(invoice: Invoice, write_off_id) -> WriteOff:
    return _by_id(invoice.write_offs.all(), write_off_id, _("No such write-off on this invoice."))


@transaction.atomic
def decide_write_off(actor, invoice: Invoice, write_off_id, *, approve: bool) -> WriteOff:
    """Finance or a hospital admin approves or rejects a proposed write-off (never their own)."""
    _require_staff(actor, invoice, CASHIERS)
    invoice = _lock(invoice)
    write_off = WriteOff.objects.select_for_update().get(pk=_get_write_off(invoice, write_off_id).pk)
    if write_off.status != WriteOffStatus.PROPOSED:
        raise Conflict(_("This write-off was already decided."), code="write_off_decided")
    if write_off.requested_by_id == actor.pk:
        raise PermissionDenied(_("Somebody else must approve a write-off you proposed."), code="four_eyes")
    if approve and write_off.amount_cny > _due(invoice, write_off.part):
        raise Conflict(_("The write-off is now more than what is owed on this part."), code="write_off_too_large")
    write_off.status = WriteOffStatus.APPROVED if approve else WriteOffStatus.REJECTED
    write_off.decided_by, write_off.decided_at = actor, clock.now()
    write_off.save()
    _settle_status(invoice)
    _audit(actor, f"writeoff.{write_off.status}", invoice, write_off=write_off.pk, amount=str(write_off.amount_cny))
    return write_off


# --- claims ---------------------------------------------------------------------------------------


def _claim_items(invoice: Invoice):
    from laihua.insurance.fhir import ClaimItem

    items = []
    for line in invoice.lines.filter(insurer_cny__gt=0).order_by("position"):
        items.append(
            ClaimItem(
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
    from laihua.insurance import fhir as insurance_fhir
    from laihua.insurance import services as insurance

    items = _claim_items(invoice)
    lines = list(invoice.lines.all())
    days = [line.service_date for line in lines]
    guarantee = insurance.approved_guarantee(invoice.case)
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


@transaction.atomic
def submit_claim(actor, invoice: Invoice) -> Claim:
    """Send the insurer's part of an issued invoice as a FHIR Claim (use = claim); one claim in force at a time."""
    _require_staff(actor, invoice, CASHIERS)
    invoice = _lock(invoice)
    if invoice.status not in (InvoiceStatus.ISSUED, InvoiceStatus.BALANCED):
        raise InvoiceNotIssued()
    if invoice.insurer_id is None or invoice.insurer_cny <= 0:
        raise Conflict(_("This invoice has no insurer's part to claim."), code="nothing_to_claim")
    if invoice.claims.filter(status=ClaimStatus.ACTIVE).exists():
        raise Conflict(_("A claim was already sent for this invoice."), code="claim_exists")
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
    _audit(actor, "claim.submit", invoice, claim=number, insurer=invoice.insurer_name, amount=str(claim.amount_cny))
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
    paid = _amount(row.get("paid"), field=f"{field}.paid")
    rejected = _amount(row.get("rejected"), field=f"{field}.rejected")
    if row.get("adjusted") in (None, ""):
        adjusted = line.insurer_cny - paid - rejected
    else:
        adjusted = _amount(row.get("adjusted"), field=f"{field}.adjusted")
    if adjusted < 0 or paid + adjusted + rejected != line.insurer_cny:
        raise InvalidInput(
            _("Paid, adjusted and rejected must add up to the %(amount)s CNY claimed on this line.")
            % {"amount": line.insurer_cny},
            field=field,
        )
    disposition = str(row.get("disposition") or "").strip()
    if disposition and disposition not in Disposition.values:
        raise InvalidInput(_("Say whether the patient pays it or it is written off."), field=f"{field}.disposition")
    return LineAnswer(line, paid, adjusted, rejected, disposition, _text(row.get("reason"), field=f"{field}.reason"))


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
    _audit(actor, "claim.response", invoice, **detail)
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
    _require_staff(actor, claim, CASHIERS)
    _lock(claim.invoice)
    claim = Claim.objects.select_for_update().select_related("invoice", "invoice__case").get(pk=claim.pk)
    answers = _line_answers(claim, list(lines))
    response = _apply_answers(actor, claim, answers, resource=_response_resource(claim, answers), note=note)
    _settle_status(claim.invoice)
    return response


@transaction.atomic
def settle_shortfall(actor, claim: Claim, disposition: str, *, reason: str = "") -> ClaimResponse:
    """Decide for every unpaid line of an answered claim still undecided: the patient pays, or write it off."""
    _require_staff(actor, claim, CASHIERS)
    invoice = _lock(claim.invoice)
    disposition = _choice(disposition, Disposition, field="disposition")
    response = getattr(claim, "response", None)
    if response is None:
        raise Conflict(_("The insurer has not answered this claim yet."), code="claim_unanswered")
    undecided = response.lines.filter(disposition="").exclude(adjusted_cny=0, rejected_cny=0)
    ids = list(undecided.values_list("line_id", flat=True))
    if not ids:
        raise Conflict(_("Nothing unpaid is left to decide on this claim."), code="nothing_to_decide")
    _dispose(actor, response, dict.fromkeys(ids, disposition), _text(reason, field="reason"))
    _settle_status(invoice)
    _audit(actor, "claim.shortfall", invoice, claim=claim.number, disposition=disposition, lines=ids)
    return response


def _response_resource(claim: Claim, answers: list[LineAnswer]) -> dict:
    from laihua.billing.fhir import claim_response_resource

    return claim_response_resource(claim, answers)


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
    _lock(claim.invoice)
    claim = Claim.objects.select_for_update().select_related("invoice", "invoice__case").get(pk=claim.pk)
    try:
        answers = _line_answers(claim, _answers_from_parsed(claim, parsed))
    except InvalidInput as exc:
        exc.issues = [{"severity": "error", "code": "invalid", "diagnostics": str(exc.message), "expression": []}]
        raise
    _apply_answers(actor, claim, answers, resource=raw if isinstance(raw, dict) else {}, note=parsed.disposition or "")
    _settle_status(claim.invoice)
    return claim


def claim_rows(actor) -> QuerySet[Claim]:
    """The claims the actor may see, newest first (audited)."""
    require_role(actor, Role.values)
    record_event(actor, "claim.list", None, hospital=getattr(actor, "hospital", None))
    return visible_claims(actor).order_by("-submitted_at", "-pk")


# --- receivables ----------------------------------------------------------------------------------


@dataclass
class Receivable:
    invoice: Invoice
    payer: str  # the insurer's name, or "patient"
    insurer: object | None
    amount: Decimal
    age_days: int
    bucket: str


@dataclass
class Receivables:
    rows: list[Receivable]
    by_payer: list[dict] = field(default_factory=list)
    buckets: list[str] = field(default_factory=list)
    total: Decimal = ZERO


def age_bucket(days: int) -> str:
    for low, high, label in AGE_BUCKETS:
        if days >= low and (high is None or days <= high):
            return label
    return AGE_BUCKETS[0][2]


def receivables(actor, *, on: datetime.date | None = None) -> Receivables:
    """What is owed to the actor's hospital on issued invoices, by payer (each insurer, patients) and by age
    since issue (0-30, 31-60, 61-90, >90 days)."""
    require_role(actor, CASHIERS)
    if not actor.hospital_id:
        raise PermissionDenied()
    on = on or clock.today()
    rows = []
    invoices = visible_invoices(actor).filter(status=InvoiceStatus.ISSUED).order_by("issue_date", "pk")
    for invoice in invoices:
        owed = balances_of(invoice)
        age = (on - invoice.issue_date).days
        if owed.insurer_due:
            rows.append(
                Receivable(invoice, invoice.insurer_name, invoice.insurer, owed.insurer_due, age, age_bucket(age))
            )
        if owed.patient_due:
            rows.append(Receivable(invoice, "patient", None, owed.patient_due, age, age_bucket(age)))
    record_event(actor, "billing.receivables", None, hospital=actor.hospital, detail={"rows": len(rows)})
    return _summarise(rows)


def _summarise(rows: list[Receivable]) -> Receivables:
    buckets = [label for _low, _high, label in AGE_BUCKETS]
    payers: dict[str, dict] = {}
    for row in rows:
        entry = payers.setdefault(row.payer, {"payer": row.payer, "total": ZERO, **dict.fromkeys(buckets, ZERO)})
        entry[row.bucket] += row.amount
        entry["total"] += row.amount
    for entry in payers.values():
        entry["cells"] = [entry[label] for label in buckets]
    by_payer = sorted(payers.values(), key=lambda entry: (entry["payer"] == "patient", entry["payer"]))
    return Receivables(rows, by_payer, buckets, arithmetic.total(row.amount for row in rows))


def receivables_csv(actor, *, on: datetime.date | None = None) -> str:
    """The receivables, one row per invoice and payer, as CSV."""
    result = receivables(actor, on=on)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["invoice", "case", "issue_date", "payer", "amount_cny", "age_days", "age_bucket"])
    for row in result.rows:
        writer.writerow(
            [
                row.invoice.number,
                row.invoice.case.reference,
                row.invoice.issue_date.isoformat(),
                row.payer,
                f"{row.amount:.2f}",
                row.age_days,
                row.bucket,
            ]
        )
    return out.getvalue()


# --- the case cannot close with an unexplained balance ----------------------------------------------


def unexplained(case: Case) -> list[str]:
    """Why the case cannot close yet: each draft invoice, and each issued one with something owed."""
    problems = []
    for invoice in case.invoices.filter(status__in=OPEN_STATUSES).order_by("pk"):
        if invoice.is_draft:
            problems.append(_("the invoice is still a draft"))
            continue
        owed = balances_of(invoice)
        if owed.balance or owed.insurer_due or owed.patient_due:
            problems.append(
                _("invoice %(number)s has a balance of %(amount)s CNY")
                % {"number": invoice.number, "amount": f"{owed.balance:,.2f}"}
            )
    return problems


def refuse_close_with_balance(sender, *, case: Case, to: str, **kwargs) -> None:
    """Receiver of cases.signals.case_moved (sent inside move's transaction): raising undoes the move."""
    if to != State.CLOSED:
        return
    problems = unexplained(case)
    if problems:
        raise UnexplainedBalance(
            _("The case cannot close: %(problems)s. Record the payments or approve a write-off first.")
            % {"problems": "; ".join(problems)},
            field="state",
        )


# --- what the pages show --------------------------------------------------------------------------


def invoice_language(invoice: Invoice) -> str:
    return invoice.language if invoice.language in language_codes() else "en"


def converted(invoice: Invoice, amount_cny: Decimal) -> Decimal | None:
    """An amount in the patient's currency at the invoice's frozen rate (today's on a draft)."""
    if invoice.rate_cny_per_unit:
        rate = rates.Rate(invoice.currency, invoice.rate_cny_per_unit, invoice.rate_date, invoice.rate_source)
    else:
        try:
            rate = rates.rate_for(invoice.currency)
        except RateUnavailable:
            return None
    if invoice.currency == "CNY":
        return amount_cny
    return rates.convert_from_cny(amount_cny, rate)


def is_billing_staff(actor) -> bool:
    """Finance, coordinators and hospital admins of a hospital (the invoice list, the drafting buttons)."""
    return _is_reader(actor)


def cases_to_bill(actor) -> list[Case]:
    """The hospital's cases past arrival with no invoice in force (finance's to-do list)."""
    if not _is_reader(actor):
        return []
    cases = visible_cases(actor).filter(state__in=BILLABLE_STATES).exclude(invoices__status__in=OPEN_STATUSES)
    return list(cases.order_by("state_changed_at")[:50])


def extra_choices(invoice: Invoice) -> list[CatalogItem]:
    """The hospital's active services, for adding an extra on the invoice page."""
    return list(CatalogItem.objects.filter(hospital_id=invoice.hospital_id, active=True).order_by("kind", "code")[:300])
