"""The inquiry and board-filter forms. The services validate with these, so the pages and the API share
every rule and every (translated) message."""

from django import forms
from django.utils.translation import gettext_lazy as _

from laihua.cases.states import State
from laihua.catalog.models import CatalogItem
from laihua.hospitals.models import Hospital
from laihua.kit import clock

MAX_FILES = 10
MAX_DESCRIPTION = 5000
MAX_MESSAGE = 10000


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; each is checked by its content later (cases.uploads), not here."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if len(files) > MAX_FILES:
            raise forms.ValidationError(
                _("Attach at most %(count)d files at a time.") % {"count": MAX_FILES}, code="too_many"
            )
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


def offered_services():
    """The catalog items a patient may ask about: offered, with a price in force today."""
    from laihua.catalog.services import published

    return published()


class InquiryForm(forms.Form):
    hospitals = forms.ModelMultipleChoiceField(
        label=_("hospitals"),
        queryset=Hospital.objects.all(),
        to_field_name="slug",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Each hospital you choose receives the inquiry and opens a case of its own."),
    )
    services = forms.ModelMultipleChoiceField(
        label=_("services"),
        queryset=CatalogItem.objects.none(),
        required=False,
        help_text=_("Services from the hospitals' price lists; the hospital offering each one receives the inquiry."),
    )
    description = forms.CharField(
        label=_("what you need"),
        required=False,
        max_length=MAX_DESCRIPTION,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Your problem or the care you are looking for, in your own words."),
    )
    desired_arrival = forms.DateField(
        label=_("desired arrival"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    desired_departure = forms.DateField(
        label=_("desired departure"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    insurer_name = forms.CharField(label=_("insurer"), required=False, max_length=120)
    insurance_policy = forms.CharField(label=_("policy number"), required=False, max_length=60)
    insurance_member = forms.CharField(label=_("member number"), required=False, max_length=60)
    files = MultipleFileField(
        label=_("documents"),
        help_text=_("PDF, JPEG or PNG, a zip of DICOM images, or an International Patient Summary; several at once."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["services"].queryset = offered_services()

    def clean_desired_arrival(self):
        arrival = self.cleaned_data.get("desired_arrival")
        if arrival and arrival < clock.today():
            raise forms.ValidationError(_("The arrival date cannot be in the past."), code="past")
        return arrival

    def clean(self):
        data = super().clean()
        hospitals, services = data.get("hospitals") or [], data.get("services") or []
        arrival, departure = data.get("desired_arrival"), data.get("desired_departure")
        if departure and not arrival and "desired_arrival" not in self.errors:
            self.add_error("desired_arrival", _("Give the arrival date too."))
        if arrival and departure and departure <= arrival:
            self.add_error("desired_departure", _("The departure must be after the arrival."))
        if not hospitals and not services and "hospitals" not in self.errors and "services" not in self.errors:
            self.add_error("hospitals", _("Choose at least one hospital or one service."))
        if not services and not (data.get("description") or "").strip() and "description" not in self.errors:
            self.add_error("description", _("Choose a service or describe what you need."))
        return data

    def hospitals_asked(self) -> list[Hospital]:
        """Every hospital chosen directly or through one of its services, in a stable order."""
        chosen = {h.pk: h for h in self.cleaned_data["hospitals"]}
        for item in self.cleaned_data["services"]:
            chosen.setdefault(item.hospital_id, item.hospital)
        return [chosen[pk] for pk in sorted(chosen)]


class BoardFilterForm(forms.Form):
    """The coordinator board's filters; every one is optional."""

    UNASSIGNED, MINE = "unassigned", "mine"

    state = forms.ChoiceField(label=_("state"), required=False, choices=[("", _("All states")), *State.choices])
    country = forms.CharField(label=_("patient's country"), required=False, max_length=2)
    department = forms.CharField(label=_("department"), required=False, max_length=40)
    coordinator = forms.CharField(label=_("coordinator"), required=False, max_length=150)
    opened_within = forms.IntegerField(label=_("opened within (days)"), required=False, min_value=0, max_value=3650)
    older_than = forms.IntegerField(label=_("older than (days)"), required=False, min_value=0, max_value=3650)
    overdue = forms.BooleanField(label=_("only overdue"), required=False)
    q = forms.CharField(label=_("reference or name"), required=False, max_length=100)

    def clean_country(self):
        country = (self.cleaned_data.get("country") or "").strip().upper()
        if country and (len(country) != 2 or not country.isalpha()):
            raise forms.ValidationError(_("Give the two-letter ISO 3166-1 code, e.g. US or GB."))
        return country

    def clean_q(self):
        return (self.cleaned_data.get("q") or "").strip()
