"""Pages: registration, the patient's own profile and companions, and a patient's profile for staff.

The passport number is shown in full only on the patient's own edit forms (sent with no-store);
everywhere else it is masked. Refusals escape as DomainErrors that kit.weberrors renders as a page.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from laihua.accounts.models import Role
from laihua.accounts.services import TooManyRequests
from laihua.errors import PermissionDenied
from laihua.kit.webcontext import display_currency
from laihua.patients import services
from laihua.patients.forms import CompanionForm, PatientForm, RegistrationForm, language_name


def _next_url(request) -> str:
    """Where to go after registering: a page of this site the visitor came from, else their profile."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def _private(response):
    """A page showing the plain passport number must not be kept by any cache."""
    response["Cache-Control"] = "no-store"
    return response


def register(request):
    next_url = _next_url(request)
    if request.user.is_authenticated:
        if request.user.role == Role.PATIENT:
            return redirect(next_url or "patients:profile")
        return render(request, "patients/register.html", {"signed_in": True})
    status = 200
    if request.method == "POST":
        try:
            sent = services.register_patient(request.POST, next_url=next_url)
        except services.FormInvalid as exc:
            form = exc.form
        except TooManyRequests as exc:
            form = RegistrationForm(request.POST)
            form.is_valid()
            form.add_error(None, str(exc.message))
            status = exc.status
        else:
            # The same answer whether the address was new or already had an account (its owner got an e-mail).
            request.session["registration_sent_to"] = request.POST.get("email", "").strip()
            if settings.DEMO_MODE and sent.message is not None:
                # The demo sends no e-mail (console backend): the page shows it, marked as the demo's.
                request.session["demo_email"] = {"subject": sent.message.subject, "body": sent.message.body}
            return redirect("patients:register_sent")
    else:
        currency = display_currency(request)
        form = RegistrationForm(initial={"preferred_currency": "USD" if currency == "CNY" else currency})
    return render(request, "patients/register.html", {"form": form, "next": next_url}, status=status)


def register_sent(request):
    """ "Check your e-mail": shown after every registration, whether the address was new or not."""
    context = {
        "email": request.session.get("registration_sent_to", ""),
        "demo_email": request.session.pop("demo_email", None) if settings.DEMO_MODE else None,
    }
    return render(request, "patients/register_sent.html", context)


def register_confirm(request, uidb64: str, token: str):
    """The link in the confirmation e-mail: a button confirms (a mail scanner's GET changes nothing)."""
    next_url = _next_url(request)
    if request.method == "POST":
        user = services.confirm_registration(uidb64, token)
        if user is not None:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            request.session.pop("registration_sent_to", None)
            name = user.patient.full_name if hasattr(user, "patient") else user.get_username()
            messages.success(request, _("Welcome, %(name)s: your account is ready.") % {"name": name})
            return redirect(next_url or "patients:profile")
        valid = False
    else:
        valid = services.pending_registration(uidb64, token) is not None
    return render(request, "patients/register_confirm.html", {"valid": valid, "next": next_url}, status=200)


def _profile_context(patient, **extra) -> dict:
    return {
        "patient": patient,
        "companions": patient.companions.all(),
        "language_names": [language_name(code) for code in patient.languages],
        **extra,
    }


def _own(request):
    if request.user.role != Role.PATIENT:
        raise PermissionDenied(_("This page is for patients."))
    return services.patient_for_user(request.user)


@login_required
def profile(request):
    patient = _own(request)
    if patient is None:
        return redirect("patients:profile_edit")
    return render(request, "patients/profile.html", _profile_context(patient))


@login_required
def profile_edit(request):
    patient = _own(request)
    if request.method == "POST":
        try:
            if patient is None:
                services.create_profile(request.user, request.POST)
            else:
                services.update_profile(request.user, patient, request.POST)
        except services.FormInvalid as exc:
            form = exc.form
        else:
            messages.success(request, _("Your profile is saved."))
            return redirect("patients:profile")
    elif patient is None:
        form = PatientForm(user=request.user, initial={"email": request.user.email})
    else:
        form = PatientForm(instance=patient)
    return _private(render(request, "patients/profile_form.html", {"form": form, "patient": patient}))


@login_required
def companion_add(request):
    patient = services.own_patient(request.user)
    if request.method == "POST":
        try:
            companion = services.add_companion(request.user, patient, request.POST)
        except services.FormInvalid as exc:
            form = exc.form
        else:
            messages.success(request, _("%(name)s is added as a companion.") % {"name": companion.full_name})
            return redirect(reverse("patients:profile") + "#companions")
    else:
        form = CompanionForm()
    return _private(render(request, "patients/companion_form.html", {"form": form, "companion": None}))


@login_required
def companion_edit(request, companion_id: int):
    companion = services.get_companion(request.user, companion_id)
    if request.method == "POST":
        try:
            companion = services.update_companion(request.user, companion_id, request.POST)
        except services.FormInvalid as exc:
            form = exc.form
        else:
            messages.success(request, _("%(name)s is saved.") % {"name": companion.full_name})
            return redirect(reverse("patients:profile") + "#companions")
    else:
        form = CompanionForm(instance=companion)
    return _private(render(request, "patients/companion_form.html", {"form": form, "companion": companion}))


@login_required
@require_POST
def companion_remove(request, companion_id: int):
    companion = services.get_companion(request.user, companion_id)
    services.remove_companion(request.user, companion_id)
    messages.success(request, _("%(name)s is no longer listed as a companion.") % {"name": companion.full_name})
    return redirect(reverse("patients:profile") + "#companions")


@login_required
def patient_detail(request, patient_id: int):
    """A patient's profile as hospital staff see it (passport masked; the read is audited)."""
    patient = services.get_patient_for(request.user, patient_id)
    if request.user.role == Role.PATIENT:
        return redirect("patients:profile")
    cases = services.cases_at_staff_hospital(request.user, patient)
    return render(request, "patients/patient_detail.html", _profile_context(patient, cases=cases))
