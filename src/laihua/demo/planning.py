"""Clinical-order defaults on the demo catalogs (planning.yaml) and the accepted knee case with its planned trip
(cases.yaml, planned_trip)."""

from django.db import transaction

from laihua.accounts.models import User
from laihua.capacity.models import Resource, ServiceUsage
from laihua.cases.models import CaseEvent
from laihua.catalog.models import CatalogItem
from laihua.demo import cases as demo_cases
from laihua.demo import datafiles
from laihua.demo import quotes as demo_quotes
from laihua.hospitals.models import Hospital
from laihua.kit import clock
from laihua.planning import services as planning
from laihua.planning.models import Itinerary, ServiceOrder, ServiceRule
from laihua.quotes.models import Status

_DATA = datafiles.read("planning")
RULES = _DATA["rules"]  # service code -> {morning_only, duration_minutes, stay_days}
ORDERS = _DATA["orders"]
USAGES = _DATA["usages"]  # service code -> resources it takes when it has none yet
TRIP = demo_cases.PLANNED_TRIP
TRIP_SERVICES = TRIP.services
DEMO_KEY = TRIP.key


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
    for code, usages in USAGES.items():
        if code not in items or items[code].usages.exists():
            continue
        resources = [Resource.objects.filter(hospital=hospital, code=usage["resource"]).first() for usage in usages]
        if all(resources):
            for resource, usage in zip(resources, usages, strict=True):
                units = {key: value for key, value in usage.items() if key != "resource"}
                ServiceUsage.objects.create(item=items[code], resource=resource, **units)
    return added


def _trip_case():
    """The accepted knee case at the Huangpu demo hospital (made once), with its accepted quote."""
    patient = demo_cases.demo_patient()
    if patient is None:
        return None
    found = CaseEvent.objects.filter(kind="opened", case__patient=patient, detail__demo=DEMO_KEY).first()
    if found is not None:
        return found.case
    case = demo_cases.create_case(TRIP, patient, {})
    if case is None:
        return None
    author = User.objects.filter(username=TRIP.coordinator).first()
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
    return added
