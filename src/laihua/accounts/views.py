"""Signing in and out, password reset and change, and the settings page (preferences, API tokens)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy, translate_url
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from laihua.accounts import mfa, services
from laihua.accounts.forms import PreferencesForm, TokenForm
from laihua.accounts.models import Role
from laihua.errors import InvalidInput
from laihua.kit import clock


def _in_language(response, language: str):
    """Point a redirect at the same page in `language` and remember the language in its cookie."""
    if language not in dict(settings.LANGUAGES):
        return response
    response["Location"] = translate_url(response["Location"], language)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "mfa_required_roles": settings.LAIHUA_MFA_REQUIRED_ROLES}

    def form_valid(self, form):
        response = super().form_valid(form)
        return _in_language(response, form.get_user().preferred_language)


class PasswordResetForm(auth_forms.PasswordResetForm):
    def send_mail(self, *args, **kwargs):
        """Write each e-mail in the language its reader chose, else in the page's language."""
        context = args[2] if len(args) > 2 else kwargs["context"]
        language = context["user"].preferred_language or translation.get_language()
        with translation.override(language):
            super().send_mail(*args, **kwargs)


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PasswordResetForm
    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form):
        try:
            services.check_email_request("password_reset", form.cleaned_data["email"])
        except services.TooManyRequests as exc:
            form.add_error(None, str(exc.message))
            return self.render_to_response(self.get_context_data(form=form), status=exc.status)
        self.extra_email_context = {
            "site_url": settings.SITE_URL.rstrip("/"),
            "reset_days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
        }
        services.note_password_reset_requested(form.get_users(form.cleaned_data["email"]))
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        services.note_password_changed(form.user, by_reset=True)
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change_form.html"
    success_url = reverse_lazy("accounts:password_change_done")

    def form_valid(self, form):
        response = super().form_valid(form)
        services.note_password_changed(form.user, by_reset=False)
        return response


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"


@login_required
def home(request):
    """Where a signed-in user starts: their cases, receivables, the insurer portal, the audit trail, or settings."""
    role = request.user.role
    if role == Role.FINANCE:
        return redirect("billing:receivables")
    if role == Role.PATIENT or request.user.is_hospital_staff:
        return redirect("cases:list")
    if role == Role.PLATFORM_ADMIN:
        return redirect("audit:events")
    if role == Role.INSURER_AGENT:
        return redirect("insurance:portal")
    if role == Role.INTERPRETER:
        return redirect("planning:interpreter_day")
    return redirect("accounts:settings")


def _render_settings(request, *, preferences_form=None, token_form=None, new_token=None, new_secret=None):
    user = request.user
    initial = {
        "language": user.preferred_language or translation.get_language(),
        "currency": user.preferred_currency,
    }
    context = {
        "preferences_form": preferences_form or PreferencesForm(initial=initial),
        "token_form": token_form or TokenForm(),
        "tokens": services.active_api_tokens(user),
        "new_token": new_token,
        "new_secret": new_secret,
        "now": clock.now(),
        "token_days": settings.LAIHUA_TOKEN_DAYS,
        **mfa.summary(user),
    }
    response = render(request, "accounts/settings.html", context)
    if new_secret:
        response["Cache-Control"] = "no-store"  # the secret is shown once and never cached
    return response


@login_required
def settings_page(request):
    return _render_settings(request)


@login_required
@require_POST
def save_preferences(request):
    form = PreferencesForm(request.POST)
    if not form.is_valid():
        return _render_settings(request, preferences_form=form)
    language, currency = form.cleaned_data["language"], form.cleaned_data["currency"]
    try:
        services.set_preferences(request.user, language=language, currency=currency)
    except InvalidInput as exc:
        form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        return _render_settings(request, preferences_form=form)
    if currency:
        request.session["currency"] = currency
    else:
        request.session.pop("currency", None)
    translation.activate(language)
    messages.success(request, _("Your preferences are saved."))
    return _in_language(redirect("accounts:settings"), language)


@login_required
@require_POST
def create_token(request):
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _render_settings(request, token_form=form)
    token, secret = services.create_api_token(request.user, request.user, form.cleaned_data["name"])
    return _render_settings(request, new_token=token, new_secret=secret)


@login_required
@require_POST
def revoke_token(request, token_id: int):
    token = services.revoke_api_token(request.user, token_id, own_only=True)
    messages.success(request, _("The token “%(name)s” is revoked.") % {"name": token.name})
    return redirect(reverse("accounts:settings"))
