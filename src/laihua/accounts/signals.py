"""Audit sign-ins, sign-outs and refused sign-ins; apply the user's language on sign-in."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from laihua.audit.services import record_event


@receiver(user_logged_in)
def on_login(sender, request, user, **kwargs):
    record_event(user, "auth.login", user)


@receiver(user_logged_out)
def on_logout(sender, request, user, **kwargs):
    if user is not None:
        record_event(user, "auth.logout", user)


@receiver(user_login_failed)
def on_login_failed(sender, credentials, request=None, **kwargs):
    record_event(None, "auth.login_failed", None, detail={"username": credentials.get("username", "")})
