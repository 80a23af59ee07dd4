from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from laihua.jobs.models import OutgoingEmail
from laihua.jobs.tasks import retry_failed


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(admin.ModelAdmin):
    """The outbox, read only: what was sent, what waits and why; failed e-mails can be sent again."""

    list_display = ("created_at", "subject", "recipients", "status", "attempts", "sent_at", "request_id")
    list_filter = ("status",)
    search_fields = ("subject", "request_id", "key")
    date_hierarchy = "created_at"
    actions = ["send_again"]
    readonly_fields = [field.name for field in OutgoingEmail._meta.fields]

    @admin.display(description=_("to"))
    def recipients(self, obj):
        return ", ".join(obj.to)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Send the selected failed e-mails again"))
    def send_again(self, request, queryset):
        count = retry_failed(queryset.values_list("pk", flat=True))
        self.message_user(
            request,
            ngettext("%(count)d e-mail queued again.", "%(count)d e-mails queued again.", count) % {"count": count},
            messages.SUCCESS,
        )
