"""Suite-wide test setup: database selection guard, and builders for hospitals, users and catalog items."""

import os

import pytest

from tests.builders import *  # noqa: F401,F403 - fixtures shared by every domain's tests
from tests.objectstore import s3_server, s3_storage  # noqa: F401 - a moto S3 server and a bucket per test


def pytest_collection_modifyitems(config, items):
    from django.db import connection

    on_postgres = connection.vendor == "postgresql"
    if os.environ.get("LAIHUA_REQUIRE_POSTGRES") == "1" and not on_postgres:
        raise pytest.UsageError("LAIHUA_REQUIRE_POSTGRES=1 but the tests do not run on PostgreSQL.")
    if not on_postgres:
        skip = pytest.mark.skip(reason="needs PostgreSQL: set LAIHUA_TEST_DATABASE_URL")
        for item in items:
            if "postgres_only" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _migrations_data_back_after_flush(django_db_setup, django_db_blocker):
    """A transactional test ends by emptying every table, which also removes the rows the migrations wrote (the
    entry rules, the periodic jobs, the term list, the content types). Django's own runner runs such tests last;
    pytest-xdist does not, so the tests after one on its worker would find those rows gone. The rows every table
    held after the migrations are read once here and written back after each flush (tests/demo_snapshot.py)."""
    from django.contrib.contenttypes.models import ContentType
    from django.test import TransactionTestCase

    from tests.demo_snapshot import read_state, write_state

    with django_db_blocker.unblock():
        migrated = read_state()
    original = TransactionTestCase._fixture_teardown

    def teardown(self):
        original(self)
        write_state(migrated)
        ContentType.objects.clear_cache()

    TransactionTestCase._fixture_teardown = teardown
    yield
    TransactionTestCase._fixture_teardown = original


_postgres_outcomes = {"passed": 0, "skipped": 0, "failed": 0}


def pytest_runtest_logreport(report):
    if "postgres_only" not in report.keywords:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _postgres_outcomes[report.outcome] = _postgres_outcomes.get(report.outcome, 0) + 1


def pytest_sessionfinish(session, exitstatus):
    """Leave var/postgres-tests.json so that CI can prove the PostgreSQL-only tests ran.

    With pytest-xdist the workers' reports reach the controller, which alone writes the file."""
    import json
    from pathlib import Path

    from django.db import connection

    if hasattr(session.config, "workerinput"):
        return

    Path("var").mkdir(exist_ok=True)
    report = {"vendor": connection.vendor, **_postgres_outcomes}
    Path("var/postgres-tests.json").write_text(json.dumps(report))


@pytest.fixture(scope="session", autouse=True)
def _flush_past_the_audit_triggers():
    """PostgreSQL refuses TRUNCATE of the audit trail (audit migration 0003), and Django empties the database
    after each transactional test with TRUNCATE: the test database's superuser does so with triggers off,
    for that one transaction only (SET LOCAL session_replication_role)."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, **kwargs):
        statements = original(self, style, tables, **kwargs)
        return ["SET LOCAL session_replication_role = replica", *statements] if statements else statements

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = original


@pytest.fixture(scope="session", autouse=True)
def _demo_loaded_once_per_state():
    """The demo data is loaded for real once per database state and replayed after (tests/demo_snapshot.py)."""
    from laihua.demo import loader
    from tests.demo_snapshot import load_demo_once

    real = loader.load_demo
    loader.load_demo = lambda: load_demo_once(real)
    yield
    loader.load_demo = real


def pytest_terminal_summary(terminalreporter):
    from tests.demo_snapshot import stats

    counts = stats()
    if counts["real"] or counts["replayed"]:
        terminalreporter.write_line(f"demo data: {counts['real']} real loads, {counts['replayed']} replayed")


@pytest.fixture(autouse=True)
def _celery_joins_allowed():
    """Celery keeps one flag per process that forbids waiting for a result inside a worker; a test that ran a
    worker's parts in this process must not leave it set for the next test's eager jobs."""
    from celery._state import _set_task_join_will_block

    _set_task_join_will_block(False)
    yield


@pytest.fixture(autouse=True)
def _english_by_default():
    """Every test starts in English, whatever language an earlier test (or a rendered page) activated."""
    from django.core.cache import cache
    from django.utils import translation

    cache.clear()  # lists kept between requests (hospitals.services) must not outlive a test's rolled-back rows
    translation.activate("en")
    yield
    translation.deactivate()
