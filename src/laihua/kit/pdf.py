"""PDF documents rendered from Django templates by WeasyPrint, with Debian's Noto CJK fonts for Chinese.

A long document is rendered in parts (`render_pdf_parts`): WeasyPrint lays out each part alone, keeps only
its PDF bytes, and pypdf joins them and stamps the page numbers over the whole, so that the memory a
layout takes is bounded by a part, not by the document."""

import io

from django.template.loader import render_to_string
from django.utils import translation

BASE_CSS = """
@page { size: A4; margin: 18mm 16mm 20mm;
        @bottom-right { content: counter(page) " / " counter(pages); font-size: 8pt; } }
body { font-family: "Noto Sans CJK SC", "Noto Sans", sans-serif; font-size: 10pt; line-height: 1.45; color: #111; }
h1 { font-size: 16pt; margin: 0 0 4mm; } h2 { font-size: 12pt; margin: 6mm 0 2mm; }
table { width: 100%; border-collapse: collapse; }
th, td { padding: 1.5mm 2mm; border-bottom: 0.3pt solid #999; vertical-align: top; text-align: left; }
td.num, th.num { text-align: right; white-space: nowrap; }
.muted { color: #555; } .zh { color: #333; } .small { font-size: 8.5pt; }
"""

# A part carries no page numbers: they are stamped over the joined document.
_PART_CSS = "@page { @bottom-right { content: none; } }"

# The pages that carry only the numbers, in the same page box as BASE_CSS.
_NUMBERS_HTML = """<!doctype html><html><head><meta charset="utf-8"><style>
@page { size: A4; margin: 18mm 16mm 20mm;
        @bottom-right { content: counter(page) " / " counter(pages); font-size: 8pt;
                        font-family: "Noto Sans CJK SC", "Noto Sans", sans-serif; color: #111; } }
div + div { break-before: page; }
</style></head><body>%s</body></html>"""


def render_pdf(template: str, context: dict, *, language: str = "en") -> bytes:
    """Render the template in the given language to PDF bytes (CJK text embedded as fonts)."""
    from weasyprint import CSS, HTML

    with translation.override(language):
        html = render_to_string(template, {**context, "pdf_language": language})
    return HTML(string=html).write_pdf(stylesheets=[CSS(string=BASE_CSS)])


def render_pdf_parts(template: str, contexts: list[dict], *, language: str = "en") -> bytes:
    """Render the template once per context, in order, and join the parts into one PDF numbered
    "page / pages" throughout. One context gives exactly what `render_pdf` gives."""
    from pypdf import PdfReader, PdfWriter
    from weasyprint import CSS, HTML

    if len(contexts) == 1:
        return render_pdf(template, contexts[0], language=language)
    stylesheets = [CSS(string=BASE_CSS), CSS(string=_PART_CSS)]
    writer = PdfWriter()
    for context in contexts:
        with translation.override(language):
            html = render_to_string(template, {**context, "pdf_language": language})
        writer.append(PdfReader(io.BytesIO(HTML(string=html).write_pdf(stylesheets=stylesheets))))
    total = len(writer.pages)
    numbers = PdfReader(io.BytesIO(HTML(string=_NUMBERS_HTML % ("<div></div>" * total)).write_pdf()))
    for page, stamp in zip(writer.pages, numbers.pages, strict=True):
        page.merge_page(stamp)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
