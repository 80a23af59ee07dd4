"""Who may do what, and personal API tokens."""

from collections.abc import Iterable

from django.db import transaction
from django.utils.translation import gettext as _

from laihua.accounts.models import ApiToken, Role, User, hash_token
from laihua.audit.services import record_event
from laihua.errors import NotFound, PermissionDenied
from laihua.kit import clock


def require_role(actor: User | None, roles: Iterable[str]) -> User:
    """The actor must be signed in with one of the roles."""
    if actor is None or not actor.is_authenticated:
        raise PermissionDenied(_("Sign in first."), code="unauthenticated", status=401)
    if actor.role not in set(roles):
        raise PermissionDenied()
    return actor


def require_hospital_staff(actor: User | None, hospital, roles: Iterable[str]) -> User:
    """The actor must be staff of this very hospital with one of the roles."""
    require_role(actor, roles)
    if actor.hospital_id is None or actor.hospital_id != hospital.pk:
        raise PermissionDenied(_("This belongs to another hospital."))
    return actor


CATALOG_EDITORS = (Role.HOSPITAL_ADMIN, Role.COORDINATOR)


@transaction.atomic
def create_api_token(actor: User, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token for `user` (themselves, or any user for a platform admin); return it and its secret."""
    if actor.pk != user.pk and not actor.is_platform_admin:
        raise PermissionDenied()
    name = (name or "").strip() or _("API token")
    secret = ApiToken.new_secret()
    token = ApiToken.objects.create(user=user, name=name[:100], key_hash=hash_token(secret), hint=secret[:10])
    record_event(actor, "accounts.api_token.create", token, detail={"user": user.username, "name": token.name})
    return token, secret


@transaction.atomic
def revoke_api_token(actor: User, token_id: int) -> ApiToken:
    token = ApiToken.objects.filter(pk=token_id, user=actor, revoked_at__isnull=True).first()
    if token is None:
        raise NotFound(_("No such token."))
    token.revoked_at = clock.now()
    token.save(update_fields=["revoked_at"])
    record_event(actor, "accounts.api_token.revoke", token)
    return token


def user_for_token(secret: str) -> User | None:
    """The active user a bearer token belongs to, or None."""
    if not secret or not secret.startswith(ApiToken.PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=hash_token(secret), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=clock.now())
    return token.user


@transaction.atomic
def set_preferences(actor: User, *, language: str | None = None, currency: str | None = None) -> User:
    from django.conf import settings

    from laihua.errors import InvalidInput
    from laihua.kit.money import normalise_currency

    if language is not None:
        if language not in dict(settings.LANGUAGES):
            raise InvalidInput(_("Unknown language."), field="language")
        actor.preferred_language = language
    if currency is not None:
        actor.preferred_currency = normalise_currency(currency) if currency else ""
    actor.save(update_fields=["preferred_language", "preferred_currency"])
    record_event(actor, "accounts.preferences.update", actor)
    return actor
