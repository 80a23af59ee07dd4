"""Passkeys through django-otp-webauthn's own views and browser script, with Laihua's audit, recovery codes and
messages in the page's language. Served under /webauthn/ (laihua.urls) in the package's namespace, which its
template tags and script expect."""

from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.i18n import JavaScriptCatalog
from django_otp_webauthn import exceptions
from django_otp_webauthn import views as package

from laihua.accounts import mfa
from laihua.audit.services import record_event

# The package's messages are English (and a few European languages): these are shown instead.
MESSAGES = {
    "not_authenticated": _("Sign in with your password first."),
    "user_not_verified": _("Confirm it is you with your existing second factor before you add a passkey."),
    "invalid_state": _("This passkey request has expired: try again."),
    "credential_not_found": _("This passkey is not registered with Laihua."),
    "credential_user_mismatch": _("This passkey belongs to another account."),
    "credential_disabled": _("This passkey is disabled."),
    "user_disabled": _("This account is disabled."),
    "unprocessable_request": _("The passkey could not be checked: try again, or use another way."),
    "malformed_request": _("The passkey request was not understood: reload the page and try again."),
    "error": _("Something went wrong with the passkey: try again, or use another way."),
    "passwordless_login_disabled": _("Sign in with your password first: a passkey is your second step."),
}


def _translated(response_or_exc):
    if isinstance(response_or_exc, exceptions.OTPWebAuthnApiError):
        code = getattr(response_or_exc, "code", "")
        if code in MESSAGES:
            response_or_exc.detail = str(MESSAGES[code])
    return response_or_exc


class Translated:
    def handle_exception(self, exc):
        return super().handle_exception(_translated(exc))


class BeginRegistration(Translated, package.BeginCredentialRegistrationView):
    pass


class CompleteRegistration(Translated, package.CompleteCredentialRegistrationView):
    """A new passkey: audited; the first second factor of an account also brings its recovery codes."""

    def post(self, *args, **kwargs):
        response = super().post(*args, **kwargs)
        if response.status_code == 200:
            record_event(self.request.user, "accounts.mfa.device.add", self.request.user, detail={"kind": "passkey"})
            self.request.session.pop(mfa.NOT_NEEDED, None)
            mfa.ensure_recovery_codes(self.request)
        return response


class BeginAuthentication(Translated, package.BeginCredentialAuthenticationView):
    pass


class CompleteAuthentication(Translated, package.CompleteCredentialAuthenticationView):
    """The second step with a passkey: the session is verified (and its key renewed), audited."""

    def complete_auth(self, device):
        device.set_last_used_timestamp()
        mfa.mark_verified(self.request, device, "passkey")

    def get_success_url(self):
        from django.shortcuts import resolve_url

        return self.get_redirect_url() or resolve_url("accounts:home")


app_name = "otp_webauthn"

urlpatterns = [
    path("registration/begin/", BeginRegistration.as_view(), name="credential-registration-begin"),
    path("registration/complete/", CompleteRegistration.as_view(), name="credential-registration-complete"),
    path("authentication/begin/", BeginAuthentication.as_view(), name="credential-authentication-begin"),
    path("authentication/complete/", CompleteAuthentication.as_view(), name="credential-authentication-complete"),
    # The script's messages: the package's own, and Chinese from the project's locale (djangojs.po).
    path(
        "jsi18n/",
        JavaScriptCatalog.as_view(packages=["django_otp_webauthn", "laihua.accounts"]),
        name="js-i18n-catalog",
    ),
]
