"""Admin helpers every domain's admin uses: one labelled input per language, https by default."""

from django.db import models
from django.utils.text import capfirst

from laihua.kit.i18n import TRANSLATED_WIDGET_TEMPLATE, TranslatedWidget


def https_urls(db_field, **kwargs):
    """A web address typed without a scheme means https."""
    if isinstance(db_field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return db_field.formfield(**kwargs)


class LanguageLabelsMixin:
    """Translated fields show one input per language, each labelled with its language; a web address
    typed without a scheme means https."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.URLField):
            kwargs["assume_scheme"] = "https"
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None and isinstance(field.widget, TranslatedWidget):
            field.widget.template_name = TRANSLATED_WIDGET_TEMPLATE
            field.label = capfirst(field.label)
        return field
