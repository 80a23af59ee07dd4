"""Importing International Patient Summaries onto a case."""

import datetime
import json

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from laihua.accounts.models import Role
from laihua.audit.services import record_event
from laihua.cases.models import Attachment, AttachmentKind, Case
from laihua.cases.services import add_event
from laihua.errors import InvalidInput, NotFound
from laihua.records import ips
from laihua.records.models import (
    ClinicalItem,
    IpsDocument,
)
from laihua.records.services.access import require_records_access


def _patient_warnings(parsed: ips.Parsed, case: Case) -> list[str]:
    """Differences between the document's Patient and the case's patient (shown, not refused)."""
    found = []
    resource = parsed.patient()
    birth = resource.get("birthDate")
    if birth and birth != case.patient.date_of_birth.isoformat():
        found.append(_("The document's patient was born on %(date)s.") % {"date": birth})
    families = {(n.get("family") or "").strip().lower() for n in resource.get("name") or [] if isinstance(n, dict)}
    if families - {""} and case.patient.family_name.strip().lower() not in families:
        found.append(_("The document's patient is called %(name)s.") % {"name": ", ".join(sorted(families - {""}))})
    return found


def _parse_timestamp(value):
    try:
        return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def store(parsed: ips.Parsed, case: Case, actor, *, source: str = "upload") -> tuple[IpsDocument, bool]:
    """Store a checked document and its items once per case (the caller holds the transaction)."""
    system, value = parsed.identifier
    existing = IpsDocument.objects.filter(
        case_id=case.pk, identifier_system=system[:255], identifier_value=value[:255], content_hash=parsed.content_hash
    ).first()
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
    )
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
                copy.write_row((*value[:7], json.dumps(value[7]), *value[8:11], json.dumps(value[11])))
        return
    ClinicalItem.objects.bulk_create([ClinicalItem(**dict(zip(ITEM_COLUMNS, value, strict=True))) for value in values])


def import_document(
    actor, case: Case, content: bytes | str, *, source: str = "upload", by_system: bool = False
) -> tuple[IpsDocument, bool]:
    """Check an IPS (JSON or XML) and store it with its items on the case; (document, created).

    A refused document raises IpsInvalid with every issue and its location, and stores nothing.
    `by_system` is the operator's bulk import on the command line (no person signed in)."""
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
        record_event(
            actor,
            "records.import_refused",
            case,
            hospital=case.hospital,
            detail={"issues": len(exc.issues), "source": source},
        )
        raise
    warnings = _patient_warnings(parsed, case)
    with transaction.atomic():
        document, created = store(parsed, case, actor, source=source)
        record_event(
            actor,
            "records.import",
            document,
            hospital=case.hospital,
            detail={"case": case.reference, "created": created, "items": document.item_count, "source": source},
        )
        if created:
            add_event(case, actor, "records_imported", note=document.title, document=document.pk)
    document.warnings = warnings
    return document, created


def importable_attachments(actor, case: Case) -> list[Attachment]:
    """The case's IPS attachments (offered for import on the records page)."""
    require_records_access(actor, case)
    attachments = case.attachments.filter(kind=AttachmentKind.IPS)
    if actor.role == Role.PATIENT:
        attachments = attachments.filter(internal=False)
    return list(attachments)


def import_attachment(actor, case: Case, attachment_id: int) -> tuple[IpsDocument, bool]:
    """Import an IPS the patient or staff attached to the case."""
    attachment = next((a for a in importable_attachments(actor, case) if a.pk == attachment_id), None)
    if attachment is None:
        raise NotFound(_("No such attachment."))
    with attachment.file.open("rb") as handle:
        content = handle.read()
    return import_document(actor, case, content, source="attachment")
