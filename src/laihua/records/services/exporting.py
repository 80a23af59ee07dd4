"""The case's IPS export as FHIR and as PDF (with the discharge summary, written in `discharge`)."""

from collections.abc import Iterator

from django.db.models import F
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from laihua.accounts.models import Role
from laihua.accounts.services import require_role
from laihua.audit.services import record_event
from laihua.cases.models import Case
from laihua.cases.services import visible_cases
from laihua.errors import NotFound
from laihua.kit import clock
from laihua.records import dosage, ips
from laihua.records import export as exporter
from laihua.records.models import (
    ClinicalItem,
    DataType,
    EpisodeSummary,
    IpsDocument,
    ItemKind,
)
from laihua.records.services.access import RECORD_STAFF, require_records_access
from laihua.records.services.discharge import displays
from laihua.records.services.viewing import ITEM_FIELDS, by_kind, case_items, iter_case_items

# Labels of the PDF, which shows each in the patient's language and in Chinese (records/_bi.html).
PDF_LABELS = [
    gettext_noop("International Patient Summary"),
    gettext_noop("Patient"),
    gettext_noop("Date of birth"),
    gettext_noop("Nationality"),
    gettext_noop("Prepared"),
    gettext_noop("Discharge summary"),
    gettext_noop("Diagnoses"),
    gettext_noop("Procedures done"),
    gettext_noop("Discharge medications"),
    gettext_noop("Allergies"),
    gettext_noop("Results"),
    gettext_noop("Plan of care"),
    gettext_noop("Follow-up"),
    gettext_noop("Records from other providers"),
    gettext_noop("As written"),
    gettext_noop("English"),
    gettext_noop("Chinese"),
    gettext_noop("Date"),
    gettext_noop("No records yet."),
    gettext_noop("Sources"),
    gettext_noop("Matched to the patient by hand"),
]


def document_source(document) -> dict:
    """Where items come from, as the export's Provenance says it (and whether it was matched by hand)."""
    source = {
        "document": document.pk,
        "system": document.identifier_system,
        "value": document.identifier_value,
        "title": document.title,
        "author": document.author,
        "timestamp": document.timestamp.isoformat() if document.timestamp else "",
        "stored": document.created_at.isoformat(timespec="seconds"),
        "matched_by_hand": None,
    }
    if document.matched_by_hand:
        by = document.matched_by_hand_by
        source["matched_by_hand"] = {
            "by": (by.get_full_name() or by.get_username()) if by else "",
            "at": document.matched_by_hand_at.isoformat(timespec="seconds"),
            "reason": document.matched_by_hand_reason,
            "fields": [d.get("field", "") for d in document.patient_mismatch],
        }
    return source


def _item_dict(item, source: dict) -> dict:
    """An item as the exporter takes it: every field, the structured detail, the key it is known by and its
    source document."""
    return {
        "id": item.pk,
        "kind": item.kind,
        "resource_type": item.resource_type,
        "text": item.text,
        "codes": item.codes,
        "status": item.status,
        "date": item.date,
        "value": item.value,
        "detail": item.detail or {},
        "key": (item.source_keys or [f"laihua:item:{item.pk}"])[0],
        "dosage_en": item.dosage_en,
        "source": source,
    }


def _case_item_dicts(case: Case, kinds=None) -> list[dict]:
    """The case's distinct imported items as the exporter takes them."""
    sources = {}
    out = []
    for item in case_items(case, kinds):
        if item.document_id not in sources:
            sources[item.document_id] = document_source(item.document)
        out.append(_item_dict(item, sources[item.document_id]))
    return out


def _with_dosage(items: list) -> list:
    """A medication's structured dosage in English words, as the export's narrative writes it."""
    for item in items:
        dosages = (item.detail or {}).get("dosage") or []
        item.dosage_en = dosage.in_words(dosages, "en") if dosage.has_structure(dosages) else ""
    return items


def export_parts(case: Case, *, data_types=None, chunk: int = 500) -> tuple[dict, Iterator]:
    """The case's IPS Bundle in parts (`export.bundle_parts`): the items are read `chunk` at a time, twice
    (their fullUrls and narrative lines, then their resources), never all at once; the same Bundle as
    `build_export` gives whole."""
    kinds = _kinds_for(data_types)
    summary = EpisodeSummary.objects.filter(case=case).select_related("completed_by").first()
    if data_types is not None and DataType.SUMMARY not in data_types and DataType.DISCHARGE not in data_types:
        summary = _restricted_summary(summary, kinds)
    documents = IpsDocument.objects.filter(case=case).defer("content").select_related("matched_by_hand_by")
    sources = {document.pk: document_source(document) for document in documents}

    def items(of_kinds):
        wanted = [kind for kind in of_kinds if kinds is None or kind in kinds]
        if wanted:
            for item in iter_case_items(case, wanted, chunk=chunk, with_document=False):
                yield _item_dict(_with_dosage([item])[0], sources[item.document_id])

    def again(ids):
        rows = ClinicalItem.objects.filter(pk__in=ids).only(*ITEM_FIELDS)
        found = {item.pk: item for item in _with_dosage(list(rows))}
        return [_item_dict(found[pk], sources[found[pk].document_id]) for pk in ids]

    author = summary.completed_by if summary else None
    return exporter.bundle_parts(case, items=items, again=again, summary=summary, author=author, chunk=chunk)


