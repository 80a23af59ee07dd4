"""How API clients prove who they are: a personal token (Authorization: Bearer) or a signed-in session.

Every JSON and FHIR router declares `auth=AUTH`; the token is checked by `accounts.services.user_for_token`."""

from ninja.security import HttpBearer, django_auth

from laihua.accounts.services import user_for_token


class BearerToken(HttpBearer):
    def authenticate(self, request, token):
        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


bearer = BearerToken()
# Signed-in browsers (session + CSRF) and API clients (personal token) both reach the API.
AUTH = [bearer, django_auth]
