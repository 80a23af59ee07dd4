from django import template

from laihua.interpreters.forms import language_name

register = template.Library()


@register.filter
def language_label(code: str) -> str:
    """A language code as its name in the reader's language, with the code: "Russian (ru)"."""
    if not code:
        return ""
    name = language_name(code)
    return name if name == code else f"{name} ({code})"


@register.filter
def language_labels(codes) -> str:
    return ", ".join(language_label(code) for code in codes or [])
