"""The audit trail's hash chain: sealing after commit, `laihua audit verify`, and what tampering it finds."""

import io
import threading
import time

import pytest
from django.core.management import CommandError, ManagementUtility, call_command
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from laihua.audit import chain
from laihua.audit.models import AuditChainHead, AuditEvent
from laihua.audit.services import record_event, seal, verify_chain
from laihua.hospitals.models import Hospital

pytestmark = pytest.mark.django_db


def tamper(sql: str, params=()) -> None:
    """Change the trail behind the application's back; on PostgreSQL with the triggers off, as a superuser can."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")


@pytest.fixture
def events(users, hospital):
    recorded = [
        record_event(users["coordinator"], "case.view", hospital, detail={"n": number, "note": "病例 ✓"})
        for number in range(4)
    ]
    seal()
    return [AuditEvent.objects.get(pk=event.pk) for event in recorded]


def broken(capsys=None) -> str:
    with pytest.raises(CommandError) as refused:
        call_command("audit", "verify", stdout=io.StringIO())
    return str(refused.value)


def test_events_are_chained_in_order_each_hash_over_its_content_and_the_previous_hash(events):
    assert [event.seq for event in events] == [1, 2, 3, 4]
    assert events[0].prev_hash == chain.GENESIS
    for before, event in zip(events, events[1:], strict=False):
        assert event.prev_hash == before.hash
    values = AuditEvent.objects.filter(pk=events[2].pk).values(*chain.CONTENT).get()
    assert events[2].hash == chain.digest(values, 3, events[1].hash) and len(events[2].hash) == 64
    head = AuditChainHead.objects.get()
    assert (head.seq, head.hash) == (4, events[3].hash)


def test_an_event_is_sealed_when_its_transaction_commits(users, hospital, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first = record_event(users["coordinator"], "case.view", hospital)
        second = record_event(users["coordinator"], "case.update", hospital)
        assert AuditEvent.objects.filter(seq__isnull=True).count() == 2  # not before the commit
    assert len(callbacks) == 1  # one seal for the transaction, however many events
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.seq, second.seq, second.prev_hash) == (1, 2, first.hash)


def test_verify_passes_an_intact_chain_and_says_where_it_ends(events):
    out = io.StringIO()
    call_command("audit", "verify", stdout=out)
    assert f"4 events; the last is number 4, hash {events[3].hash}" in out.getvalue()
    verified = AuditEvent.objects.get(action="audit.verify")  # the check itself is audited, and chained next
    assert verified.detail == {"events": 4, "broken": False}
    assert verify_chain().broken is None


def test_a_changed_event_is_named_with_its_id_time_and_action(events):
    target = events[1]
    tamper("UPDATE audit_auditevent SET action = %s WHERE id = %s", ["case.nothing_happened", target.pk])
    message = broken()
    assert f"Event {target.pk} (number 2 in the chain" in message
    assert "case.nothing_happened" in message and "was changed after it was recorded" in message
    assert target.at.astimezone().strftime("%Y-%m-%d") in message


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditevent SET detail = '{\"n\": 7}' WHERE id = %s",
        "UPDATE audit_auditevent SET actor_label = 'somebody-else' WHERE id = %s",
        "UPDATE audit_auditevent SET ip_address = '10.9.8.7' WHERE id = %s",
        "UPDATE audit_auditevent SET hospital_id = NULL WHERE id = %s",
        "UPDATE audit_auditevent SET at = at - interval '1 day' WHERE id = %s",
    ],
    ids=["detail", "actor", "address", "hospital", "time"],
)
def test_every_column_that_matters_is_covered(events, sql):
    if connection.vendor == "sqlite":
        sql = sql.replace("at - interval '1 day'", "'2020-01-01 00:00:00'")
    tamper(sql, [events[2].pk])
    report = verify_chain()
    assert report.broken is not None
    assert (report.broken.problem, report.broken.event_id) == ("changed", events[2].pk)


def test_an_event_rewritten_with_a_fresh_hash_breaks_the_link_of_the_next(events):
    target = events[1]
    tamper("UPDATE audit_auditevent SET action = 'case.nothing_happened' WHERE id = %s", [target.pk])
    values = AuditEvent.objects.filter(pk=target.pk).values(*chain.CONTENT).get()
    tamper(
        "UPDATE audit_auditevent SET hash = %s WHERE id = %s", [chain.digest(values, 2, target.prev_hash), target.pk]
    )
    message = broken()
    assert f"Event {events[2].pk} (number 3 in the chain" in message and "link to the event before it" in message


def test_a_deleted_event_is_missing(events):
    tamper("DELETE FROM audit_auditevent WHERE id = %s", [events[1].pk])
    message = broken()
    assert f"Events are missing before event {events[2].pk}" in message
    assert "from number 2 straight to number 3" in message


def test_a_deleted_first_event_is_missing(events):
    tamper("DELETE FROM audit_auditevent WHERE id = %s", [events[0].pk])
    assert "from number 1 straight to number 2" in broken()


def test_events_cut_off_the_end_are_missing(events):
    tamper("DELETE FROM audit_auditevent WHERE id = %s", [events[3].pk])
    assert "missing at the end of the chain: number 4 and after" in broken()


def test_a_head_that_does_not_match_the_last_event_is_reported(events):
    tamper("UPDATE audit_auditchainhead SET hash = %s", ["0" * 64])
    assert "does not match its last event, number 4" in broken()


def test_verify_fails_with_exit_status_1(events, capsys):
    tamper("UPDATE audit_auditevent SET object_id = '999' WHERE id = %s", [events[0].pk])
    with pytest.raises(SystemExit) as exited:
        ManagementUtility(["laihua", "audit", "verify"]).execute()
    assert exited.value.code == 1
    assert f"Event {events[0].pk}" in capsys.readouterr().err


def test_verify_checks_a_kept_hash(events):
    call_command("audit", "verify", "--expect", f"2:{events[1].hash}", stdout=io.StringIO())
    with pytest.raises(CommandError, match="does not have the hash you kept"):
        call_command("audit", "verify", "--expect", f"2:{'a' * 64}", stdout=io.StringIO())
    with pytest.raises(CommandError, match="SEQ:HASH"):
        call_command("audit", "verify", "--expect", "two", stdout=io.StringIO())


@pytest.mark.django_db(transaction=True)
def test_the_migration_chains_the_events_recorded_before_it_in_order(users, hospital):
    executor = MigrationExecutor(connection)
    executor.migrate([("audit", "0003_no_truncate")])
    old = executor.loader.project_state([("audit", "0003_no_truncate")]).apps.get_model("audit", "AuditEvent")
    ids = [
        old.objects.create(action=f"old.{number}", hospital_id=hospital.pk, detail={"n": number}).pk
        for number in (1, 2, 3)
    ]
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    sealed = list(AuditEvent.objects.filter(pk__in=ids).order_by("seq").values_list("pk", "seq"))
    assert sealed == list(zip(ids, [1, 2, 3], strict=True))
    assert verify_chain().broken is None


# --- PostgreSQL: the triggers, and recording from many connections at once -----------------------------------------


@pytest.mark.postgres_only
def test_the_database_lets_an_event_be_sealed_once_and_changes_nothing_else(users, hospital):
    event = record_event(users["coordinator"], "case.view", hospital)
    for statement, params in [
        ("UPDATE audit_auditevent SET action = 'x' WHERE id = %s", [event.pk]),
        ("UPDATE audit_auditevent SET seq = 1, prev_hash = '', hash = 'h', action = 'x' WHERE id = %s", [event.pk]),
    ]:
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, params)
    seal()
    event.refresh_from_db()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET hash = 'forged' WHERE id = %s", [event.pk])
    for statement in ("DELETE FROM audit_auditchainhead", "UPDATE audit_auditchainhead SET seq = 0"):
        with pytest.raises(DatabaseError, match="chain head"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert verify_chain().broken is None


def _in_threads(*targets, timeout=30):
    errors = []

    def run(target):
        try:
            target()
        except Exception as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    return errors


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_recording_keeps_one_chain(users, hospital):
    workers, each = 4, 16
    start = threading.Barrier(workers)

    def worker(number):
        def record():
            start.wait()
            for index in range(each):
                if index % 4:
                    record_event(users["coordinator"], "case.view", hospital, detail={"worker": number, "i": index})
                    continue
                with transaction.atomic():
                    record_event(users["coordinator"], "case.view", hospital, detail={"worker": number, "i": index})
                    record_event(users["coordinator"], "case.update", hospital, detail={"worker": number, "i": index})

        return record

    assert _in_threads(*(worker(number) for number in range(workers))) == []
    # A seal after a commit that found another at work left its events to it or to the next one: at most the
    # last few commits' events wait, for the next seal (a request's, or the scheduled `laihua audit seal`).
    assert AuditEvent.objects.filter(seq__isnull=True).count() <= workers * 2
    call_command("audit", "seal", stdout=io.StringIO())
    assert AuditEvent.objects.filter(seq__isnull=True).count() == 0
    rows = list(AuditEvent.objects.order_by("seq").values_list("seq", "prev_hash", "hash"))
    assert [seq for seq, _, _ in rows] == list(range(1, workers * (each + each // 4) + 1))
    assert len({prev for _, prev, _ in rows}) == len(rows)  # no two events chained to the same one: no fork
    assert chain.verify(AuditEvent, AuditChainHead).broken is None


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_recording_an_event_takes_no_lock_that_waits_for_the_commit(users, hospital):
    """One transaction records and then locks a row another holds while it records: with the chain locked from
    recording to commit, each would wait for the other (a deadlock); sealing after commit lets both finish."""
    recorded, locked = threading.Event(), threading.Event()

    def records_then_locks():
        with transaction.atomic():
            connection.cursor().execute("SET LOCAL lock_timeout = '10s'")
            record_event(users["coordinator"], "case.view", hospital, detail={"who": "first"})
            recorded.set()
            locked.wait(10)
            Hospital.objects.select_for_update().get(pk=hospital.pk)

    def locks_then_records():
        with transaction.atomic():
            connection.cursor().execute("SET LOCAL lock_timeout = '10s'")
            recorded.wait(10)
            Hospital.objects.select_for_update().get(pk=hospital.pk)
            locked.set()
            time.sleep(0.3)  # the other transaction now waits for this row
            record_event(users["coordinator"], "case.update", hospital, detail={"who": "second"})

    assert _in_threads(records_then_locks, locks_then_records) == []
    # A seal after a commit does not wait for one in progress: what it skips, the next seal (the job's) takes.
    seal()
    assert AuditEvent.objects.filter(seq__isnull=True).count() == 0
    assert sorted(AuditEvent.objects.values_list("detail__who", flat=True)) == ["first", "second"]
    assert chain.verify(AuditEvent, AuditChainHead).broken is None


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_seal_waits_while_another_holds_the_chains_tail_and_one_after_a_commit_does_not(users, hospital, monkeypatch):
    """Two seals never read the same head: an explicit seal waits for the first's lock, then chains after it;
    the seal after a request's commit does not wait (the request is answered) and leaves its event to them."""
    first = record_event(users["coordinator"], "case.view", hospital)  # sealed at once: number 1
    pending = AuditEvent.objects.create(action="case.update", hospital=hospital)  # committed, not sealed yet
    held, release, recorded, sealed = threading.Event(), threading.Event(), threading.Event(), threading.Event()
    locked_head = chain._locked_head
    later = []

    def pausing(*args):
        head = locked_head(*args)
        if threading.current_thread().name == "first-seal":
            held.set()
            release.wait(10)
        return head

    monkeypatch.setattr(chain, "_locked_head", pausing)

    def first_seal():
        threading.current_thread().name = "first-seal"
        seal()

    def records():
        held.wait(10)
        later.append(record_event(users["coordinator"], "case.view", hospital))  # its seal skips at once
        recorded.set()
        seal()  # waits for the first seal
        sealed.set()

    def watch():
        held.wait(10)
        answered = recorded.wait(5)
        sealed_meanwhile = sealed.wait(0.5)
        unsealed = AuditEvent.objects.filter(pk__in=[event.pk for event in later], seq__isnull=True).count()
        release.set()
        assert answered, "recording an event waited for another seal"
        assert unsealed == 1, "the event was sealed while another seal held the chain's tail"
        assert not sealed_meanwhile, "a seal went past another that held the chain's tail"

    assert _in_threads(first_seal, records, watch) == []
    assert sealed.is_set()
    assert list(AuditEvent.objects.order_by("seq").values_list("pk", "seq")) == [
        (first.pk, 1),
        (pending.pk, 2),
        (later[0].pk, 3),
    ]
    assert chain.verify(AuditEvent, AuditChainHead).broken is None


