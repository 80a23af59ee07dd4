from django.contrib import admin

from laihua.audit.admin import AuditedModelAdmin
from laihua.insurance.models import Contract, Coverage, Guarantee, GuaranteeLine, Insurer, InsurerAgent


class InsurerAgentInline(admin.TabularInline):
    model = InsurerAgent
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Insurer)
class InsurerAdmin(AuditedModelAdmin):
    """The platform admin manages insurers, their contacts and API details, and links agent accounts."""

    list_display = ["name", "code", "country", "contact_email", "api_endpoint", "active", "is_demo"]
    list_filter = ["active", "is_demo"]
    search_fields = ["name", "code", "payer_id"]
    inlines = [InsurerAgentInline]


@admin.register(Contract)
class ContractAdmin(AuditedModelAdmin):
    list_display = ["insurer", "hospital", "direct_billing", "answer_hours", "currency", "active"]
    list_filter = ["direct_billing", "active", "insurer"]


@admin.register(Coverage)
class CoverageAdmin(AuditedModelAdmin):
    list_display = ["case", "insurer", "member_id", "valid_from", "valid_until"]
    raw_id_fields = ["case"]


class GuaranteeLineInline(admin.TabularInline):
    model = GuaranteeLine
    extra = 0
    can_delete = False
    readonly_fields = [f.name for f in GuaranteeLine._meta.fields]


@admin.register(Guarantee)
class GuaranteeAdmin(admin.ModelAdmin):
    """Read-only: GOP requests change through insurance.services only (timeline, audit, deadlines)."""

    list_display = ["number", "case", "insurer", "status", "deadline_at", "approved_amount", "approved_currency"]
    list_filter = ["status", "insurer"]
    inlines = [GuaranteeLineInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
