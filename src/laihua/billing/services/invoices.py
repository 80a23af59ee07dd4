"""The invoice of a case: drafting it from the accepted quote and the booked services, confirming what was
delivered and adding extras, issuing it (the split between insurer and patient under the contract's rules up to
the approved guarantee, the rate of the day frozen, the hospital's next number), and cancelling it to correct
it (a replacement draft takes over the payments and write-offs)."""

import datetime
from collections.abc import Mapping
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from laihua.billing import arithmetic, coverage
from laihua.billing.arithmetic import ZERO
from laihua.billing.models import (
    OPEN_STATUSES,
    ClaimResponse,
    ClaimStatus,
    Invoice,
    InvoiceLine,
    InvoiceSequence,
    InvoiceStatus,
    LineSource,
    WriteOffStatus,
)
from laihua.billing.services.access import (
    BILLABLE_STATES,
    CASHIERS,
    DRAFTERS,
    audit_invoice,
    by_id,
    lock_invoice,
    require_draft,
    require_staff,
)
from laihua.billing.services.balances import settle_status
from laihua.billing.services.exchange import pin_invoice
from laihua.billing.services.inputs import clean_text, parse_date, parse_quantity, texts_by_language
from laihua.billing.services.split import InvoiceSplit, require_confirmed, split_of
from laihua.capacity.models import BookingRequest, BookingStatus
from laihua.cases.models import Case
from laihua.cases.services import add_event
from laihua.cases.states import State
from laihua.catalog.models import CatalogItem
from laihua.errors import Conflict, InvalidInput, RateUnavailable
from laihua.kit import clock
from laihua.kit.i18n import language_codes
from laihua.kit.money import MAX_AMOUNT, parse_amount
from laihua.quotes.models import Quote
from laihua.quotes.models import Status as QuoteStatus
from laihua.quotes.services import line_amounts
from laihua.rates import services as rates

MAX_LINES = 200


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
        raise InvalidInput(_("The statement's total is too large."), field="lines")
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
            discount_reason=quote_line.discount_reason,
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
    require_staff(actor, case, DRAFTERS)
    case = Case.objects.select_for_update(of=("self",)).select_related("patient", "hospital").get(pk=case.pk)
    if case.state not in BILLABLE_STATES:
        raise Conflict(
            _("A statement is drafted once the patient has arrived; this case is “%(state)s”.")
            % {"state": State(case.state).label},
            code="case_not_billable",
            field="case",
        )
    if case.invoices.filter(status__in=OPEN_STATUSES).exists():
        raise Conflict(_("This case already has a statement of charges."), code="invoice_exists", field="case")
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
    audit_invoice(
        actor, "invoice.create", invoice, lines=invoice.lines.count(), replaces=replaces.number if replaces else ""
    )
    return invoice


def _copy_lines(old: Invoice, invoice: Invoice) -> None:
    for line in old.lines.all():
        line.pk = None
        line.invoice = invoice
        line.not_covered_cny = line.excess_cny = line.copay_cny = line.over_limit_cny = line.declined_cny = ZERO
        line.insurer_cny = line.patient_cny = ZERO
        line.gop_sequence, line.insurer_decision, line.insurer_reason = None, "", ""
        line.save()


def _line_of(invoice: Invoice, line_id) -> InvoiceLine:
    return by_id(invoice.lines.all(), line_id, _("No such line on this statement."))


@transaction.atomic
def confirm_line(actor, invoice: Invoice, line_id, quantity) -> InvoiceLine:
    """Staff confirm how much of a line was delivered (0: not delivered; it is left off when issuing)."""
    invoice = require_draft(actor, invoice)
    line = _line_of(invoice, line_id)
    line.quantity = parse_quantity(quantity, minimum=0 if line.source != LineSource.EXTRA else 1)
    line.confirmed = True
    _set_amounts(line)
    line.save()
    _refresh_total(invoice)
    audit_invoice(actor, "invoice.line.confirm", invoice, line=line.pk, quantity=line.quantity)
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
        code=clean_text(data.get("code"), field="code", max_length=40),
        kind=clean_text(data.get("kind"), field="kind", max_length=20),
        description=texts_by_language(data.get("description"), field="description"),
        service_date=day,
        unit_price_cny=parse_amount(data["unit_price"], field="unit_price"),
    )


@transaction.atomic
def add_extra(actor, invoice: Invoice, data: Mapping) -> InvoiceLine:
    """Add something delivered beyond the quote: a catalog service at its price on the service date, or a line
    priced by hand; the reason is mandatory."""
    invoice = require_draft(actor, invoice)
    reason = clean_text(data.get("reason"), field="reason", required=True)
    if invoice.lines.count() >= MAX_LINES:
        raise InvalidInput(_("A statement has at most %(count)d lines.") % {"count": MAX_LINES}, field="lines")
    day = parse_date(data.get("service_date"), field="service_date", default=clock.today())
    if day > clock.today():
        raise InvalidInput(_("A service date cannot be in the future."), field="service_date")
    line = _extra_line(invoice, data, day)
    line.quantity = parse_quantity(data.get("quantity", 1), minimum=1)
    line.reason, line.confirmed, line.added_by = reason, True, actor
    _set_amounts(line)
    line.save()
    _refresh_total(invoice)
    audit_invoice(
        actor, "invoice.line.add", invoice, line=line.pk, code=line.code, reason=reason, amount=str(line.amount_cny)
    )
    return line


