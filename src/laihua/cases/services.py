"""Cases: who sees which, the only legal moves between states, inquiries, the board and the thread.

Every read of a case goes through `visible_cases` (the one scoping query) and every change of state
through `move`, which checks the transition table in cases/states.py, records a timeline event and
an audit event in the same transaction. E-mail notices go out only once the change is committed, and
never carry the message itself: just that there is news, with a link.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import BooleanField, Count, DateTimeField, ExpressionWrapper, F, Prefetch, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import get_language, gettext_lazy, gettext_noop
from django.utils.translation import gettext as _

from laihua.accounts.models import Role, User
from laihua.accounts.permissions import STAFF_ROLES, require_role
from laihua.audit.services import record_event
from laihua.cases import notices
from laihua.cases.forms import MAX_FILES, MAX_MESSAGE, BoardFilterForm, InquiryForm
from laihua.cases.models import Attachment, Case, CaseEvent, Message
from laihua.cases.signals import case_moved
from laihua.cases.states import DESK, SYSTEM, TERMINAL, State, allowed_moves, may_move
from laihua.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from laihua.kit import clock
from laihua.patients.services import patient_for_user

BOARD_PAGE_SIZE = 25


class InvalidTransition(DomainError):
    code = "invalid_transition"
    status = 409


class FormInvalid(InvalidInput):
    """A form's errors: the first names the field; pages show them all beside their fields."""

    def __init__(self, form):
        self.form = form
        field, errors = next(iter(form.errors.items()))
        super().__init__(errors[0], field=None if field == "__all__" else field)


class ProfileMissing(DomainError):
    code = "profile_missing"
    status = 409
    default_message = gettext_lazy("Complete your patient profile first: the hospital needs it to answer you.")


# --- who sees which -------------------------------------------------------------------------------


def visible_cases(actor, *, related: bool = True) -> QuerySet[Case]:
    """The cases the actor may see: a patient their own, hospital staff their hospital's, nobody else any.

    `related=False` reads the case row alone (for hot paths that need only its own columns)."""
    cases = Case.objects.select_related("patient", "hospital", "coordinator", "department") if related else Case.objects
    if actor is None or not actor.is_authenticated:
        return cases.none()
    if actor.role == Role.PATIENT:
        return cases.filter(patient__user=actor)
    if actor.role in STAFF_ROLES and actor.hospital_id:
        return cases.filter(hospital_id=actor.hospital_id)
    return cases.none()


def get_case(actor, reference: str, *, audit: str | None = "case.view", related: bool = True) -> Case:
    """The case with this reference if the actor may see it (else NotFound, never a hint it exists)."""
    require_role(actor, Role.values)
    case = next(iter(visible_cases(actor, related=related).filter(reference=reference).order_by()[:1]), None)
    if case is None:
        raise NotFound(_("No such case."))
    if audit:
        record_event(actor, audit, case, hospital=case.hospital)
    return case


def is_staff_of(actor, case: Case) -> bool:
    return actor.role in STAFF_ROLES and actor.hospital_id == case.hospital_id


def require_case_staff(actor, case: Case, roles=STAFF_ROLES) -> None:
    """The actor must be staff of the case's hospital with one of the roles."""
    require_role(actor, roles)
    if actor.hospital_id != case.hospital_id:
        raise PermissionDenied(_("This belongs to another hospital."))


def require_case_party(actor, case: Case) -> None:
    """The actor must be the case's patient (else NotFound) or staff of its hospital (else PermissionDenied)."""
    require_role(actor, Role.values)
    if actor.role == Role.PATIENT:
        if case.patient.user_id != actor.pk:
            raise NotFound(_("No such case."))
        return
    require_case_staff(actor, case)


# --- timeline and states --------------------------------------------------------------------------


def patient_countries(actor) -> list[str]:
    """The nationalities of the patients among the cases the actor sees (the board's country filter)."""
    return sorted(set(visible_cases(actor).values_list("patient__nationality", flat=True)))


def timeline_note(msgid: str, **params) -> dict:
    """A timeline note to show in each reader's language: `msgid` marked with gettext_noop, with its
    %(name)s parameters. add_event stores the writer's wording too (exports, search)."""
    return {"msgid": msgid, "params": params}


