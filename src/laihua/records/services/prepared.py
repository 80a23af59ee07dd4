"""Records PDFs prepared ahead by a job.

A records PDF of up to PDF_JOB_ITEMS items renders inside the request; a longer one is rendered by a job
into the default storage (object storage when configured) and then served from there. Laying out costs about
21 ms per item on a quiet 2-core machine (1,500 items 32 s, 5,000 items 117 s: docs/benchmarks.md), so 200
items keep a request near 5 s; see docs/operations.md, "Records PDFs prepared ahead".

Asking for it (`wanted_pdf`) finds or creates the PreparedPdf of the case's current records version and
language and, when it created it (or an earlier attempt failed), asks for the job once the transaction
commits (records.signals.pdf_wanted, which the jobs app turns into a job). The unique (case, language,
version) row makes this idempotent: a second request while it is being prepared queues nothing. The version
is a digest of everything the PDF shows (the current items, the documents, the discharge summary, the patient,
the term translations, the hospital's name), so any change to the records asks for a new file; the files of
older versions are deleted then.

Downloads go through `prepared_pdf_file`, which checks access and writes the same audit event as a PDF
rendered at once ("records.export_pdf").
"""

import datetime
import hashlib
import logging
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, Q, Sum
from django.utils.translation import gettext as _

from laihua.audit.services import record_event
from laihua.cases.models import Case
from laihua.errors import DomainError, NotFound
from laihua.kit import clock
from laihua.records.models import (
    ClinicalItem,
    EpisodeSummary,
    IpsDocument,
    PdfStatus,
    PreparedPdf,
    TermTranslation,
    Transfer,
)
from laihua.records.services.access import require_records_access
from laihua.records.services.exporting import _pdf_context, _pdf_language, pdf_parts, summary_pdf
from laihua.records.services.transfers import shows_pdf, transfer_pdf
from laihua.records.signals import pdf_wanted

logger = logging.getLogger("laihua.records")

# Records with more current items than this are rendered by a job (prepared ahead), not in the request.
PDF_JOB_ITEMS = 200
# A row still pending this long after its job was asked for is asked for again (the job was lost with the
# broker; a job still running meanwhile is harmless: only the first file finished is kept).
REQUEUE_AFTER = datetime.timedelta(minutes=10)
# Bumped when the PDF's template or layout changes, so that files prepared before are prepared again.
LAYOUT = "summary-pdf-1"


def records_version(case: Case, language: str) -> str:
    """A digest of everything the case's records PDF shows in this language: a change to any of it (an import,
    a superseded item, a document matched by hand, the discharge summary, the patient's details, a term's
    translation, the hospital's name) gives another version."""
    items = ClinicalItem.objects.filter(case=case, current=True).aggregate(n=Count("pk"), top=Max("pk"), sum=Sum("pk"))
    documents = IpsDocument.objects.filter(case=case).aggregate(
        n=Count("pk"), top=Max("pk"), hand=Count("pk", filter=Q(matched_by_hand_by__isnull=False))
    )
    summary = EpisodeSummary.objects.filter(case=case).values_list("updated_at", flat=True).first()
    terms = TermTranslation.objects.filter(Q(hospital__isnull=True) | Q(hospital_id=case.hospital_id)).aggregate(
        n=Count("pk"), latest=Max("updated_at")
    )
    patient = Case.objects.filter(pk=case.pk).values_list("patient__updated_at", "hospital__name").get()
    parts = [LAYOUT, language, case.pk, items, documents, summary, terms, patient]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def item_count(case: Case) -> int:
    return ClinicalItem.objects.filter(case=case, current=True).count()


@dataclass
class SummaryPdf:
    """What a request for the records PDF gets: its bytes (rendered now), or the prepared file's row."""

    content: bytes | None = None
    prepared: PreparedPdf | None = None


def request_summary_pdf(actor, case: Case, *, language: str | None = None) -> SummaryPdf:
    """The records PDF for the actor: rendered now when short (audited by summary_pdf), else the row of the
    prepared file (ready, or being prepared: the job is asked for if needed). Access is checked first."""
    require_records_access(actor, case)
    language = language or _pdf_language(case)
    count = item_count(case)
    if count <= PDF_JOB_ITEMS:
        return SummaryPdf(content=summary_pdf(actor, case, language=language))
    return SummaryPdf(prepared=_wanted(case, language, count, again=True))


def wanted_pdf(actor, case: Case, *, language: str | None = None) -> PreparedPdf | None:
    """The state of the actor's records PDF (None: short enough to render at once); asks for the job when the
    current version has none yet, but not again after it failed (only asking for the PDF itself does: a page
    polling the state would otherwise retry for ever). Reads no health data, so it is not audited."""
    require_records_access(actor, case)
    language = language or _pdf_language(case)
    count = item_count(case)
    return None if count <= PDF_JOB_ITEMS else _wanted(case, language, count)


