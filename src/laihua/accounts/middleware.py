from django.conf import settings
from django.utils import translation


class UserLanguageMiddleware:
    """A signed-in user's remembered language wins when the URL carries no language prefix."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        prefixed = translation.get_language_from_path(request.path_info)
        if user is not None and user.is_authenticated and user.preferred_language and not prefixed:
            if user.preferred_language in dict(settings.LANGUAGES):
                translation.activate(user.preferred_language)
                request.LANGUAGE_CODE = user.preferred_language
        return self.get_response(request)
