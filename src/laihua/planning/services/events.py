"""The trip's events in order, for the API (`GET /api/planning/cases/{reference}/itinerary`, `events`):
the arrival, the pickup, each appointment and procedure with its times and, right after it, its interpreter
(an `interpreter` event with the same times, when one is arranged in person or remotely), each inpatient day,
the accommodation, the departure; each with its catalog code where there is one, its interpreter (null until
one is arranged) and why it is there, in the reader's language. Built from the same schedule as the page,
the PDF and the calendar file."""

import datetime

from django.utils.translation import gettext as _

from laihua.interpreters.forms import language_name
from laihua.kit.i18n import pick
from laihua.planning.ics import SHANGHAI
from laihua.planning.models import InterpreterMode, ItemKind, Itinerary, StepKind
from laihua.planning.services.documents import schedule
from laihua.planning.services.reasons import day_reason_text

EVENT_KINDS = (
    "arrival",
    "pickup",
    "appointment",
    "procedure",
    "inpatient",
    "interpreter",
    "accommodation",
    "departure",
)
PICKUP_MINUTES = 60


def _at(day: datetime.date, time: datetime.time | None) -> str:
    """A moment in Beijing time (ISO 8601 with its offset), or the day alone when there is no time."""
    if time is None:
        return day.isoformat()
    return datetime.datetime.combine(day, time, tzinfo=SHANGHAI).isoformat()


ARRANGED = (InterpreterMode.IN_PERSON, InterpreterMode.VIDEO, InterpreterMode.PHONE)


def _interpreter(row) -> dict | None:
    """The interpreter of a visit, when one is arranged: {name, language, mode}, the language named in the
    reader's language and the mode one of in_person, video, phone (a remote interpretation has no name);
    None when the visit needs none or none is arranged yet."""
    if row is None or not row.interpreter_language:
        return None
    mode = InterpreterMode.IN_PERSON if row.interpreter_id else row.interpreter_mode
    if mode not in ARRANGED or (mode == InterpreterMode.IN_PERSON and not row.interpreter_id):
        return None
    return {
        "name": row.interpreter.name if row.interpreter_id else "",
        "language": language_name(row.interpreter_language),
        "mode": str(mode),
    }


def _interpreting(visit: dict) -> dict | None:
    """The interpreter event that follows a visit's event: the same times and service, when one is arranged."""
    person = visit["interpreter"]
    if person is None:
        return None
    what = visit["name"] or visit["service"] or ""
    if person["mode"] == InterpreterMode.VIDEO:
        reason = _("Interpreter for %(service)s, remote by video") % {"service": what}
    elif person["mode"] == InterpreterMode.PHONE:
        reason = _("Interpreter for %(service)s, remote by phone") % {"service": what}
    else:
        reason = _("Interpreter for %(service)s") % {"service": what}
    return {**visit, "kind": "interpreter", "reason": reason}


def _why(itinerary: Itinerary, day: datetime.date, codes: tuple[str, ...]) -> str:
    found = [r for r in (itinerary.day_reasons or {}).get(day.isoformat(), []) if r.get("code") in codes]
    return "; ".join(day_reason_text(r) for r in found)


def _visit(itinerary: Itinerary, entry, language: str) -> dict:
    row = entry.row
    kind = "procedure" if row.step == StepKind.PROCEDURE else "appointment"
    name = pick(row.item.name, language) if row.item else ""
    why = _why(itinerary, row.day, ("procedure",)) if kind == "procedure" else ""
    return {
        "kind": kind,
        "start": _at(row.day, row.starts_at),
        "end": _at(row.day, row.ends_at),
        "service": row.item.code if row.item else None,
        "name": name,
        "interpreter": _interpreter(row),
        "reason": why or _why(itinerary, row.day, ("step",)) or name,
    }


def itinerary_events(itinerary: Itinerary, language: str) -> list[dict]:
    """The trip's events in order (the caller has checked access and set the active language)."""
    if itinerary.arrival is None:
        return []
    out = []
    for day in schedule(itinerary).days:
        for entry in day["entries"]:
            event = _event(itinerary, day["day"], entry, language)
            if event is not None:
                out.append(event)
                if event["kind"] in ("appointment", "procedure"):
                    interpreting = _interpreting(event)
                    if interpreting is not None:
                        out.append(interpreting)
    return out


def _event(itinerary: Itinerary, day: datetime.date, entry, language: str) -> dict | None:
    base = {"service": None, "name": "", "interpreter": None}
    if entry.kind == ItemKind.VISIT:
        return _visit(itinerary, entry, language)
    if entry.kind == ItemKind.STAY:
        why = _why(itinerary, day, ("inpatient", "discharge", "inpatient_day"))
        return {
            **base,
            "kind": "inpatient",
            "start": day.isoformat(),
            "end": day.isoformat(),
            "service": entry.item.code if entry.item else None,
            "name": pick(entry.item.name, language) if entry.item else "",
            "reason": why,
        }
    if entry.kind in ("flight_in", ItemKind.ARRIVAL):
        moment = entry.flight.arrives_local.isoformat() if entry.flight else day.isoformat()
        return {**base, "kind": "arrival", "start": moment, "end": moment, "reason": _why(itinerary, day, ("arrival",))}
    if entry.kind in ("flight_out", ItemKind.DEPARTURE):
        moment = entry.flight.departs_local.isoformat() if entry.flight else day.isoformat()
        why = _why(itinerary, day, ("fit_to_fly", "departure"))
        return {**base, "kind": "departure", "start": moment, "end": moment, "reason": why}
    if entry.kind == "pickup":
        landed = entry.flight.arrives_local
        return {
            **base,
            "kind": "pickup",
            "start": landed.isoformat(),
            "end": (landed + datetime.timedelta(minutes=PICKUP_MINUTES)).isoformat(),
            "reason": day_reason_text({"code": "pickup"}),
        }
    if entry.kind == "check_in":
        booking = entry.booking
        return {
            **base,
            "kind": "accommodation",
            "start": booking.check_in.isoformat(),
            "end": booking.check_out.isoformat(),
            "name": pick(booking.accommodation.name, language),
            "reason": day_reason_text({"code": "accommodation"}),
        }
    return None  # a check-out: the accommodation's event ends on it
