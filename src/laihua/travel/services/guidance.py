"""Entry guidance: which entry route fits a patient's trip.

Entry guidance reads the entry rules (travel.models, shipped from travel/data/ and edited by the
platform admin) for a nationality and an arrival date: a country is on a scheme only for arrivals
within its dates, so a route that ends before the arrival is never offered, only mentioned as
ended. Each route says whether the planned stay fits, by how many days it does not, whether medical
treatment is a listed purpose, and its conditions and source; the visa comes last, as the route
open to everyone.
"""

import datetime
import logging
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_countries import countries
from django_countries.fields import Country

from laihua.audit.services import record_event
from laihua.cases.models import Case
from laihua.cases.services import get_case
from laihua.errors import FormInvalid, InvalidInput
from laihua.kit import clock
from laihua.kit.i18n import pick
from laihua.travel.forms import GuidanceForm
from laihua.travel.models import EntryScheme, SchemeCountry
from laihua.travel.services.stay import trip_dates

logger = logging.getLogger(__name__)


# Entry guidance


@dataclass
class Route:
    """One way in for this trip, with what the traveller must know about it."""

    scheme: EntryScheme
    listing: SchemeCountry | None  # None for the route open to every nationality
    stay_days: int | None
    place_fits: bool | None  # None: the hospital is not known (the public check)
    warnings: list[str] = field(default_factory=list)

    @property
    def code(self) -> str:
        return self.scheme.code

    @property
    def fallback(self) -> bool:
        return self.scheme.all_nationalities

    @property
    def max_stay_days(self) -> int | None:
        return self.scheme.max_stay_days

    @property
    def exceeded_by(self) -> int:
        if self.stay_days is None or self.max_stay_days is None:
            return 0
        return max(0, self.stay_days - self.max_stay_days)

    @property
    def fits_stay(self) -> bool | None:
        if self.stay_days is None:
            return None
        return self.exceeded_by == 0

    @property
    def fits(self) -> bool:
        return self.fits_stay is not False and self.place_fits is not False

    @property
    def medical_purpose(self) -> bool:
        return self.scheme.medical_purpose

    @property
    def valid_from(self) -> datetime.date | None:
        return self.listing.valid_from if self.listing else None

    @property
    def valid_until(self) -> datetime.date | None:
        return self.listing.valid_until if self.listing else None

    @property
    def source_title(self) -> str:
        return (self.listing.source_title if self.listing else "") or self.scheme.source_title

    @property
    def source_url(self) -> str:
        return (self.listing.source_url if self.listing else "") or self.scheme.source_url

    def as_dict(self) -> dict:
        return {
            "scheme": self.code,
            "name": pick(self.scheme.name),
            "fallback": self.fallback,
            "fits": self.fits,
            "max_stay_days": self.max_stay_days,
            "stay_days": self.stay_days,
            "fits_stay": self.fits_stay,
            "exceeded_by_days": self.exceeded_by,
            "medical_purpose_listed": self.medical_purpose,
            "place_fits": self.place_fits,
            "onward_ticket_required": self.scheme.onward_ticket_required,
            "conditions": pick(self.scheme.conditions),
            "notes": pick(self.scheme.notes),
            "country_note": pick(self.listing.note) if self.listing else "",
            "valid_from": self.valid_from,
            "valid_until": self.valid_until,
            "source_title": self.source_title,
            "source_url": self.source_url,
            "warnings": list(self.warnings),
        }


@dataclass
class Guidance:
    nationality: Country
    arrival: datetime.date | None
    departure: datetime.date | None
    checked_for: datetime.date  # the arrival date the rules were read for
    routes: list[Route]
    ended: list[str] = field(default_factory=list)  # schemes the nationality is on, but not for this arrival
    warnings: list[str] = field(default_factory=list)

    @property
    def best(self) -> Route | None:
        """The first route that fits the trip as planned (the visa when nothing else does).

        A transit route is left out (a patient going home afterwards does not transit) and so is a route
        limited to some places when the hospital is not known.
        """
        return next(
            (
                route
                for route in self.routes
                if route.fits and route.place_fits is True and not route.scheme.onward_ticket_required
            ),
            None,
        )

    @property
    def stay_days(self) -> int | None:
        if self.arrival and self.departure:
            return (self.departure - self.arrival).days
        return None

    def as_dict(self) -> dict:
        return {
            "nationality": self.nationality.code,
            "nationality_name": str(self.nationality.name),
            "arrival": self.arrival,
            "departure": self.departure,
            "stay_days": self.stay_days,
            "checked_for": self.checked_for,
            "best": self.best.code if self.best else None,
            "routes": [route.as_dict() for route in self.routes],
            "ended": list(self.ended),
            "warnings": list(self.warnings),
        }


