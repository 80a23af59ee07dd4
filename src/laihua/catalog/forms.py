from django import forms
from django.utils.translation import gettext_lazy as _

from laihua.catalog.models import CatalogItem, ComparableService
from laihua.hospitals.models import Department


class ItemForm(forms.ModelForm):
    """The fields staff edit on a catalog item; used by the web form and the API alike."""

    class Meta:
        model = CatalogItem
        fields = [
            "code",
            "kind",
            "department",
            "name",
            "description",
            "included",
            "excluded",
            "keywords",
            "comparable",
            "waiting_days",
            "duration_minutes",
            "stay_days",
            "active",
        ]

    def __init__(self, *args, hospital, **kwargs):
        super().__init__(*args, **kwargs)
        self.hospital = hospital
        self.instance.hospital = hospital
        self.fields["department"].queryset = Department.objects.filter(hospital=hospital)
        self.fields["comparable"].queryset = ComparableService.objects.all()

    def clean_code(self):
        code = self.cleaned_data["code"].strip()
        clash = CatalogItem.objects.filter(hospital=self.hospital, code=code).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(_("Another item of this hospital already has this code."))
        return code


class PriceForm(forms.Form):
    effective_from = forms.DateField(label=_("effective from"), widget=forms.DateInput(attrs={"type": "date"}))
    amount_min = forms.DecimalField(label=_("price in CNY (from)"), min_value=0, max_digits=12, decimal_places=2)
    amount_max = forms.DecimalField(
        label=_("price in CNY (to)"),
        min_value=0,
        max_digits=12,
        decimal_places=2,
        required=False,
        help_text=_("Leave empty for a fixed price."),
    )
