"""Importing International Patient Summaries onto a case.

A document is checked (`ips.parse`: refused with every error, or kept with its warnings), then its
Patient is matched against the case's patient (`identity`): a document about another person is
refused with each field that differs and both values. Only a clinician of the case's hospital may
import it anyway, with a written reason; the document is then marked as matched by hand (who, when,
why, and what differed) and the import is audited as `records.import_matched_by_hand`. A patient's own
upload that does not match is always refused. The same document already stored on the case is not
stored again (and not matched again).
"""

import contextlib
import datetime
import gc
import json

import psycopg
from django.conf import settings
from django.db import connection, router, transaction
from django.db.models.constants import OnConflict
from django.db.models.sql import InsertQuery
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from laihua.accounts.models import Role
from laihua.audit.services import record_event, seal_after_commit, unsaved_event
from laihua.cases.models import Attachment, AttachmentKind, Case
from laihua.cases.services import add_event
from laihua.cases.services import unsaved_event as unsaved_case_event
from laihua.errors import InvalidInput, NotFound, PermissionDenied
from laihua.kit import clock
from laihua.records import distinct, identity, ips
from laihua.records.models import ClinicalItem, ClinicalItemKey, IpsDocument
from laihua.records.services.access import require_records_access

MIN_REASON = 5


class PatientMismatch(ips.IpsInvalid):
    """The document's Patient is not the case's patient: one issue per field, with both values."""

    code = "patient_mismatch"

    def __init__(self, differences: list[dict]):
        self.differences = differences
        issues = [
            {
                **ips.issue(d["expression"], identity.describe(d), "business-rule"),
                "field": d["field"],
                "label": str(identity.FIELDS.get(d["field"], d["field"])),
                "document": d["document"],
                "patient": d["patient"],
            }
            for d in differences
        ]
        super().__init__(issues)
        fields = ", ".join(str(identity.FIELDS.get(d["field"], d["field"])) for d in differences)
        self.message = _(
            "This summary is about someone else: its patient's %(fields)s differ from the case's patient. "
            "Nothing was stored."
        ) % {"fields": fields}
        self.args = (self.message,)


class MatchByHandRefused(PermissionDenied):
    code = "match_by_hand_refused"
    default_message = gettext_lazy(
        "Only a clinician of the case's hospital may import a summary whose patient does not match the case."
    )


def _existing(case: Case, parsed: ips.Parsed) -> IpsDocument | None:
    system, value = parsed.identifier
    return IpsDocument.objects.filter(
        case_id=case.pk, identifier_system=system[:255], identifier_value=value[:255], content_hash=parsed.content_hash
    ).first()


def _parse_timestamp(value):
    try:
        return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def store(
    parsed: ips.Parsed,
    case: Case,
    actor,
    *,
    source: str = "upload",
    mismatch: list[dict] | None = None,
    reason: str = "",
    record: bool = False,
) -> tuple[IpsDocument, bool]:
    """Store a checked document, its warnings and its items once per case (the caller holds the
    transaction); `mismatch` and `reason` mark a document a clinician matched to the patient by hand;
    `record`: with the import's audit events and, when stored, its line on the case's timeline.
    A document parsed without its check against the fhir.resources models (`ips.parse(structure=False)`)
    is checked here, while PostgreSQL writes its rows: IpsInvalid then, and the caller rolls back.

    A handful of statements whatever the document's size: the document (an insert that does nothing when
    the same document is already on the case), its items with their keys (one statement on PostgreSQL,
    which also finds the case's items that share a key), and the current items only when some do."""
    system, value = parsed.identifier
    composition = parsed.composition
    rows = ips.items(parsed)
    authors = composition.get("author") or []
    document = IpsDocument(
        patient_id=case.patient_id,
        case=case,
        hospital_id=case.hospital_id,
        identifier_system=system[:255],
        identifier_value=value[:255],
        timestamp=_parse_timestamp(parsed.data.get("timestamp")),
        title=str(composition.get("title") or "")[:255],
        author=str(authors[0].get("display") or "")[:255] if authors and isinstance(authors[0], dict) else "",
        source_format=parsed.source_format,
        content=parsed.text,
        content_hash=parsed.content_hash,
        item_count=len(rows),
        imported_by=actor if actor is not None and actor.is_authenticated else None,
        warnings=parsed.warnings,
    )
    if mismatch:
        document.patient_mismatch = mismatch
        document.matched_by_hand_reason = reason
        document.matched_by_hand_by = actor
        document.matched_by_hand_at = clock.now()
    # the audit event and the timeline's line of a new document are written by the statement that stores
    # it, on PostgreSQL (a document matched by hand is recorded as below, with its second event)
    events = _events(document, case, actor, source) if record and not mismatch else []
    # the model check: in the helper process since `ips.parse` (read here, once the rows are written and
    # settled, before the caller commits), or else here while PostgreSQL runs the store statement
    in_helper = parsed.check is not None and parsed.check.in_helper
    check = (lambda: None) if in_helper else (lambda: ips.check_structure(parsed))
    stored = _store_items(document, case, rows, check=check, events=events)
    if stored is None:  # the same document is already on the case (or was stored a moment ago)
        document, created = _existing(case, parsed), False
    else:
        distinct.settle_document(document, *stored)
        created = True
    ips.check_structure(parsed)
    if record and created and events and connection.vendor == "postgresql":
        seal_after_commit()
    elif record:
        _record(document, created, case, actor, source, mismatch or [], reason)
    return document, created


