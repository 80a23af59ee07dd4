"""Pages of the second factor: verify after the password, set up an authenticator app or a passkey, recovery
codes, and removing a device from the settings page. The rules are in accounts.mfa."""

from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from laihua.accounts import mfa
from laihua.accounts.services import TooManyRequests
from laihua.errors import DomainError


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=40,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autocapitalize": "off", "spellcheck": "false"}
        ),
    )


def _next(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def _no_store(response):
    response["Cache-Control"] = "no-store"
    return response


def _state(request) -> str:
    return getattr(request, "second_factor_state", None) or mfa.state(request)


@login_required
def verify(request):
    """After the password: a code from the authenticator app, a recovery code, or a passkey."""
    state, next_url = _state(request), _next(request)
    if state == mfa.ENROL:
        return redirect(_with_next("accounts:mfa_setup", next_url))
    if state == mfa.OK:
        return redirect(next_url or "accounts:home")
    status = 200
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            mfa.verify_code(request, form.cleaned_data["code"])
        except TooManyRequests as exc:
            form.add_error(None, str(exc.message))
            status = exc.status
        except DomainError as exc:
            form.add_error("code", str(exc.message))
        else:
            left = mfa.recovery_codes_left(request.user)
            if left <= 3:
                messages.warning(
                    request,
                    _("You have %(count)d recovery codes left: make new ones on your settings page.") % {"count": left},
                )
            return redirect(next_url or "accounts:home")
    kinds = {mfa.describe(device)["kind"] for device in mfa.factors(request.user)}
    context = {
        "form": form,
        "next": next_url,
        "has_app": "totp" in kinds,
        "has_passkey": settings.LAIHUA_PASSKEYS and "passkey" in kinds,
    }
    return _no_store(render(request, "accounts/mfa_verify.html", context, status=status))


@login_required
def setup(request):
    """Add an authenticator app (QR code and key) or a passkey: required for the role, or by choice."""
    state, next_url = _state(request), _next(request)
    if state == mfa.VERIFY:
        return redirect(_with_next("accounts:mfa_verify", next_url))
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            mfa.confirm_totp(request, form.cleaned_data["code"])
        except TooManyRequests as exc:
            form.add_error(None, str(exc.message))
            status = exc.status
        except DomainError as exc:
            form.add_error("code", str(exc.message))
        else:
            messages.success(request, _("Your authenticator app is set up."))
            return redirect(_codes_url(next_url))
    device = mfa.pending_totp(request.user)
    context = {
        "form": form,
        "next": next_url,
        "required": state == mfa.ENROL,
        "secret": mfa.totp_secret(device),
        "done_url": _codes_url(next_url),
        "passkeys": settings.LAIHUA_PASSKEYS,
    }
    return _no_store(render(request, "accounts/mfa_setup.html", context, status=status))


def _with_next(name: str, next_url: str) -> str:
    url = reverse(name)
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def _codes_url(next_url: str) -> str:
    return _with_next("accounts:mfa_recovery_codes", next_url)


@login_required
def totp_qr(request):
    """The QR code of the authenticator app being set up, as SVG (never cached: it holds the key)."""
    if _state(request) == mfa.VERIFY:
        return HttpResponse(status=403)
    svg = mfa.totp_qr_svg(mfa.pending_totp(request.user))
    return _no_store(HttpResponse(svg, content_type="image/svg+xml"))


@login_required
def recovery_codes(request):
    """New recovery codes once (right after they are made), else how many are left and a button for new ones."""
    if _state(request) != mfa.OK:
        return redirect("accounts:mfa_verify")
    if request.method == "POST":
        mfa.new_recovery_codes(request)
        return redirect(_codes_url(_next(request)))
    codes = request.session.pop(mfa.NEW_CODES, None)
    context = {"codes": codes, "left": mfa.recovery_codes_left(request.user), "next": _next(request)}
    return _no_store(render(request, "accounts/mfa_recovery_codes.html", context))


@login_required
@require_POST
def remove(request, kind: str, device_id: int):
    mfa.remove_factor(request.user, kind, device_id)
    messages.success(request, _("The device is removed: it no longer signs you in."))
    return redirect(reverse("accounts:settings") + "#second-factor")
