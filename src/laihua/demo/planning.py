"""Clinical-order defaults and clinical pathways on the demo catalogs (planning.yaml), the accepted knee case with
its planned trip (cases.yaml, planned_trip) and the hip replacement of a patient whose language is not Chinese,
planned along its pathway and booked (cases.yaml, pathway_trip)."""

from django.db import transaction

from laihua.accounts.models import User
from laihua.capacity.models import Resource, ServiceUsage
from laihua.cases.models import CaseEvent
from laihua.catalog.models import CatalogItem
from laihua.demo import cases as demo_cases
from laihua.demo import datafiles
from laihua.demo import patients as demo_patients
from laihua.demo import quotes as demo_quotes
from laihua.hospitals.models import Hospital
from laihua.kit import clock
from laihua.planning import pathways
from laihua.planning import services as planning
from laihua.planning.models import Itinerary, ItineraryStatus, Pathway, ServiceOrder, ServiceRule
from laihua.quotes.models import Status

_DATA = datafiles.read("planning")
RULES = _DATA["rules"]  # service code -> {morning_only, duration_minutes, stay_days}
ORDERS = _DATA["orders"]
USAGES = _DATA["usages"]  # service code -> resources it takes when it has none yet
PATHWAYS = _DATA["pathways"]
TRIP = demo_cases.PLANNED_TRIP
TRIP_SERVICES = TRIP.services
DEMO_KEY = TRIP.key
HIP = demo_cases.PATHWAY_TRIP
HIP_KEY = HIP.key
HIP_PLAN = _DATA["pathway_trip"]


def _defaults(hospital: Hospital) -> int:
    added = 0
    items = {
        item.code.split("-", 1)[1]: item for item in CatalogItem.objects.filter(hospital=hospital) if "-" in item.code
    }
    for code, rule in RULES.items():
        if code in items:
            _rule, created = ServiceRule.objects.get_or_create(item=items[code], defaults=rule)
            added += created
    for order in ORDERS:
        if order["before"] in items and order["after"] in items:
            _order, created = ServiceOrder.objects.get_or_create(
                before=items[order["before"]],
                after=items[order["after"]],
                defaults={key: order[key] for key in ("min_gap_days", "max_gap_days", "note")},
            )
            added += created
    for entry in PATHWAYS:  # the hospital's own codes: the demo code after the hospital's prefix
        item = items.get(entry["item"])
        if item is None or Pathway.objects.filter(item=item).exists():
            continue
        steps = [{**step, "service": _own(items, step["service"])} for step in entry["steps"]]
        if all(step["service"] for step in steps):
            pathways.load_pathway(hospital, {**entry, "item": item.code, "steps": steps})
            added += 1
    for code, usages in USAGES.items():
        if code not in items or items[code].usages.exists():
            continue
        resources = [Resource.objects.filter(hospital=hospital, code=usage["resource"]).first() for usage in usages]
        if all(resources):
            for resource, usage in zip(resources, usages, strict=True):
                units = {key: value for key, value in usage.items() if key != "resource"}
                ServiceUsage.objects.create(item=items[code], resource=resource, **units)
    return added


def _own(items: dict, code: str) -> str:
    item = items.get(code)
    return item.code if item is not None else ""


def _patient(index: int):
    """The demo patient account at this place in people.yaml, with its profile."""
    users = demo_patients.demo_patient_users()
    if index >= len(users):
        return None
    if not hasattr(users[index], "patient"):
        demo_patients.load()
        users[index].refresh_from_db()
    return getattr(users[index], "patient", None)


def _trip_case(spec=TRIP, patient=None):
    """An accepted demo case (made once), with its accepted quote: the knee case at the Huangpu demo hospital
    by default."""
    patient = patient or demo_cases.demo_patient()
    if patient is None:
        return None
    found = CaseEvent.objects.filter(kind="opened", case__patient=patient, detail__demo=spec.key).first()
    if found is not None:
        return found.case
    case = demo_cases.create_case(spec, patient, {})
    if case is None:
        return None
    author = User.objects.filter(username=spec.coordinator).first()
    if author is not None:
        demo_quotes.quote_case(case, Status.ACCEPTED, author, clock.today())
    return case


@transaction.atomic
def load() -> int:
    """Planning defaults on every demo catalog and a planned trip for the accepted demo case; returns rows added."""
    added = sum(_defaults(hospital) for hospital in Hospital.objects.filter(is_demo=True))
    case = _trip_case()
    if case is not None and not Itinerary.objects.filter(case=case).exists() and case.coordinator_id:
        data = {k: v for k, v in planning.plan_inputs(case.coordinator, case).items() if k not in ("items", "routes")}
        data["visits_per_day"] = _DATA["visits_per_day"]
        planning.plan_case(case.coordinator, case, data)
        added += 1
    added += _hip_trip()
    return added


def _hip_trip() -> int:
    """The hip replacement case, planned along the package's pathway and booked (once)."""
    patient = _patient(HIP_PLAN["patient"])
    case = _trip_case(HIP, patient) if patient is not None else None
    if case is None or not case.coordinator_id or Itinerary.objects.filter(case=case).exists():
        return 0
    data = {k: v for k, v in planning.plan_inputs(case.coordinator, case).items() if k not in ("items", "routes")}
    data["visits_per_day"] = HIP_PLAN["visits_per_day"]
    itinerary = planning.plan_case(case.coordinator, case, data)
    if HIP_PLAN["confirm"] and itinerary.feasible and itinerary.status == ItineraryStatus.DRAFT:
        planning.confirm_itinerary(case.coordinator, itinerary)
    return 1
