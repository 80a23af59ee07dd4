"""The case's states and the only legal moves between them, each with the roles allowed to make it."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from laihua.accounts.models import Role


class State(models.TextChoices):
    INQUIRY = "inquiry", _("Inquiry")
    TRIAGE = "triage", _("Triage")
    QUOTED = "quoted", _("Quoted")
    ACCEPTED = "accepted", _("Accepted")
    SCHEDULED = "scheduled", _("Scheduled")
    ARRIVED = "arrived", _("Arrived")
    IN_TREATMENT = "in_treatment", _("In treatment")
    DISCHARGED = "discharged", _("Discharged")
    FOLLOW_UP = "follow_up", _("Follow-up")
    CLOSED = "closed", _("Closed")
    DECLINED = "declined", _("Declined")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")


TERMINAL = frozenset({State.CLOSED, State.DECLINED, State.CANCELLED})
# States before the patient is in China: the patient may still cancel.
BEFORE_ARRIVAL = (State.INQUIRY, State.TRIAGE, State.QUOTED, State.ACCEPTED, State.SCHEDULED, State.EXPIRED)

DESK = (Role.COORDINATOR, Role.HOSPITAL_ADMIN)
CARE = (Role.COORDINATOR, Role.HOSPITAL_ADMIN, Role.CLINICIAN)
SYSTEM = "system"  # moves made by the software itself (quote sent, accepted, expired)

# (from, to) -> roles that may make the move by hand; SYSTEM marks moves made by another service.
TRANSITIONS: dict[tuple[str, str], tuple[str, ...]] = {
    (State.INQUIRY, State.TRIAGE): DESK,
    (State.INQUIRY, State.DECLINED): DESK,
    (State.TRIAGE, State.DECLINED): DESK,
    (State.TRIAGE, State.QUOTED): (SYSTEM,),
    (State.QUOTED, State.TRIAGE): (SYSTEM,),  # the patient declined the quote: a revision may follow
    (State.QUOTED, State.ACCEPTED): (SYSTEM,),
    (State.QUOTED, State.EXPIRED): (SYSTEM, *DESK),
    (State.EXPIRED, State.TRIAGE): DESK,
    (State.ACCEPTED, State.SCHEDULED): DESK,
    (State.SCHEDULED, State.ARRIVED): DESK,
    (State.ARRIVED, State.IN_TREATMENT): CARE,
    (State.IN_TREATMENT, State.DISCHARGED): CARE,
    (State.DISCHARGED, State.FOLLOW_UP): CARE,
    (State.DISCHARGED, State.CLOSED): DESK,
    (State.FOLLOW_UP, State.CLOSED): DESK,
    **{(state, State.CANCELLED): (Role.PATIENT, *DESK) for state in BEFORE_ARRIVAL},
}


def allowed_moves(state: str, role: str) -> list[str]:
    """The states a user of this role may move a case to by hand from `state`."""
    return [to for (frm, to), roles in TRANSITIONS.items() if frm == state and role in roles]


def may_move(state: str, to: str, role: str) -> bool:
    return role in TRANSITIONS.get((state, to), ())


# The road a case travels when all goes well: the patient's progress line follows it.
MAIN_PATH = (
    State.INQUIRY,
    State.TRIAGE,
    State.QUOTED,
    State.ACCEPTED,
    State.SCHEDULED,
    State.ARRIVED,
    State.IN_TREATMENT,
    State.DISCHARGED,
    State.FOLLOW_UP,
    State.CLOSED,
)

# What the state means for the patient, in plain words (shown on their case page).
FOR_PATIENT = {
    State.INQUIRY: _("The hospital's international department has your inquiry and will answer soon."),
    State.TRIAGE: _("The hospital is reviewing your request and documents to prepare a quote."),
    State.QUOTED: _("The hospital sent you a quote: please accept or decline it."),
    State.ACCEPTED: _("You accepted the quote. The hospital will confirm dates and the papers for your trip."),
    State.SCHEDULED: _("Your visit is scheduled. Plan your journey with the dates agreed."),
    State.ARRIVED: _("Welcome: you have arrived at the hospital."),
    State.IN_TREATMENT: _("You are being treated."),
    State.DISCHARGED: _("You have been discharged."),
    State.FOLLOW_UP: _("Your follow-up care continues with the hospital."),
    State.CLOSED: _("This case is closed."),
    State.DECLINED: _("The hospital cannot take on this case. The messages may say why."),
    State.CANCELLED: _("This case was cancelled."),
    State.EXPIRED: _("The quote expired before it was accepted. Ask the hospital for a new one."),
}
