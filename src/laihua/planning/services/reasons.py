"""Why no trip fits, in plain words: the solver's reasons kept with the names they need in every
language, and read in the active one."""

import datetime
from collections.abc import Mapping

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from laihua.capacity.models import Resource
from laihua.cases.models import Case
from laihua.kit.i18n import pick
from laihua.planning import solver
from laihua.planning.services.inputs import routes_for


def day_words(day: datetime.date | str) -> str:
    """The day as a sentence says it in the active language ("12 December 2026", "2026年12月12日")."""
    if isinstance(day, str):
        day = datetime.date.fromisoformat(day)
    if isinstance(day, datetime.datetime):
        day = day.date()
    # Translators: a date format (Django's date filter letters) for a day within a sentence.
    return date_format(day, pgettext("day in a sentence", "j F Y"))


_day_words = day_words


def _stored_params(reason: solver.Reason, case: Case, inputs: dict) -> dict:
    """The reason's parameters with the names it needs in every language (the resource's, the entry
    route's), so that it reads right in whatever language it is shown later."""
    params = dict(reason.params)
    if reason.code == "quota" and str(params.get("key", "")).isdigit():
        resource = Resource.objects.filter(pk=int(params["key"])).only("name").first()
        if resource is not None:
            params["resource_names"] = resource.name
    if reason.code == "stay_limit" and inputs.get("route"):
        route = next((r for r in routes_for(case) if r["code"] == inputs["route"]), None)
        if route is not None and route["max_stay_days"] == params.get("limit"):
            params["route_names"] = route["names"]
    return params


def reason_text(reason: Mapping) -> str:
    """One reason in plain words, in the active language."""
    code, p = reason.get("code"), reason.get("params") or {}
    if code == "quota":
        resource = pick(p["resource_names"]) if p.get("resource_names") else p["resource"]
        return _("%(resource)s quota full until %(day)s") % {"resource": resource, "day": _day_words(p["until"])}
    if code == "stay_limit":
        if p.get("route_names"):
            route = pick(p["route_names"])
        elif p.get("limit"):
            route = _("%(days)s-day") % {"days": p["limit"]}
        else:
            route = p["route"]
        return _("the stay would exceed the %(route)s limit by %(days)s day(s)") % {
            "route": route,
            "days": p["excess"],
        }
    if code == "latest_departure":
        return _("the earliest possible departure is %(days)s day(s) after the latest departure of %(day)s") % {
            "days": p["excess"],
            "day": _day_words(p["latest"]),
        }
    if code == "visits_per_day":
        return _("at most %(n)s hospital visits a day leaves no plan in these dates") % {"n": p["limit"]}
    if code == "rest_days":
        return _("the rest days leave no plan in these dates")
    if code == "quota_many":
        return _("several resources are fully booked in these dates")
    return _("no plan fits even with a later departure and a longer stay")


# --- why each day of a plan is there (planning.services.pathway_plan.day_reasons) ------------------


def day_reason_text(reason: Mapping) -> str:
    """One day's reason in plain words, in the active language ("waiting for the MRI report")."""
    code, p = reason.get("code"), reason.get("params") or {}
    label = pick(p["label"]) if isinstance(p.get("label"), dict) else str(p.get("label", ""))
    if code == "arrival":
        return _("arrival in China")
    if code == "departure":
        return _("flight home")
    if code == "fit_to_fly":
        return _("fit to fly from %(day)s") % {"day": _day_words(p["day"])}
    if code == "procedure":
        return _("%(step)s; inpatient night %(night)s of %(nights)s") % {
            "step": label,
            "night": p["night"],
            "nights": p["nights"],
        }
    if code == "inpatient":
        return _("recovery, inpatient night %(night)s of %(nights)s") % {"night": p["night"], "nights": p["nights"]}
    if code == "discharge":
        return _("discharge from hospital")
    if code == "inpatient_day":
        return _("in hospital: %(step)s") % {"step": label}
    if code == "step":
        return label
    if code == "report":
        return _("waiting for the %(step)s report (ready %(day)s)") % {"step": label, "day": _day_words(p["day"])}
    if code == "next_step":
        return _("waiting for the next step: %(step)s on %(day)s") % {"step": label, "day": _day_words(p["day"])}
    if code == "pickup":
        return _("airport pickup to the hotel")
    if code == "accommodation":
        return _("stay near the hospital")
    if code == "recovery":
        return _("recovery before flying: fit to fly from %(day)s") % {"day": _day_words(p["day"])}
    return _("free day")


def day_reasons_text(itinerary, day: datetime.date) -> list[str]:
    """Why this day of the itinerary is there, in the active language (empty for a plan made before)."""
    return [day_reason_text(r) for r in (itinerary.day_reasons or {}).get(day.isoformat(), [])]