@transaction.atomic
def remove_extra(actor, invoice: Invoice, line_id) -> Invoice:
    """Take an extra off a draft (a quoted or booked line is confirmed at 0 instead, which keeps it on record)."""
    invoice = require_draft(actor, invoice)
    line = _line_of(invoice, line_id)
    if line.source != LineSource.EXTRA:
        raise Conflict(_("Confirm a quoted or booked line with quantity 0 instead."), field="line")
    audit_invoice(actor, "invoice.line.remove", invoice, line=line.pk, code=line.code)
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


def _store_split(invoice: Invoice, split: InvoiceSplit) -> None:
    for line in split.lines:
        line.save()
    invoice.total_cny, invoice.insurer_cny, invoice.patient_cny = split.total, split.insurer, split.patient


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
        raise InvalidInput(_("A statement needs at least one delivered line."), field="lines")
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
def issue_invoice(
    actor,
    invoice: Invoice,
    *,
    cover: coverage.CaseCover | None | bool = True,
    confirm_shortfall: bool = False,
    seen_insurer_cny=None,
) -> Invoice:
    """Split the confirmed lines between insurer and patient (`split_of`), freeze the rate, number and issue.

    `cover` defaults to the case's insurer, the guarantee of its stay and the contract's rules (insurance domain).
    When the insurer would get less than an approved guarantee allows, issuing is refused with the lines and
    reasons named until finance confirms (`confirm_shortfall`; with `seen_insurer_cny`, only the insurer's part
    that finance saw is confirmed)."""
    invoice = require_draft(actor, invoice, CASHIERS)
    today = clock.today()
    delivered = _check_issuable(invoice)
    _renumber(invoice, delivered)
    split = split_of(invoice, lines=delivered, on=today, cover=cover)
    require_confirmed(split, confirm_shortfall, seen_insurer_cny)
    _store_split(invoice, split)
    if split.cover:
        invoice.insurer, invoice.insurer_name = split.cover.insurer, split.cover.insurer.name
        invoice.guarantee_ref = split.cover.guarantee_ref
    invoice.rules = coverage.rules_as_json(split.rules) if split.cover else {}
    _freeze_rate(invoice, today)
    pin_invoice(invoice)
    invoice.number = _number(invoice, today)
    invoice.status, invoice.issue_date, invoice.issued_at, invoice.issued_by = (
        InvoiceStatus.ISSUED,
        today,
        clock.now(),
        actor,
    )
    invoice.save()
    settle_status(invoice)
    detail = {
        "invoice": invoice.number,
        "total_cny": str(invoice.total_cny),
        "insurer_cny": str(invoice.insurer_cny),
        "patient_cny": str(invoice.patient_cny),
        "insurer": invoice.insurer_name,
    }
    add_event(invoice.case, actor, "invoice_issued", **detail)
    if split.shortfall:
        detail["shortfall_confirmed"] = {
            "allowed_cny": str(split.allowed),
            "lines": [
                {"line": line.position, "code": line.code, "reasons": [r["code"] for r in split.reasons_of(line)]}
                for line in split.shortfall_lines
            ],
        }
    audit_invoice(actor, "invoice.issue", invoice, **detail)
    return invoice


@transaction.atomic
def cancel_invoice(actor, invoice: Invoice, reason: str) -> Invoice:
    """Cancel an issued invoice to correct it: a new draft replaces it and takes over its payments and
    write-offs; a claim sent for it is cancelled. Returns the new draft."""
    require_staff(actor, invoice, CASHIERS)
    invoice = lock_invoice(invoice)
    reason = clean_text(reason, field="reason", required=True, max_length=2000)
    if invoice.status not in (InvoiceStatus.ISSUED, InvoiceStatus.BALANCED):
        raise Conflict(_("Only an issued statement can be cancelled."), code="invoice_not_issued")
    if ClaimResponse.objects.filter(claim__invoice=invoice).exists():
        raise Conflict(
            _("The insurer has answered the claim of this statement: record a credit with a write-off instead."),
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
    audit_invoice(actor, "invoice.cancel", invoice, reason=reason, payments_moved=moved, replacement=replacement.pk)
    return replacement


# --- what the pages show --------------------------------------------------------------------------


def replacement_of(invoice: Invoice) -> Invoice | None:
    """The invoice that replaced a cancelled one (None if it was not replaced)."""
    return Invoice.objects.filter(replaces=invoice).order_by("-pk").first() if invoice.is_void else None


def with_replacement(invoice: Invoice) -> Invoice:
    """The invoice with `replaced_by` set (its replacement, when it was cancelled), for the lists."""
    invoice.replaced_by = replacement_of(invoice)
    return invoice


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


def extra_choices(invoice: Invoice) -> list[CatalogItem]:
    """The hospital's active services, for adding an extra on the invoice page."""
    return list(CatalogItem.objects.filter(hospital_id=invoice.hospital_id, active=True).order_by("kind", "code")[:300])
