"""The analytics views, read from the roll-ups: each a table (columns and rows) and the chart drawn from it.

One hospital's page groups its figures by month; the city's page groups them by hospital, side by side.
Every view is built from one read of the roll-up rows of the period (the month rows, or the rows by
country, department and service when the page is narrowed to one of them), never from the cases."""

import datetime
import hashlib
import json
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from babel import Locale
from django.conf import settings
from django.core.cache import cache
from django.db.models import Sum
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_countries import countries

from laihua.analytics.models import AMOUNTS, COUNTS, CubeMonth, HospitalMonth, RefreshState, ViewSnapshot
from laihua.analytics.services import stats
from laihua.analytics.services.access import Filters
from laihua.catalog.models import CatalogItem
from laihua.hospitals.models import Department, Hospital
from laihua.kit import clock
from laihua.kit.i18n import pick
from laihua.planning.models import InterpreterMode, ItineraryItem, ItineraryStatus

SUMS = COUNTS + AMOUNTS
HISTOGRAMS = ("response_minutes", "quote_days", "arrival_days", "stay_days")
ZERO = Decimal("0.00")
# How long a page's views stay cached under the same refresh stamps: a refresh changes the key at once; the
# time bounds only how long a renamed department or service keeps its old name on the page.
VIEWS_CACHE_SECONDS = 3600

HOSPITAL_VIEWS = (
    "activity",
    "funnel",
    "countries",
    "departments",
    "services",
    "times",
    "revenue",
    "payment_days",
    "stay",
    "interpreters",
)
CITY_VIEWS = ("activity", "funnel", "countries", "times", "revenue", "payment_days", "stay", "interpreters")
TITLES = {
    "activity": gettext_lazy("Inquiries, quotes, acceptances, arrivals and discharges"),
    "funnel": gettext_lazy("From inquiry to arrival"),
    "countries": gettext_lazy("By patient's country"),
    "departments": gettext_lazy("By department"),
    "services": gettext_lazy("By service"),
    "times": gettext_lazy("Response and waiting times"),
    "revenue": gettext_lazy("Revenue in CNY: invoiced and collected"),
    "payment_days": gettext_lazy("Days to payment by insurer"),
    "stay": gettext_lazy("Length of stay"),
    "interpreters": gettext_lazy("Interpreter hours by language"),
}
LABELS = {
    "inquiries": gettext_lazy("Inquiries"),
    "quotes": gettext_lazy("Quoted"),
    "acceptances": gettext_lazy("Accepted"),
    "arrivals": gettext_lazy("Arrived"),
    "discharges": gettext_lazy("Discharged"),
    "invoiced_cny": gettext_lazy("Invoiced (CNY)"),
    "invoiced_self_pay_cny": gettext_lazy("Invoiced, self-pay (CNY)"),
    "invoiced_insurer_cny": gettext_lazy("Invoiced, insurers (CNY)"),
    "collected_cny": gettext_lazy("Collected (CNY)"),
    "collected_self_pay_cny": gettext_lazy("Collected, self-pay (CNY)"),
    "collected_insurer_cny": gettext_lazy("Collected, insurers (CNY)"),
}


@dataclass
class Group:
    """The figures of one month (or one hospital) summed over the roll-up rows that fall in it."""

    sums: dict = field(default_factory=lambda: {name: (ZERO if name in AMOUNTS else 0) for name in SUMS})
    histograms: dict = field(default_factory=lambda: {name: {} for name in HISTOGRAMS})
    payment_days: dict = field(default_factory=dict)

    def add(self, row: dict) -> None:
        """Add a roll-up row as read (histograms keyed by strings): call finish() after the last one."""
        sums = self.sums
        for name in SUMS:
            sums[name] += row[name]
        histograms = self.histograms
        for name in HISTOGRAMS:
            stats.add_raw(histograms[name], row[name])
        for insurer, histogram in (row["payment_days"] or {}).items():
            stats.add_raw(self.payment_days.setdefault(insurer, {}), histogram)

    def finish(self) -> "Group":
        """The histograms added by add() keyed by their integer values, as the percentiles read them."""
        self.histograms = {name: stats.keyed(histogram) for name, histogram in self.histograms.items()}
        self.payment_days = {insurer: stats.keyed(histogram) for insurer, histogram in self.payment_days.items()}
        return self

    def merged(self, other: "Group") -> "Group":
        """Add another finished group's figures (histograms keyed alike, so merged as they are)."""
        for name in SUMS:
            self.sums[name] += other.sums[name]
        for name in HISTOGRAMS:
            stats.add_raw(self.histograms[name], other.histograms[name])
        for insurer, histogram in other.payment_days.items():
            stats.add_raw(self.payment_days.setdefault(insurer, {}), histogram)
        return self


