"""Cases in /admin are read-only: staff and patients change a case through its page or the API, where
every rule (legal moves, who may do what, the audit trail) applies. Viewing a case here is audited."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from laihua.audit.services import record_event
from laihua.cases.models import Attachment, Case, CaseEvent, Message
from laihua.kit.i18n import pick


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class EventInline(ReadOnlyInline):
    model = CaseEvent
    fields = ("at", "kind", "actor", "from_state", "to_state", "note", "staff_only")
    readonly_fields = fields


class MessageInline(ReadOnlyInline):
    model = Message
    fields = ("created_at", "author", "internal", "body")
    readonly_fields = fields


class AttachmentInline(ReadOnlyInline):
    model = Attachment
    fields = ("created_at", "original_name", "kind", "content_type", "size", "internal", "uploaded_by", "sha256")
    readonly_fields = fields


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = ("reference", "hospital_name", "patient", "state", "coordinator", "created_at", "first_response_at")
    list_filter = ("state", "hospital")
    search_fields = ("reference", "patient__family_name", "patient__given_names")
    list_select_related = ("hospital", "patient", "coordinator")
    date_hierarchy = "created_at"
    inlines = [EventInline, MessageInline, AttachmentInline]
    exclude = ("services",)

    @admin.display(description=_("hospital"))
    def hospital_name(self, obj):
        return pick(obj.hospital.name)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        case = self.get_object(request, object_id)
        if case is not None:
            record_event(request.user, "admin.cases.case.view", case, hospital=case.hospital)
        return super().change_view(request, object_id, form_url, extra_context)
