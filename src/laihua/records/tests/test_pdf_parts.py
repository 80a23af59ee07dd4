"""The summary PDF of a long record is laid out in parts of PDF_PART_ITEMS items and joined: every item
is in it once, in the order of a PDF laid out whole, under the heading of its kind, with one heading,
one discharge summary, one list of sources and page numbers counted over the whole document."""

import io
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader

from laihua.kit.pdf import render_pdf
from laihua.records import services
from laihua.records.services import exporting
from laihua.records.tests.test_listing import bearer, document, problems

pytestmark = pytest.mark.django_db

PROBLEM = re.compile(r"Problem (\d+)")


def store(case, clinician, documents: int, per_document: int) -> list[int]:
    """Documents of distinct problems; the numbers of every problem stored, in the documents' order."""
    numbers = []
    for number in range(documents):
        start = number * 10_000
        services.import_document(clinician, case, document(problems(per_document, start=start), number + 1))
        numbers += [start + n for n in range(per_document)]
    return numbers


def pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def problems_in(text: str) -> list[int]:
    """The problems' numbers in the order of their rows (a row shows the text as written and the English)."""
    found = [int(n) for n in PROBLEM.findall(text)]
    assert found[::2] == found[1::2]
    return found[::2]


def test_a_record_of_700_items_has_every_item_in_its_pdf_numbered_throughout(
    client, case, users, settings, tmp_path, django_capture_on_commit_callbacks
):
    """Over PDF_JOB_ITEMS items: prepared by the job (in-process here), then downloaded."""
    settings.MEDIA_ROOT = tmp_path
    clinician = users["clinician"]
    numbers = store(case, clinician, documents=2, per_document=350)
    assert len(exporting.pdf_parts(exporting._pdf_context(case))) == 3  # 300, 300 and 100 items
    url = f"/api/records/cases/{case.reference}/summary.pdf"
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get(url, headers=bearer(clinician)).status_code == 202
    response = client.get(url, headers=bearer(clinician))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pages = pages_text(b"".join(response.streaming_content))
    text = "\n".join(pages)
    assert problems_in(text) == numbers  # first to last, each once, in order
    assert f"Problem {numbers[0]}" in pages[0] and f"Problem {numbers[-1]}" in pages[-1]
    total = len(pages)
    assert [re.findall(rf"\b(\d+) / {total}\b", page)[-1] for page in pages] == [str(n) for n in range(1, total + 1)]
    for once in ("International Patient Summary", "Records from other providers", "Date of birth"):
        assert once in pages[0] and not any(once in page for page in pages[1:])
    assert "Sources" in pages[-1] and not any("Sources" in page for page in pages[:-1])


def test_a_pdf_laid_out_in_parts_reads_like_the_one_laid_out_whole(case, users, monkeypatch):
    clinician = users["clinician"]
    numbers = store(case, clinician, documents=3, per_document=4)
    context = exporting._pdf_context(case)
    whole = "\n".join(pages_text(render_pdf("records/summary_pdf.html", context)))
    monkeypatch.setattr(exporting, "PDF_PART_ITEMS", 5)
    parted = pages_text(services.summary_pdf(clinician, case, language="en"))
    assert len(parted) >= 3  # each part begins a page
    assert problems_in(whole) == problems_in("\n".join(parted)) == numbers
    for heading in ("International Patient Summary", "Patient", case.reference, "Sources"):
        assert heading in parted[0] + parted[-1] and heading in whole


def test_a_small_record_is_laid_out_whole_as_before(case, users):
    store(case, users["clinician"], documents=1, per_document=3)
    context = exporting._pdf_context(case)
    assert exporting.pdf_parts(context) == [context]


def test_the_transfer_pdf_is_laid_out_in_parts_too(case, users, monkeypatch):
    from laihua.records.models import DataType, Transfer

    numbers = store(case, users["clinician"], documents=2, per_document=3)
    monkeypatch.setattr(exporting, "PDF_PART_ITEMS", 2)
    transfer = Transfer(case=case, data_types=[DataType.SUMMARY])
    pages = pages_text(services.transfer_pdf(transfer, "en"))
    assert problems_in("\n".join(pages)) == numbers and len(pages) == 3


class Item:
    def __init__(self, kind, n):
        self.kind, self.n = kind, n


@given(
    counts=st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=5),
    size=st.integers(min_value=1, max_value=30),
)
def test_parts_keep_every_item_once_in_order_and_no_part_is_over_its_size(counts, size):
    sections = [(f"k{k}", f"Kind {k}", [Item(f"k{k}", n) for n in range(c)]) for k, c in enumerate(counts) if c]
    context = {"sections": sections, "summary": "the summary", "sources": ["a"]}
    parts = exporting.pdf_parts(context, size)
    flat = [(kind, item.n) for part in parts for kind, _label, items in part["sections"] for item in items]
    assert flat == [(kind, item.n) for kind, _label, items in sections for item in items]
    assert all(sum(len(items) for _k, _l, items in part["sections"]) <= size for part in parts)
    if len(parts) > 1:
        assert all(part["sections"] for part in parts)
        assert [p["continued"] for p in parts] == [False] + [True] * (len(parts) - 1)
        assert [p["more_follows"] for p in parts] == [True] * (len(parts) - 1) + [False]
        assert [p["summary"] for p in parts] == ["the summary"] + [None] * (len(parts) - 1)
    else:
        assert parts == [context]
