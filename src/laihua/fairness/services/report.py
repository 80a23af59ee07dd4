"""The public fairness report, read from the monthly roll-up (never from the bookings).

For each hospital and each city, by month and kind of resource: the share of the month's capacity used by
international patients, against the cap (the share they may book). Small numbers are suppressed, the same
way on the page, in the JSON and in the CSV:

- a figure built on 1 to 9 patients is suppressed (`fewer_than_10`): its use, share and patient count are
  not given, only that it was suppressed. A figure of 0 patients is shown (0 units: nobody to identify).
- secondary suppression: when exactly one hospital of a city is suppressed for a month and kind, the city
  total minus the other hospitals would give it away, so the other hospital with the fewest patients is
  suppressed too (`secondary`).
- a city's figure is the sum of its hospitals'; its patients are the sum of the hospitals' distinct
  patients (a patient treated at two of the city's hospitals in one month counts at each).

Capacity and cap are never suppressed: they are the hospital's, not the patients'."""

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Max, Sum
from django.utils.translation import gettext as _

from laihua.capacity.models import Unit
from laihua.capacity.services import month_start
from laihua.errors import InvalidInput
from laihua.fairness.models import UNIT_OF_CATEGORY, Category, MonthlyUse, Refresh, RefreshKind
from laihua.fairness.services import rollup
from laihua.hospitals.models import City, Hospital
from laihua.kit import clock

MIN_PATIENTS = 10
PRIMARY = "fewer_than_10"
SECONDARY = "secondary"
TENTH = Decimal("0.1")
CATEGORIES = list(Category)


def parse_month(raw: str | None) -> datetime.date | None:
    """A month given as YYYY-MM (None when not given), from 2000-01 to 2100-12, else InvalidInput."""
    if not raw:
        return None
    try:
        month = datetime.datetime.strptime(raw.strip(), "%Y-%m").date()
    except ValueError:
        raise InvalidInput(_("Give the month as YYYY-MM."), field="month") from None
    if not datetime.date(2000, 1, 1) <= month <= datetime.date(2100, 12, 1):
        raise InvalidInput(_("Give a month from 2000-01 to 2100-12."), field="month")
    return month


def percent(part: int, whole: int) -> Decimal | None:
    """part of whole in percent to one decimal (halves up); None when whole is 0."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(TENTH, rounding=ROUND_HALF_UP)


@dataclass
class Figure:
    """One kind of resource in one month, for a hospital or a city."""

    category: str
    used: int = 0
    capacity: int = 0
    cap: int = 0
    patients: int = 0
    suppressed: str | None = None

    @property
    def label(self) -> str:
        return str(Category(self.category).label)

    @property
    def unit(self) -> str:
        return UNIT_OF_CATEGORY[Category(self.category)]

    @property
    def unit_label(self) -> str:
        return str(Unit(self.unit).label)

    @property
    def share(self) -> Decimal | None:
        """International use as a percentage of the capacity (None when suppressed or no capacity)."""
        return None if self.suppressed else percent(self.used, self.capacity)

    @property
    def cap_share(self) -> Decimal | None:
        """The cap as a percentage of the capacity (the share international patients may take)."""
        return percent(self.cap, self.capacity)

    @property
    def of_cap(self) -> Decimal | None:
        """International use as a percentage of the cap (100 = the cap is reached)."""
        return None if self.suppressed else percent(self.used, self.cap)

    def add(self, other: "Figure") -> None:
        self.used += other.used
        self.capacity += other.capacity
        self.cap += other.cap
        self.patients += other.patients

    def public(self) -> dict:
        """What the open data says of the figure: no count of fewer than 10 patients."""
        hidden = self.suppressed is not None
        return {
            "category": self.category,
            "unit": self.unit,
            "capacity": self.capacity,
            "cap": self.cap,
            "cap_percent": _number(self.cap_share),
            "used": None if hidden else self.used,
            "share_percent": None if hidden else _number(self.share),
            "of_cap_percent": None if hidden else _number(self.of_cap),
            "patients": None if hidden else self.patients,
            "suppressed": self.suppressed,
        }


def _number(value: Decimal | None):
    return None if value is None else float(value)


@dataclass
class Area:
    """A hospital's or a city's figures for one month, one per kind of resource it has."""

    hospital: Hospital | None
    city: City
    figures: dict[str, Figure] = field(default_factory=dict)

    @property
    def cells(self) -> list[tuple[Category, Figure | None]]:
        """(kind of resource, figure or None when the area has no such resource), in the report's order."""
        return [(category, self.figures.get(category)) for category in CATEGORIES]


@dataclass
class CityReport:
    city: City
    total: Area
    hospitals: list[Area]


def _primary(figure: Figure) -> None:
    if 0 < figure.patients < MIN_PATIENTS:
        figure.suppressed = PRIMARY


