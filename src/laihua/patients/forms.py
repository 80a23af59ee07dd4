"""The patient's forms: registration, profile and companions. The services validate with these, so the
web pages and the API share every rule and every (translated) message."""

import datetime
import re

from babel import Locale, UnknownLocaleError
from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.db.models import Q
from django.utils.translation import get_language, to_locale
from django.utils.translation import gettext_lazy as _

from laihua.accounts.models import User
from laihua.errors import DomainError
from laihua.kit import clock
from laihua.kit.money import normalise_currency
from laihua.patients.models import Companion, Patient

# Languages a patient may say they speak (ISO 639-1), the ones international departments meet most.
LANGUAGE_CODES = (
    "en", "zh", "ru", "ar", "fr", "de", "es", "pt", "it", "nl", "pl", "uk", "ja", "ko", "mn", "kk", "uz",
    "ky", "tg", "tr", "fa", "he", "hi", "ur", "bn", "ne", "th", "vi", "id", "ms", "km", "lo", "my", "tl",
    "sw", "am",
)  # fmt: skip
MAX_AGE_YEARS = 120
PASSPORT_MAX_YEARS_AHEAD = 20
PASSPORT_RE = re.compile(r"[A-Z0-9]{5,20}")
# Letters of any script, with the spaces, hyphens, apostrophes and dots names have; no digits.
NAME_RE = re.compile(r"[^\W\d_]+(?:[ '’.\-]+[^\W\d_]+)*\.?")
PHONE_RE = re.compile(r"\+?[0-9 ()\-./]{6,40}")


def language_name(code: str) -> str:
    """A language's name in the active language, e.g. 'Russian' or '俄语'."""
    try:
        locale = Locale.parse(to_locale(get_language() or "en"))
    except (UnknownLocaleError, ValueError):
        locale = Locale("en")
    name = locale.languages.get(code) or code
    return name[:1].upper() + name[1:]


def language_choices():
    return sorted(((code, language_name(code)) for code in LANGUAGE_CODES), key=lambda choice: choice[1])


def normalise_passport(value: str) -> str:
    """'e 1234-5678' becomes 'E12345678'; refuse anything but 5 to 20 letters A-Z and digits."""
    value = re.sub(r"[\s\-]", "", value or "").upper()
    if not PASSPORT_RE.fullmatch(value):
        raise forms.ValidationError(
            _("A passport number has 5 to 20 letters A–Z and digits, as printed in the passport."),
            code="passport",
        )
    return value


def clean_name(value: str, *, required: bool = True) -> str:
    value = " ".join((value or "").split())
    if not value:
        if required:
            raise forms.ValidationError(_("This field is required."), code="required")
        return value
    if not NAME_RE.fullmatch(value):
        raise forms.ValidationError(
            _("Write the name as in the passport: letters, spaces, hyphens and apostrophes only."), code="name"
        )
    return value


def clean_birth_date(value: datetime.date | None) -> datetime.date | None:
    today = clock.today()
    if value is None:
        return value
    if value > today:
        raise forms.ValidationError(_("A date of birth cannot be in the future."), code="future")
    if value < today.replace(year=today.year - MAX_AGE_YEARS, day=min(today.day, 28)):
        raise forms.ValidationError(
            _("Check the year: this date of birth is more than %(years)d years ago.") % {"years": MAX_AGE_YEARS},
            code="implausible",
        )
    return value


def clean_phone(value: str) -> str:
    value = " ".join((value or "").split())
    if value and (not PHONE_RE.fullmatch(value) or sum(ch.isdigit() for ch in value) < 6):
        raise forms.ValidationError(
            _("Write a phone number with its country code, e.g. +1 212 555 0100."), code="phone"
        )
    return value


def check_currency(value: str) -> str:
    """A currency Laihua shows prices in and has a rate for; anything else is a field error."""
    from laihua.rates import services as rates

    try:
        code = normalise_currency(value, field="preferred_currency")
    except DomainError as exc:
        raise forms.ValidationError(str(exc.message), code="currency") from None
    if code not in settings.LAIHUA_DISPLAY_CURRENCIES:
        raise forms.ValidationError(
            _("Prices are not shown in %(code)s. Choose one of: %(codes)s.")
            % {"code": code, "codes": ", ".join(settings.LAIHUA_DISPLAY_CURRENCIES)},
            code="currency",
        )
    try:
        rates.rate_for(code)
    except DomainError as exc:
        raise forms.ValidationError(str(exc.message), code="rate") from None
    return code


DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PersonFields(forms.ModelForm):
    """What a patient and a companion share: name as in the passport, sex, birth, nationality, passport."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["given_names"].help_text = _("Leave empty if the passport shows only one name.")
        self.fields["passport_number"].widget.attrs.update(
            {"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}
        )
        # Spaces and hyphens are removed before the length is checked.
        self.fields["passport_number"].max_length = None
        self.fields["passport_number"].validators = []
        self.fields["passport_number"].widget.attrs["maxlength"] = "30"
        self.fields["nationality"].initial = None

    def clean_family_name(self):
        return clean_name(self.cleaned_data.get("family_name"))

    def clean_given_names(self):
        return clean_name(self.cleaned_data.get("given_names"), required=False)

    def clean_date_of_birth(self):
        return clean_birth_date(self.cleaned_data.get("date_of_birth"))

    def clean_passport_number(self):
        return normalise_passport(self.cleaned_data.get("passport_number"))


class PatientForm(PersonFields):
    """The profile the patient fills in and edits."""

    languages = forms.MultipleChoiceField(
        label=_("languages"),
        choices=language_choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The languages you speak, so that the hospital can arrange an interpreter."),
    )
    preferred_currency = forms.CharField(
        label=_("preferred currency"),
        widget=forms.Select,
        help_text=_("Quotes show this currency beside the price in CNY."),
    )

    class Meta:
        model = Patient
        fields = [
            "family_name",
            "given_names",
            "sex",
            "date_of_birth",
            "nationality",
            "passport_number",
            "passport_expiry",
            "languages",
            "preferred_currency",
            "email",
            "phone",
            "address",
            "emergency_name",
            "emergency_relation",
            "emergency_phone",
        ]
        widgets = {
            "date_of_birth": DATE_WIDGET,
            "passport_expiry": DATE_WIDGET,
            "address": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner = user if user is not None else (self.instance.user if self.instance.pk else None)
        currencies = settings.LAIHUA_DISPLAY_CURRENCIES
        self.fields["preferred_currency"].widget.choices = [(code, code) for code in currencies]
        self.fields["passport_expiry"].required = True
        self.fields["phone"].required = True
        self.fields["phone"].help_text = _("With the country code, e.g. +1 212 555 0100.")
        self.fields["email"].widget.attrs["autocomplete"] = "email"
        if not self.instance.pk and not self.is_bound:
            language = (get_language() or "en").split("-")[0]
            self.initial.setdefault("languages", [language] if language in LANGUAGE_CODES else [])

    def clean_passport_expiry(self):
        value = self.cleaned_data.get("passport_expiry")
        today = clock.today()
        if value is not None and value < today:
            raise forms.ValidationError(
                _("This passport has expired: enter the passport you will travel with."), code="expired"
            )
        if value is not None and value.year > today.year + PASSPORT_MAX_YEARS_AHEAD:
            raise forms.ValidationError(_("Check the year: no passport is valid that long."), code="implausible")
        return value

    def clean_preferred_currency(self):
        return check_currency(self.cleaned_data.get("preferred_currency"))

    def clean_email(self):
        email = (self.cleaned_data.get("email") or "").strip().lower()
        others = User.objects.filter(Q(username__iexact=email) | Q(email__iexact=email))
        if self.owner is not None:
            others = others.exclude(pk=self.owner.pk)
        if email and others.exists():
            raise forms.ValidationError(
                _("An account with this e-mail address already exists. Sign in instead."), code="taken"
            )
        return email

    def clean_phone(self):
        return clean_phone(self.cleaned_data.get("phone"))

    def clean_emergency_phone(self):
        return clean_phone(self.cleaned_data.get("emergency_phone"))

    def clean_emergency_name(self):
        return " ".join((self.cleaned_data.get("emergency_name") or "").split())

    def clean(self):
        data = super().clean()
        if data.get("emergency_name") and not data.get("emergency_phone") and "emergency_phone" not in self.errors:
            self.add_error("emergency_phone", _("Give a phone number for your emergency contact."))
        if data.get("emergency_phone") and not data.get("emergency_name") and "emergency_name" not in self.errors:
            self.add_error("emergency_name", _("Give the name of your emergency contact."))
        return data


def _min_password_length() -> int:
    for validator in password_validation.get_default_password_validators():
        if isinstance(validator, password_validation.MinimumLengthValidator):
            return validator.min_length
    return 1


class RegistrationForm(PatientForm):
    """The profile plus the account's password (the e-mail address is the username)."""

    password1 = forms.CharField(
        label=_("password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_email(self):
        # Never "this address is taken": registration must not tell whether an address has an account
        # (patients.services.register_patient e-mails its owner instead).
        return (self.cleaned_data.get("email") or "").strip().lower()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password1"].help_text = _(
            "At least %(count)d characters; not a common password, not only digits, and not like your name or e-mail."
        ) % {"count": _min_password_length()}

    def clean(self):
        data = super().clean()
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords are not the same."))
        elif first:
            candidate = User(
                username=data.get("email") or "",
                email=data.get("email") or "",
                first_name=data.get("given_names") or "",
                last_name=data.get("family_name") or "",
            )
            try:
                password_validation.validate_password(first, candidate)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return data


class CompanionForm(PersonFields):
    """Someone travelling with the patient."""

    class Meta:
        model = Companion
        fields = ["family_name", "given_names", "relation", "sex", "date_of_birth", "nationality", "passport_number"]
        widgets = {"date_of_birth": DATE_WIDGET}
        help_texts = {"relation": _("e.g. spouse, daughter, carer")}

    def clean_relation(self):
        return " ".join((self.cleaned_data.get("relation") or "").split())
