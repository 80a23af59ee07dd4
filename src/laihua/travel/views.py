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
from laihua.errors import DomainError
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
