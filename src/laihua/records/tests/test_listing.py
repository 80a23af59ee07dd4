"""Records at any size: the items and documents are listed a page at a time, newest first, with counts,
links and filters, without reading a stored document; the distinct items are decided when a document
is stored; the exports are written as they are made and are the same as the whole ones."""

import contextlib
import copy
import itertools
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from laihua.kit import fhirxml
from laihua.records import distinct, export, ips, services
from laihua.records.models import ClinicalItem, ClinicalItemKey, IpsDocument
from laihua.records.services import importing
from laihua.records.tests.conftest import as_bytes, ips_document, snomed
from laihua.records.tests.test_items import condition, statement, tablets
from tests.builders import make_case

pytestmark = pytest.mark.django_db


def bearer(user):
    from laihua.accounts.services import create_api_token

    return {"Authorization": f"Bearer {create_api_token(user, user, 'test')[1]}"}


def problems(count: int, *, status: str = "active", start: int = 0) -> list[dict]:
    """Conditions, each its own resource (its own fullUrl)."""
    return [
        condition(f"{100000 + start + n}", f"Problem {start + n}", status, "2020-01-01")
        | {"_fullUrl": f"urn:uuid:00000000-0000-4000-8000-{start + n:012d}"}
        for n in range(count)
    ]


def document(resources, number: int, timestamp: str = "2026-03-01T10:00:00+01:00") -> bytes:
    bundle = ips_document(resources, identifier=f"urn:uuid:5d9bd3ad-3a0c-4a5e-9d2a-{number:012d}")
    bundle["timestamp"] = timestamp
    return as_bytes(bundle)


def fill(case, clinician, documents: int = 3, per_document: int = 4) -> list[IpsDocument]:
    """Documents of problems (each document's own resources: fullUrls differ by document)."""
    stored = []
    for number in range(documents):
        resources = problems(per_document, start=number * 100)
        stored.append(services.import_document(clinician, case, document(resources, number + 1))[0])
    return stored


def selects_content(queries) -> list[str]:
    column = f'{IpsDocument._meta.db_table}"."content"'
    return [q["sql"] for q in queries if column in q["sql"].replace("`", '"')]


# --- pages, counts, links ---------------------------------------------------------------------------


def test_the_api_pages_items_newest_first_with_counts_and_links(client, case, users):
    clinician = users["clinician"]
    stored = fill(case, clinician, documents=3, per_document=4)
    url = f"/api/records/cases/{case.reference}"
    first = client.get(f"{url}?page_size=5", headers=bearer(clinician)).json()
    assert first["counts"] == {"documents": 3, "items": 12, "matching": 12}
    assert first["page"] == {"number": 1, "size": 5, "pages": 3, "count": 12}
    assert [i["document"] for i in first["items"]] == [stored[2].pk] * 4 + [stored[1].pk]  # newest document first
    assert [i["text"] for i in first["items"][:4]] == [f"Problem {200 + n}" for n in range(4)]  # as it lists them
    assert first["links"]["previous"] is None
    assert first["links"]["next"] == f"{url}?page_size=5&page=2"
    assert first["links"]["last"] == f"{url}?page_size=5&page=3"
    last = client.get(first["links"]["last"], headers=bearer(clinician)).json()
    assert len(last["items"]) == 2 and last["links"]["next"] is None
    assert last["links"]["previous"] == f"{url}?page_size=5&page=2"
    seen = [
        i["id"]
        for p in (1, 2, 3)
        for i in client.get(f"{url}?page_size=5&page={p}", headers=bearer(clinician)).json()["items"]
    ]
    assert sorted(seen) == sorted(ClinicalItem.objects.filter(case=case).values_list("pk", flat=True))
    assert [d["id"] for d in first["documents"]] == [d.pk for d in reversed(stored)]
    beyond = client.get(f"{url}?page=9", headers=bearer(clinician)).json()
    assert beyond["items"] == [] and beyond["counts"]["items"] == 12


