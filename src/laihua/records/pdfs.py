"""The download of a prepared records PDF, shared by the pages and the API."""

from django.http import FileResponse, HttpResponse

from laihua.records import services
from laihua.records.models import PdfStatus


def prepared_pdf_response(actor, case, prepared) -> FileResponse:
    """A prepared records PDF streamed from the storage (local disk or object storage) through the application,
    after the access check, audited as any records PDF export."""
    response = FileResponse(
        services.prepared_pdf_file(actor, case, prepared),
        as_attachment=True,
        filename=f"summary-{case.reference}.pdf",
        content_type="application/pdf",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def ready_summary_pdf(actor, case, answer):
    """The response to a records PDF asked for (records.services.request_summary_pdf) when it can be given now: a
    short record rendered at once, or a long one its job has prepared; None while the job is still at work."""
    if answer.content is not None:
        response = HttpResponse(answer.content, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="summary-{case.reference}.pdf"'
        return response
    if answer.prepared.status == PdfStatus.READY:
        return prepared_pdf_response(actor, case, answer.prepared)
    return None
