"""Analytics pages: one hospital's dashboard, the city's side by side, and each view's CSV export."""

import functools

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django_countries import countries

from laihua.analytics import services

FILTER_PARAMS = ("start", "end", "country", "department", "service")


def _params(request, names=FILTER_PARAMS) -> dict:
    return {name: request.GET.get(name, "") for name in names}


def _cell(value) -> str:
    return "–" if value is None else str(value)


def _with_tables(views: list[dict]) -> list[dict]:
    """Each view's rows as the table's cells, in its columns' order, and as the table body's HTML: the first
    cell a row header, the others numbers (joined here, not looped over in the template: the city page has
    eight tables of fifty hospitals)."""
    for view in views:
        keys = [column["key"] for column in view["columns"]]
        view["table"] = table = [[_cell(row.get(key)) for key in keys] for row in view["rows"]]
        view["tbody"] = mark_safe(  # every cell escaped  # noqa: S308
            "".join(
                f'<tr><th scope="row">{escape(cells[0])}</th>'
                + "".join(f'<td class="num">{escape(cell)}</td>' for cell in cells[1:])
                + "</tr>"
                for cells in table
            )
        )
    return views


@functools.lru_cache(maxsize=16)
def _all_country_options(language: str) -> str:
    """Every country's option in one language, none selected (built once per language: some 250 names, each
    translated and sorted)."""
    with translation.override(language):
        return "".join(
            f'<option value="{escape(country.code)}">{escape(country.name)}</option>' for country in countries
        )


def _country_options(selected: str):
    """The country filter's options in the reader's language, the chosen one selected."""
    options = _all_country_options(translation.get_language() or settings.LANGUAGE_CODE)
    if selected:
        chosen = f'<option value="{escape(selected)}">'
        options = options.replace(chosen, chosen[:-1] + " selected>", 1)
    return mark_safe(options)  # every name and code escaped  # noqa: S308


def _chart_data(views: list[dict]) -> dict:
    """What the page's script draws: each view's chart by its key (read from a json_script element)."""
    return {view["key"]: view["chart"] for view in views if view["chart"] and view["rows"]}


@login_required
def hospital(request, slug: str | None = None):
    """One hospital's analytics by month: its own staff; the city and the platform any hospital's."""
    user = request.user
    report = services.hospital_dashboard(user, slug or request.GET.get("hospital") or None, **_params(request))
    hospital = report["hospital"]
    _with_tables(report["views"])
    query = urlencode(report["filters"].query())
    context = {
        **report,
        "query": query,
        "charts": _chart_data(report["views"]),
        "country_options": _country_options(report["filters"].country),
        "city_reader": services.is_city_reader(user),
        "departments": hospital.departments.all(),
        "services_list": hospital.catalog.order_by("code").only("pk", "hospital_id", "code", "name"),
        "csv_base": reverse("analytics:hospital", args=[hospital.slug]),  # + "<view>.csv"
        "api_base": f"/api/analytics/hospitals/{hospital.slug}",
    }
    return render(request, "analytics/hospital.html", context)


@login_required
def city(request):
    """Every hospital side by side, the city's pilot hospitals marked: the city health commission and the
    platform administrators."""
    report = services.city_dashboard(request.user, **_params(request, ("start", "end", "country")))
    _with_tables(report["views"])
    context = {
        **report,
        "query": urlencode(report["filters"].query()),
        "charts": _chart_data(report["views"]),
        "country_options": _country_options(report["filters"].country),
        "csv_base": reverse("analytics:city"),  # + "<view>.csv"
        "api_base": "/api/analytics/city",
    }
    return render(request, "analytics/city.html", context)


def _csv(content: str, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


@login_required
def hospital_csv(request, slug: str, view: str):
    report = services.hospital_dashboard(request.user, slug, view=view, **_params(request))
    filters = report["filters"]
    name = f"analytics-{report['hospital'].slug}-{view}-{filters.start:%Y-%m}-{filters.end:%Y-%m}"
    return _csv(services.view_csv(report["views"][0]), name)


@login_required
def city_csv(request, view: str):
    report = services.city_dashboard(request.user, view=view, **_params(request, ("start", "end", "country")))
    filters = report["filters"]
    return _csv(
        services.view_csv(report["views"][0]), f"analytics-city-{view}-{filters.start:%Y-%m}-{filters.end:%Y-%m}"
    )
