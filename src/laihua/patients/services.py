"""Patients: registration, the patient's own profile and companions, and staff reading a profile.

A patient reads and changes only their own profile. Hospital staff read a patient's profile only when
the patient has a case at their hospital (the cases' one scoping query, `visible_cases`), and every
such read is audited, as is every change. Forms (patients/forms.py) hold the field rules, so the
pages and the API give the same translated, field-named errors; nothing is written unless all pass.
"""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.text import capfirst
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from laihua.accounts.models import Role, User
from laihua.accounts.permissions import STAFF_ROLES, require_role
from laihua.accounts.services import check_email_request
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


class RegistrationTokens(PasswordResetTokenGenerator):
    """Links that confirm a registration: they work once (confirming changes the hash) and expire like reset links."""

    key_salt = "laihua.patients.registration"

    def _make_hash_value(self, user, timestamp):
        return f"{user.pk}{user.password}{user.is_active}{user.registration_pending}{timestamp}"


registration_tokens = RegistrationTokens()


@dataclass
class RegistrationSent:
    """What a registration did: `patient` is the new profile (None when the address already had an account),
    `message` the e-mail sent. Callers answer the visitor the same way in both cases."""

    patient: Patient | None
    message: EmailMessage | None


def _send(to: str, language: str, template: str, context: dict) -> EmailMessage:
    with translation.override(language or settings.LANGUAGE_CODE):
        context = {"site_url": settings.SITE_URL.rstrip("/"), **context}
        subject = " ".join(render_to_string(f"patients/email/{template}_subject.txt", context).split())
        body = render_to_string(f"patients/email/{template}.txt", context)
    message = EmailMessage(subject, body, to=[to])
    message.send()
    return message


def _confirmation_path(user: User, next_url: str) -> str:
    path = reverse(
        "patients:register_confirm",
        kwargs={"uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": registration_tokens.make_token(user)},
    )
    return f"{path}?{urlencode({'next': next_url})}" if next_url else path


def register_patient(data, *, next_url: str = "") -> RegistrationSent:
    """Start a patient account (username = e-mail) and its profile, or nothing at all.

    The account works once its owner opens the link e-mailed to the address. When the address already has
    an account, nothing is created and its owner gets an e-mail saying so instead: the visitor sees the same
    answer either way, so registration never tells whether an address is registered. An unconfirmed
    registration of the same address is replaced. Requests are counted per client and e-mail address.
    """
    form = RegistrationForm(data)
    if not form.is_valid():
        raise FormInvalid(form)
    values = form.cleaned_data
    email = values["email"]
    check_email_request("registration", email)  # its refusal is audited: outside the transaction below
    with transaction.atomic():
        return _register(form, email, _language(), next_url)


def _register(form, email: str, language: str, next_url: str) -> RegistrationSent:
    values = form.cleaned_data
    existing = User.objects.filter(Q(username__iexact=email) | Q(email__iexact=email)).order_by("pk").first()
    if existing is not None and existing.registration_pending:
        return _register_again(existing, form, email, language, next_url)
    if existing is not None:
        make_password(values["password1"])  # the same work as a new account's, so the time tells nothing either
        message = _send(
            existing.email or email,
            existing.preferred_language or language,
            "registration_exists",
            {"user": existing, "email": email},
        )
        record_event(None, "patients.patient.register_existing", existing)
        return RegistrationSent(None, message)
    user = User(
        username=email,
        email=email,
        role=Role.PATIENT,
        first_name=values["given_names"][:150],
        last_name=values["family_name"][:150],
        preferred_language=language,
        preferred_currency=values["preferred_currency"],
        is_active=False,
        registration_pending=True,
    )
    user.set_password(values["password1"])
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:  # registered a moment ago by a parallel request: answer as for any existing address
        return RegistrationSent(None, None)
    patient = form.save(commit=False)
    patient.user = user
    patient.save()
    record_event(user, "patients.patient.register", patient, detail={"nationality": patient.nationality.code})
    message = _send(
        email,
        language,
        "registration_confirm",
        {"user": user, "patient": patient, "path": _confirmation_path(user, next_url)},
    )
    return RegistrationSent(patient, message)


def _register_again(user: User, form, email: str, language: str, next_url: str) -> RegistrationSent:
    """A second registration of an address before the first was confirmed: the same unconfirmed account takes
    the new details and password (so the first link stops working). It is kept, not deleted, so that its
    audit trail stays whole."""
    values = form.cleaned_data
    user.first_name, user.last_name = values["given_names"][:150], values["family_name"][:150]
    user.preferred_language, user.preferred_currency = language, values["preferred_currency"]
    user.set_password(values["password1"])
    user.save()
    refreshed = type(form)(form.data, instance=Patient.objects.filter(user=user).first())
    if not refreshed.is_valid():
        raise FormInvalid(refreshed)
    patient = refreshed.save(commit=False)
    patient.user = user
    patient.save()
    record_event(user, "patients.patient.register", patient, detail={"nationality": patient.nationality.code})
    message = _send(
        email,
        language,
        "registration_confirm",
        {"user": user, "patient": patient, "path": _confirmation_path(user, next_url)},
    )
    return RegistrationSent(patient, message)


def pending_registration(uidb64: str, token: str) -> User | None:
    """The unconfirmed account a confirmation link names, if the link is still good."""
    try:
        pk = int(force_str(urlsafe_base64_decode(uidb64)))
    except (TypeError, ValueError, OverflowError):
        return None
    user = User.objects.filter(pk=pk, registration_pending=True, role=Role.PATIENT).first()
    if user is None or not registration_tokens.check_token(user, token):
        return None
    return user


@transaction.atomic
def confirm_registration(uidb64: str, token: str) -> User | None:
    """Open the account the link names (it works once); None when the link is wrong, used or expired."""
    user = pending_registration(uidb64, token)
    if user is None:
        return None
    user.is_active = True
    user.registration_pending = False
    user.save(update_fields=["is_active", "registration_pending"])
    record_event(user, "patients.patient.confirm", Patient.objects.filter(user=user).first())
    return user


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
