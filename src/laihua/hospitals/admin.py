"""The platform admin maintains cities, hospitals and their departments; every change is audited."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from laihua.audit.admin import AuditedModelAdmin
from laihua.hospitals.models import City, Department, Hospital
from laihua.kit.admin import LanguageLabelsMixin
from laihua.kit.i18n import pick


@admin.register(City)
class CityAdmin(LanguageLabelsMixin, AuditedModelAdmin):
    list_display = ("slug", "__str__")
    search_fields = ("slug", "name")


class DepartmentInline(LanguageLabelsMixin, admin.TabularInline):
    model = Department
    extra = 0


@admin.register(Hospital)
class HospitalAdmin(LanguageLabelsMixin, AuditedModelAdmin):
    list_display = ("slug", "hospital_name", "city", "is_demo", "staff_count")
    list_filter = ("city", "is_demo")
    search_fields = ("slug", "name")
    list_select_related = ("city",)
    inlines = [DepartmentInline]
    fieldsets = (
        (None, {"fields": ("slug", "name", "city", "address", "description", "website", "is_demo")}),
        (_("Quality and languages"), {"fields": ("accreditations", "languages")}),
        (
            _("International department"),
            {"fields": ("intl_department", "intl_phone", "intl_email", "intl_hours")},
        ),
    )

    @admin.display(description=_("name"))
    def hospital_name(self, obj):
        return pick(obj.name)

    @admin.display(description=_("staff"))
    def staff_count(self, obj):
        return obj.staff.count()
