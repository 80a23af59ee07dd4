"""Sending a draft: check it, freeze the rate of the day, supersede the quote the patient had, move the
case to "quoted" and tell the patient. A sent quote never changes again."""

import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from laihua.cases import notices
from laihua.cases.models import Case
from laihua.cases.services import add_event, move, note_first_response
from laihua.cases.states import State
from laihua.errors import InvalidInput, RateUnavailable
from laihua.kit import clock
from laihua.quotes.models import Quote, QuoteLine, Status
from laihua.quotes.services.access import audit_quote, require_draft, require_quotable
from laihua.quotes.services.money import converted
from laihua.rates import services as rates


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
    case, quote = require_draft(actor, quote)
    require_quotable(case)
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
    audit_quote(actor, "quote.send", quote, **detail)
    transaction.on_commit(lambda: notices.notify_patient(case, "quote_sent", quote=quote))
    return quote
