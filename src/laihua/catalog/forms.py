import re

from django import forms
from django.utils.translation import gettext_lazy as _

from laihua.catalog.models import CatalogItem, ComparableService, Kind
from laihua.hospitals.models import Department


def _lines(value: str) -> list[tuple[int, str]]:
    return [(number, line.strip()) for number, line in enumerate(value.splitlines(), start=1) if line.strip()]


class StandardCodesField(forms.Field):
    """Standard codes typed one per line as SYSTEM:code (the API gives a list of {system, code})."""

    widget = forms.Textarea(attrs={"rows": 3})

    def to_python(self, value):
        if value in self.empty_values:
            return []
        if isinstance(value, list | tuple):
            return [
                {"system": str(entry.get("system") or ""), "code": str(entry.get("code") or "")}
                if isinstance(entry, dict)
                else {"system": str(entry[0]), "code": str(entry[1])}
                for entry in value
            ]
        codes, errors = [], []
        for number, line in _lines(str(value)):
            system, colon, code = line.partition(":")
            if not colon or not system.strip() or not code.strip():
                errors.append(
                    forms.ValidationError(
                        _("Line %(line)s: “%(text)s” is not of the form SYSTEM:code."),
                        params={"line": number, "text": line},
                    )
                )
                continue
            codes.append({"system": system.strip(), "code": code.strip()})
        if errors:
            raise forms.ValidationError(errors)
        return codes

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return "\n".join(f"{entry.get('system', '')}:{entry.get('code', '')}" for entry in value)
        return value


# "MRI-01 x 2", "MRI-01 × 2", "MRI-01*2", or "MRI-01" alone for one.
_COMPONENT_LINE = re.compile(r"^(?P<code>.+?)(?:\s+[xX×]\s*|\s*[*×]\s*)(?P<quantity>[^\s*×]+)$")


class ComponentsField(forms.Field):
    """A package's services typed one per line as CODE x QUANTITY (the API gives a list of {code, quantity})."""

    widget = forms.Textarea(attrs={"rows": 4})

    def to_python(self, value):
        if value in self.empty_values:
            return []
        if isinstance(value, list | tuple):
            return [
                (str(entry.get("code") or ""), entry.get("quantity", 1)) if isinstance(entry, dict) else tuple(entry)
                for entry in value
            ]
        pairs, errors = [], []
        for number, line in _lines(str(value)):
            match = _COMPONENT_LINE.match(line)
            if match is None:
                pairs.append((line, 1))
                continue
            quantity = match["quantity"]
            if not quantity.isdigit():
                errors.append(
                    forms.ValidationError(
                        _("Line %(line)s: the quantity “%(value)s” is not a whole number."),
                        params={"line": number, "value": quantity},
                    )
                )
                continue
            pairs.append((match["code"].strip(), int(quantity)))
        if errors:
            raise forms.ValidationError(errors)
        return pairs

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return "\n".join(f"{code} x {quantity}" for code, quantity in value)
        return value


class ItemForm(forms.ModelForm):
    """The fields staff edit on a catalog item; used by the web form and the API alike.

    `standard_codes` and `components` keep their value when the data leaves them out (an API call
    without them, or a page that does not show the components of an item that is not a package)."""

    standard_codes = StandardCodesField(
        label=_("standard codes"),
        required=False,
        help_text=_("One per line, as SYSTEM:code, e.g. CPT:70551 or ICD-9-CM-3:81.51."),
    )
    components = ComponentsField(
        label=_("services in the package"),
        required=False,
        help_text=_(
            "Packages only: one service of this hospital's catalog per line, as CODE x QUANTITY, e.g. BED-01 x 7."
        ),
    )

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
            "standard_codes",
        ]

    def __init__(self, *args, hospital, **kwargs):
        super().__init__(*args, **kwargs)
        self.hospital = hospital
        self.instance.hospital = hospital
        self.fields["department"].queryset = Department.objects.filter(hospital=hospital)
        self.fields["comparable"].queryset = ComparableService.objects.all()
        if self.instance.pk and self.instance.kind == Kind.PACKAGE:
            self.initial.setdefault(
                "components",
                [
                    (c.item.code, c.quantity)
                    for c in self.instance.components.select_related("item").order_by("item__code")
                ],
            )

    def provided(self, name: str) -> bool:
        """Whether the data gives the field at all (a field left out keeps its value)."""
        field = self.fields[name]
        return not field.widget.value_omitted_from_data(self.data, self.files, self.add_prefix(name))

    def clean_components(self):
        """The (code, quantity) pairs given, or None to leave the package's components as they are."""
        return self.cleaned_data["components"] if self.provided("components") else None

    def clean_code(self):
        code = self.cleaned_data["code"].strip()
        clash = CatalogItem.objects.filter(hospital=self.hospital, code=code).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(_("Another item of this hospital already has this code."))
        return code


class PriceForm(forms.Form):
    effective_from = forms.DateField(
        label=_("effective from"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    amount_min = forms.DecimalField(label=_("price in CNY (from)"), min_value=0, max_digits=12, decimal_places=2)
    amount_max = forms.DecimalField(
        label=_("price in CNY (to)"),
        min_value=0,
        max_digits=12,
        decimal_places=2,
        required=False,
        help_text=_("Leave empty for a fixed price."),
    )