def _events(document: IpsDocument, case: Case, actor, source: str) -> list[tuple]:
    """The audit event and the timeline's line of a new document not matched by hand, as `_record` writes
    them, to be written with it: (unsaved row, {field: SQL of its value from the stored document})."""
    audit = unsaved_event(
        actor, "records.import", document, hospital_id=case.hospital_id, detail=_detail(document, case, source, True)
    )
    line = unsaved_case_event(case, actor, "records_imported", note=document.title)
    return [(audit, {"object_id": "doc.id::text"}), (line, {"detail": "jsonb_build_object('document', doc.id)"})]


def _detail(document: IpsDocument, case: Case, source: str, created: bool) -> dict:
    return {
        "case": case.reference,
        "created": created,
        "items": document.item_count,
        "source": source,
        "warnings": len(document.warnings),
        "matched_by_hand": created and document.matched_by_hand,
    }


def _record(document, created: bool, case: Case, actor, source: str, mismatch: list[dict], reason: str) -> None:
    """The import's audit events and, when the document was stored, its line on the case's timeline."""
    record_event(
        actor, "records.import", document, hospital_id=case.hospital_id, detail=_detail(document, case, source, created)
    )
    if created and document.matched_by_hand:
        record_event(
            actor,
            "records.import_matched_by_hand",
            document,
            hospital_id=case.hospital_id,
            detail={"case": case.reference, "fields": [d["field"] for d in mismatch], "reason": reason},
        )
    if created:
        add_event(case, actor, "records_imported", note=document.title, document=document.pk)


def _insert_after_document(row, computed: dict) -> tuple[str, list]:
    """The INSERT of an unsaved row, as the ORM would write it, made only when the statement's `doc` stored
    a document; `computed`: SQL for the fields that name it."""
    fields = [f for f in row._meta.concrete_fields if not f.primary_key]
    values, params = [], []
    for f in fields:
        if f.name in computed:
            values.append(computed[f.name])
        else:
            values.append("%s")
            params.append(f.get_db_prep_save(f.pre_save(row, True), connection))
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(row._meta.db_table)
    return f"INSERT INTO {table} ({columns}) SELECT {', '.join(values)} FROM doc", params


def _insert_once(document: IpsDocument) -> tuple[str, tuple]:
    """The statement that INSERTs the document unless the same one (identifier and canonical content) is
    on its case, and returns its pk: no savepoint (a concurrent import of the same document waits for the
    other one, then does nothing)."""
    query = InsertQuery(IpsDocument, on_conflict=OnConflict.IGNORE)
    query.insert_values([f for f in IpsDocument._meta.concrete_fields if not f.primary_key], [document])
    compiler = query.get_compiler(using=router.db_for_write(IpsDocument))
    compiler.returning_fields = [IpsDocument._meta.pk]
    [(statement, params)] = compiler.as_sql()
    return statement, params