def note_text(note: dict) -> str:
    """A timeline_note in the active language."""
    return _(note["msgid"]) % note["params"]


def add_event(case: Case, actor, kind: str, *, note="", staff_only: bool = False, **detail) -> CaseEvent:
    """Append a line to the case's timeline (the audit trail is written separately by the caller). The note
    is a text typed by someone (kept as typed) or a timeline_note (shown in the reader's language)."""
    event = unsaved_event(case, actor, kind, note=note, staff_only=staff_only, **detail)
    event.save(force_insert=True)
    return event


def unsaved_event(case: Case, actor, kind: str, *, note="", staff_only: bool = False, **detail) -> CaseEvent:
    """The line `add_event` would append, not saved (for a caller that writes it within a statement of its own)."""
    actor = actor if actor is not None and actor.is_authenticated else None
    if isinstance(note, dict):
        detail["note_i18n"], note = note, note_text(note)
    return CaseEvent(case=case, actor=actor, kind=kind, note=note, staff_only=staff_only, detail=detail)


@transaction.atomic
def move(actor, case: Case, to: str, *, note: str = "", by_system: bool = False) -> Case:
    """Move the case to another state if the transition is legal for the actor's role (or the system).

    The case row is locked first, so two people moving the same case at once cannot both succeed.
    Leaving the inquiry state by the hospital's hand stops the first-response timer.
    """
    case = Case.objects.select_for_update(of=("self",)).select_related("patient", "hospital").get(pk=case.pk)
    role = SYSTEM if by_system else getattr(actor, "role", None)
    if not by_system:
        require_case_party(actor, case)
    if to not in State.values:
        raise InvalidTransition(_("Unknown state “%(state)s”.") % {"state": to}, field="state")
    if not may_move(case.state, to, role):
        raise InvalidTransition(
            _("A case cannot move from “%(from)s” to “%(to)s” this way.")
            % {"from": State(case.state).label, "to": State(to).label},
            field="state",
        )
    previous = case.state
    case.state = to
    case.state_changed_at = clock.now()
    case.save(update_fields=["state", "state_changed_at", "updated_at"])
    CaseEvent.objects.create(
        case=case,
        actor=actor if actor is not None and actor.is_authenticated else None,
        kind="transition",
        from_state=previous,
        to_state=to,
        note=(note or "").strip()[:2000],
    )
    if previous == State.INQUIRY and role != Role.PATIENT:
        note_first_response(case)
    record_event(actor, "case.transition", case, hospital=case.hospital, detail={"from": previous, "to": to})
    case_moved.send(sender=Case, case=case, previous=previous, to=to, actor=actor)
    return case


def transition(actor, case: Case, to: str, *, note: str = "") -> Case:
    """A person moves the case (a page or the API); the other side hears of it by e-mail."""
    case = move(actor, case, to, note=note)
    what = format_lazy(gettext_lazy("the case is now “{state}”."), state=State(to).label)
    if actor.role == Role.PATIENT:
        transaction.on_commit(lambda: notices.notify_staff(case, "staff_update", what=what))
    else:
        transaction.on_commit(lambda: notices.notify_patient(case, "case_update", what=what))
    return case


def note_first_response(case: Case) -> None:
    """The hospital answered the patient (a message, a triage, a quote): stop the first-response timer."""
    if case.first_response_at is None:
        case.first_response_at = clock.now()
        Case.objects.filter(pk=case.pk, first_response_at__isnull=True).update(first_response_at=case.first_response_at)


def moves_for(actor, case: Case) -> list[str]:
    """The states this actor may move the case to now (buttons on the page, `allowed_moves` in the API)."""
    if actor.role == Role.PATIENT:
        return allowed_moves(case.state, actor.role) if case.patient.user_id == actor.pk else []
    return allowed_moves(case.state, actor.role) if is_staff_of(actor, case) else []


def first_response_due(case: Case) -> datetime.datetime:
    return case.created_at + datetime.timedelta(hours=settings.LAIHUA_FIRST_RESPONSE_HOURS)


