"""Audit sign-ins, sign-outs, refused sign-ins and lockouts; keep /admin access tied to the role."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from laihua.accounts.models import Role, User
from laihua.accounts.services import revoke_tokens_after_password_change
from laihua.audit.services import record_event


def _account_named(username: str) -> User | None:
    """The account a sign-in attempt named, so that its hospital's admins see the attempt."""
    if not username:
        return None
    return User.objects.select_related("hospital").filter(username=username).first()


@receiver(user_logged_in)
def on_login(sender, request, user, **kwargs):
    record_event(user, "auth.login", user)


@receiver(user_logged_out)
def on_logout(sender, request, user, **kwargs):
    if user is not None:
        record_event(user, "auth.logout", user)


@receiver(user_login_failed)
def on_login_failed(sender, credentials, request=None, **kwargs):
    username = credentials.get("username", "") or ""
    record_event(None, "auth.login_failed", _account_named(username), detail={"username": username})


@receiver(user_locked_out)
def on_locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    username = username or ""
    record_event(None, "auth.locked_out", _account_named(username), detail={"username": username})


@receiver(pre_save, sender=User)
def admin_site_access_follows_role(sender, instance: User, raw=False, **kwargs):
    """Only platform admins use /admin, as superusers; every other role is kept out of it.

    `laihua createsuperuser` creates a superuser without a role: that account becomes a platform admin.
    """
    if raw:
        return
    if instance._state.adding and instance.is_superuser and instance.role == Role.PATIENT:
        instance.role = Role.PLATFORM_ADMIN
    is_platform_admin = instance.role == Role.PLATFORM_ADMIN
    instance.is_staff = is_platform_admin
    instance.is_superuser = is_platform_admin


@receiver(post_save, sender=User)
def revoke_tokens_on_password_change(sender, instance: User, created=False, raw=False, **kwargs):
    """Personal API tokens stop working when the password changes or is reset.

    set_password() keeps the new password on the instance until save() has run (and these signals with it);
    a hash upgrade at sign-in clears it before saving, so only a real change is seen here: the settings page,
    the reset link, /admin, `laihua changepassword`."""
    if raw or created or getattr(instance, "_password", None) is None:
        return
    revoke_tokens_after_password_change(instance)
