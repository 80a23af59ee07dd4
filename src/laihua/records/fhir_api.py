"""FHIR routes of the records domain (mounted under /fhir/ by laihua.fhir_api).

- POST /fhir/Bundle?case=<reference>: import an IPS document (JSON or XML body) onto a case;
  201 when stored, 200 when the same document was already there; refused documents give a 422
  OperationOutcome listing every issue with its location.
- GET /fhir/Bundle/{id}: a stored document (as FHIR JSON).
- GET /fhir/Patient/{id}/$summary[?case=<reference>]: the IPS operation, the patient's summary document.
- GET /fhir/Consent/{id}: a patient's consent to send records outside the hospital.
"""

import json

from django.utils.translation import gettext as _
from ninja import Router

from laihua.api import AUTH
from laihua.cases.services import get_case
from laihua.errors import InvalidInput
from laihua.records import ips, services
from laihua.records.fhir import consent_resource

router = Router(tags=["records"], auth=AUTH)


def _respond(request, body: dict, status: int = 200, **headers):
    from laihua.fhir_api import fhir_api

    response = fhir_api.create_response(request, body, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


@router.post("/Bundle", summary="Import an International Patient Summary onto a case")
def import_bundle(request, case: str = ""):
    if not case:
        raise InvalidInput(_("Name the case the document belongs to (?case=LH-...)."), field="case")
    the_case = get_case(request.user, case)
    document, created = services.import_document(request.user, the_case, request.body, source="fhir")
    body = json.loads(document.content) if document.source_format == "json" else ips.decode(document.content)[0]
    return _respond(request, body, 201 if created else 200, Location=f"/fhir/Bundle/{document.pk}")


@router.get("/Bundle/{document_id}", summary="A stored patient summary document")
def read_bundle(request, document_id: int):
    document = services.get_document(request.user, document_id)
    return _respond(request, ips.decode(document.content)[0])


@router.get("/Patient/{patient_id}/$summary", summary="IPS $summary: the patient's summary document")
def patient_summary(request, patient_id: int, case: str = ""):
    the_case = services.case_for_patient_summary(request.user, patient_id, case or None)
    return _respond(request, services.export_case(request.user, the_case))


@router.get("/Consent/{consent_id}", summary="A patient's consent to send records outside the hospital")
def read_consent(request, consent_id: int):
    return _respond(request, consent_resource(services.get_consent(request.user, consent_id)))
