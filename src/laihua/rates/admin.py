"""The platform admin's exchange-rate table, for currencies the ECB reference rates lack."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from laihua.audit.admin import AuditedModelAdmin
from laihua.errors import InvalidInput
from laihua.kit.money import normalise_currency
from laihua.rates.models import ExchangeRate


class ExchangeRateForm(forms.ModelForm):
    class Meta:
        model = ExchangeRate
        fields = ("currency", "rate_date", "cny_per_unit", "source")
        help_texts = {"cny_per_unit": _("How many yuan one unit of the currency is worth on that date.")}

    def clean_currency(self):
        try:
            currency = normalise_currency(self.cleaned_data["currency"])
        except InvalidInput as exc:
            raise forms.ValidationError(str(exc.message)) from exc
        if currency == "CNY":
            raise forms.ValidationError(_("CNY is the base currency."))
        return currency

    def clean_cny_per_unit(self):
        value = self.cleaned_data["cny_per_unit"]
        if value is None or value <= 0:
            raise forms.ValidationError(_("a rate must be a number above zero."))
        return value


@admin.register(ExchangeRate)
class ExchangeRateAdmin(AuditedModelAdmin):
    form = ExchangeRateForm
    list_display = ("currency", "rate_date", "cny_per_unit", "source", "created_at")
    list_filter = ("currency",)
    search_fields = ("currency", "source")
    date_hierarchy = "rate_date"
