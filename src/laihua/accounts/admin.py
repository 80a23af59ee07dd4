"""Users and API tokens in /admin, for the platform admin (the only role that reaches /admin).

/admin access follows the role: a platform admin is always staff and superuser, every other role never
(see accounts.signals). Every change made here writes an audit event.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from laihua.accounts import mfa, services
from laihua.accounts.models import HOSPITAL_STAFF_ROLES, ApiToken, Role, User
from laihua.audit.admin import AuditedModelAdmin
from laihua.audit.services import record_event

admin.site.site_header = _("Laihua administration")
admin.site.site_title = _("Laihua administration")
admin.site.index_title = _("Reference data, hospitals, rates and accounts")
admin.site.unregister(Group)  # only platform admins (superusers) use /admin: groups grant nothing here
# Second-factor devices hold secrets and change only through their owners (or the reset action below).
for _model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


def check_role_and_hospital(cleaned_data: dict) -> None:
    """Hospital staff and interpreters belong to exactly one hospital; other roles belong to none."""
    role, hospital = cleaned_data.get("role"), cleaned_data.get("hospital")
    if role in HOSPITAL_STAFF_ROLES and hospital is None:
        raise forms.ValidationError({"hospital": _("Hospital staff must belong to a hospital.")})
    if role == Role.INTERPRETER and hospital is None:
        raise forms.ValidationError({"hospital": _("An interpreter belongs to the hospital whose pool they are in.")})
    if role and role not in HOSPITAL_STAFF_ROLES and role != Role.INTERPRETER and hospital is not None:
        raise forms.ValidationError({"hospital": _("Only hospital staff belong to a hospital.")})


class UserCreationForm(auth_forms.AdminUserCreationForm):
    class Meta(auth_forms.AdminUserCreationForm.Meta):
        model = User
        fields = ("username", "email", "role", "hospital")

    def clean(self):
        cleaned = super().clean()
        check_role_and_hospital(cleaned)
        return cleaned


class UserChangeForm(auth_forms.UserChangeForm):
    class Meta(auth_forms.UserChangeForm.Meta):
        model = User

    def clean(self):
        cleaned = super().clean()
        check_role_and_hospital(cleaned)
        return cleaned


class ApiTokenInline(admin.TabularInline):
    model = ApiToken
    extra = 0
    can_delete = False
    fields = ("name", "hint", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(AuditedModelAdmin, auth_admin.UserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    list_display = ("username", "email", "role", "hospital", "is_active", "last_login")
    list_filter = ("role", "hospital", "is_active")
    list_select_related = ("hospital",)
    search_fields = ("username", "first_name", "last_name", "email")
    readonly_fields = ("is_staff", "is_superuser", "last_login", "date_joined")
    inlines = [ApiTokenInline]
    actions = ["reset_second_factor"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (
            _("Role"),
            {
                "fields": ("role", "hospital"),
                "description": _(
                    "Hospital staff see their own hospital's data only. Platform administrators "
                    "are the only users of this admin site."
                ),
            },
        ),
        (_("Preferences"), {"fields": ("preferred_language", "preferred_currency")}),
        (_("Status"), {"fields": ("is_active", "is_staff", "is_superuser", "last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "email",
                    "role",
                    "hospital",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )

    @admin.action(description=_("Reset the second factor of the selected users"))
    def reset_second_factor(self, request, queryset):
        """For a lost phone or passkey: the user signs in with the password and sets up a new second factor."""
        for user in queryset:
            mfa.reset_second_factor(request.user, user)
        self.message_user(
            request,
            ngettext(
                "The second factor of %(count)d user is reset.",
                "The second factor of %(count)d users is reset.",
                queryset.count(),
            )
            % {"count": queryset.count()},
            messages.SUCCESS,
        )

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            user = self.get_object(request, id)
            record_event(request.user, "admin.accounts.user.password", user)
        return response


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created by their owners (settings page, API) or with `laihua create_api_token`;
    here the platform admin sees them and can revoke them."""

    list_display = ("name", "user", "hint", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "user__username", "hint")
    list_select_related = ("user",)
    readonly_fields = ("user", "name", "hint", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        revoked = 0
        for token in queryset.filter(revoked_at__isnull=True):
            services.revoke_api_token(request.user, token.pk)
            revoked += 1
        self.message_user(
            request,
            ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", revoked) % {"count": revoked},
            messages.SUCCESS,
        )
