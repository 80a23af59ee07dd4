"""FHIR routes of the records domain (mounted under /fhir/ by laihua.fhir_api).

- POST /fhir/Bundle?case=<reference>[&match_reason=...]: import an IPS document (JSON or XML body)
  onto a case; 201 when stored, 200 when the same document was already there; refused documents give
  a 422 OperationOutcome listing every issue with its location (a document about someone else: one
  issue per field that differs, with both values). The answer is the stored Bundle; when the import
  has warnings it is an OperationOutcome with each warning (severity `warning`) and where the document
  is stored. `Prefer: return=representation`, `return=OperationOutcome` or `return=minimal` chooses.
- GET /fhir/Bundle/{id}: a stored document (as received; as XML, a narrative that is not well-formed
  XHTML is written as its plain text).
- GET /fhir/Patient/{id}/$summary[?case=<reference>]: the IPS operation, the patient's summary document.
- GET /fhir/Consent/{id}: a patient's consent to send records outside the hospital.

The three GET routes answer FHIR JSON, or FHIR XML when asked (`?_format=xml` or
`Accept: application/fhir+xml`; see laihua.kit.fhirhttp.requested_format). The format is settled before
anything is read, so an unknown `_format` reads (and audits) nothing; the reads are audited by the
services whatever the format.
"""

import json
from decimal import Decimal

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router

from laihua.accounts.auth import AUTH
from laihua.cases.services import get_case
from laihua.errors import InvalidInput
from laihua.kit.fhirhttp import fhir_response, json_response, operation_outcome, requested_format
from laihua.records import ips, narrative, services
from laihua.records.fhir import consent_resource

router = Router(tags=["records"], auth=AUTH)


def _respond(request, body: dict, status: int = 200, **headers):
    response = json_response(request, body, status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _preferred_return(request) -> str:
    """ "representation", "OperationOutcome" or "minimal" as the Prefer header asks, else ""."""
    for part in request.headers.get("Prefer", "").split(","):
        name, _sep, value = part.strip().partition("=")
        if name.strip().lower() == "return":
            value = value.strip().strip('"')
            return {"representation": "representation", "operationoutcome": "OperationOutcome"}.get(
                value.lower(), "minimal" if value.lower() == "minimal" else ""
            )
    return ""


def _import_outcome(document, created: bool) -> dict:
    stored = _("Stored as Bundle/%(id)s with %(count)d items.") if created else _("Already stored as Bundle/%(id)s.")
    notes = [stored % {"id": document.pk, "count": document.item_count}]
    if document.matched_by_hand:
        notes.append(
            _("Matched to the case's patient by hand: %(reason)s") % {"reason": document.matched_by_hand_reason}
        )
    issues = [*document.warnings]
    issues += [{"severity": "information", "code": "informational", "diagnostics": note} for note in notes]
    return operation_outcome(issues)


@router.post("/Bundle", summary="Import an International Patient Summary onto a case")
def import_bundle(request, case: str = "", match_reason: str = ""):
    if not case:
        raise InvalidInput(_("Name the case the document belongs to (?case=LH-...)."), field="case")
    the_case = get_case(request.user, case)
    document, created = services.import_document(
        request.user, the_case, request.body, source="fhir", match_reason=match_reason
    )
    status, location = 201 if created else 200, f"/fhir/Bundle/{document.pk}"
    wanted = _preferred_return(request) or ("OperationOutcome" if document.warnings else "representation")
    if wanted == "minimal":
        response = HttpResponse(status=status)
        response["Location"] = location
        return response
    if wanted == "OperationOutcome":
        return _respond(request, _import_outcome(document, created), status, Location=location)
    body = json.loads(document.content) if document.source_format == "json" else ips.decode(document.content)[0]
    return _respond(request, body, status, Location=location)


FORMAT = Query(
    "",
    alias="_format",
    description="json (the default) or xml; also application/fhir+json, application/fhir+xml, "
    "application/xml, text/xml. Without it, Accept: application/fhir+xml asks for XML.",
)


@router.get("/Bundle/{document_id}", summary="A stored patient summary document (FHIR JSON or XML)")
def read_bundle(request, document_id: int, format_param: str = FORMAT):
    wanted = requested_format(request, format_param)
    document = services.get_document(request.user, document_id)
    if wanted == "xml" and document.source_format == "json":
        body = json.loads(document.content, parse_float=Decimal)  # decimals keep their JSON text in XML
        body = narrative.with_plain_narratives(body)  # XML carries only well-formed XHTML
    else:
        body = ips.decode(document.content)[0]
    return fhir_response(request, body)


@router.get("/Patient/{patient_id}/$summary", summary="IPS $summary: the patient's summary document (JSON or XML)")
def patient_summary(request, patient_id: int, case: str = "", format_param: str = FORMAT):
    requested_format(request, format_param)
    the_case = services.case_for_patient_summary(request.user, patient_id, case or None)
    return fhir_response(request, services.export_case(request.user, the_case))


@router.get("/Consent/{consent_id}", summary="A patient's consent to send records outside the hospital")
def read_consent(request, consent_id: int, format_param: str = FORMAT):
    requested_format(request, format_param)
    return fhir_response(request, consent_resource(services.get_consent(request.user, consent_id)))
