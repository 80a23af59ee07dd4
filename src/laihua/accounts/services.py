"""Who may do what, and personal API tokens."""

import datetime
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from laihua.accounts.models import ApiToken, Role, User, hash_token
from laihua.accounts.permissions import require_hospital_staff, require_role  # noqa: F401 - callers move to permissions
from laihua.audit.services import record_event
from laihua.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from laihua.kit import clock, requestctx
from laihua.kit.money import normalise_currency

CATALOG_EDITORS = (Role.HOSPITAL_ADMIN, Role.COORDINATOR)


@transaction.atomic
def create_api_token(actor: User | None, user: User, name: str, *, by_system: bool = False) -> tuple[ApiToken, str]:
    """Create a token for `user` and return it with its secret, which is never stored.

    Users create their own tokens; a platform admin may create one for anyone; `by_system` is the
    command line acting as the system (no signed-in actor), and is audited as such.
    """
    if not by_system:
        require_role(actor, Role.values)
        if actor.pk != user.pk and not actor.is_platform_admin:
            raise PermissionDenied()
    if not user.is_active:
        raise InvalidInput(_("This account is disabled."), field="user")
    name = (name or "").strip() or _("API token")
    secret = ApiToken.new_secret()
    expires_at = clock.now() + datetime.timedelta(days=settings.LAIHUA_TOKEN_DAYS)
    token = ApiToken.objects.create(
        user=user, name=name[:100], key_hash=hash_token(secret), hint=secret[:10], expires_at=expires_at
    )
    detail = {"user": user.username, "name": token.name, "expires_at": expires_at.isoformat()}
    if by_system:
        detail["by"] = "system"
    record_event(
        None if by_system else actor,
        "accounts.api_token.create",
        token,
        hospital=user.hospital,
        detail=detail,
    )
    return token, secret


def active_api_tokens(actor: User):
    """The actor's own tokens that are not revoked (expired ones included, to be seen and removed), newest first."""
    require_role(actor, Role.values)
    return ApiToken.objects.filter(user=actor, revoked_at__isnull=True).order_by("-created_at")


def revoke_tokens_after_password_change(user: User) -> int:
    """A new password ends every personal token of the account: whoever knew the old one may have made one."""
    tokens = list(ApiToken.objects.filter(user=user, revoked_at__isnull=True))
    now = clock.now()
    for token in tokens:
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=now)
        record_event(
            None,
            "accounts.api_token.revoke",
            token,
            hospital=user.hospital,
            detail={"user": user.username, "name": token.name, "reason": "password_changed"},
        )
    return len(tokens)


@transaction.atomic
def revoke_api_token(actor: User, token_id: int, *, own_only: bool = False) -> ApiToken:
    """Revoke one of the actor's own tokens (a platform admin may revoke anyone's, unless `own_only`)."""
    require_role(actor, Role.values)
    tokens = ApiToken.objects.select_related("user").filter(pk=token_id, revoked_at__isnull=True)
    if own_only or not actor.is_platform_admin:
        tokens = tokens.filter(user=actor)
    token = tokens.first()
    if token is None:
        raise NotFound(_("No such token."))
    token.revoked_at = clock.now()
    token.save(update_fields=["revoked_at"])
    record_event(
        actor,
        "accounts.api_token.revoke",
        token,
        hospital=token.user.hospital,
        detail={"user": token.user.username, "name": token.name},
    )
    return token


TOKEN_USE_RESOLUTION = datetime.timedelta(minutes=1)


def user_for_token(secret: str) -> User | None:
    """The active user a bearer token belongs to, or None; a token past its expiry is refused by name."""
    if not secret or not secret.startswith(ApiToken.PREFIX):
        return None
    found = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=hash_token(secret), revoked_at__isnull=True, user__is_active=True)
        .order_by()[:1]
    )
    token = next(iter(found), None)
    if token is None:
        return None
    now = clock.now()
    if token.expires_at <= now:
        expired_on = timezone.localtime(token.expires_at).date().isoformat()
        raise PermissionDenied(
            _("This API token expired on %(date)s. Create a new one on your settings page.") % {"date": expired_on},
            code="token_expired",
            status=401,
        )
    # "Last used" is kept to the minute: a write on every request would double the cost of each API call.
    if token.last_used_at is None or now - token.last_used_at >= TOKEN_USE_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


@transaction.atomic
def set_preferences(actor: User, *, language: str | None = None, currency: str | None = None) -> User:
    """Remember the actor's language and display currency (an empty currency means "choose on each page")."""
    require_role(actor, Role.values)
    if language is not None:
        if language not in dict(settings.LANGUAGES):
            raise InvalidInput(_("Unknown language."), field="language")
        actor.preferred_language = language
    if currency is not None:
        actor.preferred_currency = normalise_currency(currency) if currency else ""
    actor.save(update_fields=["preferred_language", "preferred_currency"])
    record_event(
        actor,
        "accounts.preferences.update",
        actor,
        detail={"language": actor.preferred_language, "currency": actor.preferred_currency},
    )
    return actor


def note_password_reset_requested(users: Iterable[User]) -> None:
    """Audit a password reset e-mail sent to each of these accounts."""
    for user in users:
        record_event(None, "accounts.password_reset.request", user)


def note_password_changed(user: User, *, by_reset: bool) -> None:
    """Audit a password change; a reset through the e-mailed link also lifts a sign-in lockout."""
    if by_reset:
        from axes.utils import reset as reset_lockouts

        reset_lockouts(username=user.get_username())
    action = "accounts.password_reset.complete" if by_reset else "accounts.password.change"
    record_event(user, action, user)


class TooManyRequests(DomainError):
    code = "too_many_requests"
    status = 429


def check_email_request(scope: str, email: str) -> None:
    """Count a request that sends e-mail (a password reset, a registration) against its client address and
    against the e-mail address it names; refuse it with 429 past either limit. The count does not depend on
    whether an account has that address, so the answer tells nothing about it."""
    from laihua.accounts import throttle

    window = settings.LAIHUA_EMAIL_LIMIT_WINDOW_MINUTES * 60
    address = requestctx.client_ip.get()
    allowed_address = throttle.hit(
        f"{scope}:address", address, limit=settings.LAIHUA_EMAIL_LIMIT_PER_ADDRESS, window_seconds=window
    )
    allowed_email = throttle.hit(
        f"{scope}:email",
        (email or "").strip().lower(),
        limit=settings.LAIHUA_EMAIL_LIMIT_PER_EMAIL,
        window_seconds=window,
    )
    if allowed_address and allowed_email:
        return
    by = "address" if not allowed_address else "email"
    record_event(None, f"accounts.{scope}.throttled", None, detail={"by": by})
    minutes = settings.LAIHUA_EMAIL_LIMIT_WINDOW_MINUTES
    raise TooManyRequests(
        ngettext(
            "Too many requests: try again in %(minutes)d minute.",
            "Too many requests: try again in %(minutes)d minutes.",
            minutes,
        )
        % {"minutes": minutes}
    )
