"""Demo data: a handful of fictional cases for the demo patient at the demo hospitals, in a few states, with
messages and a staff note, and one inquiry left unanswered past the first-response deadline.

Loading twice is harmless: each demo case is found by the key kept on its "opened" event. Run after
hospitals.demo.load_demo() (hospitals, users, catalogs); the patient's profile comes from patients.demo.
"""

import datetime
import uuid
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from laihua.accounts.models import User
from laihua.cases.models import Case, CaseEvent, Message
from laihua.cases.services import add_event
from laihua.catalog.models import CatalogItem
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
    hospital: str  # slug
    services: tuple[str, ...]  # catalog codes
    description: str
    days_ago: int
    arrival_in_days: int | None
    stay_days: int
    moves: tuple[tuple[str, str, str, int], ...] = ()  # (to, by username, note, hours after opening)
    coordinator: str | None = None
    messages: tuple[DemoMessage, ...] = field(default=())
    insurer: tuple[str, str, str] = ("", "", "")


KNEE = (
    "Right knee pain for eight months after a skiing fall; it swells after walking. My doctor at home "
    "suspects a meniscus tear. The wait for an MRI here is four months. I would like an MRI and an "
    "orthopaedic opinion, and surgery if needed."
)

CASES = (
    DemoCase(
        key="knee-huangpu",
        group="knee",
        hospital="huangpu-international-demo",
        services=("HIDH-RAD-MRI-1", "HIDH-CON-ORTH"),
        description=KNEE,
        days_ago=3,
        arrival_in_days=40,
        stay_days=10,
        coordinator="huangpu-coord",
        moves=(("triage", "huangpu-coord", "", 5),),
        messages=(
            DemoMessage(
                "huangpu-coord",
                "Thank you for your inquiry. Could you send the report of your last X-ray or any earlier "
                "scan of the knee? Our orthopaedic surgeon will review it before we prepare a quote.",
                5,
            ),
            DemoMessage(
                "huangpu-coord",
                "Dr. Demo (sports injuries) sees international patients on Tuesdays; propose the week of the 40th day.",
                6,
                internal=True,
            ),
            DemoMessage(
                "patient",
                "Thank you! I only have the X-ray report on paper; I will scan it and send it tomorrow.",
                20,
            ),
        ),
        insurer=("Demo Global Health", "DGH-0000-0001", "M-000123"),
    ),
    DemoCase(
        key="knee-pudong",
        group="knee",
        hospital="pudong-demo-medical-center",
        services=("PDMC-RAD-MRI-1",),
        description=KNEE,
        days_ago=3,
        arrival_in_days=40,
        stay_days=10,
        insurer=("Demo Global Health", "DGH-0000-0001", "M-000123"),
    ),
    DemoCase(
        key="checkup-chaoyang",
        group="checkup",
        hospital="chaoyang-demo-hospital",
        services=("CYDH-PKG-EXEC",),
        description="A full executive check-up during a business trip to Beijing, ideally in one morning.",
        days_ago=12,
        arrival_in_days=None,
        stay_days=0,
        moves=(
            (
                "declined",
                "chaoyang-coord",
                "We are sorry: the check-up centre is fully booked for the dates you need. Please ask "
                "again for a later trip.",
                3,
            ),
        ),
        messages=(
            DemoMessage(
                "chaoyang-coord",
                "Thank you for asking us. Unfortunately the dates of your trip are fully booked.",
                3,
            ),
        ),
    ),
)


def _demo_patient():
    """The first demo patient account with its profile (made by patients.demo when missing)."""
    from laihua.patients import demo as patients_demo

    users = patients_demo.demo_patient_users()
    if not users:
        return None
    if not hasattr(users[0], "patient"):
        patients_demo.load()
        users[0].refresh_from_db()
    return users[0].patient


def _at(opened: datetime.datetime, hours: int) -> datetime.datetime:
    return opened + datetime.timedelta(hours=hours)


def _create(spec: DemoCase, patient, groups: dict) -> Case | None:
    hospital = Hospital.objects.filter(slug=spec.hospital).first()
    if hospital is None:
        return None
    users = {u.username: u for u in User.objects.filter(hospital=hospital)}
    services = list(CatalogItem.objects.filter(hospital=hospital, code__in=spec.services))
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
    patient = _demo_patient()
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
        created += _create(spec, patient, groups) is not None
    return created
