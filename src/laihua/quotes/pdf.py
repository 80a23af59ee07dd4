"""The quote as a PDF: every label in the patient's language and in Chinese, every line with both names."""

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from laihua.kit.money import Money
from laihua.kit.pdf import render_pdf
from laihua.quotes import services
from laihua.quotes.models import Quote

CHINESE = "zh-hans"

LABELS = {
    "title": _("Quote"),
    "draft": _("Draft: not sent to the patient"),
    "number": _("Quote number"),
    "case": _("Case"),
    "revision": _("Revision"),
    "revises": _("Replaces quote"),
    "date": _("Date"),
    "valid_until": _("Valid until"),
    "status": _("Status"),
    "hospital": _("Hospital"),
    "department": _("International department"),
    "address": _("Address"),
    "phone": _("Phone"),
    "email": _("E-mail"),
    "patient": _("Patient"),
    "nationality": _("Nationality"),
    "date_of_birth": _("Date of birth"),
    "lines": _("Services quoted"),
    "code": _("Code"),
    "description": _("Description"),
    "quantity": _("Qty"),
    "unit_price": _("Unit price"),
    "discount": _("Discount"),
    "amount": _("Amount"),
    "manual": _("Priced by hand"),
    "package": _("Package"),
    "contains": _("Contains"),
    "included": _("Included"),
    "reason": _("Reason"),
    "total": _("Total"),
    "total_cny": _("Total in CNY"),
    "total_converted": _("Total in your currency"),
    "deposit": _("Deposit to confirm"),
    "balance": _("Balance, payable at the hospital"),
    "rate": _("Exchange rate"),
    "rate_note": _(
        "The amounts in CNY are what the hospital charges; the amounts in your currency are given for "
        "information, converted at the rate shown."
    ),
    "excluded": _("Not included"),
    "notes": _("Notes"),
    "accepted": _("Accepted online"),
    "declined": _("Declined"),
    "validity_note": _("This quote can be accepted online until the end of its validity date."),
    "prepared_by": _("Prepared by"),
}


def bilingual_labels(language: str) -> dict[str, dict[str, str]]:
    """Each label as {"main": in the patient's language, "zh": in Chinese when that differs}."""
    labels = {}
    for key, label in LABELS.items():
        with translation.override(language):
            main = str(label)
        with translation.override(CHINESE):
            chinese = str(label)
        labels[key] = {"main": main, "zh": chinese if chinese != main else ""}
    return labels


def _money(amount, currency: str, language: str) -> str:
    return "" if amount is None else Money(amount, currency).format(language)


def _line_rows(lines, language: str) -> list[dict]:
    rows = []
    for line in lines:
        rows.append(
            {
                "line": line,
                "main": services.describe(line.description, language),
                "zh": line.description.get(CHINESE, "") if language != CHINESE else "",
                "components": [
                    {
                        "code": part["code"],
                        "main": services.describe(part["name"], language),
                        "zh": part["name"].get(CHINESE, "") if language != CHINESE else "",
                        "quantity": part["quantity"],
                    }
                    for part in line.components or []
                ],
                "unit": _money(line.unit_price_cny, "CNY", language),
                "discount": _money(line.discount_cny, "CNY", language) if line.discount_cny else "",
                "amount": _money(line.amount_cny, "CNY", language),
            }
        )
    return rows


def _texts(texts: dict, language: str) -> dict:
    main = services.describe(texts, language)
    chinese = texts.get(CHINESE, "")
    return {"main": main, "zh": chinese if chinese != main else ""}


def context(quote: Quote) -> dict:
    language = services.quote_language(quote)
    lines = list(quote.lines.all())
    figures = services.figures(quote, lines)
    currency = quote.currency
    hospital = quote.case.hospital
    return {
        "quote": quote,
        "case": quote.case,
        "patient": quote.case.patient,
        "hospital": hospital,
        "hospital_name": _texts(hospital.name, language),
        "hospital_address": _texts(hospital.address, language),
        "hospital_department": _texts(hospital.intl_department or {}, language),
        "language": language,
        "L": bilingual_labels(language),
        "rows": _line_rows(lines, language),
        "figures": figures,
        "total_cny": _money(quote.total_cny, "CNY", language),
        "deposit_cny": _money(quote.deposit_cny, "CNY", language),
        "balance_cny": _money(figures.balance_cny, "CNY", language),
        "total_converted": _money(figures.total, currency, language),
        "deposit_converted": _money(figures.deposit, currency, language),
        "balance_converted": _money(figures.balance, currency, language),
        "excluded": [_texts(texts, language) for texts in figures.excluded],
        "notes": _texts(quote.notes, language) if quote.notes else None,
        "status_label": _status_label(quote, language),
    }


def _status_label(quote: Quote, language: str) -> dict:
    with translation.override(language):
        main = str(quote.get_status_display())
    with translation.override(CHINESE):
        chinese = str(quote.get_status_display())
    return {"main": main, "zh": chinese if chinese != main else ""}


def quote_pdf(quote: Quote) -> bytes:
    """The quote's PDF bytes (the caller checks access and audits the download)."""
    return render_pdf("quotes/pdf.html", context(quote), language=services.quote_language(quote))