def is_overdue(case: Case, now: datetime.datetime | None = None) -> bool:
    """Nobody at the hospital has answered within settings.LAIHUA_FIRST_RESPONSE_HOURS."""
    if case.first_response_at is not None or case.state in TERMINAL:
        return False
    return first_response_due(case) < (now or clock.now())


def _overdue_q(now: datetime.datetime) -> Q:
    cutoff = now - datetime.timedelta(hours=settings.LAIHUA_FIRST_RESPONSE_HOURS)
    return Q(first_response_at__isnull=True, created_at__lt=cutoff) & ~Q(state__in=list(TERMINAL))


def with_overdue(cases: QuerySet[Case], now: datetime.datetime | None = None) -> QuerySet[Case]:
    return cases.annotate(overdue=ExpressionWrapper(_overdue_q(now or clock.now()), output_field=BooleanField()))


# --- first-response reminders ---------------------------------------------------------------------

DUE_SOON, OVERDUE = "first_response_due_soon", "first_response_overdue"


def _first_response_marks(now: datetime.datetime) -> list[tuple[str, datetime.datetime, Q, dict]]:
    """Each notice with the opening time before which an unanswered case gets it, the condition its claim
    checks and the columns the claim sets. Overdue comes first and marks "due soon" as told too: a case found
    already overdue (the job was stopped, the target lowered) is not told afterwards that it is due soon."""
    target = datetime.timedelta(hours=settings.LAIHUA_FIRST_RESPONSE_HOURS)
    marks = [
        (
            OVERDUE,
            now - target,
            Q(first_response_reminded_at__isnull=True),
            {
                "first_response_reminded_at": now,
                "first_response_warned_at": Coalesce(F("first_response_warned_at"), Value(now, DateTimeField())),
            },
        )
    ]
    percent = settings.LAIHUA_FIRST_RESPONSE_WARN_PERCENT
    if 0 < percent < 100:
        marks.append(
            (
                DUE_SOON,
                now - target * percent / 100,
                Q(first_response_warned_at__isnull=True),
                {"first_response_warned_at": now},
            )
        )
    return marks


def remind_first_response(now: datetime.datetime | None = None) -> list[tuple[str, str]]:
    """`laihua cases remind` and its periodic job: the coordinator of each open case still unanswered is told
    once when LAIHUA_FIRST_RESPONSE_WARN_PERCENT of the first-response target has passed, and once when all of
    it has (every coordinator of the hospital while nobody is assigned), by e-mail in their language and on
    the case's timeline. Returns the (reference, notice) pairs sent now.

    Each notice is claimed by a conditional UPDATE of the case (only while its column is empty, the case
    unanswered and open) in the transaction that writes the timeline, the audit event and the outbox rows:
    a second run, a retried job or another worker at the same time finds it claimed and sends nothing."""
    now = now or clock.now()
    sent = []
    for kind, cutoff, unclaimed, columns in _first_response_marks(now):
        due = Case.objects.filter(unclaimed, first_response_at__isnull=True, created_at__lt=cutoff).exclude(
            state__in=list(TERMINAL)
        )
        for pk in list(due.order_by("created_at", "pk").values_list("pk", flat=True)):
            if _tell_first_response(pk, kind, cutoff, unclaimed, columns):
                sent.append((Case.objects.values_list("reference", flat=True).get(pk=pk), kind))
    return sent


@transaction.atomic
def _tell_first_response(pk: int, kind: str, cutoff: datetime.datetime, unclaimed: Q, columns: dict) -> bool:
    claim = Case.objects.filter(unclaimed, pk=pk, first_response_at__isnull=True, created_at__lt=cutoff).exclude(
        state__in=list(TERMINAL)
    )
    if not claim.update(**columns):
        return False  # answered, closed or claimed by another run since it was listed
    case = Case.objects.select_related("hospital", "coordinator", "patient").get(pk=pk)
    due = timezone.localtime(first_response_due(case))
    if kind == OVERDUE:
        msgid = gettext_noop("No answer to the patient yet: the first answer was due by %(due)s.")
    else:
        msgid = gettext_noop("No answer to the patient yet: the first answer is due by %(due)s.")
    add_event(case, None, kind, staff_only=True, note=timeline_note(msgid, due=f"{due:%Y-%m-%d %H:%M}"))
    record_event(
        None, "case.first_response_remind", case, hospital=case.hospital, detail={"notice": kind, "by": "system"}
    )
    notices.notify_staff(case, kind, due=due)  # outbox rows in this transaction: sent once it commits
    return True


