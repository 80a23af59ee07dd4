"""Clinical pathways of a hospital's packages and services, kept by its own staff: the ordered steps from
the first consultation to the last post-operative check (each a catalog service of the hospital), the
inpatient nights the quote includes and the fit-to-fly rule.

The hospital admin, its coordinators and its clinicians change them; its finance staff read them; anyone
else gets 403 (another hospital's pathways are never found: 404). Every value is checked before anything is
saved and an error names its field (`steps[2].service`); each change is an audit event with the hospital.
A pathway is kept whole: saving it replaces its steps. CSV import and export (one row per step) go through
the same checks, all or nothing, an error naming the file's row and column."""

import io
from collections.abc import Mapping

from django.db import transaction
from django.db.models import QuerySet
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from laihua.accounts.models import Role
from laihua.accounts.permissions import require_hospital_staff, require_role
from laihua.audit.services import record_event
from laihua.catalog.models import CatalogItem, Kind
from laihua.errors import InvalidInput, NotFound, PermissionDenied
from laihua.hospitals.models import Hospital
from laihua.kit import csvdata
from laihua.kit.i18n import pick
from laihua.planning.models import FIT_TO_FLY_DAYS, Pathway, PathwayStep, ProcedureKind, StepKind
from laihua.planning.rules import flag, whole_number

PATHWAY_EDITORS = (Role.HOSPITAL_ADMIN, Role.COORDINATOR, Role.CLINICIAN)
PATHWAY_READERS = PATHWAY_EDITORS + (Role.FINANCE,)
MAX_STEPS = 30
MAX_GAP_DAYS = 90
MAX_NIGHTS = 90
MAX_FIT_TO_FLY_DAYS = 90
MAX_TURNAROUND_DAYS = 30
MAX_THEATRE_MINUTES = 9 * 60
LANGUAGES = ("en", "zh-hans")
CSV_COLUMNS = (
    "pathway",
    "procedure_kind",
    "fit_to_fly_days",
    "nights",
    "source",
    "note_en",
    "note_zh-hans",
    "position",
    "kind",
    "service",
    "label_en",
    "label_zh-hans",
    "with_previous",
    "min_gap_days",
    "max_gap_days",
    "turnaround_days",
    "theatre_minutes",
)


def field_label(field: str) -> str:
    """The field's name as the user reads it: the last part of `steps[2].service`, from the models."""
    name = field.rsplit(".", 1)[-1]
    for model in (PathwayStep, Pathway):
        try:
            return capfirst(str(model._meta.get_field(name).verbose_name))
        except Exception:  # noqa: S112 - not a field of this model: try the next
            continue
    return name


def _invalid(field: str, message: str) -> InvalidInput:
    where = field_label(field)
    if field.startswith("steps["):
        where = _("Step %(n)s, %(field)s") % {"n": int(field[6 : field.index("]")]) + 1, "field": where.lower()}
    return InvalidInput(f"{where}: {message}", field=field)


# --- reading --------------------------------------------------------------------------------------


def _hospital_of(actor, hospital: Hospital | None, roles) -> Hospital:
    require_role(actor, roles)
    if hospital is None:
        raise PermissionDenied()
    require_hospital_staff(actor, hospital, roles)
    return hospital


def pathways_of(actor, hospital: Hospital | None) -> QuerySet[Pathway]:
    """The hospital's pathways with their steps, by the code of their package or service."""
    hospital = _hospital_of(actor, hospital, PATHWAY_READERS)
    return (
        Pathway.objects.filter(item__hospital=hospital)
        .select_related("item")
        .prefetch_related("steps__service")
        .order_by("item__code")
    )


def get_pathway(actor, code: str, *, roles=PATHWAY_READERS) -> Pathway:
    """The pathway of a package or service of the actor's own hospital, by its code (NotFound for any other)."""
    require_role(actor, roles)
    found = None
    if actor.hospital_id:
        found = (
            Pathway.objects.filter(item__hospital_id=actor.hospital_id, item__code=str(code).strip())
            .select_related("item", "item__hospital")
            .prefetch_related("steps__service")
            .first()
        )
    if found is None:
        raise NotFound(_("No pathway for this code in your hospital."))
    return found


