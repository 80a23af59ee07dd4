"""Quotes: a coordinator builds one for a case from the hospital's catalog and lines priced by hand,
sends it, and the patient accepts or declines it online.

- Who: coordinators and hospital admins of the case's hospital build and send; the case's own patient
  accepts or declines; every quote is read through `visible_quotes`, which scopes by `visible_cases`
  (a patient never sees a draft). Every read and change is audited.
- Money: CNY Decimal rounded to the fen (ROUND_HALF_UP) line by line; the total is the sum of the line
  amounts; the amounts in the patient's currency are the CNY amounts converted at the rate in force on
  the day the quote is sent, and that rate (value, date, source) is frozen on the quote.
- Revisions: each quote of a case is one revision (<case>-Q1, -Q2, ...). A new draft starts from the
  lines of the latest quote; sending it supersedes the quote the patient had, which keeps its history.
- Frozen: only a draft changes. A sent quote is answered (accepted, declined), superseded or expired,
  and an accepted one stays exactly as the patient accepted it, with the time and the address.
- Concurrency: each use case locks the case row, then the quote row, so that two acceptances of one
  quote (or an acceptance and a revision) run one after the other; the second sees the first's result.
  Partial unique constraints back this up: one draft, one sent and one accepted quote per case.
"""

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.db.models import Max, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from laihua.accounts.models import Role
from laihua.accounts.services import require_role
from laihua.audit.services import record_event
from laihua.cases import notices
from laihua.cases.models import Case
from laihua.cases.services import add_event, get_case, move, note_first_response, require_case_staff, visible_cases
from laihua.cases.states import DESK, State
from laihua.catalog.models import CatalogItem
from laihua.catalog.services import with_price_on
from laihua.errors import Conflict, InvalidInput, NotFound, RateUnavailable
from laihua.kit import clock, requestctx
from laihua.kit.i18n import language_codes, pick
from laihua.kit.money import MAX_AMOUNT, normalise_currency, parse_amount
from laihua.quotes.models import Quote, QuoteLine, Status
from laihua.rates import services as rates

BUILDERS = DESK  # coordinators and hospital admins of the case's hospital
QUOTABLE_STATES = (State.TRIAGE, State.QUOTED, State.EXPIRED)
FEN = Decimal("0.01")
MAX_QUANTITY = 999
MAX_LINES = 100
MAX_TEXT = 2000
MAX_REASON = 300
MAX_USER_AGENT = 300
DEFAULT_VALIDITY_DAYS = 30  # a new draft's validity when none is given


# --- errors ---------------------------------------------------------------------------------------


class QuoteFrozen(Conflict):
    code = "quote_frozen"
    default_message = gettext_lazy("This quote was sent and can no longer change. Start a revision instead.")


class QuoteNotOpen(Conflict):
    code = "quote_not_open"
    default_message = gettext_lazy("This quote is no longer waiting for an answer.")


class QuoteAlreadyAccepted(Conflict):
    code = "quote_already_accepted"
    default_message = gettext_lazy("This quote is already accepted.")


class QuoteExpired(Conflict):
    code = "quote_expired"
    default_message = gettext_lazy("This quote expired: its validity date has passed. Ask the hospital for a new one.")


class CaseNotQuotable(Conflict):
    code = "case_not_quotable"


# --- arithmetic: plain functions, so that the invariants can be tested on their own -----------------


