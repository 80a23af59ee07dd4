"""Viewing a case's records with their translations, one stored document, and the shared term list."""

from django.utils.translation import gettext as _

from laihua.accounts.models import Role
from laihua.accounts.services import require_role
from laihua.audit.services import record_event
from laihua.cases.models import Case
from laihua.errors import NotFound
from laihua.records import dosage
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


def _recency(document: IpsDocument) -> tuple:
    when = document.timestamp or document.created_at
    return (when.timestamp() if when else 0.0, document.pk)


def distinct_items(items: list[ClinicalItem]) -> list[ClinicalItem]:
    """Each item once: items that share a source key (the same resource, by fullUrl or by its id in
    another version of the document, or the same identifier) are one item, as the newest document has
    it; every other item is kept, however like another it looks (a recurring episode, a second
    regimen). In the order of their documents and positions."""
    parent = list(range(len(items)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner = {}
    for index, item in enumerate(items):
        for key in item.source_keys or [f"item:{item.pk}"]:
            if key in owner:
                parent[root(index)] = root(owner[key])
            else:
                owner[key] = index
    best = {}
    for index, item in enumerate(items):
        group = root(index)
        if group not in best or _recency(item.document) >= _recency(items[best[group]].document):
            best[group] = index
    chosen = [items[i] for i in sorted(best.values())]
    return sorted(chosen, key=lambda item: (item.document_id, item.position))


def case_items(case: Case, kinds=None) -> list[ClinicalItem]:
    """The case's distinct items (see `distinct_items`) with their translations and their document."""
    rows = ClinicalItem.objects.filter(case=case, document__direction="imported")
    if kinds is not None:
        rows = rows.filter(kind__in=kinds)
    rows = rows.select_related("document", "document__matched_by_hand_by").defer("document__content")
    return annotate(distinct_items(list(rows.order_by("document_id", "position"))))


def by_kind(items: list[ClinicalItem]) -> list[tuple]:
    """(kind, label, items) of each kind that has items, in the order of the kinds."""
    found = {kind: [] for kind in KIND_ORDER}
    for item in items:
        found[item.kind].append(item)
    return [(kind, ItemKind(kind).label, found[kind]) for kind in KIND_ORDER if found[kind]]


def case_records(actor, case: Case) -> dict:
    """The case's documents and the patient's summary by kind (audited as a view of records)."""
    require_records_access(actor, case)
    documents = list(visible_documents(actor).filter(case=case).select_related("matched_by_hand_by").defer("content"))
    items = case_items(case)
    record_event(actor, "records.view", case, hospital=case.hospital, detail={"documents": len(documents)})
    summary = EpisodeSummary.objects.filter(case=case).first()
    return {
        "documents": documents,
        "items": items,
        "sections": by_kind(items),
        "summary": summary,
    }


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
    items = annotate(list(ClinicalItem.objects.filter(case=case)))
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