def _wanted(case: Case, language: str, count: int, *, again: bool = False) -> PreparedPdf:
    version = records_version(case, language)
    with transaction.atomic():
        row = PreparedPdf.objects.filter(case=case, language=language, version=version).first()
        if row is None:
            try:
                with transaction.atomic():
                    row = PreparedPdf.objects.create(case=case, language=language, version=version, items=count)
            except IntegrityError:  # another request created it at the same moment: it asked for the job
                return PreparedPdf.objects.get(case=case, language=language, version=version)
            _drop_older(case, language, version)
        elif (again and row.status == PdfStatus.FAILED) or (
            row.status == PdfStatus.PENDING and row.queued_at < clock.now() - REQUEUE_AFTER
        ):
            # failed for good, or its job lost with the broker: asked for again, by one request only
            now = clock.now()
            claim = PreparedPdf.objects.filter(pk=row.pk, status=row.status, queued_at=row.queued_at)
            if not claim.update(status=PdfStatus.PENDING, error="", queued_at=now):
                return PreparedPdf.objects.get(pk=row.pk)
            row.status, row.error, row.queued_at = PdfStatus.PENDING, "", now
        else:
            return row
        transaction.on_commit(lambda pk=row.pk: pdf_wanted.send(sender=PreparedPdf, pk=pk))
    return row


def _drop_older(case: Case, language: str, version: str) -> None:
    """The files of the case's older versions (in this language) go once the new row is committed."""
    older = list(PreparedPdf.objects.filter(case=case, language=language).exclude(version=version))
    if not older:
        return
    PreparedPdf.objects.filter(pk__in=[row.pk for row in older]).delete()
    names = [row.file.name for row in older if row.file]

    def delete_files():
        for name in names:
            try:
                PreparedPdf._meta.get_field("file").storage.delete(name)
            except Exception:  # noqa: BLE001 - a file left behind is harmless; the row is gone
                logger.exception("Could not delete the prepared PDF %s.", name)

    transaction.on_commit(delete_files)


def prepare_pdf(pk: int) -> bool:
    """The job: render the row's PDF into the storage and mark it ready; True when it did so now. A row already
    ready, or gone (a newer version replaced it), is left alone; two runs at once (a job given back to the
    queue while its first worker still runs) each render, and only the first to finish keeps its file."""
    from laihua.kit.pdf import render_pdf_parts

    row = PreparedPdf.objects.select_related("case", "case__patient", "case__hospital").filter(pk=pk).first()
    if row is None or row.status == PdfStatus.READY:
        return False
    PreparedPdf.objects.filter(pk=pk).update(attempts=F("attempts") + 1)
    content = render_pdf_parts("records/summary_pdf.html", pdf_parts(_pdf_context(row.case)), language=row.language)
    storage = PreparedPdf._meta.get_field("file").storage
    name = storage.save(
        PreparedPdf._meta.get_field("file").generate_filename(
            row, f"summary-{row.case.reference}-{row.language}-{row.version[:12]}.pdf"
        ),
        ContentFile(content),
    )
    kept = (
        PreparedPdf.objects.filter(pk=pk)
        .exclude(status=PdfStatus.READY)
        .update(status=PdfStatus.READY, file=name, ready_at=clock.now(), error="")
    )
    if not kept:
        storage.delete(name)
        return False
    logger.info("Prepared the records PDF of %s (%d items, %d bytes).", row.case, row.items, len(content))
    return True


def pdf_failed(pk: int, reason: str) -> None:
    """The job's retries are used up: the row says so (asking again queues it again)."""
    PreparedPdf.objects.filter(pk=pk, status=PdfStatus.PENDING).update(status=PdfStatus.FAILED, error=reason[:2000])
    logger.error("The records PDF %s could not be prepared: %s", pk, reason)


def prepared_pdf_file(actor, case: Case, prepared: PreparedPdf):
    """The prepared file opened for the actor's download, audited as a records PDF export."""
    require_records_access(actor, case)
    if prepared.case_id != case.pk or prepared.status != PdfStatus.READY:
        raise NotFound(_("No such file."))
    try:
        handle = prepared.file.open("rb")
    except FileNotFoundError:
        raise DomainError(_("This file is missing from the storage."), code="file_missing", status=410) from None
    record_event(
        actor,
        "records.export_pdf",
        case,
        hospital=case.hospital,
        detail={"prepared": prepared.pk, "items": prepared.items},
    )
    return handle


def request_transfer_pdf(transfer: Transfer, language: str) -> SummaryPdf:
    """The PDF a recipient's link opens (the link was checked and its opening audited by open_transfer): the
    same document as the case's records PDF in the reader's language, so a long one is prepared by the same
    job, once for the patient, the staff and every recipient of that version."""
    if not shows_pdf(transfer):
        raise NotFound(_("The PDF is not part of these records."))
    count = item_count(transfer.case)
    if count <= PDF_JOB_ITEMS:
        return SummaryPdf(content=transfer_pdf(transfer, language))
    return SummaryPdf(prepared=_wanted(transfer.case, language, count, again=True))


def transfer_pdf_file(transfer: Transfer, prepared: PreparedPdf):
    """The prepared file opened for the recipient whose link was just checked."""
    if prepared.case_id != transfer.case_id or prepared.status != PdfStatus.READY or not shows_pdf(transfer):
        raise NotFound(_("No such file."))
    try:
        return prepared.file.open("rb")
    except FileNotFoundError:
        raise DomainError(_("This file is missing from the storage."), code="file_missing", status=410) from None
