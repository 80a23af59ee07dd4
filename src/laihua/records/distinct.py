"""Which of a case's items are its distinct items, decided when a document is stored.

Items that share a source key (the same resource in a re-sent document, by its fullUrl or its Type/id
within the Bundle identifier, or the same identifier) are one item, as the newest document (by its
timestamp, else when it was stored) has it; every other item is kept, however like another it looks.
The one kept is `current`; listing and exporting read only current rows, through partial indexes.

The items that are one form a group, named by its first item (`anchor`, empty on that item itself). Each
key is kept once per case, as a digest in `ClinicalItemKey`, with the group's first item. Storing a
document looks up its own keys' groups and the current item of each: what it reads and writes follows the
document, not the case's history (a re-sent item adds only the keys not seen before; two groups that a
document shows to be one become one, the later group joining the earlier).
"""

import datetime
import hashlib
from collections.abc import Iterable

from django.db import connection
from django.db.models import BigIntegerField
from django.db.models.functions import Coalesce

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


def linked_items(case_id: int, digests: Iterable[str]) -> tuple[dict[str, int], list[tuple]]:
    """({digest: its group's first item} of the digests the case already holds, and the current item of each
    of those groups: (pk, document_id, position, group, document timestamp, document stored))."""
    found: dict[str, int] = {}
    for chunk in chunks(sorted(set(digests))):
        found.update(ClinicalItemKey.objects.filter(case_id=case_id, digest__in=chunk).values_list("digest", "item_id"))
    current = []
    for chunk in chunks(sorted(set(found.values()))):
        current.extend(
            ClinicalItem.objects.filter(case_id=case_id, current=True)
            .annotate(group=Coalesce("anchor", "id", output_field=BigIntegerField()))
            .filter(group__in=chunk)
            .values_list("pk", "document_id", "position", "group", "document__timestamp", "document__created_at")
        )
    return found, current


def settle_document(document: IpsDocument, mine: list[tuple], found: dict[str, int], current: list[tuple]) -> None:
    """Decide which items of a just stored document's case are current (the caller holds the transaction).
    `mine`: (pk, position, digests of its keys) of the document's items, stored current, each beginning its
    own group, with the keys the case did not hold yet (each with the first of them that carries it);
    `found`, `current`: `linked_items` of their digests, read before they were stored. Of each group the
    newest item stays current; the document's items join the group of the items they are one with (the
    earliest group, when they show several to be one, and the later groups join it). In the usual case
    (nothing found, no key shared within the document) it writes nothing."""
    if not mine:
        return
    own_recency = recency(document.timestamp, document.created_at, document.pk)
    rows = [
        (pk, document.pk, position, [*digests, *(f"group:{found[d]}" for d in digests if d in found)], own_recency)
        for pk, position, digests in mine
    ]
    if not found and not _shares_keys(rows):
        return  # nothing of the case is the same as any item of this document: each begins its group
    rows += [
        (pk, doc_id, position, [f"group:{group}"], recency(timestamp, created, doc_id))
        for pk, doc_id, position, group, timestamp, created in current
    ]
    new = {pk for pk, _position, _digests in mine}
    lost, joined, merged = [], [], []
    for members in groups(rows):
        if len(members) == 1:
            continue
        kept = newest(rows, members)
        lost.extend(rows[i][0] for i in members if i != kept)
        earlier = sorted({int(key[6:]) for i in members for key in rows[i][3] if key.startswith("group:")})
        arrivals = sorted(rows[i][0] for i in members if rows[i][0] in new)
        first = earlier[0] if earlier else arrivals[0]
        merged.extend((group, first) for group in earlier[1:])
        joined.extend((pk, first) for pk in arrivals if pk != first)
    _regroup(document.case_id, lost, joined, merged)


