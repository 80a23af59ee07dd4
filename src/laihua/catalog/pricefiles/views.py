"""The stable public addresses /prices/<slug>.json and /prices/<slug>.csv: no login, a strong ETag and
five minutes of caching."""

from django.http import HttpResponse, JsonResponse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from laihua.catalog.pricefiles.csv_writer import csv_text
from laihua.catalog.pricefiles.json_writer import json_text
from laihua.catalog.pricefiles.rows import price_file
from laihua.errors import DomainError, NotFound
from laihua.hospitals.services import public_hospital


def _error_response(error: DomainError) -> JsonResponse:
    return JsonResponse(error.as_dict(), status=error.status, json_dumps_params={"ensure_ascii": False})


def _file_response(request, body: bytes, content_type: str, filename: str, disposition: str, pricefile):
    etag = pricefile.etag(body)
    not_modified = get_conditional_response(request, etag=etag)
    response = not_modified or HttpResponse(body, content_type=content_type)
    response["ETag"] = etag
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    patch_cache_control(response, public=True, max_age=300)
    return response


@require_safe
def price_file_json(request, slug):
    """The hospital's price file as CMS v3.0.0 JSON; no login needed."""
    try:
        pricefile = price_file(public_hospital(slug))
    except NotFound as exc:
        return _error_response(exc)
    if not pricefile.rows:
        return _error_response(NotFound(_("This hospital publishes no prices yet.")))
    body = json_text(pricefile).encode()
    return _file_response(
        request, body, "application/json; charset=utf-8", f"{slug}_standardcharges.json", "inline", pricefile
    )


@require_safe
def price_file_csv(request, slug):
    """The hospital's price file in the CMS v3.0.0 tall CSV layout; no login needed."""
    try:
        pricefile = price_file(public_hospital(slug))
    except NotFound as exc:
        return _error_response(exc)
    body = csv_text(pricefile).encode()
    return _file_response(
        request, body, "text/csv; charset=utf-8", f"{slug}_standardcharges.csv", "attachment", pricefile
    )