def to_fen(amount: Decimal) -> Decimal:
    """Round a CNY amount to the fen, halves up (0.005 -> 0.01)."""
    return Decimal(amount).quantize(FEN, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineAmounts:
    gross: Decimal
    discount: Decimal
    amount: Decimal


def line_amounts(
    quantity: int, unit_price: Decimal, *, percent: Decimal | None = None, fixed: Decimal | None = None
) -> LineAmounts:
    """A line's amount before discount, its discount and what is left, each rounded to the fen.

    A percentage applies to the line's gross amount; a fixed discount is an amount off the whole line.
    The discount never exceeds the gross amount (callers refuse such input before this point)."""
    gross = to_fen(Decimal(unit_price) * quantity)
    if percent:
        discount = to_fen(gross * Decimal(percent) / 100)
    elif fixed:
        discount = to_fen(fixed)
    else:
        discount = Decimal("0.00")
    discount = min(discount, gross)
    return LineAmounts(gross, discount, gross - discount)


def quote_total(amounts: Iterable[Decimal]) -> Decimal:
    """The quote's total: the plain sum of its (already rounded) line amounts."""
    return to_fen(sum(amounts, Decimal("0.00")))


def converted(amount_cny: Decimal, rate: rates.Rate) -> Decimal:
    """A CNY amount in the rate's currency, rounded to that currency's minor unit (halves up)."""
    return rates.convert_from_cny(amount_cny, rate)


# --- who sees which -------------------------------------------------------------------------------


def visible_quotes(actor) -> QuerySet[Quote]:
    """The quotes of the cases the actor sees; a patient never sees a draft."""
    quotes = Quote.objects.filter(case_id__in=visible_cases(actor).values("pk")).select_related(
        "case", "case__patient", "case__hospital", "created_by", "previous"
    )
    if actor is not None and actor.is_authenticated and actor.role == Role.PATIENT:
        quotes = quotes.exclude(status=Status.DRAFT)
    return quotes


def _audit(actor, action: str, quote: Quote, /, **detail) -> None:
    record_event(actor, action, quote, hospital=quote.case.hospital, detail={"case": quote.case.reference, **detail})


def get_quote(actor, *, pk: int | None = None, number: str | None = None, audit: str | None = "quote.view") -> Quote:
    """A quote the actor may see, by id or number (else NotFound: never a hint that it exists)."""
    require_role(actor, Role.values)
    quotes = visible_quotes(actor)
    quote = quotes.filter(pk=pk).first() if pk is not None else quotes.filter(number=number or "").first()
    if quote is None:
        raise NotFound(_("No such quote."))
    if audit:
        _audit(actor, audit, quote, status=quote.status)
    return quote


def quotes_of_case(actor, case: Case) -> list[Quote]:
    """The case's quotes the actor may see, newest revision first (shown within the audited case page)."""
    return list(visible_quotes(actor).filter(case=case).order_by("-revision"))


def list_quotes(actor, *, case: str | None = None, status: str | None = None) -> QuerySet[Quote]:
    """The quotes the actor may see, optionally of one case (by reference) or in one status (audited)."""
    require_role(actor, Role.values)
    quotes = visible_quotes(actor)
    if case:
        quotes = quotes.filter(case=get_case(actor, case, audit=None))
    if status:
        if status not in Status.values:
            raise InvalidInput(_("Unknown status “%(status)s”.") % {"status": status}, field="status")
        quotes = quotes.filter(status=status)
    quotes = quotes.order_by("-created_at", "-pk")
    record_event(
        actor,
        "quote.list",
        None,
        hospital=getattr(actor, "hospital", None),
        detail={"case": case or "", "status": status or "", "count": quotes.count()},
    )
    return quotes


def may_build(actor, case: Case) -> bool:
    """Whether the actor may prepare quotes for this case (buttons on the pages)."""
    return (
        actor is not None
        and actor.is_authenticated
        and actor.role in BUILDERS
        and actor.hospital_id == case.hospital_id
    )


def _lock(quote: Quote) -> tuple[Case, Quote]:
    """Lock the case row, then the quote row (always in this order), and read both afresh."""
    case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("patient", "patient__user", "hospital")
        .get(pk=quote.case_id)
    )
    quote = Quote.objects.select_for_update().get(pk=quote.pk)
    quote.case = case
    return case, quote


def _require_draft(actor, quote: Quote) -> tuple[Case, Quote]:
    require_case_staff(actor, quote.case, BUILDERS)
    case, quote = _lock(quote)
    if quote.status != Status.DRAFT:
        raise QuoteFrozen()
    return case, quote