def timeline(actor, case: Case) -> QuerySet[CaseEvent]:
    """The case's events; the patient never sees staff-only ones."""
    events = case.events.select_related("actor")
    return events.filter(staff_only=False) if actor.role == Role.PATIENT else events


# --- the inquiry ----------------------------------------------------------------------------------


def _new_reference(case: Case) -> str:
    return f"LH-{timezone.localtime(case.created_at):%Y}-{case.pk:06d}"


def _department_of(services: list) -> object | None:
    """The department of the services asked about, when they all belong to one."""
    departments = {item.department_id: item.department for item in services}
    return next(iter(departments.values())) if len(departments) == 1 else None


def _check_files(files) -> list:
    from laihua.cases.uploads import check_upload, display_name

    files = [f for f in files or [] if f]
    if len(files) > MAX_FILES:
        raise InvalidInput(_("Attach at most %(count)d files at a time.") % {"count": MAX_FILES}, field="files")
    for uploaded in files:
        try:
            check_upload(uploaded)
        except InvalidInput as exc:
            name = display_name(getattr(uploaded, "name", ""))
            raise InvalidInput(_("%(name)s: %(error)s") % {"name": name, "error": exc.message}, field="files") from None
    return files


def _open_case(actor, patient, hospital, form: InquiryForm, group, language: str) -> Case:
    data = form.cleaned_data
    services = [item for item in data["services"] if item.hospital_id == hospital.pk]
    case = Case.objects.create(
        reference=f"new-{group.hex[:16]}",
        inquiry_group=group,
        patient=patient,
        hospital=hospital,
        department=_department_of(services),
        description=data["description"].strip(),
        desired_arrival=data["desired_arrival"],
        desired_departure=data["desired_departure"],
        insurer_name=data["insurer_name"].strip(),
        insurance_policy=data["insurance_policy"].strip(),
        insurance_member=data["insurance_member"].strip(),
        language=language,
    )
    case.reference = _new_reference(case)
    case.save(update_fields=["reference"])
    case.services.set(services)
    return case


@transaction.atomic
def open_inquiry(actor, data, files=(), *, language: str | None = None) -> list[Case]:
    """A patient asks one or several hospitals: one case at each, sharing one inquiry group, with the
    files attached to every case. A bad field or file saves nothing at all."""
    import uuid

    from laihua.cases.uploads import store_attachment

    require_role(actor, [Role.PATIENT])
    patient = patient_for_user(actor)
    if patient is None:
        raise ProfileMissing()
    form = InquiryForm(data)
    if not form.is_valid():
        raise FormInvalid(form)
    files = _check_files(files)
    language = language or get_language() or "en"
    if language not in dict(settings.LANGUAGES):
        language = "en"
    group = uuid.uuid4()
    cases = []
    for hospital in form.hospitals_asked():
        case = _open_case(actor, patient, hospital, form, group, language)
        for uploaded in files:
            uploaded.seek(0)
            store_attachment(case, actor, uploaded)
        add_event(case, actor, "opened", files=len(files), services=[item.code for item in case.services.all()])
        record_event(
            actor,
            "case.open",
            case,
            hospital=hospital,
            detail={"inquiry": str(group), "services": case.services.count(), "files": len(files)},
        )
        transaction.on_commit(lambda case=case: notices.notify_staff(case, "inquiry_received"))
        cases.append(case)
    return cases


# --- lists and the board --------------------------------------------------------------------------


def patient_cases(actor) -> QuerySet[Case]:
    """The signed-in patient's own cases, newest first (audited)."""
    require_role(actor, [Role.PATIENT])
    cases = visible_cases(actor).order_by("-created_at")
    record_event(actor, "case.list", None, detail={"count": cases.count()})
    return cases


@dataclass
class Board:
    page: Page
    counts: dict[str, int]  # state -> number of cases under the other filters
    overdue: int  # overdue cases under the other filters
    filters: dict