def _rows(hospital_ids: list[int], filters: Filters):
    if filters.narrowed:
        rows = CubeMonth.objects.filter(hospital_id__in=hospital_ids, month__range=(filters.start, filters.end))
        if filters.country:
            rows = rows.filter(country=filters.country)
        if filters.department:
            rows = rows.filter(department_id=filters.department.pk)
        if filters.service:
            rows = rows.filter(service_id=filters.service.pk)
        return rows
    return HospitalMonth.objects.filter(hospital_id__in=hospital_ids, month__range=(filters.start, filters.end))


def load(hospital_ids: list[int], filters: Filters, by: str) -> dict:
    """{month or hospital id: Group} for the period and filters."""
    groups: dict = {}
    names = (*SUMS, *HISTOGRAMS, "payment_days")
    # A plain fetch, not a server-side cursor: a page reads a few dozen to a few thousand rows, and a cursor
    # costs two more round trips to the database.
    for row in _rows(hospital_ids, filters).values(by, *names):
        group = groups.get(row[by])
        if group is None:
            group = groups[row[by]] = Group()
        group.add(row)
    for group in groups.values():
        group.finish()
    return groups


class Groups(dict):
    """{month or hospital id: Group}, and the whole period's Group (every group merged) computed once for the
    views that show it."""

    _whole: Group | None = None

    def whole(self) -> Group:
        if self._whole is None:
            whole = Group()
            for group in self.values():
                whole.merged(group)
            self._whole = whole
        return self._whole


def _column(key: str, label, kind: str = "number") -> dict:
    return {"key": key, "label": str(label), "kind": kind}


def _number(value):
    """A table value as the chart's number (amounts and tenths as floats; charts only draw)."""
    if value is None:
        return None
    return float(value) if isinstance(value, Decimal) else value


def _chart(kind: str, categories: list, series: list[tuple], *, lines=(), unit: str = "") -> dict:
    return {
        "kind": kind,
        "categories": [str(category) for category in categories],
        "series": [
            {"name": str(name), "data": [_number(value) for value in data], **({"stack": stack} if stack else {})}
            for name, data, stack in series
        ],
        "lines": [{"name": str(name), "value": _number(value)} for name, value in lines],
        "unit": unit,
    }


@dataclass
class Scope:
    """What a page shows: the hospitals, the filters, and how its rows are grouped."""

    hospitals: list[Hospital]
    filters: Filters
    by: str  # "month" (one hospital) or "hospital_id" (the city)

    @property
    def ids(self) -> list[int]:
        return [hospital.pk for hospital in self.hospitals]

    def group_keys(self) -> list:
        return self.filters.months() if self.by == "month" else self.ids

    def label(self, key) -> str:
        if self.by == "month":
            return f"{key:%Y-%m}"
        hospital = next(h for h in self.hospitals if h.pk == key)
        return f"{hospital} ★" if hospital.pilot else str(hospital)

    def first_column(self) -> dict:
        return (
            _column("month", _("Month"), "text") if self.by == "month" else _column("hospital", _("Hospital"), "text")
        )


def _view(key: str, columns: list, rows: list, chart: dict | None, *, empty: str = "", note: str = "") -> dict:
    return {
        "key": key,
        "title": str(TITLES[key]),
        "columns": columns,
        "rows": rows,
        "chart": chart,
        "empty": empty,
        "note": note,
    }