def pathway_json(pathway: Pathway) -> dict:
    return {
        "item": pathway.item.code,
        "name": pathway.item.name,
        "procedure_kind": pathway.procedure_kind,
        "fit_to_fly_days": pathway.fit_to_fly_days,
        "fit_to_fly_effective": pathway.fly_after_days,
        "nights": pathway.nights,
        "note": pathway.note,
        "source": pathway.source,
        "steps": [
            {
                "position": step.position,
                "kind": step.kind,
                "service": step.service.code,
                "label": step.label,
                "with_previous": step.with_previous,
                "min_gap_days": step.min_gap_days,
                "max_gap_days": step.max_gap_days,
                "turnaround_days": step.turnaround_days,
                "theatre_minutes": step.theatre_minutes,
            }
            for step in sorted(pathway.steps.all(), key=lambda s: s.position)
        ],
    }


# --- checking ---------------------------------------------------------------------------------------


def _whole(value, field: str, *, minimum: int, maximum: int, optional: bool = True) -> int | None:
    return whole_number(value, field, _invalid, minimum=minimum, maximum=maximum, optional=optional)


def _texts(value, field: str, *, required: bool, most: int) -> dict:
    texts = (
        {code: str((value or {}).get(code) or "").strip() for code in LANGUAGES} if isinstance(value, Mapping) else {}
    )
    if required and not all(texts.get(code) for code in LANGUAGES):
        raise _invalid(field, _("give it in English and in Chinese."))
    if any(len(text) > most for text in texts.values()):
        raise _invalid(field, _("at most %(n)s characters.") % {"n": most})
    return {code: text for code, text in texts.items() if text}


def _service(hospital: Hospital, code, field: str) -> CatalogItem:
    item = CatalogItem.objects.filter(hospital=hospital, code=str(code or "").strip()).first()
    if item is None:
        raise _invalid(field, _("no service with this code in your hospital's catalog."))
    return item


def _clean_step(hospital: Hospital, n: int, row, item: CatalogItem) -> dict:
    at = f"steps[{n}]"
    if not isinstance(row, Mapping):
        raise _invalid(f"{at}.service", _("each step needs its service and kind."))
    kind = str(row.get("kind") or "").strip()
    if kind not in StepKind.values:
        raise _invalid(f"{at}.kind", _("choose one of the kinds offered."))
    service = _service(hospital, row.get("service"), f"{at}.service")
    if service.kind == Kind.PACKAGE:  # a service's own pathway may name it (its procedure); a package is not a step
        raise _invalid(f"{at}.service", _("a step is a single service, not a package."))
    low = _whole(row.get("min_gap_days", 0), f"{at}.min_gap_days", minimum=0, maximum=MAX_GAP_DAYS, optional=True)
    high = _whole(row.get("max_gap_days"), f"{at}.max_gap_days", minimum=0, maximum=MAX_GAP_DAYS)
    if high is not None and high < (low or 0):
        raise _invalid(f"{at}.max_gap_days", _("not below the fewest days."))
    theatre = _whole(row.get("theatre_minutes"), f"{at}.theatre_minutes", minimum=1, maximum=MAX_THEATRE_MINUTES)
    if theatre is not None and kind != StepKind.PROCEDURE:
        raise _invalid(f"{at}.theatre_minutes", _("only the procedure takes theatre time."))
    return {
        "position": n + 1,
        "kind": kind,
        "service": service,
        "label": _texts(row.get("label"), f"{at}.label", required=True, most=120),
        "with_previous": flag(row.get("with_previous")) and n > 0,
        "min_gap_days": low or 0,
        "max_gap_days": high,
        "turnaround_days": _whole(
            row.get("turnaround_days", 0), f"{at}.turnaround_days", minimum=0, maximum=MAX_TURNAROUND_DAYS
        )
        or 0,
        "theatre_minutes": theatre,
    }