def _require_quotable(case: Case) -> None:
    if case.state not in QUOTABLE_STATES:
        raise CaseNotQuotable(
            _("A quote can be prepared while the case is in triage, quoted or expired; this case is “%(state)s”.")
            % {"state": State(case.state).label},
            field="case",
        )


# --- input ----------------------------------------------------------------------------------------


def _texts(value, *, field: str, max_length: int = MAX_TEXT) -> dict:
    """Bilingual text {"en": ..., "zh-hans": ...} from a mapping (or one text for every language)."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        value = dict.fromkeys(language_codes(), value)
    if not isinstance(value, Mapping):
        raise InvalidInput(_('Give the text by language, e.g. {"en": ..., "zh-hans": ...}.'), field=field)
    texts = {}
    for code, text in value.items():
        if code not in language_codes():
            raise InvalidInput(_("Unknown language “%(code)s”.") % {"code": code}, field=field)
        text = str(text or "").strip()
        if len(text) > max_length:
            raise InvalidInput(_("A text can be at most %(count)d characters.") % {"count": max_length}, field=field)
        if text:
            texts[code] = text
    return texts


def _date(value, *, field: str) -> datetime.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput(_("Give a date in the form YYYY-MM-DD."), field=field) from None


def _valid_until(value, today: datetime.date) -> datetime.date | None:
    day = _date(value, field="valid_until")
    if day is not None and day <= today:
        raise InvalidInput(_("A quote must stay valid until a day after today."), field="valid_until")
    return day


def _quantity(value) -> int:
    try:
        quantity = int(str(value).strip())
    except (TypeError, ValueError):
        raise InvalidInput(_("The quantity is a whole number."), field="quantity") from None
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidInput(_("The quantity is between 1 and %(max)d.") % {"max": MAX_QUANTITY}, field="quantity")
    return quantity


def _percent(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        percent = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidInput(_("“%(value)s” is not a percentage.") % {"value": value}, field="discount_percent") from None
    if not percent.is_finite() or not Decimal(0) <= percent <= 100 or percent != percent.quantize(FEN):
        raise InvalidInput(
            _("A discount is a percentage from 0 to 100, with at most two decimals."), field="discount_percent"
        )
    return percent or None


def _optional_amount(value, *, field: str) -> Decimal | None:
    return None if value in (None, "") else parse_amount(value, field=field)


# --- drafts ---------------------------------------------------------------------------------------


@transaction.atomic
def create_draft(actor, case: Case, data: Mapping | None = None) -> Quote:
    """Open a draft quote for the case (its next revision), starting from the latest quote's lines,
    deposit, notes and exclusions; valid for DEFAULT_VALIDITY_DAYS unless `valid_until` is given."""
    require_case_staff(actor, case, BUILDERS)
    case = Case.objects.select_for_update(of=("self",)).select_related("patient", "hospital").get(pk=case.pk)
    _require_quotable(case)
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
    _audit(
        actor, "quote.create", quote, revision=revision, currency=currency, revises=previous.number if previous else ""
    )
    return quote


def _terms(data: Mapping, today: datetime.date) -> dict:
    """The quote-wide fields present in the data, checked."""
    terms = {}
    if "valid_until" in data:
        terms["valid_until"] = _valid_until(data["valid_until"], today)
    if "deposit" in data:
        terms["deposit_cny"] = _optional_amount(data["deposit"], field="deposit") or Decimal("0.00")
    if "notes" in data:
        terms["notes"] = _texts(data["notes"], field="notes")
    if "exclusions" in data:
        terms["exclusions"] = _texts(data["exclusions"], field="exclusions")
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
    _refresh_total(quote)


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
        _set_amounts(repriced)
    except InvalidInput:
        return
    line.catalog_price_min, line.catalog_price_max = price.amount_min, price.amount_max
    line.catalog_price_from, line.unit_price_cny = price.effective_from, unit
    line.gross_cny, line.discount_cny, line.amount_cny = repriced.gross_cny, repriced.discount_cny, repriced.amount_cny


@transaction.atomic
def update_terms(actor, quote: Quote, data: Mapping) -> Quote:
    """Change the draft's validity, deposit, currency, notes or exclusions (only the fields given)."""
    case, quote = _require_draft(actor, quote)
    terms = _terms(data, clock.today())
    for name, value in terms.items():
        setattr(quote, name, value)
    quote.save()
    _audit(actor, "quote.update", quote, fields=sorted(terms))
    return quote


