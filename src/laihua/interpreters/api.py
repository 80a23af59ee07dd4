"""JSON routes of the interpreter pool (mounted at /api/interpreters by laihua.api): thin calls to services."""

import datetime

from django.http import HttpResponse
from ninja import Field, Router, Schema, Status

from laihua.accounts.auth import AUTH
from laihua.interpreters import services

router = Router(tags=["interpreters"], auth=AUTH)


class InterpreterIn(Schema):
    name: str
    employment: str = Field("staff", description="staff or agency")
    agency: str = Field("", description="the agency's name (required for agency)")
    languages: list[str] = Field(..., description='ISO 639 codes, e.g. ["en", "ru"]')
    level: str = Field("general", description="certified_medical, experienced or general")
    works_from: str = Field("08:00", description="HH:MM")
    works_until: str = Field("17:00", description="HH:MM")
    weekdays: list[int] = Field([1, 2, 3, 4, 5], description="ISO weekdays: 1 = Monday … 7 = Sunday")
    phone: str = ""
    active: bool = True
    username: str = Field("", description="an account with the role interpreter at your hospital")


class AbsenceIn(Schema):
    starts_on: datetime.date
    ends_on: datetime.date
    note: str = ""


def _form_data(payload: InterpreterIn) -> dict:
    data = payload.dict()
    data["languages"] = " ".join(data["languages"])
    if not data.pop("active"):
        return data
    return {**data, "active": "on"}


@router.get("", response=list[dict], summary="Your hospital's interpreter pool")
def pool(request):
    return [services.interpreter_json(p) for p in services.pool_page(request.auth)]


@router.post("", response={201: dict}, summary="Add an interpreter to the pool (hospital admin, coordinator)")
def add(request, payload: InterpreterIn):
    return Status(201, services.interpreter_json(services.save_interpreter(request.auth, _form_data(payload))))


@router.get("/export.csv", summary="The pool as CSV (the columns import reads)")
def export(request):
    response = HttpResponse(services.export_csv(request.auth), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="interpreters.csv"'
    return response


@router.post("/import", response=dict, summary="Add or change interpreters from CSV (the request body, text/csv)")
def import_csv(request):
    return services.import_csv(request.auth, request.body.decode("utf-8-sig", errors="replace"))


@router.get("/{interpreter_id}", response=dict, summary="One interpreter with their days away")
def detail(request, interpreter_id: int):
    return services.interpreter_json(services.get_interpreter(request.auth, interpreter_id))


@router.put("/{interpreter_id}", response=dict, summary="Change an interpreter (the whole entry)")
def change(request, interpreter_id: int, payload: InterpreterIn):
    person = services.save_interpreter(request.auth, _form_data(payload), pk=interpreter_id)
    return services.interpreter_json(person)


@router.post("/{interpreter_id}/absences", response={201: dict}, summary="Record days away")
def absence_add(request, interpreter_id: int, payload: AbsenceIn):
    absence = services.add_absence(request.auth, interpreter_id, payload.dict())
    return Status(201, services.absence_json(absence))


@router.delete("/{interpreter_id}/absences/{absence_id}", response={204: None}, summary="Remove days away")
def absence_remove(request, interpreter_id: int, absence_id: int):
    services.delete_absence(request.auth, interpreter_id, absence_id)
    return Status(204, None)
