"""Drafts: open a quote's next revision from the latest quote, change its terms, discard it, or build
one with its lines in one go.

Each quote of a case is one revision (<case>-Q1, -Q2, ...). A new draft starts from the lines, deposit,
notes and exclusions of the latest quote, its catalog lines at the catalog price of today. Only a draft
changes."""

import datetime
from collections.abc import Iterable, Mapping
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from laihua.cases.models import Case
from laihua.cases.services import add_event, get_case, require_case_staff
from laihua.errors import Conflict, InvalidInput
from laihua.kit import clock
from laihua.kit.i18n import language_codes
from laihua.kit.money import normalise_currency
from laihua.quotes.models import Quote, QuoteLine, Status
from laihua.quotes.services.access import BUILDERS, audit_quote, require_draft, require_quotable
from laihua.quotes.services.inputs import parse_optional_amount, parse_texts, parse_valid_until
from laihua.quotes.services.lines import add_line, refresh_total, set_amounts

DEFAULT_VALIDITY_DAYS = 30  # a new draft's validity when none is given


@transaction.atomic
def create_draft(actor, case: Case, data: Mapping | None = None) -> Quote:
    """Open a draft quote for the case (its next revision), starting from the latest quote's lines,
    deposit, notes and exclusions; valid for DEFAULT_VALIDITY_DAYS unless `valid_until` is given."""
    require_case_staff(actor, case, BUILDERS)
    case = Case.objects.select_for_update(of=("self",)).select_related("patient", "hospital").get(pk=case.pk)
    require_quotable(case)
    if case.quotes.filter(status=Status.DRAFT).exists():
        raise Conflict(
            _("This case already has a draft quote: finish or discard it first."), code="draft_exists", field="case"
        )
    data = data or {}
    today = clock.today()
    currency = normalise_currency(data.get("currency") or case.patient.preferred_currency, field="currency")
    terms = _terms(data, today)
    previous = case.quotes.exclude(status=Status.DRAFT).order_by("-revision").first()
    revision = (case.quotes.aggregate(last=Max("revision"))["last"] or 0) + 1
    quote = Quote.objects.create(
        case=case,
        revision=revision,
        number=f"{case.reference}-Q{revision}",
        quote_date=today,
        currency=currency,
        language=case.language if case.language in language_codes() else "en",
        previous=previous,
        created_by=actor,
        valid_until=terms.get("valid_until", today + datetime.timedelta(days=DEFAULT_VALIDITY_DAYS)),
        deposit_cny=terms.get("deposit_cny", previous.deposit_cny if previous else Decimal("0.00")),
        notes=terms.get("notes", previous.notes if previous else {}),
        exclusions=terms.get("exclusions", previous.exclusions if previous else {}),
    )
    if previous is not None:
        _copy_lines(previous, quote, today)
    add_event(case, actor, "quote_draft", staff_only=True, quote=quote.number, revision=revision)
    audit_quote(
        actor, "quote.create", quote, revision=revision, currency=currency, revises=previous.number if previous else ""
    )
    return quote


def _terms(data: Mapping, today: datetime.date) -> dict:
    """The quote-wide fields present in the data, checked."""
    terms = {}
    if "valid_until" in data:
        terms["valid_until"] = parse_valid_until(data["valid_until"], today)
    if "deposit" in data:
        terms["deposit_cny"] = parse_optional_amount(data["deposit"], field="deposit") or Decimal("0.00")
    if "notes" in data:
        terms["notes"] = parse_texts(data["notes"], field="notes")
    if "exclusions" in data:
        terms["exclusions"] = parse_texts(data["exclusions"], field="exclusions")
    if data.get("currency"):
        terms["currency"] = normalise_currency(data["currency"], field="currency")
    return terms


def _copy_lines(previous: Quote, quote: Quote, today: datetime.date) -> None:
    """A revision starts from the previous quote's lines, catalog lines at the catalog price of today
    (the unit price chosen in a range is kept while it stays within the range)."""
    for line in previous.lines.select_related("item"):
        line.pk = None
        line.quote = quote
        price = line.item.price_on(today) if line.item_id else None
        if price is not None:
            _reprice(line, price)
        line.save()
    refresh_total(quote)


def _reprice(line: QuoteLine, price) -> None:
    """Bring a copied catalog line to today's price; if its discount no longer fits, leave the line as it
    was (sending then names it, so that the coordinator looks at it)."""
    unit = line.unit_price_cny if price.amount_min <= line.unit_price_cny <= price.amount_max else price.amount_min
    repriced = QuoteLine(
        quantity=line.quantity,
        unit_price_cny=unit,
        discount_percent=line.discount_percent,
        discount_fixed_cny=line.discount_fixed_cny,
    )
    try:
        set_amounts(repriced)
    except InvalidInput:
        return
    line.catalog_price_min, line.catalog_price_max = price.amount_min, price.amount_max
    line.catalog_price_from, line.unit_price_cny = price.effective_from, unit
    line.gross_cny, line.discount_cny, line.amount_cny = repriced.gross_cny, repriced.discount_cny, repriced.amount_cny


@transaction.atomic
def update_terms(actor, quote: Quote, data: Mapping) -> Quote:
    """Change the draft's validity, deposit, currency, notes or exclusions (only the fields given)."""
    case, quote = require_draft(actor, quote)
    terms = _terms(data, clock.today())
    for name, value in terms.items():
        setattr(quote, name, value)
    quote.save()
    audit_quote(actor, "quote.update", quote, fields=sorted(terms))
    return quote


@transaction.atomic
def discard_draft(actor, quote: Quote) -> None:
    """Throw a draft away (a sent quote stays for the record)."""
    case, quote = require_draft(actor, quote)
    number = quote.number
    audit_quote(actor, "quote.discard", quote)
    add_event(case, actor, "quote_discarded", staff_only=True, quote=number)
    quote.delete()


@transaction.atomic
def build_quote(actor, case_reference: str, data: Mapping, lines: Iterable[Mapping] = ()) -> Quote:
    """A draft with its lines in one go (the API's POST): a bad line leaves nothing behind."""
    case = get_case(actor, case_reference, audit=None)
    quote = create_draft(actor, case, data)
    if lines and quote.lines.exists():
        quote.lines.all().delete()  # the lines given replace those carried over from the previous quote
    for number, line in enumerate(lines):
        try:
            add_line(actor, quote, line)
        except InvalidInput as exc:
            exc.field = f"lines.{number}.{exc.field}" if exc.field else f"lines.{number}"
            raise
    quote.refresh_from_db()
    return quote