@transaction.atomic
def discard_draft(actor, quote: Quote) -> None:
    """Throw a draft away (a sent quote stays for the record)."""
    case, quote = _require_draft(actor, quote)
    number = quote.number
    _audit(actor, "quote.discard", quote)
    add_event(case, actor, "quote_discarded", staff_only=True, quote=number)
    quote.delete()


# --- lines ----------------------------------------------------------------------------------------


def _catalog_item(quote: Quote, item) -> CatalogItem:
    item_id = item.pk if isinstance(item, CatalogItem) else item
    try:
        item_id = int(item_id)
    except (TypeError, ValueError):
        raise InvalidInput(_("Choose a service from the hospital's catalog."), field="item") from None
    found = CatalogItem.objects.filter(pk=item_id, hospital_id=quote.case.hospital_id, active=True).first()
    if found is None:
        raise InvalidInput(_("This hospital offers no such service."), field="item")
    return found


def _snapshot_item(line: QuoteLine, item: CatalogItem, day: datetime.date) -> None:
    """Copy what the catalog says about the item today, so that later catalog edits leave the quote alone."""
    price = item.price_on(day)
    if price is None:
        raise InvalidInput(
            _("%(code)s has no price in force on %(date)s.") % {"code": item.code, "date": day.isoformat()},
            field="item",
        )
    line.item = item
    line.manual = False
    line.package = item.kind == "package"
    line.code = item.code
    line.description = dict(item.name)
    line.included = dict(item.included or {})
    line.excluded = dict(item.excluded or {})
    line.components = [
        {"code": part.item.code, "name": dict(part.item.name), "quantity": part.quantity}
        for part in item.components.select_related("item").order_by("item__code")
    ]
    line.catalog_price_min, line.catalog_price_max = price.amount_min, price.amount_max
    line.catalog_price_from = price.effective_from


def _catalog_unit_price(line: QuoteLine, raw) -> Decimal:
    """A fixed catalog price is the unit price; within a range the coordinator picks one, never outside."""
    low, high = line.catalog_price_min, line.catalog_price_max
    money = {"low": f"{low:,.2f}", "high": f"{high:,.2f}"}
    if low == high:
        if raw not in (None, "") and parse_amount(raw, field="unit_price") != low:
            raise InvalidInput(
                _("The catalog price of this service is fixed at %(low)s CNY.") % money, field="unit_price"
            )
        return low
    if raw in (None, ""):
        raise InvalidInput(
            _("The catalog price is a range: choose a unit price from %(low)s to %(high)s CNY.") % money,
            field="unit_price",
        )
    unit = parse_amount(raw, field="unit_price")
    if not low <= unit <= high:
        raise InvalidInput(
            _("Choose a unit price within the catalog range, %(low)s to %(high)s CNY.") % money, field="unit_price"
        )
    return unit


def _manual_fields(line: QuoteLine, data: Mapping, adding: bool) -> None:
    if adding or "description" in data:
        description = _texts(data.get("description"), field="description", max_length=MAX_REASON)
        missing = [code for code in ("en", "zh-hans") if not description.get(code)]
        if missing:
            raise InvalidInput(
                _("Describe a line priced by hand in English and in Chinese, for the bilingual quote."),
                field="description",
            )
        line.description = description
    if "code" in data:
        line.code = str(data.get("code") or "").strip()[:40]
    if "excluded" in data:
        line.excluded = _texts(data.get("excluded"), field="excluded")
    if adding or "unit_price" in data:
        if data.get("unit_price") in (None, ""):
            raise InvalidInput(_("Give the unit price of a line priced by hand."), field="unit_price")
        line.unit_price_cny = parse_amount(data["unit_price"], field="unit_price")