def board_filters(data) -> dict:
    """The board's filters from a query string or an API call (InvalidInput on a bad one)."""
    form = BoardFilterForm(data)
    if not form.is_valid():
        raise FormInvalid(form)
    return form.cleaned_data


def _filtered(actor, filters: dict, now) -> QuerySet[Case]:
    cases = with_overdue(visible_cases(actor), now)
    if filters.get("country"):
        cases = cases.filter(patient__nationality=filters["country"])
    if filters.get("department"):
        cases = cases.filter(department__code=filters["department"])
    coordinator = filters.get("coordinator")
    if coordinator == BoardFilterForm.UNASSIGNED:
        cases = cases.filter(coordinator__isnull=True)
    elif coordinator == BoardFilterForm.MINE:
        cases = cases.filter(coordinator=actor)
    elif coordinator:
        cases = cases.filter(coordinator__username=coordinator)
    if filters.get("opened_within") is not None:
        cases = cases.filter(created_at__gte=now - datetime.timedelta(days=filters["opened_within"]))
    if filters.get("older_than") is not None:
        cases = cases.filter(created_at__lt=now - datetime.timedelta(days=filters["older_than"]))
    if filters.get("q"):
        q = filters["q"]
        cases = cases.filter(
            Q(reference__icontains=q) | Q(patient__family_name__icontains=q) | Q(patient__given_names__icontains=q)
        )
    return cases


def find_cases(actor, data, *, now: datetime.datetime | None = None):
    """The cases the actor sees under the board's filters, overdue first, then newest, with the number
    in each state and the number overdue under the other filters (for grouping). Not audited: the
    callers record what they show."""
    require_role(actor, [Role.PATIENT, *STAFF_ROLES])
    filters = board_filters(data)
    cases = _filtered(actor, filters, now or clock.now())
    counts = dict(cases.order_by().values_list("state").annotate(n=Count("pk")))
    overdue = cases.filter(overdue=True).count()
    if filters.get("state"):
        cases = cases.filter(state=filters["state"])
    if filters.get("overdue"):
        cases = cases.filter(overdue=True)
    cases = cases.prefetch_related("services").order_by("-overdue", "-created_at", "-pk")
    return cases, counts, overdue, filters


def _shown_filters(filters: dict) -> dict:
    return {key: value for key, value in filters.items() if value not in (None, "", False)}


def board(actor, data, *, page: int | str = 1, per_page: int = BOARD_PAGE_SIZE) -> Board:
    """One page of the hospital's cases under the filters, for its staff (audited)."""
    require_role(actor, STAFF_ROLES)
    cases, counts, overdue, filters = find_cases(actor, data)
    result = Paginator(cases, per_page).get_page(page)
    result.object_list = list(result.object_list)
    record_event(
        actor,
        "case.board",
        None,
        hospital=actor.hospital,
        detail={"filters": _shown_filters(filters), "page": result.number},
    )
    return Board(page=result, counts=counts, overdue=overdue, filters=filters)


def list_cases(actor, data, *, limit: int = BOARD_PAGE_SIZE, offset: int = 0) -> tuple[list[Case], int, dict]:
    """A slice of the cases the actor sees under the filters, with the total and the number in each
    state (the API's list; audited)."""
    cases, counts, _overdue, filters = find_cases(actor, data)
    limit, offset = max(1, min(int(limit), 100)), max(0, int(offset))
    total = cases.count()
    rows = list(cases[offset : offset + limit])
    record_event(
        actor,
        "case.list",
        None,
        hospital=actor.hospital,
        detail={"filters": _shown_filters(filters), "offset": offset, "count": len(rows)},
    )
    return rows, total, counts


def coordinators_of(hospital) -> QuerySet[User]:
    return User.objects.filter(role=Role.COORDINATOR, hospital=hospital, is_active=True).order_by("username")


# --- assignment -----------------------------------------------------------------------------------


def _coordinator(case: Case, coordinator) -> User | None:
    if coordinator in (None, ""):
        return None
    if not isinstance(coordinator, User):
        coordinator = coordinators_of(case.hospital).filter(username=str(coordinator)).first()
    if coordinator is None or coordinator.role != Role.COORDINATOR or coordinator.hospital_id != case.hospital_id:
        raise InvalidInput(_("Choose a coordinator of this hospital."), field="coordinator")
    if not coordinator.is_active:
        raise InvalidInput(_("This account is disabled."), field="coordinator")
    return coordinator


