"""Importing International Patient Summaries onto a case.

A document is checked (`ips.parse`: refused with every error, or kept with its warnings), then its
Patient is matched against the case's patient (`identity`): a document about another person is
refused with each field that differs and both values. Only a clinician of the case's hospital may
import it anyway, with a written reason; the document is then marked as matched by hand (who, when,
why, and what differed) and the import is audited as `records.import_matched_by_hand`. A patient's own
upload that does not match is always refused. The same document already stored on the case is not
stored again (and not matched again).
"""

import datetime
import json

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from laihua.accounts.models import Role
from laihua.audit.services import record_event
from laihua.cases.models import Attachment, AttachmentKind, Case
from laihua.cases.services import add_event
from laihua.errors import InvalidInput, NotFound, PermissionDenied
from laihua.kit import clock
from laihua.records import distinct, identity, ips
from laihua.records.models import ClinicalItem, IpsDocument
from laihua.records.services.access import require_records_access

MIN_REASON = 5


class PatientMismatch(ips.IpsInvalid):
    """The document's Patient is not the case's patient: one issue per field, with both values."""

    code = "patient_mismatch"

    def __init__(self, differences: list[dict]):
        self.differences = differences
        issues = [
            {
                **ips.issue(d["expression"], identity.describe(d), "business-rule"),
                "field": d["field"],
                "label": str(identity.FIELDS.get(d["field"], d["field"])),
                "document": d["document"],
                "patient": d["patient"],
            }
            for d in differences
        ]
        super().__init__(issues)
        fields = ", ".join(str(identity.FIELDS.get(d["field"], d["field"])) for d in differences)
        self.message = _(
            "This summary is about someone else: its patient's %(fields)s differ from the case's patient. "
            "Nothing was stored."
        ) % {"fields": fields}
        self.args = (self.message,)


class MatchByHandRefused(PermissionDenied):
    code = "match_by_hand_refused"
    default_message = gettext_lazy(
        "Only a clinician of the case's hospital may import a summary whose patient does not match the case."
    )


def _existing(case: Case, parsed: ips.Parsed) -> IpsDocument | None:
    system, value = parsed.identifier
    return IpsDocument.objects.filter(
        case_id=case.pk, identifier_system=system[:255], identifier_value=value[:255], content_hash=parsed.content_hash
    ).first()


def _parse_timestamp(value):
    try:
        return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def store(
    parsed: ips.Parsed,
    case: Case,
    actor,
    *,
    source: str = "upload",
    mismatch: list[dict] | None = None,
    reason: str = "",
) -> tuple[IpsDocument, bool]:
    """Store a checked document, its warnings and its items once per case (the caller holds the
    transaction); `mismatch` and `reason` mark a document a clinician matched to the patient by hand."""
    system, value = parsed.identifier
    existing = _existing(case, parsed)
    if existing is not None:
        return existing, False
    composition = parsed.composition
    rows = ips.items(parsed)
    authors = composition.get("author") or []
    document = IpsDocument(
        patient_id=case.patient_id,
        case=case,
        hospital_id=case.hospital_id,
        identifier_system=system[:255],
        identifier_value=value[:255],
        timestamp=_parse_timestamp(parsed.data.get("timestamp")),
        title=str(composition.get("title") or "")[:255],
        author=str(authors[0].get("display") or "")[:255] if authors and isinstance(authors[0], dict) else "",
        source_format=parsed.source_format,
        content=parsed.text,
        content_hash=parsed.content_hash,
        item_count=len(rows),
        imported_by=actor if actor is not None and actor.is_authenticated else None,
        warnings=parsed.warnings,
    )
    if mismatch:
        document.patient_mismatch = mismatch
        document.matched_by_hand_reason = reason
        document.matched_by_hand_by = actor
        document.matched_by_hand_at = clock.now()
    try:
        with transaction.atomic():
            document.save()
    except IntegrityError:  # the same document, stored a moment ago by someone else
        return IpsDocument.objects.get(
            case_id=case.pk,
            identifier_system=system[:255],
            identifier_value=value[:255],
            content_hash=parsed.content_hash,
        ), False
    _insert_items(document, case, rows)
    distinct.settle_document(document)
    return document, True


