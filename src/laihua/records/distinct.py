"""Which of a case's items are its distinct items, decided when a document is stored.

Items that share a source key (the same resource in a re-sent document, by its fullUrl or its Type/id
within the Bundle identifier, or the same identifier) are one item, as the newest document (by its
timestamp, else when it was stored) has it; every other item is kept, however like another it looks.
The one kept is `current`; listing and exporting read only current rows, through partial indexes.

The keys are kept as digests in `ClinicalItemKey`, held by current items only: each current item holds
the keys of every item it stands for (its own and those of the earlier versions it replaced), and no
two current items hold the same key. Storing a document therefore looks up only the current items that
share a key with its own, one row each, however many versions of them the case holds: the cost of an
import follows the document, not the case.
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


def groups(rows: list[tuple]) -> list[list[int]]:
    """The indexes of rows (pk, document_id, position, keys, recency) that are one item, group by group:
    rows that share a key, directly or through other rows."""
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
    found: dict[int, list[int]] = {}
    for index in range(len(rows)):
        found.setdefault(root(index), []).append(index)
    return list(found.values())


def newest(rows: list[tuple], members: list[int]) -> int:
    """The member the group is kept as: the item of the newest document (on a tie, the later one in
    document and position order)."""
    return max(members, key=lambda i: (rows[i][4], rows[i][1], rows[i][2]))


def choose(rows: list[tuple]) -> set[int]:
    """The pks of the distinct items among rows (pk, document_id, position, keys, recency): items that
    share a key are one group; of each group the item of the newest document is kept (on a tie, the
    later one in document and position order)."""
    return {rows[newest(rows, members)][0] for members in groups(rows)}


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


def linked_items(case_id: int, digests: Iterable[str], document_id: int) -> list[tuple]:
    """The case's current items of other documents that hold one of the key digests: (pk, document_id,
    position, the digests it holds, document timestamp, document stored, current) each."""
    pks = set()
    for chunk in chunks(sorted(set(digests))):
        pks.update(
            ClinicalItemKey.objects.filter(case_id=case_id, digest__in=chunk)
            .exclude(item__document_id=document_id)
            .values_list("item_id", flat=True)
        )
    held: dict[int, list[str]] = {}
    rows = []
    for chunk in chunks(sorted(pks)):
        for item_id, value in ClinicalItemKey.objects.filter(item_id__in=chunk).values_list("item_id", "digest"):
            held.setdefault(item_id, []).append(value)
        rows.extend(
            ClinicalItem.objects.filter(pk__in=chunk).values_list(
                "pk", "document_id", "position", "document__timestamp", "document__created_at", "current"
            )
        )
    return [
        (pk, doc, position, sorted(held[pk]), stamp, created, current)
        for pk, doc, position, stamp, created, current in rows
    ]


def settle_document(document: IpsDocument, mine: list[tuple], linked: list[tuple]) -> None:
    """Decide which items of a just stored document's case are current (the caller holds the transaction),
    given `mine`, (pk, position, digests of its keys) of the document's items (stored current, each holding
    its own digests), and `linked`, the current items of the case's other documents that hold one of
    those digests (`linked_items`). Of each group of items that are one, the newest stays current and holds
    every digest of the group; the others stop being current and hold none. In the usual case (nothing
    linked, no key shared within the document) it writes nothing."""
    if not mine:
        return
    own_recency = recency(document.timestamp, document.created_at, document.pk)
    rows = [(pk, document.pk, position, list(digests or []), own_recency) for pk, position, digests in mine]
    if not linked and not _shares_keys(rows):
        return  # nothing of the case is the same as any item of this document: all are current
    rows += [
        (pk, doc_id, position, list(digests or []), recency(timestamp, created, doc_id))
        for pk, doc_id, position, digests, timestamp, created, _current in linked
    ]
    lost, held = [], []
    for members in groups(rows):
        if len(members) == 1:
            continue
        kept = newest(rows, members)
        lost.extend(rows[i][0] for i in members if i != kept)
        everything = {value for i in members for value in rows[i][3]}
        held.extend((rows[kept][0], value) for value in sorted(everything - set(rows[kept][3])))
    _replace(document.case_id, lost, held)


def _replace(case_id: int, lost: list[int], held: list[tuple[int, str]]) -> None:
    """`lost` items stop being current and hold no key; `held`, (item, digest), are added to the items kept.
    One statement on PostgreSQL."""
    if not lost and not held:
        return
    if connection.vendor == "postgresql":
        item, key = ClinicalItem._meta.db_table, ClinicalItemKey._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"""WITH lost AS (UPDATE {item} SET current = false WHERE id = ANY(%s::bigint[])),
                gone AS (DELETE FROM {key} WHERE item_id = ANY(%s::bigint[]))
                INSERT INTO {key} (case_id, digest, item_id)
                SELECT %s, held.digest, held.item_id FROM unnest(%s::text[], %s::bigint[]) AS held(digest, item_id)""",
                [lost, lost, case_id, [value for _pk, value in held], [pk for pk, _value in held]],
            )
        return
    _mark(set(lost), False)
    for chunk in chunks(sorted(lost)):
        ClinicalItemKey.objects.filter(item_id__in=chunk).delete()
    _copy_keys(case_id, ((pk, value) for pk, value in held))


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
    """Decide the case's current items again from all of them, and give each current item the digests of
    every item it stands for (after items were derived again, or removed); the number of current items."""
    ClinicalItemKey.objects.filter(case_id=case_id).delete()
    rows, currently = [], set()
    query = ClinicalItem.objects.filter(case_id=case_id).values_list(
        "pk", "document_id", "position", "source_keys", "document__timestamp", "document__created_at", "current"
    )
    for pk, doc_id, position, keys, timestamp, created, current in query.iterator(chunk_size=5000):
        rows.append(
            (pk, doc_id, position, sorted({digest(k) for k in keys or []}), recency(timestamp, created, doc_id))
        )
        if current:
            currently.add(pk)
    chosen, pairs = set(), []
    for members in groups(rows):
        kept = rows[newest(rows, members)][0]
        chosen.add(kept)
        pairs.extend((kept, value) for value in sorted({value for i in members for value in rows[i][3]}))
    _copy_keys(case_id, pairs)
    _mark(chosen - currently, True)
    _mark(currently - chosen, False)
    return len(chosen)
