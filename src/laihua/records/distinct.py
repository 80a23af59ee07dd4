"""Which of a case's items are its distinct items, decided when a document is stored.

Items that share a source key (the same resource in a re-sent document, by its fullUrl or its Type/id
within the Bundle identifier, or the same identifier) are one item, as the newest document (by its
timestamp, else when it was stored) has it; every other item is kept, however like another it looks.
The one kept is `current`; listing and exporting read only current rows, through partial indexes.

Each key is kept as a digest in `ClinicalItemKey`, so that storing a document looks up only the items
that share a key with its own (and those that share a key with them, and so on), never the case's
every item.
"""

import datetime
import hashlib
from collections.abc import Iterable

from django.db import connection

from laihua.records.models import ClinicalItem, ClinicalItemKey, IpsDocument

LOOKUP_CHUNK = 2000


def digest(key: str) -> str:
    return hashlib.blake2b(key.encode("utf-8"), digest_size=16).hexdigest()


def recency(timestamp, created_at, document_id: int) -> tuple:
    when = timestamp or created_at
    return (when.timestamp() if isinstance(when, datetime.datetime) else 0.0, document_id)


def choose(rows: list[tuple]) -> set[int]:
    """The pks of the distinct items among rows (pk, document_id, position, keys, recency): items that
    share a key are one group; of each group the item of the newest document is kept (on a tie, the
    later one in document and position order)."""
    rows = sorted(rows, key=lambda row: (row[1], row[2]))
    parent = list(range(len(rows)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for index, row in enumerate(rows):
        for key in row[3] or [f"item:{row[0]}"]:
            if key in owner:
                parent[root(index)] = root(owner[key])
            else:
                owner[key] = index
    best: dict[int, int] = {}
    for index, row in enumerate(rows):
        group = root(index)
        if group not in best or row[4] >= rows[best[group]][4]:
            best[group] = index
    return {rows[i][0] for i in best.values()}


def _copy_keys(case_id: int, pairs: Iterable[tuple[int, str]]) -> None:
    pairs = list(pairs)
    if not pairs:
        return
    if connection.vendor == "postgresql":
        statement = f"COPY {ClinicalItemKey._meta.db_table} (case_id, digest, item_id) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
            for item_id, value in pairs:
                copy.write_row((case_id, value, item_id))
        return
    ClinicalItemKey.objects.bulk_create(
        [ClinicalItemKey(case_id=case_id, digest=value, item_id=item_id) for item_id, value in pairs], batch_size=500
    )


def chunks(values: list, size: int = LOOKUP_CHUNK):
    for start in range(0, len(values), size):
        yield values[start : start + size]


LINKED_COLUMNS = (
    "pk",
    "document_id",
    "position",
    "source_keys",
    "document__timestamp",
    "document__created_at",
    "current",
)


def linked_items(
    case_id: int, digests: Iterable[str], document_id: int, known: list[tuple] | None = None
) -> list[tuple]:
    """The case's items of other documents linked to the given key digests, directly or through other
    items' keys: (pk, document_id, position, keys, document timestamp, document stored, current) each.
    `known`: linked items the caller has already read, `digests` then being every digest it looked up."""
    seen = set(digests)
    found: dict[int, tuple] = {}
    batch = _sharing(case_id, sorted(seen), document_id) if known is None else known
    while batch:
        new = [row for row in batch if row[0] not in found]
        found.update((row[0], row) for row in new)
        frontier = {digest(key) for row in new for key in row[3] or []} - seen  # the keys table holds these
        seen |= frontier
        batch = _sharing(case_id, sorted(frontier), document_id) if frontier else []
    return list(found.values())


def _sharing(case_id: int, digests: list[str], document_id: int) -> list[tuple]:
    rows = []
    for chunk in chunks(digests):
        rows.extend(
            ClinicalItem.objects.filter(case_id=case_id, keys__case_id=case_id, keys__digest__in=chunk)
            .exclude(document_id=document_id)
            .values_list(*LINKED_COLUMNS)
        )
    return rows


def settle_document(document: IpsDocument, mine: list[tuple], linked: list[tuple]) -> None:
    """Decide which items of a just stored document's case are current (the caller holds the transaction),
    given `mine`, (pk, position, keys) of the document's items (stored current, with their keys), and
    `linked`, the items of the case's other documents linked to them by shared keys (`linked_items`).
    In the usual case (nothing linked, no key shared within the document) it writes nothing."""
    if not mine:
        return
    own_recency = recency(document.timestamp, document.created_at, document.pk)
    rows = {pk: (pk, document.pk, position, keys or [], own_recency) for pk, position, keys in mine}
    if not linked and not _shares_keys(rows.values()):
        return  # nothing of the case is the same as any item of this document: all are current
    others = [
        (pk, doc_id, position, keys or [], recency(timestamp, created, doc_id), current)
        for pk, doc_id, position, keys, timestamp, created, current in linked
    ]
    chosen = choose([*rows.values(), *(row[:5] for row in others)])
    was_current = set(rows) | {row[0] for row in others if row[5]}
    _mark(chosen - was_current, True)
    _mark(was_current - chosen, False)


def _shares_keys(rows) -> bool:
    seen = set()
    for row in rows:
        for key in set(row[3]):
            if key in seen:
                return True
            seen.add(key)
    return False


def _mark(pks: set[int], current: bool) -> None:
    for chunk in chunks(sorted(pks)):
        ClinicalItem.objects.filter(pk__in=chunk).update(current=current)


def settle_case(case_id: int) -> int:
    """Decide the case's current items again from all of them, and rebuild their keys (after items were
    derived again, or removed); the number of current items."""
    ClinicalItemKey.objects.filter(case_id=case_id).delete()
    rows, pairs = [], []
    query = ClinicalItem.objects.filter(case_id=case_id).values_list(
        "pk", "document_id", "position", "source_keys", "document__timestamp", "document__created_at", "current"
    )
    currently = set()
    for pk, doc_id, position, keys, timestamp, created, current in query.iterator(chunk_size=5000):
        keys = keys or []
        rows.append((pk, doc_id, position, keys, recency(timestamp, created, doc_id)))
        pairs.extend((pk, value) for value in {digest(k) for k in keys})
        if current:
            currently.add(pk)
    _copy_keys(case_id, pairs)
    chosen = choose(rows)
    _mark(chosen - currently, True)
    _mark(currently - chosen, False)
    return len(chosen)