ITEM_COLUMNS = (
    "document_id",
    "patient_id",
    "case_id",
    "position",
    "kind",
    "resource_type",
    "text",
    "codes",
    "status",
    "date",
    "value",
    "detail",
    "source_keys",
    "current",
)


def _insert_items(document: IpsDocument, case: Case, rows: list[dict]) -> None:
    """Store a document's items in one statement: COPY on PostgreSQL (the fastest bulk insert), else bulk_create."""
    values = [
        (
            document.pk,
            case.patient_id,
            case.pk,
            position,
            row["kind"],
            row["resource_type"],
            row["text"],
            row["codes"],
            row.get("status", "")[:40],
            row.get("date", "")[:40],
            row.get("value", "")[:255],
            row.get("detail", {}),
            row.get("source_keys", []),
            True,  # until records.distinct decides otherwise
        )
        for position, row in enumerate(rows)
    ]
    if not values:
        return
    if connection.vendor == "postgresql":
        table = ClinicalItem._meta.db_table
        statement = f"COPY {table} ({', '.join(ITEM_COLUMNS)}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
            for value in values:
                copy.write_row(
                    (
                        *value[:7],
                        json.dumps(value[7]),
                        *value[8:11],
                        json.dumps(value[11]),
                        json.dumps(value[12]),
                        value[13],
                    )
                )
        return
    ClinicalItem.objects.bulk_create([ClinicalItem(**dict(zip(ITEM_COLUMNS, value, strict=True))) for value in values])


def import_document(
    actor,
    case: Case,
    content: bytes | str,
    *,
    source: str = "upload",
    by_system: bool = False,
    match_reason: str = "",
) -> tuple[IpsDocument, bool]:
    """Check an IPS (JSON or XML), match its patient and store it with its items on the case;
    (document, created). The document's `warnings` say what the sender should fix.

    A refused document raises IpsInvalid with every issue and its location (PatientMismatch when it is
    about someone else), and stores nothing. `match_reason` is a clinician's written reason to import a
    document whose patient does not match. `by_system` is the operator's bulk import on the command line
    (no person signed in; it never matches by hand)."""
    if not by_system:
        require_records_access(actor, case)
    if len(content) > settings.LAIHUA_UPLOAD_MAX_BYTES:
        raise InvalidInput(
            _("The file is %(size)s; documents up to %(limit)s can be imported.")
            % {"size": filesizeformat(len(content)), "limit": filesizeformat(settings.LAIHUA_UPLOAD_MAX_BYTES)},
            field="file",
        )
    if not content:
        raise InvalidInput(_("The file is empty."), field="file")
    try:
        parsed = ips.parse(content)
    except ips.IpsInvalid as exc:
        _refused(actor, case, source, exc)
        raise
    mismatch, reason = [], ""
    if _existing(case, parsed) is None:
        mismatch = identity.differences(parsed.patient(), case.patient, parsed.patient_location())
    if mismatch:
        reason = _match_by_hand(actor, case, source, mismatch, match_reason)
    with transaction.atomic():
        document, created = store(parsed, case, actor, source=source, mismatch=mismatch, reason=reason)
        matched = created and document.matched_by_hand
        record_event(
            actor,
            "records.import",
            document,
            hospital=case.hospital,
            detail={
                "case": case.reference,
                "created": created,
                "items": document.item_count,
                "source": source,
                "warnings": len(document.warnings),
                "matched_by_hand": matched,
            },
        )
        if matched:
            record_event(
                actor,
                "records.import_matched_by_hand",
                document,
                hospital=case.hospital,
                detail={"case": case.reference, "fields": [d["field"] for d in mismatch], "reason": reason},
            )
        if created:
            add_event(case, actor, "records_imported", note=document.title, document=document.pk)
    return document, created


