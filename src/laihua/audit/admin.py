"""The audit trail in /admin (read-only), and the base class that audits every change made in /admin."""

from django.contrib import admin

from laihua.audit.models import AuditEvent
from laihua.audit.services import record_event


def _action(obj, verb: str) -> str:
    return f"admin.{obj._meta.label_lower}.{verb}"


class AuditedModelAdmin(admin.ModelAdmin):
    """Every addition, change and deletion through /admin writes an audit event (inlines included)."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        record_event(
            request.user,
            _action(obj, "change" if change else "create"),
            obj,
            detail={"changed": list(form.changed_data)},
        )

    def delete_model(self, request, obj):
        record_event(request.user, _action(obj, "delete"), obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            record_event(request.user, _action(obj, "delete"), obj)
        super().delete_queryset(request, queryset)

    def save_formset(self, request, form, formset, change):
        for deleted in formset.deleted_forms:  # recorded first: a deleted row loses its id
            if deleted.instance.pk is not None:
                record_event(request.user, _action(deleted.instance, "delete"), deleted.instance)
        super().save_formset(request, form, formset, change)
        for obj in formset.new_objects:
            record_event(request.user, _action(obj, "create"), obj)
        for obj, changed in formset.changed_objects:
            record_event(request.user, _action(obj, "change"), obj, detail={"changed": list(changed)})


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: audit events are never added, changed or deleted by hand."""

    list_display = (
        "at",
        "actor_label",
        "actor_role",
        "action",
        "object_type",
        "object_id",
        "hospital",
        "ip_address",
        "channel",
    )
    list_filter = ("channel", "actor_role", "hospital")
    search_fields = ("action", "actor_label", "object_label", "object_id")
    date_hierarchy = "at"
    list_select_related = ("hospital",)
    actions = None

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