def clean(hospital: Hospital, data: Mapping, item: CatalogItem | None = None) -> dict:
    """The pathway's values, every one checked (an error names its field)."""
    item = item or _service(hospital, data.get("item"), "item")
    kind = str(data.get("procedure_kind") or "").strip()
    if kind not in ProcedureKind.values:
        raise _invalid("procedure_kind", _("choose one of the kinds offered."))
    raw = data.get("steps") or []
    if not isinstance(raw, list) or not raw:
        raise _invalid("steps", _("a pathway has at least one step."))
    if len(raw) > MAX_STEPS:
        raise _invalid("steps", _("at most %(n)s steps.") % {"n": MAX_STEPS})
    steps = [_clean_step(hospital, n, row, item) for n, row in enumerate(raw)]
    seen: set[int] = set()
    for n, step in enumerate(steps):
        if step["service"].pk in seen:
            raise _invalid(f"steps[{n}].service", _("this service is already a step of the pathway."))
        seen.add(step["service"].pk)
    procedures = [n for n, s in enumerate(steps) if s["kind"] == StepKind.PROCEDURE]
    if len(procedures) > 1:
        raise _invalid(f"steps[{procedures[1]}].kind", _("a pathway has one procedure."))
    for n, step in enumerate(steps):
        if step["kind"] == StepKind.POSTOP and (not procedures or n < procedures[0]):
            raise _invalid(f"steps[{n}].kind", _("a post-operative check comes after the procedure."))
        if step["kind"] == StepKind.PROCEDURE and step["with_previous"]:
            raise _invalid(f"steps[{n}].with_previous", _("the procedure has a day of its own."))
    nights = _whole(data.get("nights", 0), "nights", minimum=0, maximum=MAX_NIGHTS) or 0
    if nights and not procedures:
        raise _invalid("nights", _("inpatient nights follow a procedure: add the procedure step."))
    return {
        "item": item,
        "procedure_kind": kind,
        "fit_to_fly_days": _whole(
            data.get("fit_to_fly_days"), "fit_to_fly_days", minimum=0, maximum=MAX_FIT_TO_FLY_DAYS
        ),
        "nights": nights,
        "note": _texts(data.get("note"), "note", required=False, most=500),
        "source": str(data.get("source") or "").strip()[:300],
        "steps": steps,
    }


# --- changing ---------------------------------------------------------------------------------------


def _save(actor, hospital: Hospital, values: dict) -> tuple[Pathway, bool]:
    item = values["item"]
    steps = values.pop("steps")
    pathway = Pathway.objects.select_for_update().filter(item=item).first()
    created = pathway is None
    before = None if created else pathway_json(pathway)
    if created:
        pathway = Pathway(item=item)
    for key in ("procedure_kind", "fit_to_fly_days", "nights", "note", "source"):
        setattr(pathway, key, values[key])
    pathway.save()
    pathway.steps.all().delete()
    PathwayStep.objects.bulk_create(PathwayStep(pathway=pathway, **step) for step in steps)
    pathway = Pathway.objects.prefetch_related("steps__service").select_related("item").get(pk=pathway.pk)
    after = pathway_json(pathway)
    detail = {"item": item.code, "steps": len(steps)}
    if before is not None:
        detail["changed"] = {k: [before[k], after[k]] for k in after if k != "name" and before[k] != after[k]}
    record_event(
        actor,
        "planning.pathway.create" if created else "planning.pathway.update",
        pathway,
        hospital=hospital,
        detail=detail,
    )
    return pathway, created


def save_pathway(actor, hospital: Hospital | None, data: Mapping) -> tuple[Pathway, bool]:
    """Create or replace the pathway of a package or service of the hospital (its steps replaced whole)."""
    hospital = _hospital_of(actor, hospital, PATHWAY_EDITORS)
    values = clean(hospital, data)
    with transaction.atomic():
        return _save(actor, hospital, values)


def load_pathway(hospital: Hospital, data: Mapping) -> Pathway:
    """Create or replace a pathway as shipped data (the demo's), checked as any other and audited without an
    actor."""
    with transaction.atomic():
        return _save(None, hospital, clean(hospital, data))[0]


def delete_pathway(actor, pathway: Pathway) -> None:
    hospital = _hospital_of(actor, pathway.item.hospital, PATHWAY_EDITORS)
    record_event(actor, "planning.pathway.delete", pathway, hospital=hospital, detail={"item": pathway.item.code})
    pathway.delete()


