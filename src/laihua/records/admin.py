from django.contrib import admin

from laihua.records.models import ClinicalItem, Consent, EpisodeSummary, IpsDocument, TermTranslation, Transfer


@admin.register(IpsDocument)
class IpsDocumentAdmin(admin.ModelAdmin):
    list_display = ("identifier_value", "title", "case", "direction", "source_format", "item_count", "created_at")
    list_filter = ("direction", "source_format")
    search_fields = ("identifier_value", "title", "case__reference")
    raw_id_fields = ("patient", "case", "hospital", "imported_by")
    exclude = ("content",)


@admin.register(ClinicalItem)
class ClinicalItemAdmin(admin.ModelAdmin):
    list_display = ("text", "kind", "status", "date", "case")
    list_filter = ("kind",)
    search_fields = ("text", "case__reference")
    raw_id_fields = ("document", "patient", "case")


@admin.register(TermTranslation)
class TermTranslationAdmin(admin.ModelAdmin):
    list_display = ("system", "code", "en", "zh_hans", "updated_at")
    search_fields = ("code", "en", "zh_hans")


@admin.register(EpisodeSummary)
class EpisodeSummaryAdmin(admin.ModelAdmin):
    list_display = ("case", "completed_at", "completed_by")
    raw_id_fields = ("case", "completed_by")


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    list_display = ("recipient_name", "recipient_email", "status", "period_start", "period_end", "case")
    list_filter = ("status",)
    raw_id_fields = ("patient", "case", "granted_by")


@admin.register(Transfer)
class TransferAdmin(admin.ModelAdmin):
    list_display = ("recipient_email", "case", "sent_by", "sent_at")
    raw_id_fields = ("consent", "case", "sent_by")