def test_the_documents_and_items_routes_page_too(client, case, users):
    clinician = users["clinician"]
    stored = fill(case, clinician, documents=3, per_document=2)
    documents = client.get(
        f"/api/records/cases/{case.reference}/documents?page_size=2&page=2", headers=bearer(clinician)
    ).json()
    assert documents["count"] == 3 and [d["id"] for d in documents["documents"]] == [stored[0].pk]
    assert documents["links"]["first"].endswith("page_size=2&page=1") and documents["links"]["next"] is None
    items = client.get(f"/api/records/cases/{case.reference}/items?page_size=4", headers=bearer(clinician)).json()
    assert items["count"] == 6 and items["page"]["pages"] == 2 and len(items["items"]) == 4


@pytest.mark.parametrize("query", ["page_size=201", "page_size=0", "page=0", "kind=gossip"])
def test_a_page_out_of_bounds_is_refused_naming_the_field(client, case, users, query):
    response = client.get(f"/api/records/cases/{case.reference}?{query}", headers=bearer(users["clinician"]))
    assert response.status_code == 422
    assert response.json()["field"] == query.split("=")[0]


def test_items_are_filtered_by_kind_and_status(client, case, users):
    clinician = users["clinician"]
    resources = [
        *problems(2, status="active"),
        *problems(3, status="resolved", start=10),
        statement({"medicationCodeableConcept": snomed("108774000", "Anastrozole")}, tablets(1, 1)),
    ]
    services.import_document(clinician, case, document(resources, 1))
    url = f"/api/records/cases/{case.reference}"
    resolved = client.get(f"{url}?status=resolved", headers=bearer(clinician)).json()
    assert resolved["counts"] == {"documents": 1, "items": 6, "matching": 3}
    assert {i["status"] for i in resolved["items"]} == {"resolved"}
    medications = client.get(f"{url}?kind=medication&page_size=1", headers=bearer(clinician)).json()
    assert [i["text"] for i in medications["items"]] == ["Anastrozole"] and medications["page"]["pages"] == 1
    assert "kind=medication" in medications["links"]["first"]


def test_the_page_filters_and_pages_with_a_partial_for_htmx(client, case, users):
    clinician = users["clinician"]
    resources = [
        *problems(2),
        statement({"medicationCodeableConcept": snomed("108774000", "Anastrozole")}, status="completed"),
    ]
    services.import_document(clinician, case, document(resources, 1))
    client.force_login(clinician)
    url = reverse("records:case", args=[case.reference])
    page = client.get(url, {"kind": "medication"}).content.decode()
    assert 'id="records-kind"' in page and '<option value="medication" selected>' in page
    assert "Anastrozole" in page and "Problem 0" not in page
    partial = client.get(url, {"status": "active"}, headers={"HX-Request": "true", "HX-Target": "records-items"})
    html = partial.content.decode()
    assert "<html" not in html and "Problem 0" in html and "Problem 1" in html and "Anastrozole" not in html
    for number in range(2, 60):
        services.import_document(clinician, case, document(problems(1, start=1000 + number), number))
    paged = client.get(url).content.decode()
    assert "Page 1 of 2" in paged and "?page=2#summary" in paged and "?documents_page=2#documents" in paged
    second = client.get(url, {"page": "2"}).content.decode()
    assert "Page 2 of 2" in second
    assert client.get(url, {"page": "nonsense"}).status_code == 200  # the first page
    with translation.override("zh-hans"):
        chinese = client.get(reverse("records:case", args=[case.reference])).content.decode()
    assert "第 1 页，共 2 页" in chinese and "共 61 个不重复条目" in chinese and "全部状态" in chinese


def test_listing_never_reads_a_stored_document(client, case, users):
    clinician = users["clinician"]
    fill(case, clinician, documents=2, per_document=3)
    client.force_login(clinician)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/api/records/cases/{case.reference}", headers=bearer(clinician)).status_code == 200
        assert client.get(f"/api/records/cases/{case.reference}/items", headers=bearer(clinician)).status_code == 200
        assert (
            client.get(f"/api/records/cases/{case.reference}/documents", headers=bearer(clinician)).status_code == 200
        )
        assert client.get(reverse("records:case", args=[case.reference])).status_code == 200
        response = client.get(reverse("records:export_json", args=[case.reference]))
        b"".join(response.streaming_content)
    assert len(queries) > 10  # the capture saw the requests
    assert selects_content(queries.captured_queries) == []
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("records:document", args=[IpsDocument.objects.first().pk]))
    assert selects_content(queries.captured_queries)  # the one place that reads it: the document itself


