"""The public fairness report: the page in every language, and the open data as JSON and CSV. No sign-in;
everything is read from the monthly roll-up (services.report)."""

import csv
import io

from django.core.cache import cache
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.formats import localize
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from laihua.errors import DomainError
from laihua.fairness.services import report
from laihua.fairness.services.report import MIN_PATIENTS, PRIMARY, SECONDARY
from laihua.kit import clock
from laihua.kit.weberrors import render_domain_error

TREND_MONTHS = 12
# How long a rendered report stays in the cache at most (a change to the roll-up replaces it at once).
CACHE_SECONDS = 3600
CSV_COLUMNS = [
    "month",
    "city",
    "hospital",
    "category",
    "unit",
    "capacity",
    "cap",
    "cap_percent",
    "used",
    "share_percent",
    "of_cap_percent",
    "patients",
    "suppressed",
]


def _about() -> dict:
    return {
        "threshold": MIN_PATIENTS,
        "suppression": {
            PRIMARY: _("Built on 1 to 9 patients: the use, share and number of patients are not given."),
            SECONDARY: _(
                "Not given so that a suppressed figure of another hospital of the city cannot be worked out "
                "from the city's total."
            ),
        },
        "share_percent": _("International use as a percentage of the month's capacity."),
        "cap_percent": _("The cap: the percentage of the capacity international patients may book."),
        "of_cap_percent": _("International use as a percentage of the cap (100 means the cap was reached)."),
        "patients": _(
            "Distinct international patients who used the resource in the month; a city's is the sum of its hospitals'."
        ),
    }


def cell(figure) -> str:
    """One figure as the page shows it (rendered here rather than by an included template for each of the
    few hundred cells: the page must answer quickly with 50 hospitals)."""
    if figure is None:
        return format_html('<span class="muted">{}</span>', _("no such resource"))
    if figure.suppressed == PRIMARY:
        text = _("Not shown: fewer than %(threshold)s patients") % {"threshold": MIN_PATIENTS}
        if figure.cap_share is None:
            return format_html('<span class="suppressed">{}</span>', text)
        cap = _("cap %(cap)s%%") % {"cap": localize(figure.cap_share)}
        return format_html('<span class="suppressed">{}</span><br><span class="muted small">{}</span>', text, cap)
    if figure.suppressed == SECONDARY:
        text = _("Not shown, so that another hospital's small figure cannot be worked out")
        return format_html('<span class="suppressed">{}</span>', text)
    if figure.share is None:
        return format_html('<span class="muted">{}</span>', _("no capacity this month"))
    share = _("%(share)s%% of the %(cap)s%% cap") % {"share": localize(figure.share), "cap": localize(figure.cap_share)}
    patients = ngettext("%(patients)s patient", "%(patients)s patients", figure.patients) % {
        "patients": figure.patients
    }
    units = _("%(used)s of %(capacity)s %(unit)s") % {
        "used": figure.used,
        "capacity": figure.capacity,
        "unit": figure.unit_label,
    }
    bar = ""
    if figure.of_cap is not None:
        bar = format_html(
            '<meter class="fairness-bar" min="0" max="100" low="80" high="99.9" optimum="0" value="{}" '
            'aria-hidden="true"></meter>',
            str(figure.of_cap),
        )
    return format_html(
        '<span class="share">{}</span>{}<span class="muted small">{} · {}</span>', share, bar, patients, units
    )


def _cells(pairs) -> list[tuple[str, str]]:
    return [(category.label, cell(figure)) for category, figure in pairs]


def _body(month, months) -> str:
    """The report's content for the month, rendered (the page around it is the visitor's own)."""
    trend_months = sorted(months[:TREND_MONTHS])
    cities = report.month_report(month) if month else []
    for city in cities:
        for area in [city.total, *city.hospitals]:
            area.rendered = _cells(area.cells)
    trend = report.city_trend(trend_months) if trend_months else []
    for entry in trend:
        for row in entry["months"]:
            row["rendered"] = _cells(row["cells"])
    context = {
        "months": months,
        "month": month,
        "cities": cities,
        "trend": trend,
        "categories": report.CATEGORIES,
        "freshness": report.freshness(),
        "threshold": MIN_PATIENTS,
        "about": _about(),
    }
    return render_to_string("fairness/_report.html", context)


@require_safe
def page(request):
    """The report for one month (the last whole month by default), with each city's last twelve months.

    The content is kept in the cache under the roll-up's version (when it last changed and was last
    recounted), the day and the language: a booking or a recount gives the next visitor a new page."""
    try:
        wanted = report.parse_month(request.GET.get("month"))
    except DomainError as error:
        return render_domain_error(request, error)
    fresh = report.freshness()
    months = report.reported_months()
    month = wanted or report.default_month(months)
    key = ":".join(
        str(part)
        for part in (
            "fairness-page",
            get_language(),
            month,
            clock.today(),
            fresh["changed_at"] and fresh["changed_at"].timestamp(),
            fresh["recounted_at"] and fresh["recounted_at"].timestamp(),
        )
    )
    body = cache.get(key)
    if body is None:
        body = _body(month, months)
        cache.set(key, body, CACHE_SECONDS)
    return render(request, "fairness/report.html", {"body": mark_safe(body), "month": month})  # noqa: S308 - rendered above


def _open_rows(request):
    return report.open_data(report.parse_month(request.GET.get("month")))


def _error_json(error: DomainError) -> JsonResponse:
    return JsonResponse(error.as_dict(), status=error.status)


@require_safe
def open_json(request):
    """fairness.json: every month (or ?month=YYYY-MM), city and hospital, with what each field means."""
    try:
        rows = _open_rows(request)
    except DomainError as error:
        return _error_json(error)
    fresh = report.freshness()
    body = {
        "title": "Laihua fairness report: international patients' use of hospital resources against the cap",
        "changed_at": fresh["changed_at"].isoformat() if fresh["changed_at"] else None,
        "recounted_at": fresh["recounted_at"].isoformat() if fresh["recounted_at"] else None,
        "fields": _about(),
        "rows": rows,
    }
    response = JsonResponse(body, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_safe
def open_csv(request):
    """fairness.csv: the same rows as the JSON, one per city or hospital, month and kind of resource.
    Suppressed figures are empty cells, with the reason in `suppressed`."""
    try:
        rows = _open_rows(request)
    except DomainError as error:
        return _error_json(error)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if row[key] is None else row[key] for key in CSV_COLUMNS})
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="fairness.csv"'
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    return response
