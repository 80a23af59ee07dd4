"""The second factor: authenticator apps (TOTP), passkeys (WebAuthn) and recovery codes.

django-otp keeps the devices and tells whether a session passed the second factor (`user.is_verified()`);
django-otp-webauthn runs the passkey ceremonies. This module holds Laihua's rules around them: who must
have a second factor (LAIHUA_MFA_REQUIRED_ROLES; anyone who added one), checking a code with limits,
recovery codes (kept only as keyed hashes, each working once), removing and resetting, and the audit.
"""

import base64
import io

from django.conf import settings
from django.db import transaction
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from laihua.accounts import throttle
from laihua.accounts.models import Role, User
from laihua.accounts.permissions import require_role
from laihua.accounts.services import TooManyRequests
from laihua.audit.services import record_event
from laihua.errors import Conflict, DomainError, InvalidInput, NotFound

RECOVERY_CODE_COUNT = 10
RECOVERY_DEVICE_NAME = "recovery codes"
TOTP_DEVICE_NAME = "authenticator app"
# The session remembers that this user needs no second factor, so that such a request costs no query.
NOT_NEEDED = "laihua_mfa_not_needed"
# Recovery codes just made, shown once on the next page and then forgotten.
NEW_CODES = "laihua_mfa_new_codes"

OK, VERIFY, ENROL = "ok", "verify", "enrol"


def required_for(user: User) -> bool:
    """Whether the deployment requires a second factor of this user's role (LAIHUA_MFA_REQUIRED_ROLES)."""
    return user.role in settings.LAIHUA_MFA_REQUIRED_ROLES


def factors(user: User) -> list:
    """The user's confirmed authenticator apps and passkeys (recovery codes are not a device to sign in with)."""
    apps = list(TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk"))
    passkeys = list(WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("pk"))
    return apps + passkeys


def has_factor(user: User) -> bool:
    return (
        TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        or WebAuthnCredential.objects.filter(user=user, confirmed=True).exists()
    )


def state(request) -> str:
    """OK, or what a signed-in session must do before anything else: VERIFY its second factor, or ENROL one."""
    user = request.user
    remembered = f"{user.pk}:{user.role}"  # a change of role asks again
    if request.session.get(NOT_NEEDED) == remembered or user.is_verified():
        return OK
    if has_factor(user):
        return VERIFY
    if required_for(user):
        return ENROL
    request.session[NOT_NEEDED] = remembered
    return OK


def mark_verified(request, device, method: str, **detail) -> None:
    """The session passed the second factor with this device: remember it, renew the session key, audit."""
    otp_login(request, device)
    request.session.pop(NOT_NEEDED, None)
    request.session.cycle_key()
    record_event(request.user, "accounts.mfa.verify", request.user, detail={"method": method, **detail})


# --- authenticator apps ------------------------------------------------------------------------------


def pending_totp(user: User) -> TOTPDevice:
    """The authenticator app being set up: one unconfirmed device per user, made on first need."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


def totp_secret(device: TOTPDevice) -> str:
    """The key as people type it into an app (base32, in groups of four)."""
    key = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


def totp_qr_svg(device: TOTPDevice) -> bytes:
    """The otpauth:// address as a QR code (SVG), drawn here: nothing leaves the server."""
    import segno

    out = io.BytesIO()
    segno.make(device.config_url, error="m").save(out, kind="svg", scale=5, border=2, xmldecl=False)
    return out.getvalue()


def _check_attempts(user: User) -> None:
    limit = settings.LAIHUA_MFA_FAILURE_LIMIT
    if throttle.over_limit("mfa", str(user.pk), limit=limit):
        minutes = settings.LAIHUA_MFA_COOLOFF_MINUTES
        raise TooManyRequests(
            ngettext(
                "Too many wrong codes: try again in %(minutes)d minute, or use a passkey.",
                "Too many wrong codes: try again in %(minutes)d minutes, or use a passkey.",
                minutes,
            )
            % {"minutes": minutes}
        )


def _failed(user: User, kind: str) -> None:
    throttle.hit("mfa", str(user.pk), limit=settings.LAIHUA_MFA_FAILURE_LIMIT, window_seconds=_cooloff())
    record_event(user, "accounts.mfa.verify_failed", user, detail={"kind": kind})


def _cooloff() -> int:
    return settings.LAIHUA_MFA_COOLOFF_MINUTES * 60


def confirm_totp(request, code: str) -> TOTPDevice:
    """Finish setting up an authenticator app with a code it shows; the session counts as verified."""
    _check_attempts(request.user)
    with transaction.atomic():
        device = _confirm_totp(request, code)
    if isinstance(device, DomainError):
        raise device
    return device


def _confirm_totp(request, code: str):
    user = request.user
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        return NotFound(_("Start again: no authenticator app is being set up."))
    if not device.verify_token(_digits(code)):
        _failed(user, "totp_setup")
        return InvalidInput(
            _("This code is not right. Check the time on your phone, and type the newest code."), field="code"
        )
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    record_event(user, "accounts.mfa.device.add", user, detail={"kind": "totp"})
    if not user.is_verified():
        mark_verified(request, device, "totp")
    ensure_recovery_codes(request)
    return device


def _digits(code: str) -> str:
    return "".join((code or "").split())


# --- checking a code at sign-in ------------------------------------------------------------------------


def _recovery_hash(code: str) -> str:
    """A keyed hash that fits django-otp's token column: the database alone cannot give a code back."""
    return salted_hmac("laihua.accounts.recovery-code", code, algorithm="sha256").hexdigest()[:16]


def _normalise_recovery(code: str) -> str:
    return "".join(ch for ch in (code or "").lower() if ch.isalnum())


def verify_code(request, code: str) -> None:
    """Pass the second factor with an authenticator app's code or a recovery code (which then stops working).

    Wrong codes are refused; each device slows down after a failure (django-otp), and the user is stopped for
    LAIHUA_MFA_COOLOFF_MINUTES after LAIHUA_MFA_FAILURE_LIMIT wrong codes, whichever device they aimed at.
    A refusal is raised after the transaction, so that the failure's count and audit are kept."""
    _check_attempts(request.user)
    with transaction.atomic():
        refusal = _verify(request, code)
    if refusal is not None:
        raise refusal


def _verify(request, code: str) -> InvalidInput | None:
    user = request.user
    digits = _digits(code)
    if digits.isdigit() and len(digits) == 6:
        throttled = False
        for device in TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True):
            throttled = throttled or not device.verify_is_allowed()[0]
            if device.verify_token(digits):
                device.set_last_used_timestamp()
                mark_verified(request, device, "totp")
                return None
        _failed(user, "totp")
        if throttled:
            return InvalidInput(_("Wait a few seconds after a wrong code before you try again."), field="code")
        return InvalidInput(_("This code is not right. Type the newest code your app shows."), field="code")
    recovery = _normalise_recovery(code)
    token = (
        StaticToken.objects.select_for_update()
        .select_related("device")
        .filter(device__user=user, device__confirmed=True, token=_recovery_hash(recovery))
        .first()
        if recovery
        else None
    )
    if token is None:
        _failed(user, "recovery_code")
        return InvalidInput(_("This is not a code of yours, or it was already used."), field="code")
    device = token.device
    token.delete()
    device.set_last_used_timestamp()
    left = device.token_set.count()
    mark_verified(request, device, "recovery_code", left=left)
    record_event(user, "accounts.mfa.recovery_code.use", user, detail={"left": left})
    return None


