"""Field rules for the interpreter pool and days away. The services run these forms on whatever they are
given (a page's POST, an API payload, a CSV row), so every channel gives the same errors."""

import re

from babel import Locale
from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from laihua.interpreters.models import Absence, Interpreter

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME_WIDGET = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
WEEKDAYS = [
    (1, _("Monday")),
    (2, _("Tuesday")),
    (3, _("Wednesday")),
    (4, _("Thursday")),
    (5, _("Friday")),
    (6, _("Saturday")),
    (7, _("Sunday")),
]
CODE = re.compile(r"^[a-z]{2,3}$")
MAX_LANGUAGES = 8


def known_languages() -> dict[str, str]:
    """ISO 639 codes Babel (CLDR) names, with their English names."""
    return {code: name for code, name in Locale("en").languages.items() if CODE.match(code)}


def language_name(code: str, reader: str | None = None) -> str:
    """The language's name in the reader's language ("Russian", "俄语"), else the code."""
    reader = (reader or get_language() or "en").replace("-", "_")
    try:
        locale = Locale.parse("zh_Hans" if reader.lower().startswith("zh") else reader.split("_")[0])
    except (ValueError, TypeError):
        locale = Locale("en")
    base = (code or "").split("-")[0].lower()
    return locale.languages.get(base) or code


class LanguagesField(forms.CharField):
    """ISO 639 codes separated by spaces or commas: "en ru ar"."""

    def to_python(self, value):
        if isinstance(value, (list, tuple)):
            value = " ".join(str(v) for v in value)
        text = super().to_python(value) or ""
        codes = [c.strip().lower() for c in re.split(r"[\s,;]+", text) if c.strip()]
        known = known_languages()
        for code in codes:
            if code not in known:
                raise forms.ValidationError(
                    _("%(code)s is not an ISO 639 language code (for example en, ru, ar)."), params={"code": code}
                )
        if len(codes) > MAX_LANGUAGES:
            raise forms.ValidationError(_("Give at most %(most)s languages."), params={"most": MAX_LANGUAGES})
        return list(dict.fromkeys(codes))

    def prepare_value(self, value):
        if isinstance(value, (list, tuple)):
            return " ".join(value)
        return value


class InterpreterForm(forms.ModelForm):
    languages = LanguagesField(
        label=_("Languages"), max_length=100, help_text=_("ISO 639 codes separated by spaces, e.g. en ru ar.")
    )
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Working weekdays"), choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    username = forms.CharField(
        label=_("Account (username)"),
        required=False,
        max_length=150,
        help_text=_("An account with the role interpreter at this hospital, to read their own schedule."),
    )

    class Meta:
        model = Interpreter
        fields = [
            "name",
            "employment",
            "agency",
            "languages",
            "level",
            "works_from",
            "works_until",
            "weekdays",
            "phone",
            "active",
        ]
        widgets = {"works_from": TIME_WIDGET, "works_until": TIME_WIDGET}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.user_id and "username" not in self.initial:
            self.initial["username"] = self.instance.user.get_username()

    def clean_languages(self):
        codes = self.cleaned_data["languages"]
        if not codes:
            raise forms.ValidationError(_("Give at least one language."))
        if any(code == "zh" for code in codes) and len(codes) == 1:
            raise forms.ValidationError(_("Give the languages interpreted to and from Chinese, e.g. en."))
        return codes

    def clean_weekdays(self):
        days = sorted(set(self.cleaned_data["weekdays"]))
        if not days:
            raise forms.ValidationError(_("Give at least one working weekday."))
        return days

    def clean(self):
        data = super().clean()
        if data.get("employment") == "agency" and not (data.get("agency") or "").strip():
            self.add_error("agency", _("Name the agency."))
        if data.get("employment") == "staff":
            data["agency"] = ""
        start, end = data.get("works_from"), data.get("works_until")
        if start and end and end <= start:
            self.add_error("works_until", _("The end of the working day comes after its start."))
        return data


class AbsenceForm(forms.ModelForm):
    class Meta:
        model = Absence
        fields = ["starts_on", "ends_on", "note"]
        widgets = {"starts_on": DATE_WIDGET, "ends_on": DATE_WIDGET}

    def clean(self):
        data = super().clean()
        start, end = data.get("starts_on"), data.get("ends_on")
        if start and end and end < start:
            self.add_error("ends_on", _("The last day away is on or after the first."))
        if start and end and (end - start).days > 366:
            self.add_error("ends_on", _("Give at most a year at a time."))
        return data
