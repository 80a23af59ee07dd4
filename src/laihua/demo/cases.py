"""A handful of fictional cases for the demo patient at the demo hospitals (cases.yaml, inquiries), in a few
states, with messages and a staff note, and one inquiry left unanswered past the first-response deadline.

Loading twice is harmless: each demo case is found by the key kept on its "opened" event. Runs after
demo.hospitals (hospitals, users, catalogs); the patient's profile comes from demo.patients.
"""

import datetime
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from laihua.accounts.models import User
from laihua.cases.models import Case, CaseEvent, Message
from laihua.cases.services import add_event
from laihua.catalog.models import CatalogItem
from laihua.demo import datafiles
from laihua.demo import patients as demo_patients
from laihua.demo.hospitals import BY_CODE, SERVICES
from laihua.hospitals.models import Hospital
from laihua.kit import clock


@dataclass(frozen=True)
class DemoMessage:
    author: str  # "patient" or a staff username
    body: str
    hours_after: int
    internal: bool = False


@dataclass(frozen=True)
class DemoCase:
    key: str
    group: str  # cases with the same group were one inquiry to several hospitals
    hospital: str  # short code
    services: tuple[str, ...]  # service codes (catalog.yaml)
    description: str
    days_ago: int
    arrival_in_days: int | None
    stay_days: int
    moves: tuple[tuple[str, str, str, int], ...] = ()  # (to, by username, note, hours after opening)
    coordinator: str | None = None
    messages: tuple[DemoMessage, ...] = ()
    insurer: tuple[str, str, str] = ("", "", "")  # name, policy, member


def _case(entry: dict, at: list) -> DemoCase:
    datafiles.require("cases", [*at, "hospital"], entry["hospital"], BY_CODE)
    for index, code in enumerate(entry["services"]):
        datafiles.require("cases", [*at, "services", index], code, [service.code for service in SERVICES])
    insurance = entry.get("insurance")
    return DemoCase(
        key=entry["key"],
        group=entry["group"],
        hospital=entry["hospital"],
        services=tuple(entry["services"]),
        description=entry["description"],
        days_ago=entry["days_ago"],
        arrival_in_days=entry["arrival_in_days"],
        stay_days=entry["stay_days"],
        moves=tuple(
            (move["to"], move["by"], move.get("note", ""), move["hours_after"]) for move in entry.get("moves", ())
        ),
        coordinator=entry.get("coordinator"),
        messages=tuple(DemoMessage(**message) for message in entry.get("messages", ())),
        insurer=(insurance["insurer"], insurance["policy"], insurance["member"]) if insurance else ("", "", ""),
    )


_DATA = datafiles.read("cases")
CASES = tuple(_case(entry, ["inquiries", index]) for index, entry in enumerate(_DATA["inquiries"]))
# The accepted knee case whose trip demo.planning plans.
PLANNED_TRIP = _case(_DATA["planned_trip"], ["planned_trip"])
# The accepted hip replacement whose trip demo.planning plans along its clinical pathway.
PATHWAY_TRIP = _case(_DATA["pathway_trip"], ["pathway_trip"])


def demo_patient():
    """The first demo patient account with its profile (made by demo.patients when missing)."""
    users = demo_patients.demo_patient_users()
    if not users:
        return None
    if not hasattr(users[0], "patient"):
        demo_patients.load()
        users[0].refresh_from_db()
    return users[0].patient


def _at(opened: datetime.datetime, hours: int) -> datetime.datetime:
    return opened + datetime.timedelta(hours=hours)


def create_case(spec: DemoCase, patient, groups: dict) -> Case | None:
    """The case as the inquiry path opens it, then its history back-dated from `days_ago`."""
    hospital_data = BY_CODE[spec.hospital]
    hospital = Hospital.objects.filter(slug=hospital_data.slug).first()
    if hospital is None:
        return None
    users = {u.username: u for u in User.objects.filter(hospital=hospital)}
    codes = [hospital_data.item_code(code) for code in spec.services]
    services = list(CatalogItem.objects.filter(hospital=hospital, code__in=codes))
    today = clock.today()
    arrival = today + datetime.timedelta(days=spec.arrival_in_days) if spec.arrival_in_days else None
    case = Case.objects.create(
        reference=f"new-{uuid.uuid4().hex[:16]}",
        inquiry_group=groups.setdefault(spec.group, uuid.uuid4()),
        patient=patient,
        hospital=hospital,
        department=services[0].department if len({s.department_id for s in services}) == 1 else None,
        description=spec.description,
        desired_arrival=arrival,
        desired_departure=arrival + datetime.timedelta(days=spec.stay_days) if arrival else None,
        insurer_name=spec.insurer[0],
        insurance_policy=spec.insurer[1],
        insurance_member=spec.insurer[2],
        language="en",
        coordinator=users.get(spec.coordinator) if spec.coordinator else None,
    )
    opened = clock.now() - datetime.timedelta(days=spec.days_ago)
    case.reference = f"LH-{timezone.localtime(opened):%Y}-{case.pk:06d}"
    case.save(update_fields=["reference"])
    Case.objects.filter(pk=case.pk).update(created_at=opened, state_changed_at=opened)
    case.services.set(services)
    _history(case, spec, patient, users, opened)
    return case


def _history(case: Case, spec: DemoCase, patient, users: dict, opened) -> None:
    stamped = [(add_event(case, patient.user, "opened", demo=spec.key, files=0), opened)]
    first_response = None
    for to, username, note, hours in spec.moves:
        event = add_event(case, users.get(username), "transition", note=note)
        event.from_state, event.to_state = case.state, to
        event.save(update_fields=["from_state", "to_state"])
        stamped.append((event, _at(opened, hours)))
        Case.objects.filter(pk=case.pk).update(state=to, state_changed_at=_at(opened, hours))
        case.state = to
        first_response = first_response or _at(opened, hours)
    for spec_message in spec.messages:
        author = patient.user if spec_message.author == "patient" else users.get(spec_message.author)
        if author is None:
            continue
        message = Message.objects.create(
            case=case, author=author, body=spec_message.body, internal=spec_message.internal
        )
        Message.objects.filter(pk=message.pk).update(created_at=_at(opened, spec_message.hours_after))
        kind = "note" if spec_message.internal else "message"
        event = add_event(case, author, kind, staff_only=spec_message.internal, message=message.pk, files=0)
        stamped.append((event, _at(opened, spec_message.hours_after)))
        if spec_message.author != "patient" and not spec_message.internal:
            first_response = min(filter(None, [first_response, _at(opened, spec_message.hours_after)]))
    for event, at in stamped:
        CaseEvent.objects.filter(pk=event.pk).update(at=at)
    if first_response:
        Case.objects.filter(pk=case.pk).update(first_response_at=first_response)


@transaction.atomic
def load() -> int:
    """Create the demo cases that are missing; returns how many were created."""
    patient = demo_patient()
    if patient is None:
        return 0
    created, groups = 0, {}
    existing = {
        event.detail.get("demo"): event.case
        for event in CaseEvent.objects.filter(kind="opened", case__patient=patient).select_related("case")
        if event.detail.get("demo")
    }
    for spec in CASES:
        if spec.key in existing:
            groups.setdefault(spec.group, existing[spec.key].inquiry_group)
            continue
        created += create_case(spec, patient, groups) is not None
    return created