def _discount_fields(line: QuoteLine, data: Mapping) -> None:
    if "discount_percent" in data:
        line.discount_percent = _percent(data["discount_percent"])
    if "discount_amount" in data:
        line.discount_fixed_cny = _optional_amount(data["discount_amount"], field="discount_amount") or None
    if "discount_reason" in data:
        line.discount_reason = str(data.get("discount_reason") or "").strip()
    if line.discount_percent and line.discount_fixed_cny:
        raise InvalidInput(_("Give a discount as a percentage or as an amount, not both."), field="discount_amount")
    discounted = bool(line.discount_percent or line.discount_fixed_cny)
    if discounted and not line.discount_reason:
        raise InvalidInput(_("Say why this line is discounted."), field="discount_reason")
    if len(line.discount_reason) > MAX_REASON:
        raise InvalidInput(
            _("A reason can be at most %(count)d characters.") % {"count": MAX_REASON}, field="discount_reason"
        )
    if not discounted:
        line.discount_reason = ""


def _set_amounts(line: QuoteLine) -> None:
    gross = to_fen(line.unit_price_cny * line.quantity)
    if gross >= MAX_AMOUNT:
        raise InvalidInput(_("This line's amount is too large."), field="quantity")
    if line.discount_fixed_cny and line.discount_fixed_cny > gross:
        raise InvalidInput(_("A discount cannot exceed the line's amount."), field="discount_amount")
    amounts = line_amounts(
        line.quantity, line.unit_price_cny, percent=line.discount_percent, fixed=line.discount_fixed_cny
    )
    line.gross_cny, line.discount_cny, line.amount_cny = amounts.gross, amounts.discount, amounts.amount


def _refresh_total(quote: Quote) -> None:
    total = quote_total(quote.lines.values_list("amount_cny", flat=True))
    if total >= MAX_AMOUNT:
        raise InvalidInput(_("The quote's total is too large."), field="lines")
    quote.total_cny = total
    quote.save(update_fields=["total_cny", "updated_at"])


def _fill_line(line: QuoteLine, data: Mapping, *, adding: bool) -> None:
    if line.manual:
        _manual_fields(line, data, adding)
    elif adding or "unit_price" in data:
        line.unit_price_cny = _catalog_unit_price(line, data.get("unit_price"))
    if adding or "quantity" in data:
        line.quantity = _quantity(data.get("quantity", 1))
    _discount_fields(line, data)
    _set_amounts(line)


@transaction.atomic
def add_line(actor, quote: Quote, data: Mapping) -> QuoteLine:
    """Add a catalog service or package (`item`) or, without one, a line priced by hand (`manual`)."""
    case, quote = _require_draft(actor, quote)
    if quote.lines.count() >= MAX_LINES:
        raise InvalidInput(_("A quote has at most %(count)d lines.") % {"count": MAX_LINES}, field="lines")
    position = (quote.lines.aggregate(last=Max("position"))["last"] or 0) + 1
    line = QuoteLine(quote=quote, position=position)
    if data.get("item") not in (None, ""):
        _snapshot_item(line, _catalog_item(quote, data["item"]), clock.today())
    else:
        line.manual = True
    _fill_line(line, data, adding=True)
    line.save()
    _refresh_total(quote)
    _audit(
        actor, "quote.line.add", quote, line=line.pk, code=line.code, manual=line.manual, amount=str(line.amount_cny)
    )
    return line


def _line_of(quote: Quote, line_id) -> QuoteLine:
    try:
        line = quote.lines.filter(pk=int(line_id)).first()
    except (TypeError, ValueError):
        line = None
    if line is None:
        raise NotFound(_("No such line on this quote."))
    return line


@transaction.atomic
def update_line(actor, quote: Quote, line_id, data: Mapping) -> QuoteLine:
    """Change a draft line's quantity, price (within the catalog's range), discount or manual text."""
    case, quote = _require_draft(actor, quote)
    line = _line_of(quote, line_id)
    _fill_line(line, data, adding=False)
    line.save()
    _refresh_total(quote)
    _audit(actor, "quote.line.update", quote, line=line.pk, fields=sorted(data), amount=str(line.amount_cny))
    return line


