"""PDF documents rendered from Django templates by WeasyPrint, with Debian's Noto CJK fonts for Chinese."""

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


def render_pdf(template: str, context: dict, *, language: str = "en") -> bytes:
    """Render the template in the given language to PDF bytes (CJK text embedded as fonts)."""
    from weasyprint import CSS, HTML

    with translation.override(language):
        html = render_to_string(template, {**context, "pdf_language": language})
    return HTML(string=html).write_pdf(stylesheets=[CSS(string=BASE_CSS)])