def _stored(document: IpsDocument, pk: int) -> None:
    document.pk = pk
    document._state.adding = False
    document._state.db = router.db_for_write(IpsDocument)


ITEM_COLUMNS = (
    "document_id",
    "patient_id",
    "case_id",
    "position",
    "kind",
    "resource_type",
    "text",
    "codes",
    "status",
    "date",
    "value",
    "detail",
    "source_keys",
    "current",
)

# The document (when it is not stored yet: an insert that does nothing when the same document is on the
# case) and its items, each beginning its own group, in one statement (the items as one JSON text: no
# per-value quoting), with the digests of their keys that the case does not hold yet (each with the first
# of its items that carries it). It returns the items' pks, the digests the case already holds with their
# groups (`1`), and the current item of each of those groups (`2`): records.distinct decides the rest. Its
# queries see the tables as they were before the statement, not what it inserts.
_ITEMS_SQL = """
WITH doc AS (
    {document_insert}
){events}, u AS (
    SELECT * FROM jsonb_to_recordset(%s::jsonb) AS u(position integer, kind text, resource_type text,
        text text, codes jsonb, status text, date text, value text, detail jsonb, source_keys jsonb,
        digests text[])
), item AS (
    INSERT INTO {item} ("document_id", "patient_id", "case_id", "position", "kind", "resource_type", "text",
                        "codes", "status", "date", "value", "detail", "source_keys", "current")
    SELECT {document_id}, %s, %s, u.position, u.kind, u.resource_type, u.text, u.codes, u.status, u.date,
           u.value, u.detail, u.source_keys, true
    FROM u{join_document}
    RETURNING "id", "position"
), held AS (  -- one index probe per digest, whatever the planner believes of the case's size (OFFSET 0
             -- keeps each probe apart from the outer query)
    SELECT k.digest, k.item_id FROM unnest(%s::text[]) AS own(digest)
    CROSS JOIN LATERAL (
        SELECT k.digest, k.item_id FROM {key} k WHERE k.case_id = %s AND k.digest = own.digest OFFSET 0
    ) AS k
), item_key AS (
    INSERT INTO {key} ("case_id", "digest", "item_id")
    SELECT DISTINCT ON (d.digest) %s, d.digest, item.id
    FROM item JOIN u ON u.position = item.position, unnest(u.digests) AS d(digest)
    WHERE d.digest NOT IN (SELECT digest FROM held)
    ORDER BY d.digest, item.position
), current_item AS (  -- one probe of clinical_item_group_idx per group
    SELECT i.id, i.document_id, i.position, i.grp, d.timestamp, d.created_at
    FROM (SELECT DISTINCT item_id FROM held) AS g
    CROSS JOIN LATERAL (
        SELECT i.id, i.document_id, i.position, COALESCE(i.anchor, i.id) AS grp FROM {item} i
        WHERE i.current AND COALESCE(i.anchor, i.id) = g.item_id OFFSET 0
    ) AS i
    JOIN {document} d ON d.id = i.document_id
)
SELECT -1, {document_id}, NULL::bigint, NULL::integer, NULL::bigint, NULL::text, NULL::timestamptz,
       NULL::timestamptz
{document_row}
UNION ALL
SELECT 0, item.id, NULL::bigint, item.position, NULL::bigint, NULL::text, NULL::timestamptz, NULL::timestamptz
FROM item
UNION ALL
SELECT 1, NULL::bigint, NULL::bigint, NULL::integer, held.item_id, held.digest, NULL::timestamptz,
       NULL::timestamptz
FROM held
UNION ALL
SELECT 2, c.id, c.document_id, c.position, c.grp, NULL::text, c.timestamp, c.created_at FROM current_item c
"""


def _item_values(rows: list[dict]) -> list[tuple]:
    return [
        (
            position,
            row["kind"],
            row["resource_type"],
            row["text"],
            row["codes"],
            row.get("status", "")[:40],
            row.get("date", "")[:40],
            row.get("value", "")[:255],
            row.get("detail", {}),
            row.get("source_keys", []),
        )
        for position, row in enumerate(rows)
    ]