@transaction.atomic
def assign(actor, case: Case, coordinator) -> Case:
    """Give the case to a coordinator of its hospital (or to nobody); by a coordinator or hospital admin."""
    require_case_staff(actor, case, DESK)
    coordinator = _coordinator(case, coordinator)
    case = Case.objects.select_for_update(of=("self",)).select_related("patient", "hospital").get(pk=case.pk)
    if case.coordinator_id == (coordinator.pk if coordinator else None):
        return case
    case.coordinator = coordinator
    case.save(update_fields=["coordinator", "updated_at"])
    name = (coordinator.get_full_name() or coordinator.username) if coordinator else ""
    add_event(case, actor, "assigned", coordinator=coordinator.username if coordinator else None, name=name)
    record_event(
        actor,
        "case.assign",
        case,
        hospital=case.hospital,
        detail={"coordinator": coordinator.username if coordinator else None},
    )
    if coordinator is not None and coordinator.pk != actor.pk:
        transaction.on_commit(lambda: notices.notify(case, [coordinator], "case_assigned"))
    return case


# --- the thread -----------------------------------------------------------------------------------


def thread(actor, case: Case) -> QuerySet[Message]:
    """The case's messages with their attachments; the patient never sees a staff note."""
    messages = case.messages.select_related("author")
    attachments = Attachment.objects.order_by("created_at", "pk")
    if actor.role == Role.PATIENT:
        messages = messages.filter(internal=False)
        attachments = attachments.filter(internal=False)
    return messages.prefetch_related(Prefetch("attachments", queryset=attachments))


def documents(actor, case: Case) -> QuerySet[Attachment]:
    """Files attached to the case itself (with the inquiry), not to a message."""
    files = case.attachments.filter(message__isnull=True).select_related("uploaded_by")
    return files.filter(internal=False) if actor.role == Role.PATIENT else files


@transaction.atomic
def post_message(actor, case: Case, body: str, files=(), *, internal: bool = False) -> Message:
    """Add to the thread; the other side hears by e-mail that there is news. A staff note (`internal`)
    is for the hospital only: never shown to the patient, and no e-mail goes out for it."""
    from laihua.cases.uploads import store_attachment

    require_case_party(actor, case)
    staff = actor.role != Role.PATIENT
    if internal and not staff:
        raise PermissionDenied(_("Only hospital staff can write staff notes."))
    body = (body or "").strip()
    if len(body) > MAX_MESSAGE:
        raise InvalidInput(_("A message can be at most %(count)d characters.") % {"count": MAX_MESSAGE}, field="body")
    files = _check_files(files)
    if not body and not files:
        raise InvalidInput(_("Write a message or attach a file."), field="body")
    message = Message.objects.create(case=case, author=actor, body=body, internal=internal)
    for uploaded in files:
        store_attachment(case, actor, uploaded, message=message, internal=internal)
    add_event(case, actor, "note" if internal else "message", staff_only=internal, message=message.pk, files=len(files))
    if staff and not internal:
        note_first_response(case)
    record_event(
        actor,
        "case.message.create",
        message,
        hospital=case.hospital,
        detail={"case": case.reference, "internal": internal, "files": len(files)},
    )
    if not internal:
        notify = notices.notify_patient if staff else notices.notify_staff
        transaction.on_commit(lambda: notify(case, "message_posted"))
    return message


def get_attachment(actor, reference: str, attachment_id: int) -> Attachment:
    """A file of a case the actor may see (a patient: not a staff-only one); the download is audited."""
    case = get_case(actor, reference, audit=None)
    attachments = case.attachments.all()
    if actor.role == Role.PATIENT:
        attachments = attachments.filter(internal=False)
    attachment = attachments.filter(pk=attachment_id).first()
    if attachment is None:
        raise NotFound(_("No such file."))
    record_event(
        actor,
        "case.attachment.download",
        attachment,
        hospital=case.hospital,
        detail={"case": case.reference, "sha256": attachment.sha256},
    )
    return attachment
