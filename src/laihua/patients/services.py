"""Patients: registration, the patient's own profile and companions, and staff reading a profile.

A patient reads and changes only their own profile. Hospital staff read a patient's profile only when
the patient has a case at their hospital (the cases' one scoping query, `visible_cases`), and every
such read is audited, as is every change. Forms (patients/forms.py) hold the field rules, so the
pages and the API give the same translated, field-named errors; nothing is written unless all pass.
"""

from django.db import IntegrityError, transaction
from django.utils.text import capfirst
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from laihua.accounts.models import Role, User
from laihua.accounts.permissions import STAFF_ROLES, require_role
from laihua.audit.services import record_event
from laihua.errors import Conflict, InvalidInput, NotFound
from laihua.patients.forms import CompanionForm, PatientForm, RegistrationForm
from laihua.patients.models import Companion, Patient

MAX_COMPANIONS = 10


class FormInvalid(InvalidInput):
    """A form's errors: the first names its field (in the message too); pages show them all."""

    def __init__(self, form):
        self.form = form
        field, errors = next(iter(form.errors.items()))
        if field == "__all__":
            super().__init__(errors[0])
            return
        label = capfirst(form.fields[field].label) if field in form.fields else field
        super().__init__(_("%(field)s: %(error)s") % {"field": label, "error": errors[0]}, field=field)


def _language() -> str:
    from django.conf import settings

    language = get_language() or ""
    return language if language in dict(settings.LANGUAGES) else ""


def patient_for_user(user) -> Patient | None:
    """The patient profile of this account, or None (staff, anonymous, or a patient without one yet)."""
    if user is None or not user.is_authenticated or user.role != Role.PATIENT:
        return None
    return Patient.objects.filter(user=user).select_related("user").first()


def own_patient(actor) -> Patient:
    """The signed-in patient's own profile (NotFound when they have none yet)."""
    require_role(actor, [Role.PATIENT])
    patient = patient_for_user(actor)
    if patient is None:
        raise NotFound(_("You have no patient profile yet."))
    return patient


def _require_owner(actor, patient: Patient) -> None:
    require_role(actor, [Role.PATIENT])
    if patient.user_id != actor.pk:
        raise NotFound(_("No such patient."))


@transaction.atomic
def register_patient(data) -> Patient:
    """Create a patient account (username = e-mail) and its profile together, or nothing at all."""
    form = RegistrationForm(data)
    if not form.is_valid():
        raise FormInvalid(form)
    values = form.cleaned_data
    user = User(
        username=values["email"],
        email=values["email"],
        role=Role.PATIENT,
        first_name=values["given_names"][:150],
        last_name=values["family_name"][:150],
        preferred_language=_language(),
        preferred_currency=values["preferred_currency"],
    )
    user.set_password(values["password1"])
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:  # registered a moment ago by a parallel request
        raise Conflict(
            _("An account with this e-mail address already exists. Sign in instead."), field="email"
        ) from None
    patient = form.save(commit=False)
    patient.user = user
    patient.save()
    record_event(user, "patients.patient.register", patient, detail={"nationality": patient.nationality.code})
    return patient


@transaction.atomic
def create_profile(actor, data) -> Patient:
    """Give a patient account that has none (made by an administrator, say) its profile."""
    require_role(actor, [Role.PATIENT])
    if Patient.objects.filter(user=actor).exists():
        raise Conflict(_("You already have a patient profile."))
    form = PatientForm(data, user=actor)
    if not form.is_valid():
        raise FormInvalid(form)
    patient = form.save(commit=False)
    patient.user = actor
    patient.save()
    _sync_account(actor, patient, previous_email=actor.email)
    record_event(actor, "patients.patient.create", patient, detail={"changed": form.changed_data})
    return patient


def _sync_account(user: User, patient: Patient, *, previous_email: str) -> None:
    """Keep the account's e-mail (and username, where it is the e-mail) and currency with the profile."""
    if user.username.lower() == (previous_email or "").lower() and user.username != patient.email:
        user.username = patient.email
    user.email = patient.email
    user.preferred_currency = patient.preferred_currency
    user.save(update_fields=["username", "email", "preferred_currency"])


@transaction.atomic
def update_profile(actor, patient: Patient, data) -> Patient:
    """The patient changes their own profile; all fields are checked before anything is saved."""
    _require_owner(actor, patient)
    patient = Patient.objects.select_for_update().select_related("user").get(pk=patient.pk)
    previous_email = patient.email
    form = PatientForm(data, instance=patient)
    if not form.is_valid():
        raise FormInvalid(form)
    patient = form.save()
    _sync_account(patient.user, patient, previous_email=previous_email)
    record_event(actor, "patients.patient.update", patient, detail={"changed": form.changed_data})
    return patient


def get_patient_for(actor, patient_id: int) -> Patient:
    """A patient's profile for hospital staff whose hospital has a case of theirs (audited), or the
    patient's own; anyone else gets NotFound, never a hint that the patient exists."""
    require_role(actor, [Role.PATIENT, *STAFF_ROLES])
    patient = Patient.objects.filter(pk=patient_id).select_related("user").first()
    if actor.role == Role.PATIENT:
        if patient is None or patient.user_id != actor.pk:
            raise NotFound(_("No such patient."))
        return patient
    if patient is None or not cases_at_staff_hospital(actor, patient).exists():
        raise NotFound(_("No such patient."))
    record_event(actor, "patients.patient.view", patient, hospital=actor.hospital)
    return patient


def cases_at_staff_hospital(actor, patient: Patient):
    """The patient's cases at the staff member's own hospital (none for anyone else)."""
    if actor.role not in STAFF_ROLES or not actor.hospital_id:
        return patient.cases.none()
    return patient.cases.filter(hospital_id=actor.hospital_id).select_related(
        "patient", "hospital", "coordinator", "department"
    )


def companions_of(actor, patient: Patient):
    _require_owner(actor, patient)
    return patient.companions.all()


def get_companion(actor, companion_id: int) -> Companion:
    """One of the signed-in patient's own companions."""
    require_role(actor, [Role.PATIENT])
    companion = Companion.objects.filter(pk=companion_id, patient__user=actor).select_related("patient").first()
    if companion is None:
        raise NotFound(_("No such companion."))
    return companion


@transaction.atomic
def add_companion(actor, patient: Patient, data) -> Companion:
    """Add someone who travels with the patient."""
    _require_owner(actor, patient)
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if patient.companions.count() >= MAX_COMPANIONS:
        raise Conflict(_("At most %(count)d companions can travel with a patient.") % {"count": MAX_COMPANIONS})
    form = CompanionForm(data, instance=Companion(patient=patient))
    if not form.is_valid():
        raise FormInvalid(form)
    companion = form.save()
    record_event(actor, "patients.companion.add", companion, detail={"patient": patient.pk})
    return companion


@transaction.atomic
def update_companion(actor, companion_id: int, data) -> Companion:
    companion = get_companion(actor, companion_id)
    form = CompanionForm(data, instance=Companion.objects.select_for_update().get(pk=companion.pk))
    if not form.is_valid():
        raise FormInvalid(form)
    companion = form.save()
    record_event(
        actor,
        "patients.companion.update",
        companion,
        detail={"patient": companion.patient_id, "changed": form.changed_data},
    )
    return companion


@transaction.atomic
def remove_companion(actor, companion_id: int) -> None:
    companion = get_companion(actor, companion_id)
    record_event(actor, "patients.companion.remove", companion, detail={"patient": companion.patient_id})
    companion.delete()
