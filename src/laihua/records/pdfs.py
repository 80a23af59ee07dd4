"""The download of a prepared records PDF, shared by the pages and the API."""

from django.http import FileResponse

from laihua.records import services


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