def activity(scope: Scope, groups: dict) -> dict:
    first = scope.first_column()
    names = ("inquiries", "quotes", "acceptances", "arrivals", "discharges")
    rows = []
    for key in scope.group_keys():
        group = groups.get(key) or Group()
        rows.append({first["key"]: scope.label(key), **{name: group.sums[name] for name in names}})
    chart = _chart(
        "bar" if scope.by == "hospital_id" else "line",
        [row[first["key"]] for row in rows],
        [(LABELS[name], [row[name] for row in rows], None) for name in names],
    )
    return _view("activity", [first, *[_column(name, LABELS[name]) for name in names]], rows, chart)


def funnel(scope: Scope, groups: dict) -> dict:
    names = ("inquiries", "quotes", "acceptances", "arrivals")
    note = _("Each step counts the cases that reached it in the period, whenever they were opened.")
    if scope.by == "month":
        whole = groups.whole()
        inquiries = whole.sums["inquiries"]
        rows = [
            {"step": str(LABELS[name]), "cases": whole.sums[name], "share": stats.share(whole.sums[name], inquiries)}
            for name in names
        ]
        columns = [
            _column("step", _("Step"), "text"),
            _column("cases", _("Cases")),
            _column("share", _("Share of inquiries (per cent)")),
        ]
        chart = _chart("hbar", [row["step"] for row in rows], [(_("Cases"), [row["cases"] for row in rows], None)])
        return _view("funnel", columns, rows, chart, note=note)
    rows = []
    for key in scope.group_keys():
        group = groups.get(key) or Group()
        inquiries = group.sums["inquiries"]
        rows.append(
            {
                "hospital": scope.label(key),
                **{name: group.sums[name] for name in names},
                "quoted_share": stats.share(group.sums["quotes"], inquiries),
                "arrived_share": stats.share(group.sums["arrivals"], inquiries),
            }
        )
    columns = [
        scope.first_column(),
        *[_column(name, LABELS[name]) for name in names],
        _column("quoted_share", _("Quoted, per cent of inquiries")),
        _column("arrived_share", _("Arrived, per cent of inquiries")),
    ]
    chart = _chart(
        "bar",
        [row["hospital"] for row in rows],
        [
            (_("Quoted, per cent of inquiries"), [row["quoted_share"] for row in rows], None),
            (_("Arrived, per cent of inquiries"), [row["arrived_share"] for row in rows], None),
        ],
        unit="%",
    )
    return _view("funnel", columns, rows, chart, note=note)


def _time_row(group: Group) -> dict:
    responses = group.histograms["response_minutes"]
    return {
        "responses": stats.total(responses),
        "response_median_h": stats.hours(stats.percentile(responses, 0.5)),
        "response_p90_h": stats.hours(stats.percentile(responses, 0.9)),
        "on_time": stats.share(group.sums["responses_on_time"], group.sums["responses"]),
        "quote_median_d": stats.percentile(group.histograms["quote_days"], 0.5),
        "quote_p90_d": stats.percentile(group.histograms["quote_days"], 0.9),
        "arrival_median_d": stats.percentile(group.histograms["arrival_days"], 0.5),
        "arrival_p90_d": stats.percentile(group.histograms["arrival_days"], 0.9),
    }


def times(scope: Scope, groups: dict) -> dict:
    target = settings.LAIHUA_FIRST_RESPONSE_HOURS
    first = scope.first_column()
    rows = [{first["key"]: scope.label(key), **_time_row(groups.get(key) or Group())} for key in scope.group_keys()]
    whole = groups.whole()
    rows.append({first["key"]: _("Whole period") if scope.by == "month" else _("All hospitals"), **_time_row(whole)})
    columns = [
        first,
        _column("responses", _("Answered inquiries")),
        _column("response_median_h", _("First response, median (hours)")),
        _column("response_p90_h", _("First response, 90th percentile (hours)")),
        _column("on_time", _("Answered within the target, %")),
        _column("quote_median_d", _("Inquiry to quote, median (days)")),
        _column("quote_p90_d", _("Inquiry to quote, 90th percentile (days)")),
        _column("arrival_median_d", _("Inquiry to arrival, median (days)")),
        _column("arrival_p90_d", _("Inquiry to arrival, 90th percentile (days)")),
    ]
    shown = rows[:-1]
    chart = _chart(
        "bar" if scope.by == "hospital_id" else "line",
        [row[first["key"]] for row in shown],
        [
            (_("First response, median (hours)"), [row["response_median_h"] for row in shown], None),
            (_("First response, 90th percentile (hours)"), [row["response_p90_h"] for row in shown], None),
        ],
        lines=[(_("Target: %(hours)s hours") % {"hours": target}, target)],
        unit="h",
    )
    note = _("The target for the first response is %(hours)s hours. Percentiles are the nearest rank.") % {
        "hours": target
    }
    return _view("times", columns, rows, chart, note=note)


