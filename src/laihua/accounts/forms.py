from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    currency = forms.ChoiceField(
        label=_("Display currency"),
        required=False,
        help_text=_("Prices are shown in this currency beside the price in CNY."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("Choose on each page"))]
        choices += [(code, code) for code in settings.LAIHUA_DISPLAY_CURRENCIES]
        self.fields["currency"].choices = choices


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Token name"),
        max_length=100,
        required=False,
        help_text=_("What the token is for, e.g. “reporting script”."),
    )
