"""Pages: the public entry check, issuing and downloading invitation letters, the hospital's letter
settings and the platform admin's overview of the entry rules. Each calls travel.services; a refusal
escapes as a DomainError that kit.weberrors renders as a page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from laihua.cases.services import get_case
from laihua.errors import Conflict, DomainError, InvalidInput
from laihua.travel import services
from laihua.travel.forms import GuidanceForm, LetterSettingsForm


def guidance(request):
    """Anyone: which entry route fits a nationality and dates."""
    form = GuidanceForm(request.GET or None)
    found = None
    if request.GET and form.is_valid():
        values = form.cleaned_data
        found = services.entry_guidance(
            nationality=values["nationality"], arrival=values["arrival"], departure=values["departure"]
        )
    return render(request, "travel/guidance.html", {"form": form, "guidance": found})


def _case_url(case) -> str:
    return reverse("cases:detail", args=[case.reference]) + "#travel"


@login_required
def letter_new(request, reference: str):
    case = get_case(request.user, reference, audit=None)
    services.require_letter_staff(request.user, case)
    services.require_letter_state(case)
    form = services.letter_form(case)
    if request.method == "POST":
        try:
            letter = services.issue_letter(request.user, reference, request.POST)
        except services.FormInvalid as exc:
            form = exc.form
        except DomainError as exc:
            form = services.letter_form(case, request.POST)
            form.is_valid()
            form.add_error(None, str(exc.message))
        else:
            messages.success(
                request,
                _("Invitation letter %(number)s is issued; the patient is told by e-mail.") % {"number": letter.number},
            )
            return redirect(_case_url(case))
    context = {
        "case": case,
        "form": form,
        "signatory_ready": services.letter_settings(case.hospital).has_signatory,
        "replaces": services.letters_for_case(request.user, case).filter(revoked=False).first(),
    }
    return render(request, "travel/letter_form.html", context)


@login_required
def letter_pdf(request, letter_id: int):
    letter, pdf = services.letter_pdf(request.user, letter_id)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="invitation-{letter.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def letter_revoke(request, letter_id: int):
    letter = services.revoke_letter(request.user, letter_id, reason=request.POST.get("reason", ""))
    messages.success(request, _("Letter %(number)s is revoked; it stays in the history.") % {"number": letter.number})
    return redirect(_case_url(letter.case))


@login_required
def letter_settings(request):
    """A hospital admin: who signs the hospital's invitation letters, its stamp, its letter numbers."""
    from laihua.kit.i18n import with_language_labels

    current = services.settings_for_admin(request.user)
    form = LetterSettingsForm(instance=current)
    if request.method == "POST":
        try:
            services.save_letter_settings(request.user, request.POST, request.FILES)
        except services.FormInvalid as exc:
            form = exc.form
        else:
            messages.success(request, _("The letter settings are saved."))
            return redirect("travel:letter_settings")
    context = {"form": with_language_labels(form), "hospital": request.user.hospital, "current": current}
    return render(request, "travel/letter_settings.html", context)


@login_required
def rules(request):
    """The platform admin's overview of the entry schemes and their countries, with links to edit them."""
    schemes = list(services.entry_rules(request.user))
    return render(request, "travel/rules.html", {"schemes": schemes})


# --- the patient's days in China (the case page's stay section, edited in place with htmx) ---------


def _stay_answer(request, case, *, done: str = "", error=None, open_form: str = ""):
    """The stay section again for htmx (200 with the error and what was typed: htmx swaps only successful
    answers), else back to the case page with a message."""
    from laihua.kit.weberrors import is_partial_request
    from laihua.travel.panels import stay_context

    if is_partial_request(request):
        context = stay_context(
            request,
            case,
            error=error,
            posted=request.POST if error is not None else None,
            open_form=open_form if error is not None else "",
        )
        response = render(request, "travel/_stay_panel.html", context)
        response["Cache-Control"] = "private, no-store"
        return response
    if error is not None:
        messages.error(request, str(error.message))
    elif done:
        messages.success(request, done)
    return redirect(reverse("cases:detail", args=[case.reference]) + "#stay")