@transaction.atomic
def remove_line(actor, quote: Quote, line_id) -> Quote:
    case, quote = _require_draft(actor, quote)
    line = _line_of(quote, line_id)
    _audit(actor, "quote.line.remove", quote, line=line.pk, code=line.code)
    line.delete()
    _refresh_total(quote)
    return quote


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


# --- sending --------------------------------------------------------------------------------------


def _check_catalog_prices(quote: Quote, lines: list[QuoteLine], day: datetime.date) -> None:
    """Catalog lines must still carry the price in force on the day the quote is sent."""
    for line in lines:
        if line.manual or line.item_id is None:
            continue
        price = line.item.price_on(day)
        if price is None or not price.amount_min <= line.unit_price_cny <= price.amount_max:
            raise InvalidInput(
                _("The catalog price of %(code)s changed since it was added: update or replace the line.")
                % {"code": line.code},
                field="lines",
            )
        line.catalog_price_min, line.catalog_price_max = price.amount_min, price.amount_max
        line.catalog_price_from = price.effective_from
        line.save(update_fields=["catalog_price_min", "catalog_price_max", "catalog_price_from"])


def _check_sendable(quote: Quote, lines: list[QuoteLine], today: datetime.date) -> None:
    if not lines:
        raise InvalidInput(_("Add at least one line before sending the quote."), field="lines")
    if quote.valid_until is None:
        raise InvalidInput(_("Say until when the quote is valid."), field="valid_until")
    if quote.valid_until <= today:
        raise InvalidInput(_("A quote must stay valid until a day after today."), field="valid_until")
    if quote.deposit_cny > quote.total_cny:
        raise InvalidInput(_("The deposit cannot be more than the total."), field="deposit")


def _freeze_rate(quote: Quote, today: datetime.date) -> None:
    try:
        rate = rates.rate_for(quote.currency, today)
    except RateUnavailable as exc:
        exc.field = "currency"
        raise
    quote.rate_cny_per_unit, quote.rate_date, quote.rate_source = rate.cny_per_unit, rate.rate_date, rate.source
    quote.total_converted = converted(quote.total_cny, rate)
    quote.deposit_converted = converted(quote.deposit_cny, rate)


def _supersede_sent(case: Case, quote: Quote, now) -> list[str]:
    earlier = list(case.quotes.select_for_update().filter(status=Status.SENT).exclude(pk=quote.pk))
    for old in earlier:
        old.status, old.superseded_at = Status.SUPERSEDED, now
        old.save(update_fields=["status", "superseded_at", "updated_at"])
    return [old.number for old in earlier]


@transaction.atomic
def send_quote(actor, quote: Quote) -> Quote:
    """Check the draft, freeze the rate of today, supersede the quote the patient had, move the case to
    "quoted" and tell the patient. Nothing is written when a check fails."""
    case, quote = _require_draft(actor, quote)
    _require_quotable(case)
    today, now = clock.today(), clock.now()
    lines = list(quote.lines.select_related("item"))
    _check_sendable(quote, lines, today)
    _check_catalog_prices(quote, lines, today)
    _freeze_rate(quote, today)
    superseded = _supersede_sent(case, quote, now)
    quote.status, quote.sent_at, quote.sent_by, quote.quote_date = Status.SENT, now, actor, today
    quote.save()
    if case.state == State.EXPIRED:
        case = move(actor, case, State.TRIAGE, note=_("A new quote is sent."))
    if case.state == State.TRIAGE:
        case = move(actor, case, State.QUOTED, by_system=True)
    note_first_response(case)
    detail = {
        "quote": quote.number,
        "revision": quote.revision,
        "total_cny": str(quote.total_cny),
        "currency": quote.currency,
        "total_converted": str(quote.total_converted),
        "valid_until": quote.valid_until.isoformat(),
        "superseded": superseded,
    }
    add_event(case, actor, "quote_sent", **detail)
    _audit(actor, "quote.send", quote, **detail)
    transaction.on_commit(lambda: notices.notify_patient(case, "quote_sent", quote=quote))
    return quote


