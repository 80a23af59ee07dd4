"""Translated text stored as {language code: text}, one entry per settings.LANGUAGES, ready for more."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


def language_codes() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def pick(texts: dict | None, language: str | None = None) -> str:
    """The text in the given (or active) language, falling back to English, then to any text."""
    if not texts:
        return ""
    language = (language or get_language() or "en").lower()
    for code in (language, language.split("-")[0], "en"):
        if texts.get(code):
            return texts[code]
    return next((value for value in texts.values() if value), "")


TRANSLATED_WIDGET_TEMPLATE = "kit/widgets/translated.html"


def with_language_labels(form):
    """Render each translated field as one labelled input per language."""
    for field in form.fields.values():
        if isinstance(field.widget, TranslatedWidget):
            field.widget.template_name = TRANSLATED_WIDGET_TEMPLATE
    return form


class TranslatedWidget(forms.MultiWidget):
    def __init__(self, textarea: bool = False, attrs=None):
        base = forms.Textarea(attrs={"rows": 3}) if textarea else forms.TextInput()
        widgets = {code: type(base)(attrs=dict(base.attrs, lang=code)) for code in language_codes()}
        super().__init__(widgets, attrs)

    def decompress(self, value):
        value = value or {}
        return [value.get(code, "") for code in language_codes()]


class TranslatedFormField(forms.MultiValueField):
    def __init__(self, *, required_languages=("en", "zh-hans"), textarea=False, **kwargs):
        self.required_languages = required_languages if kwargs.get("required", True) else ()
        kwargs.pop("max_length", None)
        kwargs.pop("encoder", None)
        kwargs.pop("decoder", None)
        fields = [forms.CharField(required=False) for _code in language_codes()]
        super().__init__(fields, widget=TranslatedWidget(textarea=textarea), require_all_fields=False, **kwargs)

    def compress(self, data_list):
        data = dict(zip(language_codes(), [(text or "").strip() for text in data_list or []], strict=False))
        return {code: text for code, text in data.items() if text}

    def validate(self, value):
        missing = [code for code in self.required_languages if not (value or {}).get(code)]
        if missing:
            names = dict(settings.LANGUAGES)
            raise ValidationError(
                _("Give this in every required language: %(missing)s missing.")
                % {"missing": ", ".join(str(names[c]) for c in missing)},
                code="required",
            )


class TranslatedField(models.JSONField):
    """A JSON object of texts by language code."""

    def __init__(self, *args, textarea: bool = False, **kwargs):
        self.textarea = textarea
        kwargs.setdefault("default", dict)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.textarea:
            kwargs["textarea"] = True
        return name, path, args, kwargs

    def formfield(self, **kwargs):
        return TranslatedFormField(
            required=not self.blank, textarea=self.textarea, label=self.verbose_name, help_text=self.help_text
        )
