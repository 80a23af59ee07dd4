"""Viewing a case's records with their translations, one stored document, and the shared term list."""

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from laihua.accounts.models import Role
from laihua.accounts.services import require_role
from laihua.audit.services import record_event
from laihua.cases.models import Case
from laihua.errors import InvalidInput, NotFound
from laihua.records import distinct, dosage
from laihua.records.models import (
    ClinicalItem,
    EpisodeSummary,
    IpsDocument,
    ItemKind,
)
from laihua.records.services.access import KIND_ORDER, require_records_access, visible_documents
from laihua.records.services.terms import translations


def annotate(items: list[ClinicalItem]) -> list[ClinicalItem]:
    """Give each item `display_en` and `display_zh` from its hospital's term list (English falls back to the original),
    and a medication's structured dosage in words in both languages (`dosage_en`, `dosage_zh`)."""
    found = translations(items)
    for item in items:
        item.display_en, item.display_zh = "", ""
        dosages = (item.detail or {}).get("dosage") or []
        structured = dosage.has_structure(dosages)
        item.dosage_en = dosage.in_words(dosages, "en") if structured else ""
        item.dosage_zh = dosage.in_words(dosages, "zh-hans") if structured else ""
        for coding in item.codes:
            term = found.get((item.case_id, coding.get("system", ""), coding.get("code", "")))
            if term:
                item.display_en = item.display_en or term.en
                item.display_zh = item.display_zh or term.zh_hans
        if not item.display_en:
            item.display_en = next((c.get("display") for c in item.codes if c.get("display")), "") or item.text
    return items


ITEM_FIELDS = (
    "id",
    "document_id",
    "case_id",
    "kind",
    "position",
    "resource_type",
    "text",
    "codes",
    "status",
    "date",
    "value",
    "detail",
    "source_keys",
)
ITEM_LIST_FIELDS = (
    "id",
    "document_id",
    "case_id",
    "kind",
    "position",
    "resource_type",
    "text",
    "codes",
    "status",
    "date",
    "value",
    "detail",
    "source_keys",
    "document__id",
    "document__title",
    "document__identifier_value",
    "document__matched_by_hand_at",
    "document__matched_by_hand_reason",
)
DOCUMENT_LIST_DEFERRED = ("content",)
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def distinct_items(items: list[ClinicalItem]) -> list[ClinicalItem]:
    """Each item once: items that share a source key (the same resource, by fullUrl or by its id in
    another version of the document, or the same identifier) are one item, as the newest document has
    it; every other item is kept, however like another it looks (a recurring episode, a second
    regimen). In the order of their documents and positions. (Stored items carry this decision as
    `current`, records/distinct.py; this is the same rule over items in memory.)"""
    rows = [
        (
            index,
            item.document_id,
            item.position,
            item.source_keys or [f"item:{item.pk}"],
            distinct.recency(item.document.timestamp, item.document.created_at, item.document_id),
        )
        for index, item in enumerate(items)
    ]
    chosen = distinct.choose(rows)
    return sorted((items[i] for i in chosen), key=lambda item: (item.document_id, item.position))


def current_items(case: Case, kinds=None, status: str | None = None) -> QuerySet:
    """The case's distinct items (current rows), without their documents' content."""
    rows = ClinicalItem.objects.filter(case=case, current=True)
    if kinds is not None:
        rows = rows.filter(kind__in=kinds)
    if status:
        rows = rows.filter(status=status)
    return rows


def _listed(rows: QuerySet) -> QuerySet:
    return rows.select_related("document").only(*ITEM_LIST_FIELDS)


def case_items(case: Case, kinds=None) -> list[ClinicalItem]:
    """The case's distinct items (see `distinct_items`) with their translations and their document (never its
    content), in the order of their documents and positions."""
    rows = _listed(current_items(case, kinds)).select_related("document__matched_by_hand_by")
    rows = rows.only(
        *ITEM_LIST_FIELDS,
        "document__timestamp",
        "document__created_at",
        "document__identifier_system",
        "document__author",
        "document__patient_mismatch",
        "document__matched_by_hand_by",
    )
    return annotate(list(rows.order_by("document_id", "position")))


def iter_case_items(case: Case, kinds=None, chunk: int = 500, *, with_document: bool = True):
    """The case's distinct items in the order of their documents and positions, `chunk` at a time (keyset
    paging, so that no more than a chunk is held); annotated with their translations, or, without their
    document, as stored."""
    rows = current_items(case, kinds)
    rows = (_listed(rows) if with_document else rows.only(*ITEM_FIELDS)).order_by("document_id", "position", "pk")
    last = None
    while True:
        query = rows
        if last is not None:
            document_id, position, pk = last
            query = query.filter(
                Q(document_id__gt=document_id)
                | Q(document_id=document_id, position__gt=position)
                | Q(document_id=document_id, position=position, pk__gt=pk)
            )
        batch = list(query[:chunk])
        if not batch:
            return
        yield from annotate(batch) if with_document else batch
        last = (batch[-1].document_id, batch[-1].position, batch[-1].pk)
        if len(batch) < chunk:
            return


def by_kind(items: list[ClinicalItem]) -> list[tuple]:
    """(kind, label, items) of each kind that has items, in the order of the kinds."""
    found = {kind: [] for kind in KIND_ORDER}
    for item in items:
        found[item.kind].append(item)
    return [(kind, ItemKind(kind).label, found[kind]) for kind in KIND_ORDER if found[kind]]


