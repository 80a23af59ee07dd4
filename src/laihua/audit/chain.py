"""The audit trail as a hash chain: each event's SHA-256 covers its content and the previous event's hash.

An event is inserted with the rest of its transaction and *sealed* later (`seal_pending`): under a lock on
the one-row chain head, every committed event not yet sealed takes the next place (`seq`), the head's hash as
`prev_hash`, and its own `hash`, a batch at a time. Sealing after the commit keeps the lock out of the business
transactions: they neither wait for one another on the audit trail nor deadlock with the rows they lock after
recording an event; the head lock alone orders the chain, so it never forks. A seal that need not wait
(`wait=False`, the one run after a request's commit) skips when another seal holds the head: that one, or the
next, chains the events. Sealing reads the events back from the database, so the hash covers the stored values,
as `verify` reads them.

The functions take the model classes, so that the migration that seals existing events uses them too.
"""

import datetime
import hashlib
import json
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connections, transaction

FORMAT = 1
GENESIS = ""  # the previous hash of the first event
HEAD_ID = 1
# Every stored column but the chain's own: adding a column means adding it here, in a new FORMAT.
CONTENT = (
    "id",
    "at",
    "actor_id",
    "actor_label",
    "actor_role",
    "hospital_id",
    "action",
    "object_type",
    "object_id",
    "object_label",
    "ip_address",
    "channel",
    "detail",
)
BATCH = 1000


class ChainError(Exception):
    pass


def _plain(value):
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if value is None or isinstance(value, str | int | float | bool | dict | list):
        return value
    return str(value)  # an address the driver returns as an object


def canonical(values: dict, seq: int, prev_hash: str) -> bytes:
    """The bytes an event's hash covers: its content, its place and the previous hash, as sorted ASCII JSON."""
    payload = {"v": FORMAT, "seq": seq, "prev": prev_hash, **{name: _plain(values[name]) for name in CONTENT}}
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def digest(values: dict, seq: int, prev_hash: str) -> str:
    return hashlib.sha256(canonical(values, seq, prev_hash)).hexdigest()


def _locked_head(head_model, event_model, using: str, wait: bool = True):
    """The chain head, locked until the end of the transaction (created when the chain is empty); None when
    `wait` is false and another transaction holds it."""
    heads = head_model._base_manager.using(using)
    head = heads.select_for_update(skip_locked=not wait).filter(pk=HEAD_ID).first()
    if head is None:
        if not wait and heads.filter(pk=HEAD_ID).exists():
            return None  # held by another seal
        if event_model._base_manager.using(using).filter(seq__isnull=False).exists():
            raise ChainError("The audit chain's head is missing although events are sealed: run `laihua audit verify`.")
        heads.get_or_create(pk=HEAD_ID, defaults={"seq": 0, "hash": GENESIS})
        head = heads.select_for_update().get(pk=HEAD_ID)
    return head


def seal_pending(event_model, head_model, using: str = DEFAULT_DB_ALIAS, *, wait: bool = True) -> int:
    """Give every committed event not yet sealed its place in the chain, oldest first; returns how many.

    wait=False: return 0 at once when another seal holds the chain's head (it, or the next seal, takes
    the events) instead of waiting for it."""
    events = event_model._base_manager.using(using)  # a plain manager: the model's own refuses update()
    if not events.filter(seq__isnull=True).exists():
        return 0
    sealed = 0
    with transaction.atomic(using=using):
        head = _locked_head(head_model, event_model, using, wait)
        if head is None:
            return 0
        while batch := list(events.filter(seq__isnull=True).order_by("id").values(*CONTENT)[:BATCH]):
            chained = []
            for values in batch:
                seq, prev = head.seq + 1, head.hash
                head.seq, head.hash = seq, digest(values, seq, prev)
                chained.append(event_model(pk=values["id"], seq=seq, prev_hash=prev, hash=head.hash))
            # One statement for the batch; the head lock keeps every other seal out meanwhile.
            _write_seals(event_model, using, chained)
            sealed += len(chained)
            if len(batch) < BATCH:
                break
        head.save(update_fields=["seq", "hash"])
    return sealed


def _write_seals(event_model, using: str, chained: list) -> None:
    """Store the batch's places and hashes: on PostgreSQL one `UPDATE … FROM unnest(…)` (Django's bulk_update
    builds a CASE per row and field, which cost 1 ms an event to compile); elsewhere bulk_update."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        event_model._base_manager.using(using).bulk_update(chained, ["seq", "prev_hash", "hash"])
        return
    table = connection.ops.quote_name(event_model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash "  # noqa: S608 - the model's table
            "FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[]) AS v(id, seq, prev_hash, hash) "
            f"WHERE {table}.id = v.id",
            [
                [event.pk for event in chained],
                [event.seq for event in chained],
                [event.prev_hash for event in chained],
                [event.hash for event in chained],
            ],
        )


@dataclass(frozen=True)
class Break:
    """The first place where the chain does not hold."""

    problem: str  # "changed", "link", "missing", "missing_end" (after the last event), "head" (missing or wrong)
    event_id: int | None = None
    seq: int | None = None
    at: datetime.datetime | None = None
    action: str = ""
    expected_seq: int | None = None


@dataclass(frozen=True)
class Report:
    events: int
    head_seq: int
    head_hash: str
    broken: Break | None


def verify(event_model, head_model, using: str = DEFAULT_DB_ALIAS) -> Report:
    """Walk the chain up to the head as it is now and return the first break, if any.

    The head is read first: events sealed meanwhile come after it and are left for the next run."""
    head = head_model._base_manager.using(using).filter(pk=HEAD_ID).values("seq", "hash").first()
    events = event_model._base_manager.using(using).filter(seq__isnull=False)
    if head is None:
        count = events.count()
        return Report(count, 0, GENESIS, Break("head") if count else None)
    rows = events.filter(seq__lte=head["seq"]).order_by("seq").values(*CONTENT, "seq", "prev_hash", "hash")
    expected_seq, expected_prev, count = 1, GENESIS, 0
    for row in rows.iterator(chunk_size=2000):
        where = {"event_id": row["id"], "seq": row["seq"], "at": row["at"], "action": row["action"]}
        if row["seq"] != expected_seq:
            return Report(count, head["seq"], head["hash"], Break("missing", expected_seq=expected_seq, **where))
        if row["prev_hash"] != expected_prev:
            return Report(count, head["seq"], head["hash"], Break("link", **where))
        if digest(row, row["seq"], row["prev_hash"]) != row["hash"]:
            return Report(count, head["seq"], head["hash"], Break("changed", **where))
        expected_seq, expected_prev, count = row["seq"] + 1, row["hash"], count + 1
    if expected_seq - 1 != head["seq"]:
        return Report(count, head["seq"], head["hash"], Break("missing_end", expected_seq=expected_seq))
    if expected_prev != head["hash"]:
        return Report(count, head["seq"], head["hash"], Break("head", seq=head["seq"]))
    return Report(count, head["seq"], head["hash"], None)