def stream_export(actor, case: Case, *, form: str = "json") -> Iterator[bytes]:
    """The case's IPS document for the actor as FHIR JSON or XML bytes, written as it is made (audited)."""
    require_records_access(actor, case)
    header, entries = export_parts(case)
    record_event(
        actor,
        "records.export",
        case,
        hospital=case.hospital,
        detail={"identifier": header["identifier"]["value"], "format": form},
    )
    return exporter.xml_chunks(header, entries) if form == "xml" else exporter.json_chunks(header, entries)


def _kinds_for(data_types) -> set | None:
    """The item kinds a consent's data types cover (None: all)."""
    if data_types is None or DataType.SUMMARY in data_types:
        return None
    return {t for t in data_types if t in ItemKind.values}


def build_export(case: Case, *, data_types=None) -> dict:
    """The IPS Bundle of a case (restricted to some data types when sending under a consent)."""
    kinds = _kinds_for(data_types)
    summary = EpisodeSummary.objects.filter(case=case).first()
    if data_types is not None and DataType.SUMMARY not in data_types and DataType.DISCHARGE not in data_types:
        summary = _restricted_summary(summary, kinds)
    items = _case_item_dicts(case, kinds)
    bundle = exporter.build_bundle(case, items=items, summary=summary, author=summary.completed_by if summary else None)
    problems = ips.strict_issues(bundle)
    if problems:  # pragma: no cover - a defect of the exporter, proven absent by the tests
        raise ips.IpsInvalid(problems)
    return bundle


def _restricted_summary(summary, kinds):
    if summary is None:
        return None
    copy = EpisodeSummary(case=summary.case, completed_by=summary.completed_by)
    copy.diagnoses = summary.diagnoses if "problem" in kinds else []
    copy.allergies = summary.allergies if "allergy" in kinds else []
    copy.medications = summary.medications if "medication" in kinds else []
    copy.results = summary.results if "result" in kinds else []
    return copy


def export_case(actor, case: Case) -> dict:
    """The case's IPS document for the actor (the patient's own download is always allowed); audited."""
    require_records_access(actor, case)
    bundle = build_export(case)
    record_event(
        actor, "records.export", case, hospital=case.hospital, detail={"identifier": bundle["identifier"]["value"]}
    )
    return bundle


def case_for_patient_summary(actor, patient_id: int, reference: str | None = None) -> Case:
    """The case whose IPS $summary the actor asks for: the given one, else the patient's latest they may see."""
    require_role(actor, (Role.PATIENT, *RECORD_STAFF))
    cases = visible_cases(actor).filter(patient_id=patient_id)
    if reference:
        cases = cases.filter(reference=reference)
    case = cases.order_by(F("episode_summary__completed_at").desc(nulls_last=True), "-created_at").first()
    if case is None:
        raise NotFound(_("No such patient."))
    return case


def summary_pdf(actor, case: Case, *, language: str | None = None) -> bytes:
    """The readable summary as PDF in the patient's language with Chinese beside it (audited as an export)."""
    from laihua.kit.pdf import render_pdf_parts

    require_records_access(actor, case)
    context = _pdf_context(case)
    record_event(actor, "records.export_pdf", case, hospital=case.hospital)
    return render_pdf_parts("records/summary_pdf.html", pdf_parts(context), language=language or _pdf_language(case))


# Items laid out per part of the PDF: WeasyPrint lays out one part at a time (see laihua.kit.pdf).
PDF_PART_ITEMS = 300


def pdf_parts(context: dict, size: int | None = None) -> list[dict]:
    """The summary PDF's context cut into parts of at most `size` items, in order: the first part has the
    heading, the patient and the discharge summary, the last the sources; a kind cut across two parts
    repeats its heading and the table's head in the next (`continued`). One part is the context itself."""
    size = size or PDF_PART_ITEMS
    if sum(len(items) for _kind, _label, items in context["sections"]) <= size:
        return [context]
    parts, current, room = [], [], size
    for kind, label, items in context["sections"]:
        start = 0
        while start < len(items):
            if room == 0:
                parts.append(current)
                current, room = [], size
            piece = items[start : start + room]
            current.append((kind, label, piece))
            start += len(piece)
            room -= len(piece)
    parts.append(current)
    last = len(parts) - 1
    return [
        {
            **context,
            "sections": sections,
            "continued": n > 0,
            "summary": None if n else context["summary"],
            "more_follows": n < last,
        }
        for n, sections in enumerate(parts)
    ]


def _pdf_language(case: Case) -> str:
    return "zh-hans" if case.language.startswith("zh") else "en"


def _pdf_context(case: Case) -> dict:
    items = case_items(case)
    documents = {item.document_id: item.document for item in items}
    return {
        "case": case,
        "patient": case.patient,
        "hospital": case.hospital,
        "hospital_zh": case.hospital.name.get("zh-hans", ""),
        "summary": displays(EpisodeSummary.objects.filter(case=case).first()),
        "sections": by_kind(items),
        "sources": [documents[pk] for pk in sorted(documents)],
        "generated": clock.now(),
    }
