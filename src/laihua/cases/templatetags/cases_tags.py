"""Wording for the case page: a timeline line, and who wrote a message, as the viewer should see them."""

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from laihua.accounts.models import Role
from laihua.cases.states import State
from laihua.kit.i18n import pick

register = template.Library()

# Timeline kinds and how they read; other domains add events with their own kinds and a note.
EVENT_LABELS = {
    "opened": gettext_lazy("Inquiry sent"),
    "note": gettext_lazy("Staff note added"),
    # The kinds the quotes and travel services record (quotes.services, travel.services).
    "quote_draft": gettext_lazy("Quote draft opened"),
    "quote_discarded": gettext_lazy("Quote draft discarded"),
    "quote_sent": gettext_lazy("Quote sent"),
    "quote_accepted": gettext_lazy("Quote accepted"),
    "quote_declined": gettext_lazy("Quote declined"),
    "quote_expired": gettext_lazy("Quote expired"),
    "quote_withdrawn": gettext_lazy("Quote withdrawn"),
    "letter_issued": gettext_lazy("Invitation letter issued"),
    "letter_revoked": gettext_lazy("Invitation letter revoked"),
    "flights_changed": gettext_lazy("Flights"),
    "pickup_changed": gettext_lazy("Airport pickup"),
    "accommodation_changed": gettext_lazy("Accommodation"),
    "stay_warning": gettext_lazy("Permitted stay ends soon"),
    # cases.services.remind_first_response
    "first_response_due_soon": gettext_lazy("First answer due soon"),
    "first_response_overdue": gettext_lazy("First answer overdue"),
    # capacity.services
    "booked": gettext_lazy("Booked"),
    "booking_cancelled": gettext_lazy("Booking cancelled"),
    "waitlisted": gettext_lazy("On the waitlist"),
    "waitlist_left": gettext_lazy("Off the waitlist"),
    # planning.services
    "trip_planned": gettext_lazy("Trip planned"),
    "trip_confirmed": gettext_lazy("Trip confirmed"),
    "interpreter_changed": gettext_lazy("Interpreter changed"),
    # records.services
    "records_imported": gettext_lazy("Records imported"),
    "records_sent": gettext_lazy("Records sent abroad"),
    "records_link_revoked": gettext_lazy("Link to shared records revoked"),
    "episode_summary_completed": gettext_lazy("Discharge summary completed"),
    "consent_granted": gettext_lazy("Consent to send records given"),
    "consent_withdrawn": gettext_lazy("Consent to send records withdrawn"),
    "payment_consent_granted": gettext_lazy("Consent to send health data to the insurer given"),
    "payment_consent_withdrawn": gettext_lazy("Consent to send health data to the insurer withdrawn"),
    "payment_consent_requested": gettext_lazy("Patient asked for consent to send health data to the insurer"),
    # insurance.services
    "coverage_recorded": gettext_lazy("Insurance recorded"),
    "gop_sent": gettext_lazy("Guarantee of payment requested"),
    "gop_resubmitted": gettext_lazy("Guarantee of payment request sent again"),
    "gop_answered": gettext_lazy("Insurer answered the guarantee of payment request"),
    "gop_overdue": gettext_lazy("Insurer's answer overdue"),
    "gop_cancelled": gettext_lazy("Guarantee of payment request cancelled"),
    # billing.services
    "invoice_draft": gettext_lazy("Statement of charges drafted"),
    "invoice_issued": gettext_lazy("Statement of charges issued"),
    "invoice_cancelled": gettext_lazy("Statement of charges cancelled"),
    "official_receipt": gettext_lazy("Hospital's official receipt recorded"),
    "payment_recorded": gettext_lazy("Payment recorded"),
    "claim_sent": gettext_lazy("Claim sent to the insurer"),
    "claim_answered": gettext_lazy("Insurer answered the claim"),
}


def _label(state: str) -> str:
    return str(State(state).label) if state in State.values else state


def person(user, viewer) -> str:
    """A person on the case as the viewer sees them: "you", the patient's name, or a staff member with
    their hospital."""
    if user is None:
        return _("Laihua")
    if viewer is not None and user.pk == viewer.pk:
        return _("you")
    if user.role == Role.PATIENT:
        patient = getattr(user, "patient", None)
        return patient.full_name if patient else user.get_username()
    name = user.get_full_name() or user.get_username()
    hospital = pick(user.hospital.name) if user.hospital_id else ""
    return f"{name} · {hospital}" if hospital else name


@register.simple_tag(takes_context=True)
def author(context, user) -> str:
    return person(user, context.get("user"))


@register.simple_tag(takes_context=True)
def event_text(context, event) -> str:
    """What happened, in a sentence (the event's note is shown separately)."""
    if event.kind == "transition":
        return _("Moved from “%(from)s” to “%(to)s”") % {"from": _label(event.from_state), "to": _label(event.to_state)}
    if event.kind == "assigned":
        name = event.detail.get("name") or event.detail.get("coordinator")
        return _("Coordinator: %(name)s") % {"name": name} if name else _("No coordinator assigned")
    if event.kind == "message":
        files = event.detail.get("files") or 0
        who = person(event.actor, context.get("user"))
        if files:
            return ngettext(
                "Message from %(who)s, with %(count)d file", "Message from %(who)s, with %(count)d files", files
            ) % {"who": who, "count": files}
        return _("Message from %(who)s") % {"who": who}
    label = EVENT_LABELS.get(event.kind)
    if label:
        return str(label)
    return str(event.detail.get("label") or event.kind.replace(".", " ").replace("_", " ").capitalize())


@register.simple_tag
def event_note(event) -> str:
    """The event's note: in the reader's language when it was written as a timeline_note."""
    from laihua.cases.services import note_text

    found = (event.detail or {}).get("note_i18n")
    return note_text(found) if found else event.note
