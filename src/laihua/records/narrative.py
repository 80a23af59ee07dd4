"""Narratives of imported documents as plain text.

A sender's XHTML is never rendered as HTML on Laihua's pages: each narrative is shown as its text
(paragraphs, list items and table rows on lines of their own). A narrative that is not well-formed
XHTML is read just as leniently, and is written as a plain-text `<div>` where well-formed XHTML is
needed (the XML form of a stored document).
"""

import copy
import re
from html import escape
from html.parser import HTMLParser

from laihua.kit.fhirxml import XmlError, check_xhtml

BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "pre"}
CELLS = {"td", "th"}
XHTML = "http://www.w3.org/1999/xhtml"


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in BLOCKS:
            self.parts.append("\n")
        elif tag in CELLS:
            self.parts.append("\t")

    def handle_endtag(self, tag):
        if tag in BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        self.parts.append(data)


def plain_text(div: str) -> str:
    """The text of a narrative, well-formed or not: one line per block, cells apart, spaces collapsed."""
    parser = _Text()
    try:
        parser.feed(str(div or ""))
        parser.close()
    except (AssertionError, ValueError):  # pragma: no cover - HTMLParser reads anything
        return re.sub(r"<[^>]*>", " ", str(div or ""))
    lines = []
    for line in "".join(parser.parts).split("\n"):
        cells = [re.sub(r"\s+", " ", cell).strip() for cell in line.split("\t")]
        line = " · ".join(cell for cell in cells if cell)
        if line:
            lines.append(line)
    return "\n".join(lines)


def plain_div(div: str) -> str:
    """A well-formed XHTML <div> holding a narrative's text."""
    body = "".join(f"<p>{escape(line)}</p>" for line in plain_text(div).split("\n") if line)
    return f'<div xmlns="{XHTML}">{body}</div>'


def _is_xhtml(div) -> bool:
    try:
        check_xhtml(div, "")
    except XmlError:
        return False
    return True


def with_plain_narratives(data: dict) -> dict:
    """A copy of the resource where each narrative that is not well-formed XHTML is its plain text."""
    data = copy.deepcopy(data)
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("div"), str) and not _is_xhtml(node["div"]):
                node["div"] = plain_div(node["div"])
            stack.extend(v for k, v in node.items() if k != "div" and isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, (dict, list)))
    return data


def sections(data: dict) -> list[dict]:
    """The Composition's sections as {title, text} (text: the narrative as plain text)."""
    entries = data.get("entry") if isinstance(data.get("entry"), list) else []
    first = entries[0].get("resource") if entries and isinstance(entries[0], dict) else None
    if not isinstance(first, dict) or first.get("resourceType") != "Composition":
        return []
    out = []
    for section in first.get("section") or []:
        if not isinstance(section, dict):
            continue
        narrative = section.get("text") if isinstance(section.get("text"), dict) else {}
        title = section.get("title") or next(
            (c.get("display") for c in (section.get("code") or {}).get("coding") or [] if isinstance(c, dict)), ""
        )
        out.append({"title": str(title or ""), "text": plain_text(narrative.get("div", ""))})
    return out
