"""The hospital's official receipt for an issued statement of charges.

Laihua's statement of charges (an `Invoice`, FHIR's name) is not a fapiao: in China a fapiao (发票) is issued
through the tax system, and public hospitals give an electronic medical receipt (医疗收费电子票据) instead.
Neither is made by Laihua; finance records the one the hospital issued (its kind, number and date) on the
statement, so that the patient sees it on their pages and PDF and the API and the receivables export carry it."""

import re
from collections.abc import Mapping

from django.db import transaction
from django.utils.translation import gettext as _

from laihua.billing.models import Invoice, InvoiceStatus, OfficialReceiptKind
from laihua.billing.services.access import CASHIERS, InvoiceNotIssued, audit_invoice, lock_invoice, require_staff
from laihua.billing.services.inputs import clean_text, parse_choice, parse_date
from laihua.cases.services import add_event
from laihua.errors import InvalidInput
from laihua.kit import clock

RECEIPT_NUMBER = re.compile(r"^[0-9A-Za-z][0-9A-Za-z\-/ ]*$")


@transaction.atomic
def record_official_receipt(actor, invoice: Invoice, data: Mapping) -> Invoice:
    """Record (or correct) the hospital's official receipt of an issued statement: `kind` (fapiao |
    medical_receipt), `number`, `date`. Finance and hospital admins of the statement's hospital only; audited with
    the values before and after."""
    require_staff(actor, invoice, CASHIERS)
    invoice = lock_invoice(invoice)
    if invoice.status not in (InvoiceStatus.ISSUED, InvoiceStatus.BALANCED):
        raise InvoiceNotIssued(_("An official receipt is recorded on an issued statement only."), field="status")
    kind = parse_choice(data.get("kind"), OfficialReceiptKind, field="kind")
    number = clean_text(data.get("number"), field="number", required=True, max_length=60)
    if not RECEIPT_NUMBER.match(number):
        raise InvalidInput(_("Give the receipt number as printed: letters, digits, “-” and “/”."), field="number")
    day = parse_date(data.get("date"), field="date")
    if day > clock.today():
        raise InvalidInput(_("The receipt's date cannot be in the future."), field="date")
    before = {
        "kind": invoice.official_receipt_kind,
        "number": invoice.official_receipt_number,
        "date": invoice.official_receipt_date.isoformat() if invoice.official_receipt_date else "",
    }
    invoice.official_receipt_kind, invoice.official_receipt_number, invoice.official_receipt_date = kind, number, day
    invoice.official_receipt_by, invoice.official_receipt_at = actor, clock.now()
    invoice.save(
        update_fields=[
            "official_receipt_kind",
            "official_receipt_number",
            "official_receipt_date",
            "official_receipt_by",
            "official_receipt_at",
            "updated_at",
        ]
    )
    after = {"kind": kind, "number": number, "date": day.isoformat()}
    add_event(
        invoice.case,
        actor,
        "official_receipt",
        invoice=invoice.number,
        receipt_kind=kind,
        number=number,
        date=after["date"],
    )
    audit_invoice(actor, "invoice.official_receipt", invoice, before=before, after=after)
    return invoice