def _store_items(
    document: IpsDocument, case: Case, rows: list[dict], check=None, events=()
) -> tuple[list[tuple], dict[str, int], list[tuple]] | None:
    """Store a document not stored yet (None when the same one is already on the case), its items (every
    one current and beginning its own group, until records.distinct decides otherwise) and the digests of
    their keys the case did not hold; ((pk, position, digests) of each item, and what
    `distinct.linked_items` gives of their digests before they were stored). One statement on PostgreSQL;
    elsewhere the look-up and a bulk insert of each. `check`, a check that raises to refuse the document,
    runs before any result is read: on PostgreSQL while the server runs the statement (the caller's
    transaction then rolls back). `events` (`_events`): rows the statement writes too when it stores the
    document (PostgreSQL only)."""
    values = _item_values(rows)
    own = {position: sorted({distinct.digest(key) for key in row[9]}) for position, row in enumerate(values)}
    digests = sorted({value for values_of in own.values() for value in values_of})
    if connection.vendor == "postgresql":
        return _store_on_postgresql(document, case, values, own, digests, check, events)
    if check is not None:
        check()
    if document.pk is None:
        statement, params = _insert_once(document)
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            row = cursor.fetchone()
        if row is None:
            return None
        _stored(document, row[0])
    if not values:
        return [], {}, []
    found, current = distinct.linked_items(case.pk, digests)  # before its own keys are stored
    items = ClinicalItem.objects.bulk_create(
        [
            ClinicalItem(
                document_id=document.pk,
                patient_id=case.patient_id,
                case_id=case.pk,
                **dict(zip(ITEM_COLUMNS[3:13], value, strict=True)),
                current=True,
            )
            for value in values
        ]
    )
    pk_of = {item.position: item.pk for item in items}
    first_with: dict[str, int] = {}
    for position in sorted(own):
        for value in own[position]:
            if value not in found:
                first_with.setdefault(value, pk_of[position])
    ClinicalItemKey.objects.bulk_create(
        [ClinicalItemKey(case_id=case.pk, digest=value, item_id=pk) for value, pk in first_with.items()],
        batch_size=500,
    )
    return [(pk_of[position], position, item_digests) for position, item_digests in own.items()], found, current


def _store_on_postgresql(document, case, values, own, digests, check=None, events=()):
    items = json.dumps(
        [{**dict(zip(ITEM_COLUMNS[3:13], value, strict=True)), "digests": own[value[0]]} for value in values],
        ensure_ascii=False,
    )
    events_sql = ""
    if document.pk is None:
        document_insert, params = _insert_once(document)
        params = list(params)
        names = {"document_id": "doc.id", "join_document": ", doc", "document_row": "FROM doc"}
        for number, (row, computed) in enumerate(events):
            insert, values_of = _insert_after_document(row, computed)
            events_sql += f", event{number} AS (\n    {insert}\n)"
            params += values_of
    else:
        document_insert, params = "SELECT 1", ()
        names = {"document_id": str(int(document.pk)), "join_document": "", "document_row": ""}
    statement = _ITEMS_SQL.format(
        document_insert=document_insert,
        item=ClinicalItem._meta.db_table,
        key=ClinicalItemKey._meta.db_table,
        document=IpsDocument._meta.db_table,
        events=events_sql,
        **names,
    )
    params = [*params, items, case.patient_id, case.pk, digests, case.pk, case.pk]
    # one import at a time on a case: each decides its current items from what the one before committed
    lock = f"SELECT 1 FROM {Case._meta.db_table} WHERE id = %s FOR NO KEY UPDATE"
    # bound on the server (no quoting of the document's text into the statement) and prepared once per
    # connection when the settings allow it
    with distinct.bound_cursor() as cursor:
        if check is None:
            cursor.execute(lock, [case.pk])
            cursor.execute(statement, params)
        else:  # sent without waiting for its result (pipeline mode): the check runs while the server works
            # errors the server sends back when the pipeline ends are Django's database errors, as in `execute`
            with connection.wrap_database_errors, _pipeline(), connection.cursor() as constraints:
                constraints.execute(lock, [case.pk])
                # the foreign keys of the rows it writes are checked at its end, while the check runs, instead
                # of at COMMIT; then deferred again, as Django makes every one of them (a test holds this)
                constraints.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(statement, params)
                constraints.execute("SET CONSTRAINTS ALL DEFERRED")
                check()
        found = cursor.fetchall()
    if document.pk is None:
        stored = [row[1] for row in found if row[0] == -1]
        if not stored:
            return None
        _stored(document, stored[0])
    mine = [(row[1], row[3], own[row[3]]) for row in found if row[0] == 0]
    held = {row[5]: row[4] for row in found if row[0] == 1}
    current = [(row[1], row[2], row[3], row[4], row[6], row[7]) for row in found if row[0] == 2]
    return mine, held, current


