from django.contrib import admin

from laihua.capacity.models import Booking, CapacityDay, Resource, ServiceUsage


class CapacityDayInline(admin.TabularInline):
    model = CapacityDay
    extra = 0


@admin.register(Resource)
class ResourceAdmin(admin.ModelAdmin):
    list_display = ["code", "hospital", "kind", "unit", "daily_capacity", "intl_share", "active"]
    list_filter = ["kind", "hospital"]
    inlines = [CapacityDayInline]


@admin.register(ServiceUsage)
class ServiceUsageAdmin(admin.ModelAdmin):
    list_display = ["item", "resource", "units", "day_offset", "days"]


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    """Read-only: bookings change through capacity.services only, so the counters stay true."""

    list_display = ["case", "item", "resource", "day", "units", "status", "created_at"]
    list_filter = ["status"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
