"""Billing in the admin: read only. Every change goes through the services, which check and audit it."""

from django.contrib import admin

from laihua.billing.models import Claim, Invoice, InvoiceLine, Payment, WriteOff


class ReadOnly:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class LineInline(ReadOnly, admin.TabularInline):
    model = InvoiceLine
    extra = 0
    fields = ["position", "source", "code", "quantity", "unit_price_cny", "amount_cny", "insurer_cny", "patient_cny"]
    readonly_fields = fields


class PaymentInline(ReadOnly, admin.TabularInline):
    model = Payment
    extra = 0
    fields = [
        "received_on",
        "kind",
        "method",
        "reference",
        "amount",
        "currency",
        "amount_cny",
        "settled_cny",
        "exchange_difference_cny",
        "idempotency_key",
    ]
    readonly_fields = fields


class WriteOffInline(ReadOnly, admin.TabularInline):
    model = WriteOff
    extra = 0
    fields = ["part", "amount_cny", "reason", "status", "requested_by", "decided_by"]
    readonly_fields = fields


@admin.register(Invoice)
class InvoiceAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["__str__", "status", "hospital", "insurer_name", "total_cny", "insurer_cny", "patient_cny"]
    list_filter = ["status", "hospital"]
    search_fields = ["number", "case__reference"]
    inlines = [LineInline, PaymentInline, WriteOffInline]


@admin.register(Claim)
class ClaimAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["number", "status", "insurer_name", "amount_cny", "submitted_at"]
    list_filter = ["status", "insurer"]
    search_fields = ["number", "invoice__number"]
