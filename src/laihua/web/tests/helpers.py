"""Small readers of rendered pages, so that tests assert what a visitor sees rather than markup details."""

import html
import re

from django.utils import formats, translation


def page_text(response) -> str:
    """The visible text of a response's <main> (or of the whole fragment), tags dropped, spaces collapsed."""
    body = response.content.decode()
    if "<main" in body:
        body = body[body.index("<main") : body.index("</main>")]
    body = re.sub(r"<script.*?</script>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


def element_text(response, css_class: str) -> str:
    """The text of the first element carrying this class (e.g. the big price on a service page)."""
    body = response.content.decode()
    match = re.search(rf'<(\w+)[^>]*class="[^"]*\b{re.escape(css_class)}\b[^"]*"[^>]*>(.*?)</\1>', body, re.S)
    assert match, f"no element with class {css_class!r}"
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", match.group(2)))).strip()


def local_date(day, language="en") -> str:
    with translation.override(language):
        return formats.date_format(day, "DATE_FORMAT")