def revenue(scope: Scope, groups: dict) -> dict:
    first = scope.first_column()
    names = AMOUNTS
    rows = []
    for key in scope.group_keys():
        group = groups.get(key) or Group()
        rows.append({first["key"]: scope.label(key), **{name: group.sums[name] for name in names}})
    total = {name: sum((row[name] for row in rows), ZERO) for name in names}
    rows.append({first["key"]: _("Total"), **total})
    shown = rows[:-1]
    chart = _chart(
        "bar",
        [row[first["key"]] for row in shown],
        [
            (LABELS["invoiced_self_pay_cny"], [row["invoiced_self_pay_cny"] for row in shown], "invoiced"),
            (LABELS["invoiced_insurer_cny"], [row["invoiced_insurer_cny"] for row in shown], "invoiced"),
            (LABELS["collected_self_pay_cny"], [row["collected_self_pay_cny"] for row in shown], "collected"),
            (LABELS["collected_insurer_cny"], [row["collected_insurer_cny"] for row in shown], "collected"),
        ],
        unit="CNY",
    )
    columns = [first, *[_column(name, LABELS[name], "money") for name in names]]
    note = _("Invoiced on the statement's issue date; collected on the day the payment was received, less refunds.")
    return _view("revenue", columns, rows, chart, note=note)


def payment_days(scope: Scope, groups: dict) -> dict:
    whole = groups.whole()
    rows = [
        {
            "insurer": insurer,
            "payments": stats.total(histogram),
            "median_days": stats.percentile(histogram, 0.5),
            "p90_days": stats.percentile(histogram, 0.9),
            "mean_days": stats.mean(histogram),
        }
        for insurer, histogram in sorted(whole.payment_days.items())
    ]
    columns = [
        _column("insurer", _("Insurer"), "text"),
        _column("payments", _("Payments")),
        _column("median_days", _("Median days from statement to payment")),
        _column("p90_days", _("90th percentile (days)")),
        _column("mean_days", _("Mean (days)")),
    ]
    chart = _chart(
        "bar",
        [row["insurer"] for row in rows],
        [
            (_("Median days from statement to payment"), [row["median_days"] for row in rows], None),
            (_("90th percentile (days)"), [row["p90_days"] for row in rows], None),
        ],
        unit="d",
    )
    return _view("payment_days", columns, rows, chart, empty=_("No insurer has paid in this period."))