@contextlib.contextmanager
def _collector_paused():
    """Python's cyclic garbage collector paused for one import (unless something else paused it): the
    document's parsed tree and the models that check it, tens of thousands of short-lived objects without
    cycles, freed by reference counting as soon as the import is done with them, would otherwise be moved
    into the collector's oldest generation while alive and make it walk every object of the process again
    (measured: 1–2 ms of a 12 ms import). Nothing is kept longer; the collector resumes after the import."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@contextlib.contextmanager
def _pipeline():
    """psycopg's pipeline mode on the connection, when its libpq has it: a statement is sent and the
    caller goes on; its result is read when asked for (or when the block ends)."""
    if not psycopg.Pipeline.is_supported():
        yield
        return
    with connection.connection.pipeline():
        yield


def import_document(
    actor,
    case: Case,
    content: bytes | str,
    *,
    source: str = "upload",
    by_system: bool = False,
    match_reason: str = "",
) -> tuple[IpsDocument, bool]:
    """Check an IPS (JSON or XML), match its patient and store it with its items on the case;
    (document, created). The document's `warnings` say what the sender should fix.

    A refused document raises IpsInvalid with every issue and its location (PatientMismatch when it is
    about someone else), and stores nothing. `match_reason` is a clinician's written reason to import a
    document whose patient does not match. `by_system` is the operator's bulk import on the command line
    (no person signed in; it never matches by hand)."""
    if not by_system:
        require_records_access(actor, case)
    if len(content) > settings.LAIHUA_UPLOAD_MAX_BYTES:
        raise InvalidInput(
            _("The file is %(size)s; documents up to %(limit)s can be imported.")
            % {"size": filesizeformat(len(content)), "limit": filesizeformat(settings.LAIHUA_UPLOAD_MAX_BYTES)},
            field="file",
        )
    if not content:
        raise InvalidInput(_("The file is empty."), field="file")
    with _collector_paused():
        return _import(actor, case, content, source, match_reason)


def _import(actor, case: Case, content: bytes | str, source: str, match_reason: str) -> tuple[IpsDocument, bool]:
    # the check against the fhir.resources models runs beside the import (records.ips, kit.fhircheck); `store`
    # reads its result before the rows are committed, unless the document is refused or matched by hand first
    try:
        parsed = ips.parse(content, structure=False)
    except ips.IpsInvalid as exc:
        _refused(actor, case, source, exc)
        raise
    try:
        return _import_parsed(actor, case, parsed, source, match_reason)
    finally:
        ips.release(parsed)  # an import stopped early frees the helper process for the next one


def _import_parsed(actor, case: Case, parsed: ips.Parsed, source: str, match_reason: str) -> tuple[IpsDocument, bool]:
    try:
        mismatch = _differences(parsed, case)
        if mismatch:
            ips.check_structure(parsed)  # a document the models refuse is refused for that first
    except ips.IpsInvalid as exc:
        _refused(actor, case, source, exc)
        raise
    reason = ""
    if mismatch and _existing(case, parsed) is not None:
        mismatch = []  # already on the case (matched by hand when it was stored): not matched again
    if mismatch:
        reason = _match_by_hand(actor, case, source, mismatch, match_reason)
    try:
        with transaction.atomic():
            document, created = store(parsed, case, actor, source=source, mismatch=mismatch, reason=reason, record=True)
    except ips.IpsInvalid as exc:  # refused by the models while its rows were written: nothing is kept
        _refused(actor, case, source, exc)
        raise
    return document, created


def _differences(parsed: ips.Parsed, case: Case) -> list[dict]:
    """The document's Patient against the case's patient (`identity.differences`)."""
    try:
        return identity.differences(parsed.patient(), case.patient, parsed.patient_location())
    except Exception:
        ips.check_structure(parsed)  # a Patient the comparison cannot read: the models say why, if they refuse it
        raise


def _refused(actor, case: Case, source: str, exc: ips.IpsInvalid) -> None:
    detail = {"issues": len(exc.issues), "source": source}
    if isinstance(exc, PatientMismatch):
        detail["mismatch"] = [d["field"] for d in exc.differences]
    record_event(actor, "records.import_refused", case, hospital_id=case.hospital_id, detail=detail)


def _match_by_hand(actor, case: Case, source: str, mismatch: list[dict], match_reason: str) -> str:
    """The reason to import a document about someone else, when a clinician gives one; else refused."""
    reason = str(match_reason or "").strip()
    if not reason or actor is None or actor.role == Role.PATIENT:
        error = PatientMismatch(mismatch)
        _refused(actor, case, source, error)
        raise error
    if actor.role != Role.CLINICIAN:
        _refused(actor, case, source, PatientMismatch(mismatch))
        raise MatchByHandRefused()
    if len(reason) < MIN_REASON:
        raise InvalidInput(
            _("Write why this summary belongs to the patient although it does not match (a sentence)."),
            field="match_reason",
        )
    return reason[:2000]


def importable_attachments(actor, case: Case) -> list[Attachment]:
    """The case's IPS attachments (offered for import on the records page)."""
    require_records_access(actor, case)
    attachments = case.attachments.filter(kind=AttachmentKind.IPS)
    if actor.role == Role.PATIENT:
        attachments = attachments.filter(internal=False)
    return list(attachments)


