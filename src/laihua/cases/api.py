"""Cases through the API: the same services as the pages, scoped the same way (a patient sees their own
cases, hospital staff their hospital's), with errors as {error, detail, field}."""

from django.urls import reverse
from ninja import File, Form, Query, Router, Status, UploadedFile

from laihua.accounts.auth import AUTH
from laihua.cases import services
from laihua.cases.models import Attachment, Case, Message
from laihua.cases.schemas import (
    AssignIn,
    CaseFilters,
    CaseListOut,
    CaseOut,
    InquiryIn,
    InquiryOut,
    MessageOut,
    TransitionIn,
)
from laihua.cases.states import State
from laihua.cases.templatetags.cases_tags import person
from laihua.cases.uploads import attachment_response

router = Router(tags=["cases"], auth=AUTH)


def attachment_out(attachment: Attachment) -> dict:
    return {
        "id": attachment.pk,
        "name": attachment.original_name,
        "kind": attachment.kind,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "internal": attachment.internal,
        "created_at": attachment.created_at,
        "url": reverse("api:case_attachment", args=[attachment.case.reference, attachment.pk]),
    }


def summary_out(case: Case) -> dict:
    patient = case.patient
    coordinator = case.coordinator
    return {
        "reference": case.reference,
        "inquiry_group": case.inquiry_group,
        "state": case.state,
        "state_label": str(State(case.state).label),
        "hospital": {"slug": case.hospital.slug, "name": case.hospital.name},
        "department": case.department.code if case.department_id else None,
        "patient": {
            "name": patient.full_name,
            "sex": patient.sex,
            "date_of_birth": patient.date_of_birth,
            "nationality": patient.nationality.code,
            "passport_masked": patient.passport_masked,
            "languages": patient.languages,
        },
        "coordinator": (
            {"username": coordinator.username, "name": coordinator.get_full_name() or coordinator.username}
            if coordinator
            else None
        ),
        "services": [{"id": item.pk, "code": item.code, "name": item.name} for item in case.services.all()],
        "desired_arrival": case.desired_arrival,
        "desired_departure": case.desired_departure,
        "language": case.language,
        "created_at": case.created_at,
        "state_changed_at": case.state_changed_at,
        "first_response_at": case.first_response_at,
        "first_response_due": services.first_response_due(case),
        "overdue": services.is_overdue(case),
        "url": reverse("cases:detail", args=[case.reference]),
    }


def case_out(actor, case: Case) -> dict:
    return {
        **summary_out(case),
        "description": case.description,
        "insurance": {
            "insurer": case.insurer_name,
            "policy": case.insurance_policy,
            "member": case.insurance_member,
        },
        "allowed_moves": services.moves_for(actor, case),
        "timeline": [
            {
                "at": event.at,
                "kind": event.kind,
                "actor": person(event.actor, None) if event.actor else None,
                "from_state": event.from_state,
                "to_state": event.to_state,
                "note": event.note,
                "staff_only": event.staff_only,
                "detail": event.detail,
            }
            for event in services.timeline(actor, case)
        ],
        "documents": [attachment_out(a) for a in services.documents(actor, case).select_related("case")],
    }


def message_out(message: Message) -> dict:
    return {
        "id": message.pk,
        "author": person(message.author, None),
        "from_patient": message.author.role == "patient",
        "body": message.body,
        "internal": message.internal,
        "created_at": message.created_at,
        "attachments": [attachment_out(a) for a in message.attachments.all()],
    }


@router.post("", response={201: InquiryOut}, summary="Send an inquiry to one or several hospitals (patients)")
def create_inquiry(request, payload: Form[InquiryIn], files: File[list[UploadedFile]] = None):
    """Multipart form: the fields below (repeat `hospitals` and `services` for several) and any number of
    `files`. One case opens at each hospital asked; a bad field or file saves nothing."""
    cases = services.open_inquiry(request.auth, payload.dict(), files or [])
    return Status(201, {"inquiry_group": cases[0].inquiry_group, "cases": [case_out(request.auth, c) for c in cases]})


@router.get("", response=CaseListOut, summary="Cases you can see: a patient their own, staff their hospital's")
def list_cases(request, filters: Query[CaseFilters]):
    data = filters.dict()
    limit, offset = data.pop("limit"), data.pop("offset")
    data["overdue"] = "on" if data["overdue"] else ""
    rows, total, counts = services.list_cases(request.auth, data, limit=limit, offset=offset)
    return {
        "total": total,
        "limit": max(1, min(limit, 100)),
        "offset": max(0, offset),
        "counts": counts,
        "results": [summary_out(case) for case in rows],
    }


@router.get("/{reference}", response=CaseOut, summary="One case with its timeline and documents")
def get_case(request, reference: str):
    return case_out(request.auth, services.get_case(request.auth, reference))


@router.post("/{reference}/transitions", response=CaseOut, summary="Move the case to another state")
def move_case(request, reference: str, payload: TransitionIn):
    case = services.get_case(request.auth, reference, audit=None)
    case = services.transition(request.auth, case, payload.state, note=payload.note)
    return case_out(request.auth, services.get_case(request.auth, case.reference, audit=None))


@router.post("/{reference}/assign", response=CaseOut, summary="Give the case to a coordinator (or to nobody)")
def assign_case(request, reference: str, payload: AssignIn):
    case = services.get_case(request.auth, reference, audit=None)
    services.assign(request.auth, case, payload.coordinator)
    return case_out(request.auth, services.get_case(request.auth, reference, audit=None))


@router.get("/{reference}/messages", response=list[MessageOut], summary="The case's thread")
def list_messages(request, reference: str):
    case = services.get_case(request.auth, reference, audit="case.thread.view")
    thread = services.thread(request.auth, case)
    for message in thread:
        for attachment in message.attachments.all():
            attachment.case = case
    return [message_out(message) for message in thread]


@router.post("/{reference}/messages", response={201: MessageOut}, summary="Write in the thread, with files")
def post_message(
    request,
    reference: str,
    body: Form[str] = "",
    internal: Form[bool] = False,
    files: File[list[UploadedFile]] = None,
):
    """Multipart form: `body`, `internal` (staff only: a note the patient never sees) and any `files`."""
    case = services.get_case(request.auth, reference, audit=None)
    message = services.post_message(request.auth, case, body, files or [], internal=internal)
    return Status(201, message_out(Message.objects.prefetch_related("attachments__case").get(pk=message.pk)))


@router.get(
    "/{reference}/attachments/{attachment_id}",
    url_name="case_attachment",
    summary="Download a file (with its stored content type, always as an attachment)",
)
def download_attachment(request, reference: str, attachment_id: int):
    return attachment_response(services.get_attachment(request.auth, reference, attachment_id))
