"""Quotes in JSON: the same services as the pages. Errors are `{error, detail, field}` (laihua.api)."""

from django.http import HttpResponse
from django.urls import reverse
from ninja import Router, Status

from laihua.accounts.auth import AUTH
from laihua.quotes import services
from laihua.quotes.models import Quote
from laihua.quotes.pdf import quote_pdf
from laihua.quotes.schemas import DeclineIn, LineIn, LinePatch, QuoteIn, QuoteOut, TermsIn

router = Router(tags=["quotes"], auth=AUTH)


def line_out(line) -> dict:
    return {
        "id": line.pk,
        "position": line.position,
        "item": line.item_id,
        "manual": line.manual,
        "package": line.package,
        "code": line.code,
        "description": line.description,
        "included": line.included,
        "excluded": line.excluded,
        "components": line.components,
        "quantity": line.quantity,
        "catalog_price_min": line.catalog_price_min,
        "catalog_price_max": line.catalog_price_max,
        "unit_price_cny": line.unit_price_cny,
        "discount_percent": line.discount_percent,
        "discount_amount_cny": line.discount_fixed_cny,
        "discount_reason": line.discount_reason,
        "gross_cny": line.gross_cny,
        "discount_cny": line.discount_cny,
        "amount_cny": line.amount_cny,
    }


def quote_out(quote: Quote) -> dict:
    """The quote with its lines; a draft's converted amounts use today's rate (`rate.frozen` is false)."""
    lines = list(quote.lines.all())
    figures = services.figures(quote, lines)
    rate = None
    if figures.rate is not None:
        rate = {
            "currency": figures.rate.currency,
            "cny_per_unit": figures.rate.cny_per_unit,
            "rate_date": figures.rate.rate_date,
            "source": figures.rate.source,
            "frozen": figures.frozen,
        }
    return {
        "id": quote.pk,
        "number": quote.number,
        "case": quote.case.reference,
        "revision": quote.revision,
        "revises": quote.previous.number if quote.previous_id else None,
        "status": quote.status,
        "quote_date": quote.quote_date,
        "valid_until": quote.valid_until,
        "currency": quote.currency,
        "language": quote.language,
        "total_cny": quote.total_cny,
        "deposit_cny": quote.deposit_cny,
        "total_converted": figures.total,
        "deposit_converted": figures.deposit,
        "rate": rate,
        "rate_error": figures.rate_error or None,
        "notes": quote.notes,
        "exclusions": quote.exclusions,
        "lines": [line_out(line) for line in lines],
        "created_at": quote.created_at,
        "sent_at": quote.sent_at,
        "accepted_at": quote.accepted_at,
        "accepted_ip": quote.accepted_ip,
        "declined_at": quote.declined_at,
        "decline_reason": quote.decline_reason,
        "expired_at": quote.expired_at,
        "superseded_at": quote.superseded_at,
        "url": reverse("quotes:detail", args=[quote.number]),
        "pdf": reverse("api:quote_pdf", args=[quote.pk]),
    }


def _fresh(request, quote_id: int) -> dict:
    return quote_out(services.get_quote(request.auth, pk=quote_id, audit=None))


def _given(schema) -> dict:
    return schema.dict(exclude_unset=True)


@router.get("", response=list[QuoteOut], summary="Quotes you may see, of one case (?case=REF) or all")
def list_quotes(request, case: str = "", status: str = ""):
    quotes = services.list_quotes(request.auth, case=case or None, status=status or None)
    return [quote_out(quote) for quote in quotes.prefetch_related("lines")[:200]]


@router.post("", response={201: QuoteOut}, summary="Open a draft quote for a case, with its lines")
def create_quote(request, payload: QuoteIn):
    data = _given(payload)
    lines = [line.dict(exclude_unset=True) for line in payload.lines]
    data.pop("case", None)
    data.pop("lines", None)
    quote = services.build_quote(request.auth, payload.case, data, lines)
    return Status(201, _fresh(request, quote.pk))


@router.get("/{quote_id}", response=QuoteOut, summary="One quote")
def get_quote(request, quote_id: int):
    return quote_out(services.get_quote(request.auth, pk=quote_id))


@router.patch("/{quote_id}", response=QuoteOut, summary="Change a draft's validity, deposit, currency or texts")
def update_terms(request, quote_id: int, payload: TermsIn):
    quote = services.get_quote(request.auth, pk=quote_id, audit=None)
    services.update_terms(request.auth, quote, _given(payload))
    return _fresh(request, quote_id)


@router.delete("/{quote_id}", response={204: None}, summary="Discard a draft")
def discard(request, quote_id: int):
    services.discard_draft(request.auth, services.get_quote(request.auth, pk=quote_id, audit=None))
    return Status(204, None)


@router.post("/{quote_id}/lines", response={201: QuoteOut}, summary="Add a catalog item or a line priced by hand")
def add_line(request, quote_id: int, payload: LineIn):
    quote = services.get_quote(request.auth, pk=quote_id, audit=None)
    services.add_line(request.auth, quote, _given(payload))
    return Status(201, _fresh(request, quote_id))


@router.patch("/{quote_id}/lines/{line_id}", response=QuoteOut, summary="Change a draft line")
def update_line(request, quote_id: int, line_id: int, payload: LinePatch):
    quote = services.get_quote(request.auth, pk=quote_id, audit=None)
    services.update_line(request.auth, quote, line_id, _given(payload))
    return _fresh(request, quote_id)


@router.delete("/{quote_id}/lines/{line_id}", response=QuoteOut, summary="Remove a draft line")
def remove_line(request, quote_id: int, line_id: int):
    quote = services.get_quote(request.auth, pk=quote_id, audit=None)
    services.remove_line(request.auth, quote, line_id)
    return _fresh(request, quote_id)


@router.post("/{quote_id}/send", response=QuoteOut, summary="Send the draft to the patient (freezes the rate)")
def send(request, quote_id: int):
    services.send_quote(request.auth, services.get_quote(request.auth, pk=quote_id, audit=None))
    return _fresh(request, quote_id)


@router.post("/{quote_id}/accept", response=QuoteOut, summary="The patient accepts the quote")
def accept(request, quote_id: int):
    quote = services.get_quote(request.auth, pk=quote_id, audit=None)
    services.accept_quote(request.auth, quote, user_agent=request.META.get("HTTP_USER_AGENT", ""))
    return _fresh(request, quote_id)


@router.post("/{quote_id}/decline", response=QuoteOut, summary="The patient declines the quote, saying why")
def decline(request, quote_id: int, payload: DeclineIn):
    quote = services.get_quote(request.auth, pk=quote_id, audit=None)
    services.decline_quote(request.auth, quote, payload.reason)
    return _fresh(request, quote_id)


@router.get("/{quote_id}/pdf", url_name="quote_pdf", summary="The quote as a PDF (patient's language and Chinese)")
def pdf(request, quote_id: int):
    quote = services.get_quote(request.auth, pk=quote_id, audit="quote.pdf")
    response = HttpResponse(quote_pdf(quote), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{quote.number}.pdf"'
    return response