def stay(scope: Scope, groups: dict) -> dict:
    if scope.by == "month":
        whole = groups.whole()
        histogram = whole.histograms["stay_days"]
        rows = [{"days": days, "discharges": histogram[days]} for days in sorted(histogram)]
        columns = [_column("days", _("Days in hospital")), _column("discharges", _("Discharges"))]
        chart = _chart(
            "bar", [row["days"] for row in rows], [(_("Discharges"), [row["discharges"] for row in rows], None)]
        )
        note = _("Median %(median)s days, 90th percentile %(p90)s days, mean %(mean)s days.") % {
            "median": stats.percentile(histogram, 0.5) if histogram else "–",
            "p90": stats.percentile(histogram, 0.9) if histogram else "–",
            "mean": stats.mean(histogram) if histogram else "–",
        }
        return _view("stay", columns, rows, chart, empty=_("No patient was discharged in this period."), note=note)
    rows = []
    for key in scope.group_keys():
        histogram = (groups.get(key) or Group()).histograms["stay_days"]
        rows.append(
            {
                "hospital": scope.label(key),
                "discharges": stats.total(histogram),
                "median_days": stats.percentile(histogram, 0.5),
                "p90_days": stats.percentile(histogram, 0.9),
                "mean_days": stats.mean(histogram),
            }
        )
    columns = [
        scope.first_column(),
        _column("discharges", _("Discharges")),
        _column("median_days", _("Median stay (days)")),
        _column("p90_days", _("90th percentile (days)")),
        _column("mean_days", _("Mean (days)")),
    ]
    chart = _chart(
        "bar",
        [row["hospital"] for row in rows],
        [(_("Median stay (days)"), [row["median_days"] for row in rows], None)],
    )
    return _view("stay", columns, rows, chart)


