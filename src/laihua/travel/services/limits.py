"""The permitted stay: how long the patient may stay in China by the entry route, from the day of entry,
and how to stay longer (the extension of stay, as dated, sourced data).

- `permitted_stay(case)`: the route (the one recorded on the stay, else the one planned with, else the best
  route for the trip's dates), its limit (a visa's own "duration of each stay" when recorded), the entry day
  (the flight that lands in China, else the planned arrival) and the last day, moved by an extension granted.
- `check_departure`: refuses a trip that leaves after the permitted stay ends, naming the limit and the
  extension route; the planner calls it for every plan and re-plan.
- `stay_reminders`: warns the coordinator once, 7 days before the permitted stay ends (`laihua travel
  stay-reminders`, run daily); `open_warnings` is what the case board shows.
- `letter_needs_reissue`: the current invitation letter names other dates than the trip's booked ones.
"""

import datetime
import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from laihua.accounts.permissions import STAFF_ROLES, require_role
from laihua.audit.services import record_event
from laihua.cases.models import Case
from laihua.cases.services import add_event, timeline_note
from laihua.cases.states import State
from laihua.errors import FormInvalid, InvalidInput
from laihua.kit import clock
from laihua.kit.i18n import pick
from laihua.travel.models import EntryScheme, Flight, InvitationLetter, Stay, StayExtension, StayWarning
from laihua.travel.services.guidance import entry_guidance
from laihua.travel.services.stay import (
    TripDates,
    entry_flight,
    flights_of,
    locked_stay,
    require_stay_desk,
    stay_of,
    trip_dates,
)
from laihua.travel.stayforms import EntryForm

logger = logging.getLogger(__name__)

WARNING_DAYS = 7  # the coordinator is warned this many days before the permitted stay ends
# States in which the patient is in China, or about to be: the permitted stay is watched.
WATCHED_STATES = (State.SCHEDULED, State.ARRIVED, State.IN_TREATMENT, State.DISCHARGED)


def local_date(day: datetime.date) -> str:
    """The day as the active language writes it (6 January 2027, 2027年1月6日)."""
    return formats.date_format(day, "DATE_FORMAT")


@dataclass
class PermittedStay:
    scheme: EntryScheme
    limit_days: int
    entry: datetime.date
    entry_from: str  # "flight" (the flight in that lands in China), "planned", "booked" or "desired"
    ends_on: datetime.date  # the last day the patient may be in China
    extended: bool  # an extension granted moved ends_on
    visa_days_recorded: bool  # the visa's own stay was recorded (else the scheme's longest)
    extension: StayExtension | None

    @property
    def route(self) -> str:
        return self.scheme.code

    @property
    def route_name(self) -> str:
        return pick(self.scheme.name)

    def days_left(self, today: datetime.date | None = None) -> int:
        return (self.ends_on - (today or clock.today())).days

    def as_dict(self, today: datetime.date | None = None) -> dict:
        return {
            "route": self.route,
            "route_name": self.route_name,
            "limit_days": self.limit_days,
            "entry": self.entry,
            "entry_from": self.entry_from,
            "ends_on": self.ends_on,
            "days_left": self.days_left(today),
            "extended": self.extended,
            "visa_days_recorded": self.visa_days_recorded,
            "extension": extension_text(self) if self.extension else "",
            "extension_source_title": self.extension.source_title if self.extension else "",
            "extension_source_url": self.extension.source_url if self.extension else "",
        }


def extension_for(scheme: EntryScheme, day: datetime.date) -> StayExtension | None:
    """The way to extend this route's stay that the data gives for the day."""
    for extension in StayExtension.objects.filter(scheme=scheme).order_by("-valid_from"):
        if extension.covers(day):
            return extension
    return None


def _route(case: Case, stay: Stay, route: str | None) -> EntryScheme | None:
    code = stay.entry_route or route
    if code:
        return EntryScheme.objects.filter(code=code).first()
    try:
        best = entry_guidance(case).best
    except InvalidInput:  # no nationality on file
        return None
    return best.scheme if best else None