@dataclass
class Page:
    """One page of a list: its rows, its number (from 1), the page size, the count of every row and of pages."""

    rows: list
    number: int
    size: int
    count: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.count // self.size))

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def page_numbers(page, size) -> tuple[int, int]:
    """A page number (from 1) and a size (1..MAX_PAGE_SIZE, else the default) as given, else InvalidInput."""
    try:
        number = 1 if page in (None, "") else int(page)
    except (TypeError, ValueError):
        raise InvalidInput(_("The page is a number from 1."), field="page") from None
    if number < 1:
        raise InvalidInput(_("The page is a number from 1."), field="page")
    try:
        size = PAGE_SIZE if size in (None, "") else int(size)
    except (TypeError, ValueError):
        raise InvalidInput(
            _("The page size is a number from 1 to %(max)d.") % {"max": MAX_PAGE_SIZE}, field="page_size"
        ) from None
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise InvalidInput(
            _("The page size is a number from 1 to %(max)d.") % {"max": MAX_PAGE_SIZE}, field="page_size"
        )
    return number, size


def _page_of(query: QuerySet, number: int, size: int, count: int) -> Page:
    start = (number - 1) * size
    rows = list(query[start : start + size]) if start < count else []
    return Page(rows=rows, number=number, size=size, count=count)


def item_page(case: Case, *, page=1, size=None, kind: str = "", status: str = "") -> Page:
    """One page of the case's distinct items, newest document first (then as the document lists them),
    of one kind and one status when given; annotated."""
    if kind and kind not in ItemKind.values:
        raise InvalidInput(_("Choose a kind of item from the list."), field="kind")
    number, size = page_numbers(page, size)
    rows = current_items(case, [kind] if kind else None, status or None)
    found = _page_of(_listed(rows).order_by("-document_id", "position"), number, size, rows.count())
    found.rows = annotate(found.rows)
    return found


def document_page(actor, case: Case, *, page=1, size=None) -> Page:
    """One page of the case's documents the actor sees, newest first (never their content). The rows carry
    the case they are on, not read again per row (nor its patient, whose fields are encrypted)."""
    number, size = page_numbers(page, size)
    rows = visible_documents(actor).filter(case=case).select_related(None)
    listed = rows.select_related("matched_by_hand_by").defer(*DOCUMENT_LIST_DEFERRED).order_by("-created_at", "-pk")
    found = _page_of(listed, number, size, rows.count())
    for document in found.rows:
        document.case = case
    return found


def item_statuses(case: Case) -> list[str]:
    """The statuses the case's distinct items have (offered as a filter)."""
    found = current_items(case).exclude(status="").values_list("status", flat=True).distinct()
    return sorted(found.order_by())


def case_records(actor, case: Case, *, page=1, size=None, kind: str = "", status: str = "", documents_page=1) -> dict:
    """The case's documents and distinct items, each a page newest first, with their counts (audited as a
    view of records); items of one kind and status when given."""
    require_records_access(actor, case)
    items = item_page(case, page=page, size=size, kind=kind, status=status)
    documents = document_page(actor, case, page=documents_page, size=size)
    total = items.count if not (kind or status) else current_items(case).count()
    record_event(
        actor,
        "records.view",
        case,
        hospital=case.hospital,
        detail={"documents": documents.count, "items": total, "page": items.number},
    )
    summary = EpisodeSummary.objects.filter(case=case).first()
    return {
        "documents": documents.rows,
        "document_page": documents,
        "items": items.rows,
        "item_page": items,
        "sections": by_kind(items.rows),
        "counts": {"documents": documents.count, "items": total, "matching": items.count},
        "summary": summary,
    }


def list_items(actor, case: Case, *, page=1, size=None, kind: str = "", status: str = "") -> Page:
    """A page of the case's distinct items for the actor (audited as a view of records)."""
    require_records_access(actor, case)
    found = item_page(case, page=page, size=size, kind=kind, status=status)
    record_event(
        actor, "records.view", case, hospital=case.hospital, detail={"items": found.count, "page": found.number}
    )
    return found


def list_documents(actor, case: Case, *, page=1, size=None) -> Page:
    """A page of the case's documents for the actor (audited as a view of records)."""
    require_records_access(actor, case)
    found = document_page(actor, case, page=page, size=size)
    record_event(
        actor, "records.view", case, hospital=case.hospital, detail={"documents": found.count, "page": found.number}
    )
    return found


def get_document(actor, pk: int) -> IpsDocument:
    """A document the actor may see (audited), else NotFound."""
    require_role(actor, Role.values)
    document = visible_documents(actor).filter(pk=pk).first()
    if document is None:
        raise NotFound(_("No such document."))
    record_event(actor, "records.document_view", document, hospital=document.case.hospital)
    return document


def untranslated_codes(actor, case: Case) -> list[dict]:
    """The codes of the case's items that have no Chinese display yet (offered on the term list)."""
    require_records_access(actor, case)
    items = annotate(list(current_items(case).only("pk", "case_id", "text", "codes", "detail")))
    seen, out = set(), []
    for item in items:
        if item.display_zh:
            continue
        for coding in item.codes[:1]:
            key = (coding.get("system", ""), coding.get("code", ""))
            if key not in seen:
                seen.add(key)
                out.append({**coding, "text": item.text})
    return out
