from django.conf import settings
from django.urls import reverse
from django.utils import translation

from laihua.accounts.models import Role


class UserLanguageMiddleware:
    """A signed-in user's remembered language wins when the URL carries no language prefix, and the
    language they pick with the switcher is remembered on their account."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        prefixed = translation.get_language_from_path(request.path_info)
        if signed_in and not prefixed and user.preferred_language in dict(settings.LANGUAGES):
            translation.activate(user.preferred_language)
            request.LANGUAGE_CODE = user.preferred_language
        response = self.get_response(request)
        if signed_in and request.method == "POST" and request.path_info == reverse("set_language"):
            self._remember_switch(request, user, response)
        return response

    @staticmethod
    def _remember_switch(request, user, response):
        from laihua.accounts.services import set_preferences

        language = request.POST.get("language", "")
        accepted = response.status_code in (302, 204)  # set_language redirects, or answers 204 to fetch()
        if accepted and language in dict(settings.LANGUAGES) and language != user.preferred_language:
            set_preferences(user, language=language)


# Session keys: when this sign-in started, and when the session was last seen (seconds since the epoch).
SIGNED_IN_AT = "laihua_signed_in_at"
LAST_SEEN_AT = "laihua_last_seen_at"
SEEN_GRANULARITY = 60  # the last-seen time is written at most once a minute, not on every request


def idle_limit(user) -> int:
    """Seconds a session of this user may stay unused: staff briefly, patients longer (settings)."""
    minutes = settings.LAIHUA_STAFF_IDLE_MINUTES
    if not (user.is_hospital_staff or user.is_platform_admin or user.role in (Role.INSURER_AGENT, Role.INTERPRETER)):
        minutes = max(minutes, settings.LAIHUA_PATIENT_IDLE_MINUTES)
    return minutes * 60


class SessionLimitMiddleware:
    """A signed-in browser session ends after an idle time and at an absolute limit after sign-in.

    The next request after either limit is treated as signed out (a page asks to sign in again, the API
    answers 401). API tokens are not sessions: they expire on their own."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            self._check(request, user)
        return self.get_response(request)

    @staticmethod
    def _check(request, user):
        from django.contrib import messages
        from django.contrib.auth import logout
        from django.utils.translation import gettext as _

        from laihua.kit import clock

        now = int(clock.now().timestamp())
        session = request.session
        signed_in = session.setdefault(SIGNED_IN_AT, now)
        seen = session.get(LAST_SEEN_AT, now)
        idle = now - seen > idle_limit(user)
        if idle or now - signed_in > settings.LAIHUA_SESSION_MAX_HOURS * 3600:
            logout(request)  # flushes the session; request.user is now anonymous
            message = (
                _("You were signed out after %(minutes)d minutes without activity. Sign in again to go on.")
                % {"minutes": idle_limit(user) // 60}
                if idle
                else _("You were signed out because your session reached its time limit. Sign in again to go on.")
            )
            messages.info(request, message)
            return
        if now - seen >= SEEN_GRANULARITY or LAST_SEEN_AT not in session:
            session[LAST_SEEN_AT] = now


# Pages a session that still owes its second factor may open (everything else sends it to verify or enrol).
SECOND_FACTOR_PAGES = {
    "accounts:logout",
    "accounts:mfa_verify",
    "accounts:mfa_setup",
    "accounts:mfa_totp_qr",
    "accounts:mfa_recovery_codes",
    "set_language",
}
API_PREFIXES = ("/api/", "/fhir/")


class SecondFactorMiddleware:
    """After the password, a session must pass its second factor before any page or session API call works.

    A user with an authenticator app or a passkey is asked for it (accounts.mfa.VERIFY); a user whose role
    needs one and who has none sets one up first (ENROL). Meanwhile only the pages above (and the passkey
    ceremonies) answer; the JSON API treats the session as not signed in and says why. Personal API tokens
    are their own factor and are not affected."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not hasattr(request, "session"):
            return self.get_response(request)
        from laihua.accounts import mfa

        state = mfa.state(request)
        request.second_factor_state = state
        if state == mfa.OK:
            return self.get_response(request)
        if request.path_info.startswith(API_PREFIXES):
            from django.contrib.auth.models import AnonymousUser

            request.second_factor_pending_user = user
            request.user = AnonymousUser()  # a bearer token still works; the session does not
            return self.get_response(request)
        if self._allowed(request):
            return self.get_response(request)
        return self._send_to(request, "accounts:mfa_verify" if state == mfa.VERIFY else "accounts:mfa_setup")

    @staticmethod
    def _allowed(request) -> bool:
        from django.urls import Resolver404, resolve

        try:
            match = resolve(request.path_info)
        except Resolver404:
            return False
        return match.view_name in SECOND_FACTOR_PAGES or match.namespace == "otp_webauthn"

    @staticmethod
    def _send_to(request, name):
        from urllib.parse import urlencode

        from django.http import HttpResponse, HttpResponseRedirect

        url = reverse(name)
        if request.method == "GET":
            url += "?" + urlencode({"next": request.get_full_path()})
        if getattr(request, "htmx", False):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = url
            return response
        return HttpResponseRedirect(url)
