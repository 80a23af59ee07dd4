"""The platform admin maintains comparable services and reference prices abroad here; hospital catalogs
are edited by each hospital's own staff (Our catalog), so /admin shows them read-only."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from laihua.audit.admin import AuditedModelAdmin
from laihua.catalog.models import CatalogItem, ComparableService, PackageComponent, Price, ReferencePrice
from laihua.errors import InvalidInput
from laihua.kit.admin import LanguageLabelsMixin, https_urls
from laihua.kit.i18n import pick
from laihua.kit.money import normalise_currency


class ReferencePriceForm(forms.ModelForm):
    class Meta:
        model = ReferencePrice
        formfield_callback = https_urls
        fields = ("comparable", "country", "amount", "currency", "year", "source", "source_url", "note")

    def clean_currency(self):
        try:
            return normalise_currency(self.cleaned_data["currency"])
        except InvalidInput as exc:
            raise forms.ValidationError(str(exc.message)) from exc

    def clean_country(self):
        country = self.cleaned_data["country"].strip().upper()
        if len(country) != 2 or not country.isalpha():
            raise forms.ValidationError(_("Give the two-letter ISO 3166-1 code, e.g. US or GB."))
        return country


class ReferencePriceInline(LanguageLabelsMixin, admin.TabularInline):
    model = ReferencePrice
    form = ReferencePriceForm
    extra = 0


@admin.register(ComparableService)
class ComparableServiceAdmin(LanguageLabelsMixin, AuditedModelAdmin):
    list_display = ("key", "__str__")
    search_fields = ("key", "name")
    inlines = [ReferencePriceInline]


@admin.register(ReferencePrice)
class ReferencePriceAdmin(LanguageLabelsMixin, AuditedModelAdmin):
    form = ReferencePriceForm
    list_display = ("comparable", "country", "amount", "currency", "year", "source")
    list_filter = ("country", "year", "comparable")
    search_fields = ("source", "comparable__key")
    list_select_related = ("comparable",)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class PriceInline(ReadOnlyInline):
    model = Price
    fields = ("effective_from", "amount_min", "amount_max", "currency", "created_by", "created_at")
    readonly_fields = fields
    ordering = ("-effective_from",)


class ComponentInline(ReadOnlyInline):
    model = PackageComponent
    fk_name = "package"
    fields = ("item", "quantity")
    readonly_fields = fields


@admin.register(CatalogItem)
class CatalogItemAdmin(admin.ModelAdmin):
    """Read-only: each hospital's admins and coordinators edit their own catalog, with its price history."""

    list_display = ("code", "item_name", "hospital", "kind", "department", "active")
    list_filter = ("hospital", "kind", "active")
    search_fields = ("code", "search_text")
    list_select_related = ("hospital", "department")
    inlines = [PriceInline, ComponentInline]

    @admin.display(description=_("name"))
    def item_name(self, obj):
        return pick(obj.name)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
