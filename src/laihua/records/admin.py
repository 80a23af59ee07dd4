"""Records in /admin: the platform's term list is edited here by platform administrators; clinical items,
documents, discharge summaries, consents and transfers are read-only (consents come only from the patient,
or from the hospital's staff recording a signed paper consent, through the records and insurance services)."""

from django.contrib import admin

from laihua.records.models import ClinicalItem, Consent, EpisodeSummary, IpsDocument, TermTranslation, Transfer


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(IpsDocument)
class IpsDocumentAdmin(ReadOnlyAdmin):
    list_display = ("identifier_value", "title", "case", "direction", "source_format", "item_count", "created_at")
    list_filter = ("direction", "source_format")
    search_fields = ("identifier_value", "title", "case__reference")
    raw_id_fields = ("patient", "case", "hospital", "imported_by")
    exclude = ("content",)


@admin.register(ClinicalItem)
class ClinicalItemAdmin(ReadOnlyAdmin):
    list_display = ("text", "kind", "status", "date", "case")
    list_filter = ("kind",)
    search_fields = ("text", "case__reference")
    raw_id_fields = ("document", "patient", "case")


@admin.register(TermTranslation)
class TermTranslationAdmin(admin.ModelAdmin):
    """The platform's list only: a hospital's overrides are its own staff's, on the term list page."""

    list_display = ("system", "code", "en", "zh_hans", "updated_at")
    search_fields = ("code", "en", "zh_hans")
    exclude = ("hospital", "updated_by")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(hospital__isnull=True)

    def save_model(self, request, obj, form, change):
        obj.hospital = None
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(EpisodeSummary)
class EpisodeSummaryAdmin(ReadOnlyAdmin):
    list_display = ("case", "completed_at", "completed_by")
    raw_id_fields = ("case", "completed_by")


@admin.register(Consent)
class ConsentAdmin(ReadOnlyAdmin):
    list_display = ("recipient_name", "use", "status", "period_start", "period_end", "case", "granted_at")
    list_filter = ("status", "use")
    exclude = ("paper_file",)
    raw_id_fields = ("patient", "case", "granted_by", "recorded_by")


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = ("recipient_email", "case", "sent_by", "sent_at")
    raw_id_fields = ("consent", "case", "sent_by")