# --- the patient's answer -------------------------------------------------------------------------


def _require_own_open_quote(actor, case: Case, quote: Quote) -> None:
    if case.patient.user_id != actor.pk or quote.status == Status.DRAFT:
        raise NotFound(_("No such quote."))
    if quote.status == Status.ACCEPTED:
        raise QuoteAlreadyAccepted()
    if quote.status == Status.EXPIRED:
        raise QuoteExpired()
    if quote.status != Status.SENT:
        raise QuoteNotOpen()
    if case.state != State.QUOTED:
        raise QuoteNotOpen(_("This case is no longer waiting for an answer to a quote."))


def accept_quote(actor, quote: Quote, *, user_agent: str = "") -> Quote:
    """The case's patient accepts a sent quote while it is valid; it is frozen with the time and address.

    Past its validity the quote is marked expired (and the case with it), and the acceptance is refused."""
    require_role(actor, [Role.PATIENT])
    with transaction.atomic():
        case, quote = _lock(quote)
        _require_own_open_quote(actor, case, quote)
        if quote.valid_until < clock.today():
            _expire(quote, case)
            expired = True
        else:
            _accept(actor, case, quote, user_agent)
            expired = False
    if expired:
        raise QuoteExpired()
    return quote


def _accept(actor, case: Case, quote: Quote, user_agent: str) -> None:
    quote.status, quote.accepted_at, quote.accepted_by = Status.ACCEPTED, clock.now(), actor
    quote.accepted_ip = requestctx.client_ip.get()
    quote.accepted_user_agent = (user_agent or "")[:MAX_USER_AGENT]
    quote.save()
    case = move(actor, case, State.ACCEPTED, by_system=True)
    detail = {"quote": quote.number, "total_cny": str(quote.total_cny), "ip": quote.accepted_ip or ""}
    add_event(case, actor, "quote_accepted", **detail)
    _audit(actor, "quote.accept", quote, **detail, user_agent=quote.accepted_user_agent)
    transaction.on_commit(lambda: notices.notify_staff(case, "quote_accepted", quote=quote))


@transaction.atomic
def decline_quote(actor, quote: Quote, reason: str) -> Quote:
    """The case's patient declines a sent quote, saying why; the case goes back to triage for a revision."""
    require_role(actor, [Role.PATIENT])
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(
            _("Tell the hospital why you decline: it helps them propose something better."), field="reason"
        )
    if len(reason) > MAX_TEXT:
        raise InvalidInput(_("A reason can be at most %(count)d characters.") % {"count": MAX_TEXT}, field="reason")
    case, quote = _lock(quote)
    _require_own_open_quote(actor, case, quote)
    quote.status, quote.declined_at, quote.decline_reason = Status.DECLINED, clock.now(), reason
    quote.save()
    case = move(actor, case, State.TRIAGE, by_system=True, note=reason)
    add_event(case, actor, "quote_declined", note=reason, quote=quote.number)
    _audit(actor, "quote.decline", quote)
    transaction.on_commit(lambda: notices.notify_staff(case, "quote_declined", quote=quote))
    return quote


# --- expiry ---------------------------------------------------------------------------------------


def _expire(quote: Quote, case: Case) -> None:
    """Mark a sent quote expired (by the system); the case waiting on it expires too."""
    quote.status, quote.expired_at = Status.EXPIRED, clock.now()
    quote.save(update_fields=["status", "expired_at", "updated_at"])
    if case.state == State.QUOTED:
        case = move(None, case, State.EXPIRED, by_system=True)
    add_event(case, None, "quote_expired", quote=quote.number, valid_until=quote.valid_until.isoformat())
    _audit(None, "quote.expire", quote, valid_until=quote.valid_until.isoformat())
    transaction.on_commit(lambda: notices.notify_patient(case, "quote_expired", quote=quote))


