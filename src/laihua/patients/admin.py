"""Patients in /admin, read-only for the platform admin: the passport number is shown masked and is
neither searchable nor editable there; opening a profile is audited. Patients edit their own profile."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from laihua.audit.services import record_event
from laihua.patients.models import Companion, Patient


class ReadOnlyAdmin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CompanionInline(ReadOnlyAdmin, admin.TabularInline):
    model = Companion
    fields = ("family_name", "given_names", "relation", "sex", "date_of_birth", "nationality", "passport")
    readonly_fields = fields
    extra = 0

    @admin.display(description=_("passport number"))
    def passport(self, obj):
        return obj.passport_masked


@admin.register(Patient)
class PatientAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ("full_name", "nationality", "passport", "preferred_currency", "email", "created_at")
    list_filter = ("nationality", "preferred_currency", "sex")
    search_fields = ("family_name", "given_names", "email", "user__username")  # never the passport number
    fields = (
        "user",
        ("family_name", "given_names"),
        ("sex", "date_of_birth", "nationality"),
        ("passport", "passport_expiry"),
        ("languages", "preferred_currency"),
        ("email", "phone"),
        "address",
        ("emergency_name", "emergency_relation", "emergency_phone"),
        ("created_at", "updated_at"),
    )
    readonly_fields = [name for row in fields for name in (row if isinstance(row, tuple) else (row,))]
    inlines = [CompanionInline]
    list_select_related = ("user",)

    @admin.display(description=_("passport number"))
    def passport(self, obj):
        return obj.passport_masked

    def change_view(self, request, object_id, form_url="", extra_context=None):
        patient = self.get_object(request, object_id)
        if patient is not None:
            record_event(request.user, "admin.patients.patient.view", patient)
        return super().change_view(request, object_id, form_url, extra_context)
