"""A draft's lines: catalog services and packages (a snapshot of the catalog, at the price in force
today or chosen within its range) and lines priced by hand, each with its discount and amounts."""

import datetime
from collections.abc import Mapping
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from laihua.catalog.models import CatalogItem
from laihua.errors import InvalidInput, NotFound
from laihua.kit import clock
from laihua.kit.money import MAX_AMOUNT, parse_amount
from laihua.quotes.models import Quote, QuoteLine
from laihua.quotes.services.access import audit_quote, require_draft
from laihua.quotes.services.inputs import (
    MAX_REASON,
    parse_optional_amount,
    parse_percent,
    parse_quantity,
    parse_texts,
)
from laihua.quotes.services.money import line_amounts, quote_total, to_fen

MAX_LINES = 100


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


def snapshot_item(line: QuoteLine, item: CatalogItem, day: datetime.date) -> None:
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
        description = parse_texts(data.get("description"), field="description", max_length=MAX_REASON)
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
        line.excluded = parse_texts(data.get("excluded"), field="excluded")
    if adding or "unit_price" in data:
        if data.get("unit_price") in (None, ""):
            raise InvalidInput(_("Give the unit price of a line priced by hand."), field="unit_price")
        line.unit_price_cny = parse_amount(data["unit_price"], field="unit_price")


def _discount_fields(line: QuoteLine, data: Mapping) -> None:
    if "discount_percent" in data:
        line.discount_percent = parse_percent(data["discount_percent"])
    if "discount_amount" in data:
        line.discount_fixed_cny = parse_optional_amount(data["discount_amount"], field="discount_amount") or None
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


def set_amounts(line: QuoteLine) -> None:
    gross = to_fen(line.unit_price_cny * line.quantity)
    if gross >= MAX_AMOUNT:
        raise InvalidInput(_("This line's amount is too large."), field="quantity")
    if line.discount_fixed_cny and line.discount_fixed_cny > gross:
        raise InvalidInput(_("A discount cannot exceed the line's amount."), field="discount_amount")
    amounts = line_amounts(
        line.quantity, line.unit_price_cny, percent=line.discount_percent, fixed=line.discount_fixed_cny
    )
    line.gross_cny, line.discount_cny, line.amount_cny = amounts.gross, amounts.discount, amounts.amount


def refresh_total(quote: Quote) -> None:
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
        line.quantity = parse_quantity(data.get("quantity", 1))
    _discount_fields(line, data)
    set_amounts(line)


@transaction.atomic
def add_line(actor, quote: Quote, data: Mapping) -> QuoteLine:
    """Add a catalog service or package (`item`) or, without one, a line priced by hand (`manual`)."""
    case, quote = require_draft(actor, quote)
    if quote.lines.count() >= MAX_LINES:
        raise InvalidInput(_("A quote has at most %(count)d lines.") % {"count": MAX_LINES}, field="lines")
    position = (quote.lines.aggregate(last=Max("position"))["last"] or 0) + 1
    line = QuoteLine(quote=quote, position=position)
    if data.get("item") not in (None, ""):
        snapshot_item(line, _catalog_item(quote, data["item"]), clock.today())
    else:
        line.manual = True
    _fill_line(line, data, adding=True)
    line.save()
    refresh_total(quote)
    audit_quote(
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
    case, quote = require_draft(actor, quote)
    line = _line_of(quote, line_id)
    _fill_line(line, data, adding=False)
    line.save()
    refresh_total(quote)
    audit_quote(actor, "quote.line.update", quote, line=line.pk, fields=sorted(data), amount=str(line.amount_cny))
    return line


@transaction.atomic
def remove_line(actor, quote: Quote, line_id) -> Quote:
    case, quote = require_draft(actor, quote)
    line = _line_of(quote, line_id)
    audit_quote(actor, "quote.line.remove", quote, line=line.pk, code=line.code)
    line.delete()
    refresh_total(quote)
    return quote
