"""Demo planning data: clinical-order defaults on the demo catalogs and one accepted knee case with a planned trip."""

from django.db import transaction

from laihua.accounts.models import User
from laihua.capacity.models import Resource, ServiceUsage
from laihua.cases.models import CaseEvent
from laihua.catalog.models import CatalogItem
from laihua.hospitals.models import Hospital
from laihua.kit import clock
from laihua.planning.models import Itinerary, ServiceOrder, ServiceRule

# code suffix -> (morning only, duration minutes, days at the hospital)
RULES = {
    "LAB-CBC": (True, 15, None),
    "LAB-CMP": (True, 15, None),
    "LAB-LIPID": (True, 15, None),
    "LAB-HBA1C": (False, 15, None),
    "LAB-TUMOR": (True, 15, None),
    "RAD-MRI-1": (False, 45, None),
    "RAD-MRI-C": (False, 60, None),
    "CON-ORTH": (False, 30, None),
    "ORTH-ARTHRO": (False, 120, 2),
    "ORTH-TKR": (False, 180, 7),
    "ORTH-THR": (False, 180, 7),
}
# (first, then, at least days, at most days, why)
ORDERS = [
    ("CON-ORTH", "RAD-MRI-1", 0, None, "The surgeon asks for the scan."),
    ("CON-ORTH", "LAB-CBC", 0, None, "Tests before surgery."),
    ("CON-ORTH", "LAB-CMP", 0, None, "Tests before surgery."),
    ("RAD-MRI-1", "ORTH-ARTHRO", 1, None, "MRI results before surgery."),
    ("LAB-CBC", "ORTH-ARTHRO", 1, None, "Blood results before surgery."),
    ("LAB-CMP", "ORTH-ARTHRO", 1, None, "Blood results before surgery."),
    ("RAD-MRI-1", "ORTH-TKR", 1, None, "MRI results before surgery."),
    ("RAD-MRI-1", "ORTH-THR", 1, None, "MRI results before surgery."),
    ("CON-ORTH", "ORTH-TKR", 1, None, "Consent at the consultation."),
    ("CON-ORTH", "ORTH-THR", 1, None, "Consent at the consultation."),
]
TRIP_SERVICES = ("CON-ORTH", "LAB-CBC", "LAB-CMP", "RAD-MRI-1", "ORTH-ARTHRO")
DEMO_KEY = "knee-trip-huangpu"


def _defaults(hospital: Hospital) -> int:
    added = 0
    items = {
        item.code.split("-", 1)[1]: item for item in CatalogItem.objects.filter(hospital=hospital) if "-" in item.code
    }
    for suffix, (morning, minutes, stay) in RULES.items():
        if suffix in items:
            _rule, created = ServiceRule.objects.get_or_create(
                item=items[suffix], defaults={"morning_only": morning, "duration_minutes": minutes, "stay_days": stay}
            )
            added += created
    for first, then, low, high, why in ORDERS:
        if first in items and then in items:
            _order, created = ServiceOrder.objects.get_or_create(
                before=items[first],
                after=items[then],
                defaults={"min_gap_days": low, "max_gap_days": high, "note": why},
            )
            added += created
    if "ORTH-ARTHRO" in items and not items["ORTH-ARTHRO"].usages.exists():
        theatre = Resource.objects.filter(hospital=hospital, code="theatre").first()
        beds = Resource.objects.filter(hospital=hospital, code="beds").first()
        if theatre and beds:
            ServiceUsage.objects.create(item=items["ORTH-ARTHRO"], resource=theatre, units=2)
            ServiceUsage.objects.create(item=items["ORTH-ARTHRO"], resource=beds, units=1, day_offset=0, days=2)
    return added


def _trip_case():
    """The accepted knee case at the Huangpu demo hospital (made once), with its accepted quote."""
    from laihua.cases import demo as cases_demo
    from laihua.quotes import demo as quotes_demo
    from laihua.quotes.models import Status

    patient = cases_demo._demo_patient()
    if patient is None:
        return None
    found = CaseEvent.objects.filter(kind="opened", case__patient=patient, detail__demo=DEMO_KEY).first()
    if found is not None:
        return found.case
    spec = cases_demo.DemoCase(
        key=DEMO_KEY,
        group="knee-trip",
        hospital="huangpu-international-demo",
        services=tuple(f"HIDH-{code}" for code in TRIP_SERVICES),
        description=cases_demo.KNEE,
        days_ago=20,
        arrival_in_days=21,
        stay_days=30,
        coordinator="huangpu-coord",
        moves=(
            ("triage", "huangpu-coord", "", 4),
            ("quoted", "huangpu-coord", "", 48),
            ("accepted", "patient", "", 96),
        ),
    )
    case = cases_demo._create(spec, patient, {})
    if case is None:
        return None
    author = User.objects.filter(username="huangpu-coord").first()
    if author is not None:
        quotes_demo._quote_case(case, Status.ACCEPTED, author, clock.today())
    return case


@transaction.atomic
def load() -> int:
    """Planning defaults on every demo catalog and a planned trip for the accepted demo case; returns rows added."""
    from laihua.planning.services import plan_case, plan_inputs

    added = sum(_defaults(hospital) for hospital in Hospital.objects.filter(is_demo=True))
    case = _trip_case()
    if case is not None and not Itinerary.objects.filter(case=case).exists() and case.coordinator_id:
        data = {k: v for k, v in plan_inputs(case.coordinator, case).items() if k not in ("items", "routes")}
        data["visits_per_day"] = 3
        plan_case(case.coordinator, case, data)
        added += 1
    return added