def import_attachment(actor, case: Case, attachment_id: int, *, match_reason: str = "") -> tuple[IpsDocument, bool]:
    """Import an IPS the patient or staff attached to the case."""
    attachment = next((a for a in importable_attachments(actor, case) if a.pk == attachment_id), None)
    if attachment is None:
        raise NotFound(_("No such attachment."))
    with attachment.file.open("rb") as handle:
        content = handle.read()
    return import_document(actor, case, content, source="attachment", match_reason=match_reason)


# --- checks of what is stored ----------------------------------------------------------------------


def mismatched_documents(case: Case | None = None):
    """(document, differences) of every stored document whose Patient does not match its case's patient
    (matched by hand or not), oldest first; the operator's check (`laihua records mismatches`)."""
    documents = IpsDocument.objects.filter(direction="imported").select_related("case", "patient", "matched_by_hand_by")
    if case is not None:
        documents = documents.filter(case=case)
    for document in documents.order_by("pk").iterator(chunk_size=200):
        try:
            data = ips.decode(document.content)[0]
        except ips.IpsInvalid as exc:
            yield (
                document,
                [
                    {
                        "field": "document",
                        "expression": "Bundle",
                        "document": exc.issues[0]["diagnostics"],
                        "patient": "",
                    }
                ],
            )
            continue
        patients = [
            (index, entry["resource"])
            for index, entry in enumerate(data.get("entry") or [])
            if isinstance(entry, dict)
            and isinstance(entry.get("resource"), dict)
            and entry["resource"].get("resourceType") == "Patient"
        ]
        if not patients:
            continue
        index, resource = patients[0]
        found = identity.differences(resource, document.patient, f"Bundle.entry[{index}].resource")
        if found:
            yield document, found


@transaction.atomic
def refresh_items(document: IpsDocument) -> int:
    """Derive a stored document's items again from its content with today's rules (the document is kept
    as received, so its items can always be derived again); the number of items. IpsInvalid when the
    document breaks a rule it was not checked against when stored (its items are then left as they are)."""
    parsed = ips.parse(document.content)
    rows = ips.items(parsed)
    document = IpsDocument.objects.select_for_update().get(pk=document.pk)
    ClinicalItem.objects.filter(document=document).delete()  # with their keys
    _store_items(document, document.case, rows)
    document.item_count, document.warnings = len(rows), parsed.warnings
    document.save(update_fields=["item_count", "warnings"])
    distinct.settle_case(document.case_id)
    return len(rows)