# --- CSV ----------------------------------------------------------------------------------------------


def export_csv(actor, hospital: Hospital | None) -> str:
    """The hospital's pathways as CSV text, one row per step (the pathway's own columns on every row)."""
    pathways = list(pathways_of(actor, hospital))
    out = io.StringIO()
    writer = csvdata.SafeWriter(out)
    writer.writerow(CSV_COLUMNS)
    for pathway in pathways:
        for step in sorted(pathway.steps.all(), key=lambda s: s.position):
            writer.writerow(
                [
                    pathway.item.code,
                    pathway.procedure_kind,
                    "" if pathway.fit_to_fly_days is None else pathway.fit_to_fly_days,
                    pathway.nights,
                    pathway.source,
                    pathway.note.get("en", ""),
                    pathway.note.get("zh-hans", ""),
                    step.position,
                    step.kind,
                    step.service.code,
                    step.label.get("en", ""),
                    step.label.get("zh-hans", ""),
                    "yes" if step.with_previous else "",
                    step.min_gap_days,
                    "" if step.max_gap_days is None else step.max_gap_days,
                    step.turnaround_days,
                    step.theatre_minutes or "",
                ]
            )
    record_event(actor, "planning.pathway.export", hospital=hospital, detail={"pathways": len(pathways)})
    return out.getvalue()


def _step_column(field: str) -> str:
    name = field.rsplit(".", 1)[-1]
    return {"label": "label_en"}.get(name, name)


def import_csv(actor, hospital: Hospital | None, path) -> int:
    """Create or replace the pathways of a CSV file (as export_csv writes it), all or nothing; returns how
    many. An error names the row and column (`pathways.csv, row 4, column service: ...`)."""
    hospital = _hospital_of(actor, hospital, PATHWAY_EDITORS)
    rows = csvdata.read_rows(path, CSV_COLUMNS)
    grouped: dict[str, list[tuple[int, dict]]] = {}
    for line, row in rows:
        row = {k: csvdata.from_spreadsheet(v) for k, v in row.items()}
        if not row["pathway"]:
            csvdata.fail(path, line, "pathway", _("this text is required."))
        grouped.setdefault(row["pathway"], []).append((line, row))
    cleaned = []
    for code, found in grouped.items():
        first_line, first = found[0]
        found.sort(key=lambda pair: int(pair[1]["position"]) if pair[1]["position"].isdigit() else 0)
        data = {
            "item": code,
            "procedure_kind": first["procedure_kind"],
            "fit_to_fly_days": first["fit_to_fly_days"],
            "nights": first["nights"] or 0,
            "source": first["source"],
            "note": {"en": first["note_en"], "zh-hans": first["note_zh-hans"]},
            "steps": [
                {
                    "kind": row["kind"],
                    "service": row["service"],
                    "label": {"en": row["label_en"], "zh-hans": row["label_zh-hans"]},
                    "with_previous": row["with_previous"],
                    "min_gap_days": row["min_gap_days"],
                    "max_gap_days": row["max_gap_days"],
                    "turnaround_days": row["turnaround_days"],
                    "theatre_minutes": row["theatre_minutes"],
                }
                for _line, row in found
            ],
        }
        try:
            cleaned.append(clean(hospital, data))
        except InvalidInput as exc:
            field = exc.field or "pathway"
            line = first_line
            if field.startswith("steps["):
                line = found[int(field[6 : field.index("]")])][0]
            csvdata.fail(path, line, _step_column(field) if field != "item" else "pathway", str(exc.message))
    with transaction.atomic():
        for values in cleaned:
            _save(actor, hospital, values)
    return len(cleaned)


def kind_defaults() -> list[dict]:
    """The fit-to-fly default of each kind of procedure, for the page and the API."""
    return [{"kind": kind.value, "label": str(kind.label), "days": FIT_TO_FLY_DAYS[kind]} for kind in ProcedureKind]


def name_of(pathway: Pathway) -> str:
    return pick(pathway.item.name)
