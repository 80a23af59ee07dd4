"""Quotes in the admin: read only. Every change goes through the services, which check and audit it."""

from django.contrib import admin

from laihua.quotes.models import Quote, QuoteLine


class ReadOnly:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class LineInline(ReadOnly, admin.TabularInline):
    model = QuoteLine
    extra = 0
    fields = ["position", "code", "description", "manual", "quantity", "unit_price_cny", "discount_cny", "amount_cny"]
    readonly_fields = fields


@admin.register(Quote)
class QuoteAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["number", "status", "total_cny", "currency", "valid_until", "sent_at", "accepted_at"]
    list_filter = ["status", "case__hospital"]
    search_fields = ["number", "case__reference"]
    inlines = [LineInline]