def _refused(actor, case: Case, source: str, exc: ips.IpsInvalid) -> None:
    detail = {"issues": len(exc.issues), "source": source}
    if isinstance(exc, PatientMismatch):
        detail["mismatch"] = [d["field"] for d in exc.differences]
    record_event(actor, "records.import_refused", case, hospital=case.hospital, detail=detail)


def _match_by_hand(actor, case: Case, source: str, mismatch: list[dict], match_reason: str) -> str:
    """The reason to import a document about someone else, when a clinician gives one; else refused."""
    reason = str(match_reason or "").strip()
    if not reason or actor is None or actor.role == Role.PATIENT:
        error = PatientMismatch(mismatch)
        _refused(actor, case, source, error)
        raise error
    if actor.role != Role.CLINICIAN:
        _refused(actor, case, source, PatientMismatch(mismatch))
        raise MatchByHandRefused()
    if len(reason) < MIN_REASON:
        raise InvalidInput(
            _("Write why this summary belongs to the patient although it does not match (a sentence)."),
            field="match_reason",
        )
    return reason[:2000]


def importable_attachments(actor, case: Case) -> list[Attachment]:
    """The case's IPS attachments (offered for import on the records page)."""
    require_records_access(actor, case)
    attachments = case.attachments.filter(kind=AttachmentKind.IPS)
    if actor.role == Role.PATIENT:
        attachments = attachments.filter(internal=False)
    return list(attachments)


def import_attachment(actor, case: Case, attachment_id: int, *, match_reason: str = "") -> tuple[IpsDocument, bool]:
    """Import an IPS the patient or staff attached to the case."""
    attachment = next((a for a in importable_attachments(actor, case) if a.pk == attachment_id), None)
    if attachment is None:
        raise NotFound(_("No such attachment."))
    with attachment.file.open("rb") as handle:
        content = handle.read()
    return import_document(actor, case, content, source="attachment", match_reason=match_reason)


# --- checks of what is stored ----------------------------------------------------------------------


def mismatched_documents(case: Case | None = None):
    """(document, differences) of every stored document whose Patient does not match its case's patient
    (matched by hand or not), oldest first; the operator's check (`laihua records mismatches`)."""
    documents = IpsDocument.objects.filter(direction="imported").select_related("case", "patient", "matched_by_hand_by")
    if case is not None:
        documents = documents.filter(case=case)
    for document in documents.order_by("pk").iterator(chunk_size=200):
        try:
            data = ips.decode(document.content)[0]
        except ips.IpsInvalid as exc:
            yield (
                document,
                [
                    {
                        "field": "document",
                        "expression": "Bundle",
                        "document": exc.issues[0]["diagnostics"],
                        "patient": "",
                    }
                ],
            )
            continue
        patients = [
            (index, entry["resource"])
            for index, entry in enumerate(data.get("entry") or [])
            if isinstance(entry, dict)
            and isinstance(entry.get("resource"), dict)
            and entry["resource"].get("resourceType") == "Patient"
        ]
        if not patients:
            continue
        index, resource = patients[0]
        found = identity.differences(resource, document.patient, f"Bundle.entry[{index}].resource")
        if found:
            yield document, found


@transaction.atomic
def refresh_items(document: IpsDocument) -> int:
    """Derive a stored document's items again from its content with today's rules (the document is kept
    as received, so its items can always be derived again); the number of items. IpsInvalid when the
    document breaks a rule it was not checked against when stored (its items are then left as they are)."""
    parsed = ips.parse(document.content)
    rows = ips.items(parsed)
    document = IpsDocument.objects.select_for_update().get(pk=document.pk)
    ClinicalItem.objects.filter(document=document).delete()
    _insert_items(document, document.case, rows)
    document.item_count, document.warnings = len(rows), parsed.warnings
    document.save(update_fields=["item_count", "warnings"])
    distinct.settle_case(document.case_id)
    return len(rows)