def _route_warnings(route: Route, guidance: Guidance, city: str | None) -> None:
    scheme = route.scheme
    if route.fits_stay is False:
        route.warnings.append(
            ngettext(
                "The planned stay of %(stay)d days is longer than this route allows (%(max)d days): "
                "%(over)d day too many.",
                "The planned stay of %(stay)d days is longer than this route allows (%(max)d days): "
                "%(over)d days too many.",
                route.exceeded_by,
            )
            % {"stay": route.stay_days, "max": route.max_stay_days, "over": route.exceeded_by}
        )
    if not scheme.medical_purpose:
        route.warnings.append(
            _(
                "Medical treatment is not among this route's listed purposes, and whether it is accepted is "
                "unconfirmed: ask the Chinese embassy or consulate before relying on it."
            )
        )
    if scheme.onward_ticket_required:
        route.warnings.append(
            _(
                "Only when travelling on to a third country or region with a confirmed onward ticket, "
                "not when returning to where the journey began."
            )
        )
    if route.place_fits is False:
        route.warnings.append(
            _("This route covers a stay only where its conditions say; %(city)s is not one of those places.")
            % {"city": city}
        )
    elif route.place_fits is None and scheme.only_in_cities:
        route.warnings.append(_("This route covers a stay only where its conditions say."))
    until = route.valid_until
    if until and guidance.departure and guidance.departure > until:
        route.warnings.append(
            _(
                "This route is open to arrivals until %(date)s and the planned departure is later: "
                "confirm the stay allowed before travelling."
            )
            % {"date": until.isoformat()}
        )


def _ended_message(scheme: EntryScheme, listings: list[SchemeCountry], country: Country, day) -> str:
    periods = ", ".join(
        f"{item.valid_from.isoformat()} – {item.valid_until.isoformat() if item.valid_until else '…'}"
        for item in listings
    )
    return _(
        "%(scheme)s: open to %(country)s for arrivals %(periods)s only; the planned arrival on %(day)s is "
        "outside these dates. Do not count on an extension until one is announced."
    ) % {"scheme": pick(scheme.name), "country": country.name, "periods": periods, "day": day.isoformat()}


def _sort_key(route: Route):
    """Fitting routes first; a route known to fit the hospital's place before one that may not."""
    return (
        route.fallback,
        not route.fits,
        route.place_fits is not True,
        not route.medical_purpose,
        route.scheme.order,
        route.code,
    )


def entry_guidance(
    case: Case | None = None,
    *,
    nationality: str | None = None,
    arrival: datetime.date | None = None,
    departure: datetime.date | None = None,
    day: datetime.date | None = None,
) -> Guidance:
    """The entry routes for a case's patient and dates, or for a nationality and dates, best first.

    The rules are read for the arrival date (or `day`, default today, when there is none yet); a case's dates
    are its trip's (stay.trip_dates: the flights, else the confirmed plan, else the desired dates).
    Public data only: no access check here; `case_guidance` checks and audits a case's reading.
    """
    day = day or clock.today()
    city = None
    if case is not None:
        nationality = case.patient.nationality.code
        dates = trip_dates(case)  # the flights, else the confirmed plan, else the desired dates
        arrival, departure = dates.arrival, dates.departure
        city = case.hospital.city.slug
    country = Country(code=(nationality or "").upper())
    if not country.code or country.code not in dict(countries):
        raise InvalidInput(_("Give a nationality as a two-letter ISO 3166-1 code, e.g. FR."), field="nationality")
    checked_for = arrival or day
    guidance = Guidance(country, arrival, departure if arrival else None, checked_for, routes=[])
    if arrival is None:
        guidance.warnings.append(_("No travel dates yet: the routes are checked for an arrival today."))
    elif arrival < day:
        guidance.warnings.append(_("The planned arrival date has passed."))
    if guidance.departure and guidance.departure < arrival:
        guidance.warnings.append(_("The planned departure comes before the arrival."))
        guidance.departure = None
    stay = guidance.stay_days
    listings: dict[int, list[SchemeCountry]] = {}
    for item in SchemeCountry.objects.filter(country=country.code, scheme__active=True).select_related("scheme"):
        listings.setdefault(item.scheme_id, []).append(item)
    for scheme in EntryScheme.objects.filter(active=True):
        if scheme.all_nationalities:
            route = Route(scheme, None, stay, _place_fits(scheme, city))
        else:
            mine = listings.get(scheme.pk, [])
            current = next((item for item in mine if item.covers(checked_for)), None)
            if current is None:
                if mine:
                    guidance.ended.append(_ended_message(scheme, mine, country, checked_for))
                continue
            route = Route(scheme, current, stay, _place_fits(scheme, city))
        _route_warnings(route, guidance, str(case.hospital.city) if case else None)
        guidance.routes.append(route)
    guidance.routes.sort(key=_sort_key)
    return guidance


def _place_fits(scheme: EntryScheme, city: str | None) -> bool | None:
    if not scheme.only_in_cities:
        return True
    if city is None:
        return None
    return city in scheme.only_in_cities


def public_guidance(data) -> Guidance:
    """The check anyone may make: a nationality and optional dates, from a form or query parameters."""
    form = GuidanceForm(data)
    if not form.is_valid():
        raise FormInvalid(form)
    values = form.cleaned_data
    return entry_guidance(nationality=values["nationality"], arrival=values["arrival"], departure=values["departure"])


def case_guidance(actor, case_or_reference, *, day: datetime.date | None = None) -> Guidance:
    """The entry routes for one case, for its patient or its hospital's staff; the reading is audited."""
    reference = case_or_reference.reference if isinstance(case_or_reference, Case) else case_or_reference
    case = get_case(actor, reference, audit=None)  # the one scoping query, even when handed a case
    guidance = entry_guidance(case, day=day)
    record_event(
        actor,
        "travel.guidance.view",
        case,
        hospital=case.hospital,
        detail={"routes": [route.code for route in guidance.routes], "checked_for": guidance.checked_for.isoformat()},
    )
    return guidance