def _stay_change(request, reference: str, change, *, done: str, open_form: str):
    case = get_case(request.user, reference, audit=None)
    try:
        change(case)
    except (InvalidInput, Conflict) as exc:
        return _stay_answer(request, case, error=exc, open_form=open_form)
    return _stay_answer(request, case, done=done)


@login_required
@require_POST
def flight_add(request, reference: str):
    return _stay_change(
        request,
        reference,
        lambda case: services.save_flight(request.user, case, request.POST),
        done=_("The flight is recorded."),
        open_form="flight",
    )


@login_required
@require_POST
def flight_remove(request, reference: str, flight_id: int):
    return _stay_change(
        request,
        reference,
        lambda case: services.remove_flight(request.user, case, flight_id),
        done=_("The flight is removed."),
        open_form="",
    )


@login_required
@require_POST
def pickup(request, reference: str):
    return _stay_change(
        request,
        reference,
        lambda case: services.set_pickup(request.user, case, request.POST),
        done=_("The airport pickup is saved."),
        open_form="pickup",
    )


@login_required
@require_POST
def booking_request(request, reference: str):
    return _stay_change(
        request,
        reference,
        lambda case: services.request_accommodation(request.user, case, request.POST),
        done=_("The accommodation request is recorded."),
        open_form="accommodation",
    )


@login_required
@require_POST
def booking_status(request, reference: str, booking_id: int):
    return _stay_change(
        request,
        reference,
        lambda case: services.set_booking_status(request.user, case, booking_id, request.POST),
        done=_("The accommodation booking is saved."),
        open_form="",
    )


@login_required
@require_POST
def companions(request, reference: str):
    return _stay_change(
        request,
        reference,
        lambda case: services.set_companions(request.user, case, request.POST),
        done=_("Who stays with the patient is saved."),
        open_form="companions",
    )


@login_required
@require_POST
def entry(request, reference: str):
    return _stay_change(
        request,
        reference,
        lambda case: services.set_entry(request.user, case, request.POST),
        done=_("The entry route is saved."),
        open_form="entry",
    )


@login_required
def accommodations(request):
    """The hospital's partner hotels and serviced apartments: its desk adds and changes them, its staff read."""
    from laihua.kit.i18n import with_language_labels
    from laihua.travel.stayforms import AccommodationForm

    places = list(services.hospital_accommodations(request.user))
    form, status = AccommodationForm(initial={"active": True}), 200
    if request.method == "POST":
        try:
            place = services.save_accommodation(request.user, request.POST)
        except services.FormInvalid as exc:
            form, status = exc.form, 422
        else:
            messages.success(request, _("%(name)s is added.") % {"name": place})
            return redirect("travel:accommodations")
    context = {
        "places": places,
        "form": with_language_labels(form),
        "can_edit": request.user.role in services.LETTER_ROLES,
        "hospital": request.user.hospital,
    }
    return render(request, "travel/accommodations.html", context, status=status)


@login_required
def accommodation_edit(request, accommodation_id: int):
    from laihua.kit.i18n import with_language_labels
    from laihua.travel.stayforms import AccommodationForm

    place = services.get_accommodation(request.user, accommodation_id)
    form, status = AccommodationForm(instance=place), 200
    if request.method == "POST":
        try:
            place = services.save_accommodation(request.user, request.POST, pk=place.pk)
        except services.FormInvalid as exc:
            form, status = exc.form, 422
        else:
            messages.success(request, _("%(name)s is saved.") % {"name": place})
            return redirect("travel:accommodations")
    context = {"place": place, "form": with_language_labels(form), "hospital": request.user.hospital}
    return render(request, "travel/accommodation_edit.html", context, status=status)