def _regroup(case_id: int, lost: list[int], joined: list[tuple[int, int]], merged: list[tuple[int, int]]) -> None:
    """`lost` items stop being current; `joined`, (item, group), the document's items that join a group, with
    the keys they brought; `merged`, (group, into), groups that join an earlier one, with their items and keys.
    One statement on PostgreSQL (two when groups merge)."""
    if not (lost or joined or merged):
        return
    if connection.vendor != "postgresql":
        for group, into in merged:
            ClinicalItem.objects.filter(case_id=case_id).annotate(
                group=Coalesce("anchor", "id", output_field=BigIntegerField())
            ).filter(group=group).update(anchor=into)
            ClinicalItemKey.objects.filter(case_id=case_id, item_id=group).update(item_id=into)
        for pk, into in joined:
            ClinicalItem.objects.filter(pk=pk).update(anchor=into)
            ClinicalItemKey.objects.filter(case_id=case_id, item_id=pk).update(item_id=into)
        _mark(set(lost), False)
        return
    item, key = ClinicalItem._meta.db_table, ClinicalItemKey._meta.db_table
    with bound_cursor() as cursor:
        if merged:
            groups_of, into_of = [group for group, _into in merged], [into for _group, into in merged]
            cursor.execute(
                f"""WITH moved AS (
                    UPDATE {item} SET anchor = m.target FROM unnest(%s::bigint[], %s::bigint[]) AS m(grp, target)
                    WHERE {item}.case_id = %s AND COALESCE({item}.anchor, {item}.id) = m.grp)
                UPDATE {key} SET item_id = m.target FROM unnest(%s::bigint[], %s::bigint[]) AS m(grp, target)
                WHERE {key}.item_id = m.grp""",
                [groups_of, into_of, case_id, groups_of, into_of],
            )
        changes = {pk: [pk, False, None] for pk, _into in joined}
        for pk, into in joined:
            changes[pk][2] = into
        for pk in lost:
            changes.setdefault(pk, [pk, False, None])[1] = True
        rows = list(changes.values())
        cursor.execute(
            f"""WITH keyed AS (
                UPDATE {key} SET item_id = j.target FROM unnest(%s::bigint[], %s::bigint[]) AS j(item, target)
                WHERE {key}.item_id = j.item)
            UPDATE {item} SET current = {item}.current AND NOT c.lost, anchor = COALESCE(c.target, {item}.anchor)
            FROM unnest(%s::bigint[], %s::boolean[], %s::bigint[]) AS c(id, lost, target) WHERE {item}.id = c.id""",
            [
                [pk for pk, _into in joined],
                [into for _pk, into in joined],
                [row[0] for row in rows],
                [row[1] for row in rows],
                [row[2] for row in rows],
            ],
        )


def bound_cursor():
    """A PostgreSQL cursor that binds its parameters on the server, so that the statements run at every import
    are prepared once per connection when the settings allow it (LAIHUA_DB_PREPARED_STATEMENTS), wrapped as
    Django wraps its own cursors (its errors, the queries' log)."""
    import psycopg

    connection.ensure_connection()
    return connection._prepare_cursor(psycopg.Cursor(connection.connection))


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
    """Decide the case's groups and current items again from all of its items, and its keys (after items
    were derived again, or removed); the number of current items."""
    ClinicalItemKey.objects.filter(case_id=case_id).delete()
    rows, before = [], {}
    query = ClinicalItem.objects.filter(case_id=case_id).values_list(
        "pk",
        "document_id",
        "position",
        "source_keys",
        "document__timestamp",
        "document__created_at",
        "current",
        "anchor",
    )
    for pk, doc_id, position, keys, timestamp, created, current, anchor in query.iterator(chunk_size=5000):
        digests = sorted({digest(key) for key in keys or []})
        rows.append((pk, doc_id, position, digests, recency(timestamp, created, doc_id)))
        before[pk] = (current, anchor)
    chosen, pairs, anchors = set(), [], {}
    for members in groups(rows):
        chosen.add(rows[newest(rows, members)][0])
        first = min(rows[i][0] for i in members)
        anchors.update((rows[i][0], None if rows[i][0] == first else first) for i in members)
        pairs.extend((first, value) for value in sorted({value for i in members for value in rows[i][3]}))
    _copy_keys(case_id, pairs)
    changed = [
        ClinicalItem(pk=pk, current=pk in chosen, anchor=anchors[pk])
        for pk, (current, anchor) in before.items()
        if (current, anchor) != (pk in chosen, anchors[pk])
    ]
    ClinicalItem.objects.bulk_update(changed, ["current", "anchor"], batch_size=1000)
    return len(chosen)