def withdraw_open_quotes(sender, *, case: Case, to: str, actor=None, **kwargs) -> None:
    """A cancelled or declined case leaves no quote open: a sent quote expires and a draft is discarded."""
    if to not in (State.CANCELLED, State.DECLINED):
        return
    now = clock.now()
    for quote in Quote.objects.select_for_update().filter(case=case, status__in=[Status.SENT, Status.DRAFT]):
        if quote.status == Status.DRAFT:
            _audit(actor, "quote.discard", quote, reason=to)
            quote.delete()
            continue
        quote.status, quote.expired_at = Status.EXPIRED, now
        quote.save(update_fields=["status", "expired_at", "updated_at"])
        add_event(case, None, "quote_withdrawn", quote=quote.number, reason=to)
        _audit(actor, "quote.withdraw", quote, reason=to)


def expire_quotes(today: datetime.date | None = None) -> list[str]:
    """Expire every sent quote whose validity has passed (run daily: `laihua quotes expire`)."""
    today = today or clock.today()
    expired = []
    for quote in Quote.objects.filter(status=Status.SENT, valid_until__lt=today).order_by("pk"):
        with transaction.atomic():
            case, quote = _lock(quote)
            if quote.status == Status.SENT and quote.valid_until < today:
                _expire(quote, case)
                expired.append(quote.number)
    return expired


# --- what the pages show --------------------------------------------------------------------------


@dataclass
class Figures:
    """The quote's amounts in the patient's currency, with the rate: frozen once sent, today's on a draft."""

    rate: rates.Rate | None
    total: Decimal | None
    deposit: Decimal | None
    balance_cny: Decimal
    balance: Decimal | None
    frozen: bool
    rate_error: str = ""
    excluded: list[dict] = field(default_factory=list)


def frozen_rate(quote: Quote) -> rates.Rate | None:
    if quote.rate_cny_per_unit is None:
        return None
    return rates.Rate(quote.currency, quote.rate_cny_per_unit, quote.rate_date, quote.rate_source)


def figures(quote: Quote, lines: Iterable[QuoteLine] | None = None) -> Figures:
    """The converted amounts and the list of what is not included (the quote's own text, then each line's)."""
    rate, error = frozen_rate(quote), ""
    frozen = rate is not None
    if rate is None:
        try:
            rate = rates.rate_for(quote.currency)
        except RateUnavailable as exc:
            error = str(exc.message)
    balance_cny = quote.total_cny - quote.deposit_cny
    excluded = [quote.exclusions] if quote.exclusions else []
    for line in lines if lines is not None else quote.lines.all():
        if line.excluded and line.excluded not in excluded:
            excluded.append(line.excluded)
    if rate is None:
        return Figures(None, None, None, balance_cny, None, False, error, excluded)
    total = quote.total_converted if frozen else converted(quote.total_cny, rate)
    deposit = quote.deposit_converted if frozen else converted(quote.deposit_cny, rate)
    return Figures(rate, total, deposit, balance_cny, converted(balance_cny, rate), frozen, "", excluded)


def requested_services(quote: Quote) -> list[CatalogItem]:
    """The services the patient asked about in the case, with the price in force today."""
    items = quote.case.services.filter(active=True, hospital_id=quote.case.hospital_id)
    return list(with_price_on(items, clock.today()).filter(price_min__isnull=False).order_by("code"))


def catalog_choices(actor, quote: Quote, q: str, *, limit: int = 20) -> list[CatalogItem]:
    """The hospital's offered services and packages matching every word (any language), for the builder."""
    require_case_staff(actor, quote.case, BUILDERS)
    items = CatalogItem.objects.filter(hospital_id=quote.case.hospital_id, active=True)
    for term in (q or "").lower().split()[:5]:
        items = items.filter(search_text__contains=term)
    items = with_price_on(items, clock.today()).filter(price_min__isnull=False)
    return list(items.order_by("kind", "code")[:limit])


def quote_language(quote: Quote) -> str:
    return quote.language if quote.language in dict(settings.LANGUAGES) else "en"


def describe(texts: dict, language: str) -> str:
    return pick(texts, language)
