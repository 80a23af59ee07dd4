import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from laihua.quotes import services
from laihua.quotes.pdf import bilingual_labels, quote_pdf

pytestmark = pytest.mark.django_db


def pdf_text(quote) -> str:
    reader = PdfReader(io.BytesIO(quote_pdf(quote)))
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.fixture
def full_quote(draft, users, knee):
    coordinator = users["coordinator"]
    services.add_line(
        coordinator,
        draft,
        {"item": knee.pk, "unit_price": "36000", "discount_percent": "5", "discount_reason": "Booked with the MRI"},
    )
    services.add_line(
        coordinator,
        draft,
        {"description": {"en": "Medical interpreter", "zh-hans": "医疗翻译"}, "unit_price": "600", "code": "INT"},
    )
    services.update_terms(coordinator, draft, {"exclusions": {"en": "Flights and hotel", "zh-hans": "机票和酒店"}})
    return services.send_quote(coordinator, draft)


def test_the_pdf_has_the_english_and_the_chinese_lines(full_quote, rates_today):
    text = pdf_text(full_quote)
    # The hospital, in both languages, with its international department's contacts.
    for expected in (
        "East Demo Hospital",
        "东方示范医院",
        "1 Demo Road",
        "示范路1号",
        "+86 21 0000 0000",
        "intl@east.example",
    ):
        assert expected in text
    # The patient and every line, with both names, the manual mark and the discount's reason.
    for expected in (
        "DOE Jane",
        "MRI-01",
        "MRI scan, one region",
        "核磁共振成像（单部位）",
        "KNEE-01",
        "Knee arthroscopy",
        "膝关节镜手术",
        "Medical interpreter",
        "医疗翻译",
        "Priced by hand",
        "Booked with the MRI",
    ):
        assert expected in text
    # Totals in CNY and USD with the rate and its date, the deposit, the validity and what is excluded.
    assert "35,772.00" in text  # 2 × 486 + (36,000 − 5 %) + 600
    total_usd = (Decimal("35772.00") / rates_today["USD"]).quantize(Decimal("0.01"))
    assert f"{total_usd:,}" in text
    assert "7.12345678" in text and full_quote.rate_date.isoformat() in text
    assert full_quote.valid_until.isoformat() in text
    assert "300.00" in text
    for expected in ("Flights and hotel", "机票和酒店", "Implants", "植入物"):
        assert expected in text


def test_each_label_is_given_in_chinese_beside_the_patients_language():
    labels = bilingual_labels("en")
    assert labels["total_cny"]["main"] == "Total in CNY"
    chinese_only = bilingual_labels("zh-hans")
    assert all(label["zh"] == "" for label in chinese_only.values())  # one language suffices for a Chinese reader


def test_a_draft_pdf_says_it_is_a_draft(draft):
    assert "Draft: not sent to the patient" in pdf_text(draft)