def test_a_page_of_documents_reads_neither_the_patient_nor_the_case_per_row(case, users):
    from laihua.patients.models import Patient

    clinician = users["clinician"]
    fill(case, clinician, documents=4, per_document=1)
    patients = f'"{Patient._meta.db_table}"'
    with CaptureQueriesContext(connection) as few:
        one = services.list_documents(clinician, case, size=1)
    with CaptureQueriesContext(connection) as many:
        four = services.list_documents(clinician, case, size=4)
        references = {document.case.reference for document in four.rows}
    assert len(one.rows) == 1 and len(four.rows) == 4 and references == {case.reference}
    assert len(many) == len(few)  # the rows' case is not read again per row
    assert not [q["sql"] for q in many.captured_queries if patients in q["sql"].replace("`", '"')]


# --- importing in a few statements ----------------------------------------------------------------


def test_an_import_runs_the_same_few_statements_whatever_its_size(case, users):
    """The document, its items and their keys are stored in bulk: a document of 150 items costs the
    statements of a document of one, re-sent resources included."""
    clinician = users["clinician"]
    with CaptureQueriesContext(connection) as small:
        services.import_document(clinician, case, document(problems(1, start=1000), 1))
    with CaptureQueriesContext(connection) as large:
        services.import_document(clinician, case, document(problems(150, start=2000), 2))
    with CaptureQueriesContext(connection) as re_sent:  # the same resources (fullUrls) again, newer
        services.import_document(clinician, case, document(problems(150, start=2000), 3, "2026-04-01T00:00:00Z"))
    assert ClinicalItem.objects.filter(case=case).count() == 301
    assert ClinicalItem.objects.filter(case=case, current=True).count() == 151
    assert len(small) <= 10, [q["sql"][:80] for q in small.captured_queries]
    if connection.vendor == "postgresql":  # one statement for the document, its items and their keys
        assert len(large) == len(small)
        assert len(re_sent) == len(small) + 1  # and one statement marks the older items not current
    else:  # SQLite takes bulk inserts in batches of its bound parameters' limit
        batches = -(-150 * 14 // connection.features.max_query_params)
        assert len(large) <= len(small) + batches


def test_items_linked_only_through_another_documents_keys_are_one_item(case, users):
    """A resource re-sent under a new fullUrl but with its identifier is found through the older copy's keys."""
    clinician = users["clinician"]
    first = condition(
        "38341003", "Hypertension", "active", "2020-01-01", _fullUrl="urn:uuid:aaaaaaaa-0000-4000-8000-000000000001"
    )
    services.import_document(clinician, case, document([first], 1, "2026-01-01T00:00:00Z"))
    with_identifier = {
        **first,
        "identifier": [{"system": "urn:oid:1.2.3", "value": "c-1"}],
        "clinicalStatus": {
            "coding": [{"system": first["clinicalStatus"]["coding"][0]["system"], "code": "recurrence"}]
        },
    }
    services.import_document(clinician, case, document([with_identifier], 2, "2026-02-01T00:00:00Z"))
    by_identifier = {**with_identifier, "_fullUrl": "urn:uuid:bbbbbbbb-0000-4000-8000-000000000002"}
    by_identifier["clinicalStatus"] = {
        "coding": [{"system": first["clinicalStatus"]["coding"][0]["system"], "code": "resolved"}]
    }
    services.import_document(clinician, case, document([by_identifier], 3, "2026-03-01T00:00:00Z"))
    assert ClinicalItem.objects.filter(case=case).count() == 3
    assert list(ClinicalItem.objects.filter(case=case, current=True).values_list("status", flat=True)) == ["resolved"]
    assert distinct.settle_case(case.pk) == 1


# --- distinct items decided when stored ------------------------------------------------------------


def test_a_re_sent_resource_is_one_current_item_as_the_newer_document_has_it(case, users):
    clinician = users["clinician"]
    first = [condition("38341003", "Hypertension", "active", "2020-01-01")]
    services.import_document(clinician, case, document(first, 1, "2026-01-01T00:00:00Z"))
    later = [condition("38341003", "Hypertension", "resolved", "2020-01-01", "2026-02-01")]
    services.import_document(clinician, case, document(later, 1, "2026-03-01T00:00:00Z"))
    older = [condition("38341003", "Hypertension", "inactive", "2020-01-01", "2025-01-01")]
    services.import_document(clinician, case, document(older, 1, "2025-06-01T00:00:00Z"))  # arrives last
    assert ClinicalItem.objects.filter(case=case).count() == 3
    assert list(ClinicalItem.objects.filter(case=case, current=True).values_list("status", flat=True)) == ["resolved"]
    # the key is kept once, with the group's first item: the next import reads one row, not every version
    first = ClinicalItem.objects.filter(case=case).order_by("pk").first()
    assert list(ClinicalItemKey.objects.filter(case=case).values_list("item_id", flat=True)) == [first.pk]
    assert set(ClinicalItem.objects.filter(case=case).values_list("anchor", flat=True)) == {None, first.pk}


def test_a_document_that_shows_two_groups_to_be_one_merges_them_into_the_earlier(case, users):
    """Two items known by different keys are two items, until a newer document carries both keys: then the
    three are one item, as the newest has it, and the later group joins the earlier one, keys and all."""
    clinician = users["clinician"]
    by_url = condition(
        "38341003", "Hypertension", "active", "2020-01-01", _fullUrl="urn:uuid:aaaaaaaa-0000-4000-8000-1"
    )
    by_id = {
        **condition("38341003", "Hypertension", "active", "2020-01-01", _fullUrl="urn:uuid:bbbbbbbb-0000-4000-8000-2"),
        "identifier": [{"system": "urn:oid:1.2.3", "value": "c-1"}],
    }
    services.import_document(clinician, case, document([by_url], 1, "2026-01-01T00:00:00Z"))
    services.import_document(clinician, case, document([by_id], 2, "2026-02-01T00:00:00Z"))
    assert ClinicalItem.objects.filter(case=case, current=True).count() == 2
    both = {
        **by_url,
        "identifier": by_id["identifier"],
        "clinicalStatus": {"coding": [{**by_url["clinicalStatus"]["coding"][0], "code": "resolved"}]},
    }
    services.import_document(clinician, case, document([both], 3, "2026-03-01T00:00:00Z"))
    items = list(ClinicalItem.objects.filter(case=case).order_by("pk"))
    assert [item.current for item in items] == [False, False, True] and items[2].status == "resolved"
    assert [item.anchor for item in items] == [None, items[0].pk, items[0].pk]
    assert set(ClinicalItemKey.objects.filter(case=case).values_list("item_id", flat=True)) == {items[0].pk}
    assert distinct.settle_case(case.pk) == 1
    assert [i.anchor for i in ClinicalItem.objects.filter(case=case).order_by("pk")] == [None, items[0].pk, items[0].pk]


KEYS = st.lists(
    st.lists(st.lists(st.sampled_from("abcdefg"), max_size=2, unique=True), min_size=1, max_size=4),
    min_size=1,
    max_size=5,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(documents=KEYS, times=st.lists(st.integers(min_value=1, max_value=5), min_size=5, max_size=5))
def test_the_current_items_are_the_distinct_items_of_all_whatever_the_order(patient, hospital, documents, times):
    """Invariant: deciding as each document comes (looking up only the items that share a key) gives the same
    current items as deciding over every item at once."""
    import datetime

    from laihua.kit import clock

    case = make_case(patient, hospital)
    for number, keys_of_items in enumerate(documents):
        stamp = datetime.datetime(2026, 1, times[number], tzinfo=datetime.UTC)
        stored = IpsDocument.objects.create(
            patient=patient,
            case=case,
            hospital=hospital,
            identifier_value=f"d{number}",
            content="{}",
            content_hash=f"{number}",
            timestamp=stamp,
            created_at=clock.now(),
        )
        rows = [
            {"kind": "problem", "resource_type": "Condition", "text": "x", "codes": [], "source_keys": keys}
            for keys in ([f"k:{key}" for key in keys] for keys in keys_of_items)
        ]
        found = importing._store_items(stored, case, rows)  # the items and their keys, as an import stores them
        distinct.settle_document(stored, *found)
    incremental = set(ClinicalItem.objects.filter(case=case, current=True).values_list("pk", flat=True))
    everything = list(ClinicalItem.objects.filter(case=case).select_related("document"))
    assert incremental == {item.pk for item in services.distinct_items(everything)}
    # each group is named by its first item, and each key is kept once, with the group of the items carrying it
    rows = [(item.pk, item.document_id, item.position, item.source_keys, (0,)) for item in everything]
    first_of = {}
    for members in distinct.groups(rows):
        first_of.update((rows[i][0], min(rows[j][0] for j in members)) for i in members)
    assert {item.pk: item.anchor or item.pk for item in everything} == first_of
    held = list(ClinicalItemKey.objects.filter(case=case).values_list("digest", "item_id"))
    assert len({value for value, _item in held}) == len(held)
    assert dict(held) == {distinct.digest(key): first_of[item.pk] for item in everything for key in item.source_keys}
    assert distinct.settle_case(case.pk) == len(incremental)
    assert set(ClinicalItem.objects.filter(case=case, current=True).values_list("pk", flat=True)) == incremental


# --- exports written as they are made ----------------------------------------------------------------


@pytest.fixture
def fixed_ids(monkeypatch):
    """The exporter's random urn:uuids counted from 1 again at each call, and its clock stopped."""
    from laihua.kit import clock

    stopped = clock.now()
    monkeypatch.setattr(export.clock, "now", lambda: stopped)

    def reset():
        counter = itertools.count(1)
        monkeypatch.setattr(export, "_uuid", lambda: f"urn:uuid:00000000-0000-4000-9000-{next(counter):012d}")

    return reset


def test_the_streamed_export_is_the_whole_export(case, users, fixed_ids, settings):
    clinician = users["clinician"]
    device = {
        "resourceType": "DeviceUseStatement",
        "status": "active",
        "device": {"reference": "#pump"},
        "contained": [{"resourceType": "Device", "id": "pump", "type": snomed("69805005", "Insulin pump")}],
    }
    resources = [
        *problems(3),
        statement({"medicationCodeableConcept": snomed("108774000", "Anastrozole")}, tablets(1, 2)),
        device,
    ]
    services.import_document(clinician, case, document(resources, 1))
    services.import_document(clinician, case, document(problems(2, start=50), 2, "2026-04-01T00:00:00Z"))
    fixed_ids()
    whole = services.build_export(case)
    fixed_ids()
    header, entries = services.export_parts(case, chunk=2)  # small chunks: many reads
    streamed = b"".join(export.json_chunks(header, entries, size=100))
    assert json.loads(streamed) == whole
    assert ips.strict_issues(json.loads(streamed)) == []
    fixed_ids()
    header, entries = services.export_parts(case, chunk=3)
    assert b"".join(export.xml_chunks(header, entries, size=500)) == fhirxml.to_xml(whole)


def test_the_export_writes_the_items_it_listed_even_if_one_stops_being_current_meanwhile(case, users):
    clinician = users["clinician"]
    services.import_document(clinician, case, document(problems(3), 1, "2026-01-01T00:00:00Z"))
    header, entries = services.export_parts(case)
    resent = copy.deepcopy(problems(3))
    for resource in resent:
        resource["clinicalStatus"]["coding"][0]["code"] = "resolved"
        resource["abatementDateTime"] = "2026-02-01"
    services.import_document(clinician, case, document(resent, 1, "2026-03-01T00:00:00Z"))
    bundle = json.loads(b"".join(export.json_chunks(header, entries)))
    assert ips.strict_issues(bundle) == []
    assert len([e for e in bundle["entry"] if e["resource"]["resourceType"] == "Condition"]) == 3


# --- the migration of what was stored before -----------------------------------------------------------


@contextlib.contextmanager
def migrated_back(before: list[tuple[str, str]]):
    """The database migrated back to `before`, with its models of then; migrated to the latest afterwards.
    The body calls `migrate(after)` itself once it has stored what the migration is to change."""
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    executor.migrate(before)
    try:
        yield executor.loader.project_state(before).apps, lambda after: MigrationExecutor(connection).migrate(after)
    finally:
        MigrationExecutor(connection).migrate(leaves)


def old_documents(apps, case, count: int, content: str) -> list:
    """`count` documents of the case, a day apart from 2026-01-01, stored with the models of `apps`."""
    import datetime

    Document = apps.get_model("records", "IpsDocument")
    return [
        Document.objects.create(
            patient_id=case.patient_id,
            case_id=case.pk,
            hospital_id=case.hospital_id,
            identifier_value=f"d{n}",
            content=content,
            content_hash=str(n),
            timestamp=datetime.datetime(2026, 1, 1 + n, tzinfo=datetime.UTC),
        )
        for n in range(count)
    ]


@pytest.mark.django_db(transaction=True)
def test_the_migration_seals_stored_documents_and_decides_their_current_items(case):
    from laihua.kit import crypto

    text = '{"resourceType": "Bundle", "passport": "X1234567"}'
    with migrated_back([("records", "0007_discharge_summaries_from_pipe_text")]) as (old, migrate):
        Item = old.get_model("records", "ClinicalItem")
        documents = old_documents(old, case, 2, text)

        def item(document, position, keys):
            return Item.objects.create(
                patient_id=case.patient_id,
                case_id=case.pk,
                document=document,
                kind="problem",
                position=position,
                text="x",
                source_keys=keys,
            ).pk

        older, alone, newer = (
            item(documents[0], 0, ["url:a"]),
            item(documents[0], 1, ["url:b"]),
            item(documents[1], 0, ["url:a"]),
        )
        migrate([("records", "0008_items_current_keys_sealed_documents")])
        with connection.cursor() as cursor:
            cursor.execute("SELECT content FROM records_ipsdocument")
            assert all(row[0].startswith(crypto.SEALED_PREFIX) for row in cursor.fetchall())
        assert IpsDocument.objects.get(pk=documents[0].pk).content == text
        assert set(ClinicalItem.objects.filter(current=True).values_list("pk", flat=True)) == {alone, newer}
        assert older not in set(ClinicalItem.objects.filter(current=True).values_list("pk", flat=True))
        assert ClinicalItemKey.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_the_migration_groups_the_items_that_are_one_under_their_first_item(case):
    """Before 0012 every item held its own keys; after it each key is kept once with the first item of its
    group, the group's other items name that first item, and the same items are current."""
    with migrated_back([("records", "0011_transfer_code_address")]) as (old, migrate):
        Item, Key = old.get_model("records", "ClinicalItem"), old.get_model("records", "ClinicalItemKey")
        documents = old_documents(old, case, 3, "{}")

        def item(document, position, keys, current):
            pk = Item.objects.create(
                patient_id=case.patient_id,
                case_id=case.pk,
                document=document,
                kind="problem",
                position=position,
                text="x",
                source_keys=keys,
                current=current,
            ).pk
            Key.objects.bulk_create(
                Key(case_id=case.pk, item_id=pk, digest=value) for value in {distinct.digest(k) for k in keys}
            )
            return pk

        first = item(documents[0], 0, ["url:a"], False)
        alone = item(documents[0], 1, ["url:b"], True)
        second = item(documents[1], 0, ["url:a", "id:x"], False)
        last = item(documents[2], 0, ["id:x"], True)
        migrate([("records", "0012_item_keys_held_by_current_items")])
        held = dict(ClinicalItemKey.objects.values_list("digest", "item_id"))
        assert held == {
            distinct.digest("url:a"): first,
            distinct.digest("id:x"): first,
            distinct.digest("url:b"): alone,
        }
        anchors = dict(ClinicalItem.objects.values_list("pk", "anchor"))
        assert anchors == {first: None, alone: None, second: first, last: first}
        assert set(ClinicalItem.objects.filter(current=True).values_list("pk", flat=True)) == {alone, last}
