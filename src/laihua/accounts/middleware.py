from django.conf import settings
from django.urls import reverse
from django.utils import translation


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
