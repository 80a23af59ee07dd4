"""The public pages: home, price search, hospitals, a service, comparisons, and the display currency."""

import datetime
import math
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from laihua.accounts import services as accounts
from laihua.catalog import services as catalog
from laihua.catalog.models import Kind
from laihua.errors import DomainError, InvalidInput
from laihua.hospitals import services as hospitals
from laihua.kit import clock
from laihua.kit.weberrors import is_partial_request
from laihua.web.currency import display_for, rate_for_display
from laihua.web.results import result_rows

PAGE_SIZE = 20
SEARCH_FIELDS = ("q", "city", "department", "kind", "price_min", "price_max", "sort")


@require_safe
def home(request):
    display = display_for(request)
    context = {
        "cities": hospitals.cities(),
        "hospitals": hospitals.public_hospitals(),
        "featured": catalog.featured_comparisons(),
        **display.context(),
    }
    return render(request, "web/home.html", context)


def _page_number(raw: str | None) -> int:
    if raw in (None, ""):
        return 1
    try:
        page = int(raw)
    except ValueError:
        page = 0
    if page < 1 or (page - 1) * PAGE_SIZE > catalog.MAX_OFFSET:
        raise InvalidInput(
            _("A page number is a whole number from 1 to %(last)s.") % {"last": catalog.MAX_OFFSET // PAGE_SIZE + 1},
            field="page",
        )
    return page


def _paging(page: int, total: int, exact: bool = True) -> dict:
    """The pager; when the total is only a lower bound (the search stopped counting), the number of pages
    is not known, and there is a next page while the matches go on."""
    pages = max(1, math.ceil(total / PAGE_SIZE))
    first = (page - 1) * PAGE_SIZE + 1 if total else 0
    return {
        "number": page,
        "pages": pages if exact else None,
        "first": first,
        "last": min(total, page * PAGE_SIZE),
        "previous": page - 1 if page > 1 else None,
        "next": page + 1 if page < pages or not exact else None,
        "exact": exact,
    }


@require_safe
def search(request):
    """Search every hospital's prices; an htmx request gets the results only, a plain GET the whole page."""
    display = display_for(request)
    values = {field: request.GET.get(field, "").strip() for field in SEARCH_FIELDS}
    items, total, exact, error, page = [], 0, True, None, 1
    try:
        page = _page_number(request.GET.get("page"))
        offset = (page - 1) * PAGE_SIZE
        params = {**values, "currency": display.currency, "limit": PAGE_SIZE, "offset": offset}
        query, _rate = catalog.search_query_from_params(params, rate=display.rate)
        items, total, exact = catalog.search(query)
    except DomainError as exc:
        error = exc
    context = {
        "rows": result_rows(items, display.rate),
        "total": total,
        "paging": _paging(page, total, exact),
        "values": values,
        "search_error": error,
        "cities": hospitals.cities(),
        "departments": hospitals.department_choices(),
        "kinds": Kind.choices,
        "sorts": [
            ("price", _("Lowest price first")),
            ("-price", _("Highest price first")),
            ("hospital", _("By hospital")),
        ],
        **display.context(),
    }
    partial = is_partial_request(request)
    status = 422 if error is not None and not partial else 200
    template = "web/_results.html" if partial else "web/search.html"
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_safe
def hospital_list(request):
    city = request.GET.get("city", "").strip()
    context = {"hospitals": hospitals.public_hospitals(city), "cities": hospitals.cities(), "city": city}
    return render(request, "web/hospitals.html", context)


@require_safe
def hospital(request, slug):
    """A hospital's profile with its whole published catalog, grouped by department."""
    profile = hospitals.public_hospital(slug)
    display = display_for(request)
    context = {"hospital": profile, "items": catalog.hospital_catalog(profile), **display.context()}
    return render(request, "web/hospital.html", context)


def _day(raw: str | None) -> datetime.date | None:
    if not raw:
        return None
    try:
        return datetime.date.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidInput(_("Give the date as YYYY-MM-DD."), field="on") from None


def _history(prices, shown) -> list[dict]:
    """Each price with the last day it was in force (the day before the next one started)."""
    periods, following = [], None
    for price in prices:
        until = following.effective_from - datetime.timedelta(days=1) if following else None
        periods.append({"price": price, "until": until, "shown": shown is not None and price.pk == shown.pk})
        following = price
    return periods


@require_safe
def item(request, hospital, code):
    """One service or package: its price today (or on ?on=), in CNY and the visitor's currency, and abroad."""
    on = _day(request.GET.get("on"))
    today = clock.today()
    entry = catalog.published_item(hospital, code)
    price = entry.price_on(on or today)
    display = display_for(request, min(on, today) if on else None)
    context = {
        "item": entry,
        "price": price,
        "on": on,
        "today": today,
        "history": _history(catalog.price_history(entry), price),
        "components": entry.components.select_related("item").order_by("item__code"),
        "comparisons": catalog.compare_abroad(entry, price.amount_max) if price else [],
        "paid": catalog.paid_price(entry),
        **display.context(),
    }
    return render(request, "web/item.html", context)


@require_safe
def compare(request, key):
    """The same service at every hospital, cheapest first, with the prices abroad."""
    service = catalog.comparable_service(key)
    items = catalog.compare(service)
    display = display_for(request)
    cheapest = items[0] if items else None
    context = {
        "service": service,
        "items": items,
        "cheapest": cheapest,
        "comparisons": catalog.compare_abroad(cheapest, cheapest.price_max) if cheapest else [],
        **display.context(),
    }
    return render(request, "web/compare.html", context)


def _safe_next(request) -> str:
    """Where to go back to: a page of this site only, without a ?currency= that would override the choice."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return reverse("web:home")
    parts = urlsplit(target)
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "currency"])
    return urlunsplit(parts._replace(query=query))


@require_POST
def set_currency(request):
    """Remember the visitor's display currency (and on their profile when signed in), then go back."""
    target = _safe_next(request)
    try:
        rate = rate_for_display(request.POST.get("currency") or "")
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(target)
    currency = rate.currency if rate else "CNY"
    request.session["currency"] = currency
    if request.user.is_authenticated:
        accounts.set_preferences(request.user, currency=currency)
    return redirect(target)