@pytest.mark.django_db(transaction=True)
def test_a_process_seals_after_a_commit_at_most_once_per_interval(users, hospital, settings, monkeypatch):
    from laihua.audit import services

    seal()
    settings.AUDIT_SEAL_INTERVAL_MS = 1000
    clock = iter([1000.0, 1000.5, 1001.2])
    monkeypatch.setattr(services, "_last_seal", 0.0)
    monkeypatch.setattr(services, "_now", lambda: next(clock))

    def committed(action):
        with transaction.atomic():
            return record_event(users["coordinator"], action, hospital)

    def seq(event):
        return AuditEvent.objects.get(pk=event.pk).seq

    first = committed("case.view")  # at 1000.0: sealed
    second = committed("case.view")  # 0.5 s later: left for the next seal
    assert seq(first) is not None and seq(second) is None
    third = committed("case.update")  # 1.2 s after the seal: both chained, in order
    assert [seq(second), seq(third)] == [seq(first) + 1, seq(first) + 2]
    fourth = AuditEvent.objects.create(action="case.view", hospital=hospital)
    out = io.StringIO()
    call_command("audit", "seal", stdout=out)  # the scheduled seal does not wait for the interval
    assert "1 audit event(s) chained." in out.getvalue() and seq(fourth) == seq(first) + 3
    assert verify_chain().broken is None


def test_a_batch_larger_than_one_statement_is_chained_in_order(users, hospital, monkeypatch):
    monkeypatch.setattr(chain, "BATCH", 3)
    seal()
    before = AuditChainHead.objects.values_list("seq", flat=True).first() or 0
    recorded = [AuditEvent.objects.create(action="case.view", hospital=hospital, detail={"n": n}) for n in range(7)]
    assert seal() == 7
    rows = AuditEvent.objects.filter(pk__in=[event.pk for event in recorded]).order_by("seq")
    rows = list(rows.values_list("pk", "seq"))
    assert rows == [(event.pk, before + number) for number, event in enumerate(recorded, 1)]
    assert verify_chain().broken is None