def permitted_stay(
    case: Case,
    *,
    arrival: datetime.date | None = None,
    route: str | None = None,
    stay: Stay | None = None,
    flights: list[Flight] | None = None,
) -> PermittedStay | None:
    """The permitted stay of the case's entry route, or None when the route, its limit or the entry is unknown.

    `arrival` is a planned arrival (a plan being checked); the flight that lands in China wins over it.
    `route` is the route planned with; the route recorded on the stay wins over it.
    """
    stay = stay or stay_of(case)
    flights = flights_of(case) if flights is None else flights
    landing = entry_flight(flights)
    if landing is not None:
        entry, entry_from = landing.arrives_local.date(), "flight"
    elif arrival is not None:
        entry, entry_from = arrival, "planned"
    else:
        dates = trip_dates(case, flights)
        entry, entry_from = dates.arrival, dates.arrival_from
    if entry is None:
        return None
    scheme = _route(case, stay, route)
    if scheme is None:
        return None
    visa_days = stay.visa_stay_days if stay.visa_stay_days and stay.entry_route == scheme.code else None
    limit = visa_days or scheme.max_stay_days
    if not limit:
        return None
    # Counted from midnight after the day of entry: 30 days from 6 January end on 5 February.
    ends_on = entry + datetime.timedelta(days=limit)
    extended = bool(stay.extended_until and stay.extended_until > ends_on)
    if extended:
        ends_on = stay.extended_until
    return PermittedStay(
        scheme=scheme,
        limit_days=limit,
        entry=entry,
        entry_from=entry_from,
        ends_on=ends_on,
        extended=extended,
        visa_days_recorded=bool(visa_days),
        extension=extension_for(scheme, entry),
    )


def extension_text(permitted: PermittedStay) -> str:
    """How to stay longer, in the active language: what to apply for, where, by when, how long it takes."""
    extension = permitted.extension
    if extension is None:
        return _("No way to extend this route's stay is on file: ask the exit-entry administration (12367).")
    parts = [_("%(how)s: %(where)s") % {"how": pick(extension.how), "where": pick(extension.where)}]
    if extension.apply_days_before:
        last = permitted.ends_on - datetime.timedelta(days=extension.apply_days_before)
        parts.append(
            ngettext(
                "Apply at least %(days)d day before the stay ends, so by %(date)s.",
                "Apply at least %(days)d days before the stay ends, so by %(date)s.",
                extension.apply_days_before,
            )
            % {"days": extension.apply_days_before, "date": local_date(last)}
        )
    if extension.processing_days:
        parts.append(
            ngettext(
                "A decision takes about %(days)d working day.",
                "A decision takes about %(days)d working days.",
                extension.processing_days,
            )
            % {"days": extension.processing_days}
        )
    if pick(extension.longest):
        parts.append(pick(extension.longest))
    return " ".join(parts)


class StayLimitExceeded(InvalidInput):
    code = "stay_limit_exceeded"


def limit_message(permitted: PermittedStay, departure: datetime.date) -> str:
    over = (departure - permitted.ends_on).days
    allowed = (
        _("%(route)s, extended until %(ends)s") % {"route": permitted.route_name, "ends": local_date(permitted.ends_on)}
        if permitted.extended
        else ngettext(
            "%(route)s allows %(days)d day from the entry on %(entry)s",
            "%(route)s allows %(days)d days from the entry on %(entry)s",
            permitted.limit_days,
        )
        % {"route": permitted.route_name, "days": permitted.limit_days, "entry": local_date(permitted.entry)}
    )
    head = ngettext(
        "The trip would leave on %(departure)s, %(over)d day after the permitted stay ends on %(ends)s (%(allowed)s).",
        "The trip would leave on %(departure)s, %(over)d days after the permitted stay ends on %(ends)s (%(allowed)s).",
        over,
    ) % {
        "departure": local_date(departure),
        "over": over,
        "ends": local_date(permitted.ends_on),
        "allowed": allowed,
    }
    return _("%(head)s To stay longer: %(extension)s") % {"head": head, "extension": extension_text(permitted)}


def check_departure(
    case: Case, arrival: datetime.date, departure: datetime.date, *, route: str | None = None, field="stay_limit"
) -> PermittedStay | None:
    """Refuse (StayLimitExceeded) a trip that leaves after the patient's permitted stay ends."""
    permitted = permitted_stay(case, arrival=arrival, route=route)
    if permitted is not None and departure > permitted.ends_on:
        raise StayLimitExceeded(limit_message(permitted, departure), field=field)
    return permitted


# --- the warning before the stay ends -------------------------------------------------------------


def due_warning(permitted: PermittedStay | None, today: datetime.date, days: int = WARNING_DAYS) -> bool:
    """The patient is in China (entered by today) and the permitted stay ends within `days` days."""
    return permitted is not None and permitted.entry <= today and 0 <= permitted.days_left(today) <= days


def stay_reminders(today: datetime.date | None = None, *, days: int = WARNING_DAYS) -> list[str]:
    """Warn each case's coordinator once that the patient's permitted stay ends within `days` days (timeline,
    audit, e-mail); run daily by `laihua travel stay-reminders`. Returns the references warned now."""
    today = today or clock.today()
    warned = []
    cases = Case.objects.filter(state__in=WATCHED_STATES).select_related("patient", "hospital", "coordinator")
    for case in cases.order_by("pk"):
        try:
            permitted = permitted_stay(case)
        except Exception:  # noqa: BLE001 - one case's bad data never stops the others' warnings
            logger.exception("The permitted stay of %s could not be read.", case)
            continue
        if not due_warning(permitted, today, days):
            continue
        if _warn(case, permitted, today):
            warned.append(case.reference)
    return warned