# --- recovery codes ------------------------------------------------------------------------------------


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


@transaction.atomic
def new_recovery_codes(request) -> list[str]:
    """Replace the user's recovery codes with new ones (shown once: only their keyed hashes are kept)."""
    user = request.user
    require_role(user, Role.values)
    if not has_factor(user):
        raise Conflict(_("Add an authenticator app or a passkey first: recovery codes stand in for them."))
    device, _created = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_DEVICE_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=_recovery_hash(code)) for code in codes])
    request.session[NEW_CODES] = codes
    record_event(user, "accounts.mfa.recovery_codes.generate", user, detail={"count": len(codes)})
    return codes


def ensure_recovery_codes(request) -> None:
    """Give a user who has just added their first device a set of recovery codes."""
    if recovery_codes_left(request.user) == 0:
        new_recovery_codes(request)


# --- managing devices ----------------------------------------------------------------------------------


def _device_of(user: User, kind: str, device_id: int):
    model = {"totp": TOTPDevice, "passkey": WebAuthnCredential}.get(kind)
    device = model.objects.filter(user=user, pk=device_id, confirmed=True).first() if model else None
    if device is None:
        raise NotFound(_("No such device."))
    return device


@transaction.atomic
def remove_factor(actor: User, kind: str, device_id: int) -> None:
    """Remove one of the actor's own authenticator apps or passkeys; the last one stays while the role needs it."""
    require_role(actor, Role.values)
    User.objects.select_for_update().filter(pk=actor.pk).first()  # one removal at a time per user
    device = _device_of(actor, kind, device_id)
    if len(factors(actor)) == 1 and required_for(actor):
        raise Conflict(_("Your role needs a second factor: add another one before you remove this one."))
    device.delete()
    record_event(actor, "accounts.mfa.device.remove", actor, detail={"kind": kind})
    if not has_factor(actor):
        StaticDevice.objects.filter(user=actor).delete()  # recovery codes mean nothing without a factor


@transaction.atomic
def reset_second_factor(actor: User | None, user: User, *, by_system: bool = False) -> int:
    """A platform admin (or the command line) removes every second factor of another account, e.g. a lost phone.

    The user then signs in with their password and, if their role needs one, sets up a new second factor."""
    if not by_system:
        require_role(actor, [Role.PLATFORM_ADMIN])
    removed = 0
    for model in (TOTPDevice, WebAuthnCredential, StaticDevice):
        count, _detail = model.objects.filter(user=user).delete()
        removed += count
    detail = {"user": user.username}
    if by_system:
        detail["by"] = "system"
    record_event(None if by_system else actor, "accounts.mfa.reset", user, hospital=user.hospital, detail=detail)
    return removed


def describe(device) -> dict:
    """What the settings page shows of a device."""
    kind = "passkey" if isinstance(device, WebAuthnCredential) else "totp"
    return {
        "kind": kind,
        "id": device.pk,
        "label": _("Passkey") if kind == "passkey" else _("Authenticator app"),
        "created_at": device.created_at,
        "last_used_at": device.last_used_at,
    }


def summary(user: User) -> dict:
    """The settings page's section on the second factor."""
    return {
        "factors": [describe(device) for device in factors(user)],
        "mfa_required": required_for(user),
        "recovery_left": recovery_codes_left(user),
    }