def _suppress(hospitals: list[Area]) -> None:
    """Primary suppression of every small figure, then secondary suppression within the city."""
    for area in hospitals:
        for figure in area.figures.values():
            _primary(figure)
    for category in CATEGORIES:
        present = [area.figures[category] for area in hospitals if category in area.figures]
        if sum(1 for figure in present if figure.suppressed) != 1:
            continue
        shown = [figure for figure in present if not figure.suppressed]
        if shown:
            min(shown, key=lambda figure: figure.patients).suppressed = SECONDARY


def _cities(rows) -> list[CityReport]:
    """City reports from MonthlyUse rows (of one month), hospitals by slug, cities by slug."""
    areas: dict[int, Area] = {}
    for row in rows:
        area = areas.get(row.hospital_id)
        if area is None:
            area = areas[row.hospital_id] = Area(hospital=row.hospital, city=row.hospital.city)
        area.figures[row.category] = Figure(row.category, row.used, row.capacity, row.cap, row.patients)
    by_city: dict[int, list[Area]] = {}
    for area in sorted(areas.values(), key=lambda a: a.hospital.slug):
        by_city.setdefault(area.city.pk, []).append(area)
    reports = []
    for members in by_city.values():
        total = Area(hospital=None, city=members[0].city)
        for area in members:
            for category, figure in area.figures.items():
                total.figures.setdefault(category, Figure(category)).add(figure)
        for figure in total.figures.values():
            _primary(figure)
        _suppress(members)
        reports.append(CityReport(city=total.city, total=total, hospitals=members))
    return sorted(reports, key=lambda report: report.city.slug)


def reported_months() -> list[datetime.date]:
    """The months the report has, newest first, up to this month (later months are still being booked)."""
    rollup.recount_pending()
    this_month = month_start(clock.today())
    months = MonthlyUse.objects.filter(month__lte=this_month).order_by("-month").values_list("month", flat=True)
    return list(months.distinct())


def default_month(months: list[datetime.date]) -> datetime.date | None:
    """The last whole month when the report has it, else the newest month it has."""
    if not months:
        return None
    this_month = month_start(clock.today())
    complete = [month for month in months if month < this_month]
    return complete[0] if complete else months[0]


def _rows(months):
    rollup.recount_pending()
    return MonthlyUse.objects.filter(month__in=months).select_related("hospital__city").order_by("month")


def month_report(month: datetime.date) -> list[CityReport]:
    """Every city with its hospitals for one month, suppressed where the numbers are small."""
    return _cities(_rows([month]))


def city_trend(months: list[datetime.date]) -> list[dict]:
    """Each city's figures month by month (oldest first), summed in the database from the roll-up."""
    rollup.recount_pending()
    rows = (
        MonthlyUse.objects.filter(month__in=months)
        .values("hospital__city", "month", "category")
        .annotate(used=Sum("used"), capacity=Sum("capacity"), cap=Sum("cap"), patients=Sum("patients"))
        .order_by("hospital__city", "month", "category")
    )
    cities = {city.pk: city for city in City.objects.filter(pk__in={row["hospital__city"] for row in rows})}
    trend: dict[int, dict] = {}
    for row in rows:
        entry = trend.setdefault(row["hospital__city"], {"city": cities[row["hospital__city"]], "months": {}})
        figure = Figure(row["category"], row["used"], row["capacity"], row["cap"], row["patients"])
        _primary(figure)
        entry["months"].setdefault(row["month"], {})[row["category"]] = figure
    result = []
    for entry in sorted(trend.values(), key=lambda e: e["city"].slug):
        months_list = [
            {"month": month, "cells": [(c, figures.get(c)) for c in CATEGORIES]}
            for month, figures in sorted(entry["months"].items())
        ]
        result.append({"city": entry["city"], "months": months_list})
    return result


def freshness() -> dict:
    """When the roll-up last changed (a booking's recount) and when the whole recount last ran."""
    rollup.recount_pending()
    last = Refresh.objects.filter(kind=RefreshKind.USE).order_by("-finished_at").values_list("finished_at", flat=True)
    return {
        "changed_at": MonthlyUse.objects.aggregate(at=Max("updated_at"))["at"],
        "recounted_at": last.first(),
    }


def open_data(month: datetime.date | None = None) -> list[dict]:
    """The rows of fairness.json and fairness.csv: every city and hospital, month and kind of resource."""
    months = [month] if month else reported_months()
    rows = list(_rows(months))
    by_month: dict[datetime.date, list] = {}
    for row in rows:
        by_month.setdefault(row.month, []).append(row)
    result = []
    for each in sorted(by_month):
        for report in _cities(by_month[each]):
            for area in [report.total, *report.hospitals]:
                for category in CATEGORIES:
                    figure = area.figures.get(category)
                    if figure is None:
                        continue
                    result.append(
                        {
                            "month": each.strftime("%Y-%m"),
                            "city": report.city.slug,
                            "hospital": area.hospital.slug if area.hospital else None,
                            **figure.public(),
                        }
                    )
    return result
