"""Who reads which hospital's analytics, and the filters of every analytics page and route.

A hospital's administrators, coordinators and finance staff read their own hospital's figures; the city
health commission and platform administrators read every hospital's, side by side. Another hospital's
staff get 404 (never a hint of what exists), clinicians, insurer agents and patients 403. The figures
are counts and sums over many cases, never a patient's data, so reads are not audited; refusals are,
by the audit middleware and the API's error handler."""

import datetime
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django_countries import countries

from laihua.accounts.permissions import ANALYTICS_CITY_ROLES, ANALYTICS_HOSPITAL_ROLES, require_role
from laihua.catalog.models import CatalogItem
from laihua.errors import InvalidInput, NotFound
from laihua.hospitals.models import Department, Hospital
from laihua.kit import clock

MAX_MONTHS = 120
FIRST_YEAR, LAST_YEAR = 2000, 2100


def is_city_reader(actor) -> bool:
    return getattr(actor, "role", None) in ANALYTICS_CITY_ROLES


def require_reader(actor) -> None:
    require_role(actor, (*ANALYTICS_HOSPITAL_ROLES, *ANALYTICS_CITY_ROLES))


def require_city_reader(actor) -> None:
    require_role(actor, ANALYTICS_CITY_ROLES)


def hospital_for(actor, slug: str | None = None) -> Hospital:
    """The hospital whose figures the actor reads: hospital staff their own (another's is 404), the city and
    the platform the one named (the first pilot, or the first, when none is named)."""
    require_reader(actor)
    if not is_city_reader(actor):
        if slug and slug != actor.hospital.slug:
            raise NotFound(_("No such hospital."))
        return actor.hospital
    if slug:
        hospital = Hospital.objects.filter(slug=slug).first()
        if hospital is None:
            raise NotFound(_("No such hospital."))
        return hospital
    hospital = Hospital.objects.order_by("-pilot", "slug").first()
    if hospital is None:
        raise NotFound(_("No hospital yet."), field="hospital")
    return hospital


def require_hospital_reader(actor, hospital: Hospital) -> None:
    require_reader(actor)
    if actor.role not in ANALYTICS_CITY_ROLES and actor.hospital_id != hospital.pk:
        raise NotFound(_("No such hospital."))


@dataclass(frozen=True)
class Filters:
    """A period of whole months (first days, both included) and at most one country, department and
    service (department and service only on one hospital's pages)."""

    start: datetime.date
    end: datetime.date
    country: str = ""
    department: Department | None = None
    service: CatalogItem | None = None

    @property
    def narrowed(self) -> bool:
        return bool(self.country or self.department or self.service)

    def months(self) -> list[datetime.date]:
        out, month = [], self.start
        while month <= self.end:
            out.append(month)
            month = (month + datetime.timedelta(days=32)).replace(day=1)
        return out

    def query(self) -> dict:
        """The filters as the query string's parameters (for export links and the API)."""
        out = {"start": f"{self.start:%Y-%m}", "end": f"{self.end:%Y-%m}"}
        if self.country:
            out["country"] = self.country
        if self.department:
            out["department"] = self.department.code
        if self.service:
            out["service"] = self.service.code
        return out


def _month(text: str, field: str) -> datetime.date:
    try:
        month = datetime.datetime.strptime(text.strip(), "%Y-%m").date()
    except ValueError:
        raise InvalidInput(_("Give the month as YYYY-MM."), field=field) from None
    if not FIRST_YEAR <= month.year <= LAST_YEAR:
        raise InvalidInput(
            _("Give a month from %(first)s-01 to %(last)s-12.") % {"first": FIRST_YEAR, "last": LAST_YEAR}, field=field
        )
    return month


def parse_filters(
    hospital: Hospital | None,
    *,
    start: str = "",
    end: str = "",
    country: str = "",
    department: str = "",
    service: str = "",
) -> Filters:
    """The filters from the query string. The period defaults to the twelve months up to this one."""
    this_month = clock.today().replace(day=1)
    end_month = _month(end, "end") if end else this_month
    if start:
        start_month = _month(start, "start")
    else:
        start_month = (end_month.replace(year=end_month.year - 1) + datetime.timedelta(days=32)).replace(day=1)
    if start_month > end_month:
        raise InvalidInput(_("The period must start before it ends."), field="start")
    if (end_month.year - start_month.year) * 12 + end_month.month - start_month.month >= MAX_MONTHS:
        raise InvalidInput(_("Choose a period of at most %(n)s months.") % {"n": MAX_MONTHS}, field="start")
    country = (country or "").strip().upper()
    if country and country not in dict(countries):
        raise InvalidInput(_("Unknown country code."), field="country")
    found_department = found_service = None
    if (department or service) and hospital is None:
        raise InvalidInput(
            _("Departments and services belong to one hospital: open its page to filter by them."),
            field="department" if department else "service",
        )
    if department:
        found_department = Department.objects.filter(hospital=hospital, code=department.strip()).first()
        if found_department is None:
            raise InvalidInput(_("No such department at this hospital."), field="department")
    if service:
        found_service = CatalogItem.objects.filter(hospital=hospital, code=service.strip()).first()
        if found_service is None:
            raise InvalidInput(_("No such service at this hospital."), field="service")
    return Filters(start_month, end_month, country, found_department, found_service)


def city_hospitals(actor) -> list[Hospital]:
    """Every hospital, the city's pilot hospitals first (city health commission, platform admin)."""
    require_city_reader(actor)
    return list(Hospital.objects.select_related("city").order_by("-pilot", "slug"))
