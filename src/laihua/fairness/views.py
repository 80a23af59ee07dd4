"""The public fairness report: the page in every language, and the open data as JSON and CSV. No sign-in;
everything is read from the monthly roll-up (services.report)."""

import csv
import io

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from laihua.errors import DomainError
from laihua.fairness.services import report
from laihua.fairness.services.report import MIN_PATIENTS, PRIMARY, SECONDARY
from laihua.kit.weberrors import render_domain_error

TREND_MONTHS = 12
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


@require_safe
def page(request):
    """The report for one month (the last whole month by default), with each city's last twelve months."""
    try:
        wanted = report.parse_month(request.GET.get("month"))
    except DomainError as error:
        return render_domain_error(request, error)
    months = report.reported_months()
    month = wanted or report.default_month(months)
    trend_months = sorted(months[:TREND_MONTHS])
    context = {
        "months": months,
        "month": month,
        "cities": report.month_report(month) if month else [],
        "trend": report.city_trend(trend_months) if trend_months else [],
        "categories": report.CATEGORIES,
        "freshness": report.freshness(),
        "threshold": MIN_PATIENTS,
        "about": _about(),
    }
    return render(request, "fairness/report.html", context)


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
