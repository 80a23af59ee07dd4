"""The platform admin edits the entry rules here (every change audited); each hospital's admin edits
its own letter settings on the site, and the platform admin may here too. Issued letters, which carry
passport numbers, are not shown in /admin."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from laihua.audit.admin import AuditedModelAdmin
from laihua.kit.admin import LanguageLabelsMixin, https_urls
from laihua.kit.i18n import pick
from laihua.travel.models import Accommodation, EntryScheme, LetterSettings, SchemeCountry, StayExtension


class SchemeCountryForm(forms.ModelForm):
    class Meta:
        model = SchemeCountry
        formfield_callback = https_urls
        fields = ("scheme", "country", "valid_from", "valid_until", "source_title", "source_url", "note")

    def clean(self):
        data = super().clean()
        start, end = data.get("valid_from"), data.get("valid_until")
        if start and end and end < start:
            self.add_error("valid_until", _("The last date comes before the first."))
        scheme, country = data.get("scheme"), data.get("country")
        if scheme and country and start:
            others = SchemeCountry.objects.filter(scheme=scheme, country=country).exclude(pk=self.instance.pk)
            for other in others:
                if start <= (other.valid_until or start.max) and other.valid_from <= (end or start.max):
                    self.add_error("valid_from", _("This country is already on this scheme for some of these dates."))
                    break
        return data


class SchemeCountryInline(LanguageLabelsMixin, admin.TabularInline):
    model = SchemeCountry
    form = SchemeCountryForm
    extra = 0
    fields = ("country", "valid_from", "valid_until", "source_title", "source_url")


@admin.register(EntryScheme)
class EntrySchemeAdmin(LanguageLabelsMixin, AuditedModelAdmin):
    list_display = ("code", "scheme_name", "max_stay_days", "medical_purpose", "all_nationalities", "active", "order")
    list_filter = ("active", "medical_purpose")
    search_fields = ("code", "name")
    inlines = [SchemeCountryInline]
    fieldsets = (
        (None, {"fields": ("code", "name", "order", "active")}),
        (
            _("Rules"),
            {
                "fields": (
                    "max_stay_days",
                    "medical_purpose",
                    "onward_ticket_required",
                    "only_in_cities",
                    "all_nationalities",
                    "conditions",
                    "notes",
                )
            },
        ),
        (_("Source"), {"fields": ("source_title", "source_url")}),
    )

    @admin.display(description=_("name"))
    def scheme_name(self, obj):
        return pick(obj.name)


@admin.register(SchemeCountry)
class SchemeCountryAdmin(LanguageLabelsMixin, AuditedModelAdmin):
    form = SchemeCountryForm
    list_display = ("country", "scheme", "valid_from", "valid_until", "source_title")
    list_filter = ("scheme", "valid_until")
    search_fields = ("country", "source_title")
    list_select_related = ("scheme",)
    date_hierarchy = "valid_from"


@admin.register(LetterSettings)
class LetterSettingsAdmin(LanguageLabelsMixin, AuditedModelAdmin):
    list_display = ("hospital", "signatory", "reference_prefix", "updated_at")
    list_select_related = ("hospital",)
    fields = ("hospital", "signatory_name", "signatory_title", "reference_prefix", "phone", "stamp")

    @admin.display(description=_("signatory"))
    def signatory(self, obj):
        return pick(obj.signatory_name) or "—"


@admin.register(StayExtension)
class StayExtensionAdmin(LanguageLabelsMixin, AuditedModelAdmin):
    """How each route's stay is extended in China, per period, with its source (the platform admin's)."""

    list_display = ("scheme", "valid_from", "valid_until", "apply_days_before", "processing_days", "source_title")
    list_filter = ("scheme",)
    list_select_related = ("scheme",)


@admin.register(Accommodation)
class AccommodationAdmin(LanguageLabelsMixin, AuditedModelAdmin):
    """Each hospital keeps its own on the site; the platform admin may correct any here."""

    list_display = ("accommodation_name", "hospital", "kind", "distance_m", "nightly_price_cny", "active")
    list_filter = ("hospital", "kind", "active")
    list_select_related = ("hospital",)

    @admin.display(description=_("name"))
    def accommodation_name(self, obj):
        return pick(obj.name)