def interpreter_hours(hospital_ids: list[int], filters: Filters) -> list[dict]:
    """Interpreter hours by language over the period: [{"language", "hours", "in_person", "remote", "visits"}],
    from the visits of confirmed trips that the planner gave an interpreter (in person, or remote by video or
    phone), their booked times summed. Bounded by the period's days and the hospitals' own trips (an index on
    the entry's day), never every case."""
    last = (filters.end + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
    entries = ItineraryItem.objects.filter(
        itinerary__status=ItineraryStatus.ACTIVE,
        itinerary__case__hospital_id__in=hospital_ids,
        day__gte=filters.start,
        day__lte=last,
        interpreter_mode__in=[InterpreterMode.IN_PERSON, InterpreterMode.VIDEO, InterpreterMode.PHONE],
        starts_at__isnull=False,
        ends_at__isnull=False,
    )
    if filters.country:
        entries = entries.filter(itinerary__case__patient__nationality=filters.country)
    if filters.department is not None:
        entries = entries.filter(itinerary__case__department=filters.department)
    if filters.service is not None:
        entries = entries.filter(item=filters.service)
    minutes: dict[str, dict[str, int]] = {}
    for language, mode, starts, ends in entries.values_list(
        "interpreter_language", "interpreter_mode", "starts_at", "ends_at"
    ):
        span = (ends.hour * 60 + ends.minute) - (starts.hour * 60 + starts.minute)
        if span <= 0:
            continue
        row = minutes.setdefault(language, {"in_person": 0, "remote": 0, "visits": 0})
        row["in_person" if mode == InterpreterMode.IN_PERSON else "remote"] += span
        row["visits"] += 1

    def hours(value: int) -> Decimal:
        return (Decimal(value) / 60).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    rows = [
        {
            "language": _language_name(language),
            "hours": hours(row["in_person"] + row["remote"]),
            "in_person": hours(row["in_person"]),
            "remote": hours(row["remote"]),
            "visits": row["visits"],
        }
        for language, row in minutes.items()
    ]
    return sorted(rows, key=lambda row: (-row["hours"], row["language"]))


def _language_name(code: str) -> str:
    reader = translation.get_language() or "en"
    shown_in = "zh_Hans" if reader.lower().startswith("zh") else reader.split("-")[0]
    try:
        name = Locale.parse(code).get_display_name(shown_in) if code else ""
    except (ValueError, LookupError):
        name = ""
    return f"{name} ({code})" if name else (code or _("Not given"))


def interpreters(scope: Scope, groups: dict) -> dict:
    rows = interpreter_hours(scope.ids, scope.filters)
    columns = [
        _column("language", _("Language"), "text"),
        _column("hours", _("Hours")),
        _column("in_person", _("In person")),
        _column("remote", _("Remote")),
        _column("visits", _("Visits")),
    ]
    chart = _chart(
        "bar",
        [row["language"] for row in rows],
        [
            (_("In person"), [row["in_person"] for row in rows], None),
            (_("Remote"), [row["remote"] for row in rows], None),
        ],
    )
    return _view(
        "interpreters",
        columns,
        rows,
        chart,
        empty=_("No interpreted visits in confirmed trips in this period."),
    )


def _dimension_names(dimension: str, keys: list) -> dict:
    if dimension == "country":
        return {code: f"{countries.name(code) or code} ({code})" if code else _("Unknown") for code in keys}
    model = Department if dimension == "department_id" else CatalogItem
    found = model.objects.filter(pk__in=[key for key in keys if key]).values_list("pk", "name")
    names = {pk: pick(name) for pk, name in found}
    return {key: names.get(key, _("Not given")) for key in keys}


BREAKDOWN_SUMS = ("inquiries", "quotes", "acceptances", "arrivals", "discharges", "invoiced_cny")
BREAKDOWNS = {"countries": "country", "departments": "department_id", "services": "service_id"}


def breakdown_sums(scope: Scope) -> list[dict]:
    """The period's counts and invoiced total by country, department and service together (one SQL query for
    the three breakdowns): [{"country", "department_id", "service_id", <sums>}]."""
    filters = scope.filters
    rows = CubeMonth.objects.filter(hospital_id__in=scope.ids, month__range=(filters.start, filters.end))
    if filters.country:
        rows = rows.filter(country=filters.country)
    if filters.department:
        rows = rows.filter(department_id=filters.department.pk)
    if filters.service:
        rows = rows.filter(service_id=filters.service.pk)
    dimensions = tuple(BREAKDOWNS.values())
    return list(rows.values(*dimensions).annotate(**{name: Sum(name) for name in BREAKDOWN_SUMS}).order_by())


def breakdown(scope: Scope, view: str, found: list[dict] | None = None) -> dict:
    """Counts and the invoiced total by country, department or service, largest first, summed from
    breakdown_sums() (read here when not given)."""
    dimension = BREAKDOWNS[view]
    totals: dict = {}
    for row in breakdown_sums(scope) if found is None else found:
        sums = totals.get(row[dimension])
        if sums is None:
            sums = totals[row[dimension]] = {"inquiries": 0, "quotes": 0, "acceptances": 0, "arrivals": 0}
            sums.update(discharges=0, invoiced_cny=Decimal(0))
        for name in BREAKDOWN_SUMS:
            sums[name] += row[name] or 0
    # Largest first, then by the key (None, an unknown country, department or service, last).
    ordered = sorted(
        totals.items(), key=lambda item: (-item[1]["inquiries"], item[0] is None, item[0] if item[0] is not None else 0)
    )
    labels = _dimension_names(dimension, [key for key, _sums in ordered])
    key = {"country": "country", "department_id": "department", "service_id": "service"}[dimension]
    table = []
    for value, sums in ordered:
        # SQLite sums decimals without their scale: money is shown to the fen
        sums["invoiced_cny"] = Decimal(sums["invoiced_cny"]).quantize(Decimal("0.01"))
        table.append({key: labels[value], **sums})
    title = {"country": _("Country"), "department_id": _("Department"), "service_id": _("Service")}[dimension]
    columns = [
        _column(key, title, "text"),
        *[_column(name, LABELS[name], "money" if name == "invoiced_cny" else "number") for name in BREAKDOWN_SUMS],
    ]
    shown = table[:15]
    chart = _chart(
        "hbar",
        [row[key] for row in shown],
        [(LABELS[name], [row[name] for row in shown], None) for name in ("inquiries", "arrivals")],
    )
    return _view(view, columns, table, chart, empty=_("No case in this period."))


BUILDERS = {
    "activity": activity,
    "funnel": funnel,
    "times": times,
    "revenue": revenue,
    "payment_days": payment_days,
    "stay": stay,
    "interpreters": interpreters,
}


def build_views(scope: Scope, keys: tuple[str, ...]) -> list[dict]:
    """The views named, in that order, from one read of the roll-ups (and one query per breakdown)."""
    groups = Groups(load(scope.ids, scope.filters, scope.by) if any(key in BUILDERS for key in keys) else {})
    found = breakdown_sums(scope) if any(key in BREAKDOWNS for key in keys) else []
    return [breakdown(scope, key, found) if key in BREAKDOWNS else BUILDERS[key](scope, groups) for key in keys]


def refresh_stamps(hospital_ids: list[int]) -> dict[int, datetime.datetime]:
    """{hospital id: when its roll-ups were last rebuilt}, for the hospitals that have been."""
    return dict(RefreshState.objects.filter(hospital_id__in=hospital_ids).values_list("hospital_id", "refreshed_at"))


def cached_views(scope: Scope, keys: tuple[str, ...], states: dict | None = None) -> list[dict]:
    """build_views(scope, keys), kept in the cache under the hospitals' refresh stamps (refresh_stamps(), read
    here when not given), the filters, the views and the language: a refresh of any of the hospitals makes a
    new key, so a page never shows figures older than its roll-ups. The interpreter hours are read from the
    trips, not the roll-ups: always read afresh."""
    if states is None:
        states = refresh_stamps(scope.ids)
    stored_keys = stored_view_keys(keys)
    cache_key = views_cache_key(scope, stored_keys, translation.get_language(), states)
    stored = cache.get(cache_key) if states else None
    if stored is None and states and stored_keys:
        # A snapshot is read for as long as a cached copy would be kept, so that a renamed department or service
        # shows its new name within that time (the refresh job renews the snapshots before then).
        fresh_from = clock.now() - datetime.timedelta(seconds=VIEWS_CACHE_SECONDS)
        snapshot = (
            ViewSnapshot.objects.filter(key=cache_key.removeprefix(CACHE_PREFIX), built_at__gte=fresh_from)
            .values_list("views")
            .first()
        )
        if snapshot is not None:
            stored = decode_views(snapshot[0])
            cache.set(cache_key, stored, VIEWS_CACHE_SECONDS)
    if stored is None:
        stored = {view["key"]: view for view in build_views(scope, stored_keys)} if stored_keys else {}
        if states:
            cache.set(cache_key, stored, VIEWS_CACHE_SECONDS)
    return [interpreters(scope, {}) if key == "interpreters" else stored[key] for key in keys]


CACHE_PREFIX = "analytics:views:"


def stored_view_keys(keys: tuple[str, ...]) -> tuple[str, ...]:
    """The views kept in the cache and the snapshots: all but the interpreter hours, read afresh."""
    return tuple(key for key in keys if key != "interpreters")


def views_cache_key(scope: Scope, stored_keys: tuple[str, ...], language: str | None, states: dict) -> str:
    """The cache key of a page's stored views: the hospitals and their labels, the filters, the views, the
    language and every hospital's refresh stamp (the snapshot's key without the prefix)."""
    stamps = sorted((hospital_id, at.isoformat()) for hospital_id, at in states.items())
    labels = [scope.label(pk) for pk in scope.ids] if scope.by == "hospital_id" else []
    identity = repr((scope.by, scope.ids, labels, scope.filters.query(), stored_keys, language, stamps))
    return CACHE_PREFIX + hashlib.sha256(identity.encode()).hexdigest()


def _tag(value):
    if isinstance(value, Decimal):
        return {"__decimal__": str(value)}
    raise TypeError(f"an analytics view holds a {type(value).__name__}")


def _untag(obj: dict):
    if len(obj) == 1 and "__decimal__" in obj:
        return Decimal(obj["__decimal__"])
    return obj


def encode_views(stored: dict) -> dict:
    """Stored views as JSON for a snapshot, amounts kept exact (a Decimal as {"__decimal__": "1280.50"})."""
    return json.loads(json.dumps(stored, default=_tag))


def decode_views(data: dict) -> dict:
    """The views a snapshot holds, as build_views made them (amounts as Decimal again)."""
    return json.loads(json.dumps(data), object_hook=_untag)


def refreshed(hospital_ids: list[int], states: dict | None = None) -> datetime.datetime | None:
    """When the oldest of these hospitals' roll-ups was rebuilt (None: one never was); states as
    refresh_stamps() gives them, read here when not given."""
    if states is None:
        states = refresh_stamps(hospital_ids)
    if len(states) < len(set(hospital_ids)) or not states:
        return None
    return min(states.values())
