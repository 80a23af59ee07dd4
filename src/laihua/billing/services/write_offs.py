"""Write-offs: giving up an amount of one part of an issued invoice (patient or insurer), with a reason, never
more than that part still owes; it counts only once approved by finance or a hospital admin, never by the person
who proposed it."""

from collections.abc import Mapping
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from laihua.billing.models import Invoice, InvoiceStatus, Payer, WriteOff, WriteOffStatus
from laihua.billing.services.access import (
    CASHIERS,
    DRAFTERS,
    InvoiceNotIssued,
    audit_invoice,
    by_id,
    lock_invoice,
    require_staff,
)
from laihua.billing.services.balances import balances_of, settle_status, sum_cny
from laihua.billing.services.inputs import clean_text, parse_choice, positive_amount
from laihua.errors import Conflict, InvalidInput, PermissionDenied
from laihua.kit import clock


def _due(invoice: Invoice, part: str) -> Decimal:
    owed = balances_of(invoice)
    return owed.insurer_due if part == Payer.INSURER else owed.patient_due


@transaction.atomic
def propose_write_off(actor, invoice: Invoice, data: Mapping, *, claim_response=None) -> WriteOff:
    """Propose giving up an amount of one part of an issued invoice; it counts once approved by finance."""
    require_staff(actor, invoice, DRAFTERS)
    invoice = lock_invoice(invoice)
    if invoice.status not in (InvoiceStatus.ISSUED, InvoiceStatus.BALANCED):
        raise InvoiceNotIssued()
    part = parse_choice(data.get("part"), Payer, field="part")
    amount = positive_amount(data.get("amount"), field="amount")
    reason = clean_text(data.get("reason"), field="reason", required=True)
    pending = sum_cny(invoice.write_offs.filter(status=WriteOffStatus.PROPOSED, part=part))
    if amount + pending > _due(invoice, part):
        raise InvalidInput(_("A write-off cannot exceed what is still owed on this part."), field="amount")
    write_off = WriteOff.objects.create(
        invoice=invoice, part=part, amount_cny=amount, reason=reason, requested_by=actor, claim_response=claim_response
    )
    audit_invoice(
        actor, "writeoff.propose", invoice, write_off=write_off.pk, part=part, amount=str(amount), reason=reason
    )
    return write_off


def _get_write_off(invoice: Invoice, write_off_id) -> WriteOff:
    return by_id(invoice.write_offs.all(), write_off_id, _("No such write-off on this statement."))


@transaction.atomic
def decide_write_off(actor, invoice: Invoice, write_off_id, *, approve: bool) -> WriteOff:
    """Finance or a hospital admin approves or rejects a proposed write-off (never their own)."""
    require_staff(actor, invoice, CASHIERS)
    invoice = lock_invoice(invoice)
    write_off = WriteOff.objects.select_for_update().get(pk=_get_write_off(invoice, write_off_id).pk)
    if write_off.status != WriteOffStatus.PROPOSED:
        raise Conflict(_("This write-off was already decided."), code="write_off_decided")
    if write_off.requested_by_id == actor.pk:
        raise PermissionDenied(_("Somebody else must approve a write-off you proposed."), code="four_eyes")
    if approve and write_off.amount_cny > _due(invoice, write_off.part):
        raise Conflict(_("The write-off is now more than what is owed on this part."), code="write_off_too_large")
    write_off.status = WriteOffStatus.APPROVED if approve else WriteOffStatus.REJECTED
    write_off.decided_by, write_off.decided_at = actor, clock.now()
    write_off.save()
    settle_status(invoice)
    audit_invoice(
        actor, f"writeoff.{write_off.status}", invoice, write_off=write_off.pk, amount=str(write_off.amount_cny)
    )
    return write_off
