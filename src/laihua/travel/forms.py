"""Field rules for the invitation letter, the hospital's letter settings and the public entry check.

The services run these forms on whatever they are given (a page's POST, an API payload), so the
pages and the API give the same translated, field-named errors.
"""

import datetime

from django import forms
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from laihua.kit.i18n import TranslatedFormField
from laihua.travel.models import LetterSettings, Payer

MAX_STAY_DAYS = 3650
MAX_STAMP_BYTES = 2 * 1024 * 1024
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class StayFields(forms.Form):
    arrival = forms.DateField(label=_("arrival"), widget=DATE_WIDGET)
    departure = forms.DateField(label=_("departure"), widget=DATE_WIDGET)

    def clean(self):
        data = super().clean()
        arrival, departure = data.get("arrival"), data.get("departure")
        if arrival and departure:
            if departure < arrival:
                self.add_error("departure", _("The departure comes before the arrival."))
            elif (departure - arrival).days > MAX_STAY_DAYS:
                self.add_error("departure", _("A stay of more than ten years is not a visit."))
        return data


class GuidanceForm(StayFields):
    """The public check: a nationality and, optionally, the planned dates."""

    # A callable: Django evaluates plain choices once, at import, in the default language.
    nationality = forms.ChoiceField(label=_("nationality"), choices=lambda: list(countries))
    arrival = forms.DateField(label=_("arrival"), required=False, widget=DATE_WIDGET)
    departure = forms.DateField(label=_("departure"), required=False, widget=DATE_WIDGET)

    field_order = ["nationality", "arrival", "departure"]

    def clean(self):
        data = super().clean()
        if data.get("departure") and not data.get("arrival"):
            self.add_error("arrival", _("Give the arrival date with the departure date."))
        return data


class LetterForm(StayFields):
    purpose = forms.CharField(
        label=_("purpose of the visit"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Printed after “Medical treatment”: the department, the services, the treatment planned."),
    )
    payer = forms.ChoiceField(label=_("who pays"), choices=Payer.choices, widget=forms.RadioSelect)
    payer_name = forms.CharField(
        label=_("name of the insurer or payer"),
        max_length=200,
        required=False,
        help_text=_("Required when an insurer or someone else pays."),
    )
    companions = forms.MultipleChoiceField(
        label=_("companions on the letter"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Each one ticked is listed with their passport details."),
    )

    def __init__(self, *args, companions=(), today: datetime.date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["companions"].choices = [
            (str(companion.pk), f"{companion.full_name} ({companion.relation})") for companion in companions
        ]

    def clean_arrival(self):
        arrival = self.cleaned_data["arrival"]
        if self.today and arrival < self.today:
            raise forms.ValidationError(_("The arrival date has passed."))
        return arrival

    def clean_purpose(self):
        purpose = " ".join(self.cleaned_data["purpose"].split())
        if not purpose:
            raise forms.ValidationError(_("Say what the treatment is."))
        return purpose

    def clean(self):
        data = super().clean()
        payer, name = data.get("payer"), (data.get("payer_name") or "").strip()
        if payer in (Payer.INSURER, Payer.OTHER) and not name:
            self.add_error("payer_name", _("Name the insurer or the payer."))
        data["payer_name"] = name if payer != Payer.SELF else ""
        data["companions"] = [int(pk) for pk in data.get("companions") or []]
        return data


class LetterSettingsForm(forms.ModelForm):
    signatory_name = TranslatedFormField(label=_("signatory's name"), required_languages=("en", "zh-hans"))
    signatory_title = TranslatedFormField(label=_("signatory's title"), required_languages=("en", "zh-hans"))

    class Meta:
        model = LetterSettings
        fields = ("signatory_name", "signatory_title", "reference_prefix", "phone", "stamp")

    def clean_reference_prefix(self):
        prefix = self.cleaned_data["reference_prefix"].strip().upper()
        if prefix and not all(char.isascii() and (char.isalnum() or char == "-") for char in prefix):
            raise forms.ValidationError(_("Letters A to Z, digits and hyphens only."))
        return prefix

    def clean_stamp(self):
        stamp = self.cleaned_data.get("stamp")
        if stamp and hasattr(stamp, "content_type"):  # a new upload, not the stored file
            if stamp.size > MAX_STAMP_BYTES:
                raise forms.ValidationError(_("A stamp image of at most 2 MB."))
            head = stamp.read(8)
            stamp.seek(0)
            if not (head.startswith(b"\x89PNG\r\n\x1a\n") or head.startswith(b"\xff\xd8\xff")):
                raise forms.ValidationError(_("The stamp must be a PNG or JPEG image."))
        return stamp