@transaction.atomic
def _warn(case: Case, permitted: PermittedStay, today: datetime.date) -> bool:
    Case.objects.select_for_update().filter(pk=case.pk).first()
    if StayWarning.objects.filter(case=case, ends_on=permitted.ends_on).exists():
        return False
    warning = StayWarning.objects.create(case=case, ends_on=permitted.ends_on, route=permitted.route)
    departure = trip_dates(case).departure
    add_event(
        case,
        None,
        "stay_warning",
        staff_only=True,
        note=timeline_note(
            gettext_noop(
                "The patient's permitted stay (%(route)s) ends on %(ends)s. Extend it before then or make sure "
                "the patient leaves."
            ),
            route=permitted.route,
            ends=permitted.ends_on.isoformat(),
        ),
        ends_on=permitted.ends_on.isoformat(),
    )
    record_event(
        None,
        "travel.stay.warn",
        case,
        hospital=case.hospital,
        detail={
            "ends_on": permitted.ends_on.isoformat(),
            "route": permitted.route,
            "days_left": permitted.days_left(today),
            "departure": departure.isoformat() if departure else None,
        },
    )
    transaction.on_commit(lambda: _notify(case, warning, permitted, departure))
    return True


def _notify(case: Case, warning: StayWarning, permitted: PermittedStay, departure) -> None:
    from laihua.cases.notices import notify_staff

    try:
        notify_staff(case, "stay_ending", warning=warning, permitted=permitted, departure=departure)
    except Exception:  # noqa: BLE001 - the warning stands on the case; the e-mail is best effort, and logged
        logger.exception("The stay warning for %s could not be e-mailed.", case)


def open_warnings(actor, today: datetime.date | None = None) -> dict[int, StayWarning]:
    """The warnings still ahead for the actor's hospital's cases, by case id (the board's)."""
    require_role(actor, STAFF_ROLES)
    today = today or clock.today()
    rows = StayWarning.objects.filter(
        case__hospital_id=actor.hospital_id, ends_on__gte=today, case__state__in=WATCHED_STATES
    ).select_related("case", "case__patient")
    return {row.case_id: row for row in rows.order_by("ends_on", "pk")}


# --- documents that no longer match the trip ------------------------------------------------------


def letter_needs_reissue(case: Case, dates: TripDates | None = None) -> InvitationLetter | None:
    """The current invitation letter, when it names other arrival or departure dates than the trip's booked ones
    (computed each time from the letter as issued and the trip as booked, so it can never be stale)."""
    dates = dates or trip_dates(case)
    if not dates.booked:
        return None
    letter = InvitationLetter.objects.filter(case=case, revoked=False).defer("pdf").first()
    if letter is None:
        return None
    printed = (letter.snapshot.get("arrival"), letter.snapshot.get("departure"))
    if printed != (dates.arrival.isoformat(), dates.departure.isoformat()):
        return letter
    return None


# --- the entry route recorded on the stay ----------------------------------------------------------


@transaction.atomic
def set_entry(actor, case: Case, data) -> Stay:
    """Record the entry route the patient uses, the stay printed on a visa, and an extension granted."""
    require_stay_desk(actor, case)
    try:
        routes = [
            (route.code, pick(route.scheme.name))
            for route in entry_guidance(case).routes
            if route.place_fits is not False
        ]
    except InvalidInput:
        routes = []
    form = EntryForm(data, routes=routes)
    if not form.is_valid():
        raise FormInvalid(form)
    values = form.cleaned_data
    stay = locked_stay(case)
    stay.entry_route = values["entry_route"] or ""
    stay.visa_stay_days = values["visa_stay_days"]
    stay.extended_until = values["extended_until"]
    stay.updated_by = actor
    permitted = permitted_stay(case, stay=stay)
    if stay.extended_until and permitted is not None and stay.extended_until < permitted.entry:
        raise InvalidInput(_("An extension ends after the entry into China."), field="extended_until")
    stay.save(update_fields=["entry_route", "visa_stay_days", "extended_until", "updated_by", "updated_at"])
    record_event(
        actor,
        "travel.stay.entry",
        case,
        hospital=case.hospital,
        detail={
            "route": stay.entry_route,
            "visa_stay_days": stay.visa_stay_days,
            "extended_until": stay.extended_until.isoformat() if stay.extended_until else None,
        },
    )
    return stay
