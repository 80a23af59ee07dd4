from django.contrib import admin

from laihua.planning.models import Itinerary, ItineraryItem, ServiceOrder, ServiceRule


@admin.register(ServiceRule)
class ServiceRuleAdmin(admin.ModelAdmin):
    list_display = ["item", "morning_only", "duration_minutes", "stay_days", "repeat"]
    list_filter = ["morning_only", "item__hospital"]
    search_fields = ["item__code"]


@admin.register(ServiceOrder)
class ServiceOrderAdmin(admin.ModelAdmin):
    list_display = ["before", "after", "min_gap_days", "max_gap_days", "note"]
    list_filter = ["before__hospital"]
    search_fields = ["before__code", "after__code"]


class ItineraryItemInline(admin.TabularInline):
    model = ItineraryItem
    extra = 0
    readonly_fields = ["day", "kind", "item", "starts_at", "ends_at", "resource", "warning", "booking_request"]


@admin.register(Itinerary)
class ItineraryAdmin(admin.ModelAdmin):
    list_display = ["case", "status", "feasible", "arrival", "departure", "stay_days", "greedy_stay_days", "created_at"]
    list_filter = ["status", "feasible"]
    inlines = [ItineraryItemInline]
    readonly_fields = ["reasons", "nearest", "orders"]
