"""How API clients prove who they are: a personal token (Authorization: Bearer) or a signed-in session.

Every JSON and FHIR router declares `auth=AUTH`; the token is checked by `accounts.services.user_for_token`.
A session that has not yet passed its second factor is not signed in for the API
(accounts.middleware.SecondFactorMiddleware), and the answer says so."""

from django.utils.translation import gettext as _
from ninja.security import HttpBearer
from ninja.security.session import SessionAuth

from laihua.accounts.services import user_for_token
from laihua.errors import PermissionDenied


class BearerToken(HttpBearer):
    def authenticate(self, request, token):
        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


class Session(SessionAuth):
    """Django's session, once it has passed the second factor its user needs."""

    def __call__(self, request):
        if getattr(request, "second_factor_pending_user", None) is not None:
            raise PermissionDenied(
                _("Finish signing in first: confirm it is you with your second factor on the sign-in page."),
                code="second_factor_required",
                status=401,
            )
        return super().__call__(request)


bearer = BearerToken()
session_auth = Session()
# Signed-in browsers (session + CSRF) and API clients (personal token) both reach the API.
AUTH = [bearer, session_auth]
