"""/healthz reports the database, the cache, the job broker and the file storage each on its own: every part
reached for real (Redis and moto's S3 server on this machine, closed ports for the parts that are down)."""

import pytest
from django.db import connections

from laihua.kit import health
from tests.objectstore import free_port

REDIS = "redis://127.0.0.1:6379/0"


def redis_cache(location: str) -> dict:
    return {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": location}}


def healthz(client) -> tuple[int, dict]:
    response = client.get("/healthz")
    return response.status_code, response.json()


@pytest.fixture
def closed_port() -> int:
    return free_port()  # bound once, then released: nothing listens there


@pytest.mark.django_db
def test_every_part_is_reported_and_a_broker_not_configured_is_no_error(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    status, body = healthz(client)
    assert status == 200 and body["status"] == "ok" and body["degraded"] == []
    checks = body["checks"]
    assert set(checks) == {"database", "cache", "broker", "storage"}
    assert checks["database"]["status"] == "ok" and checks["database"]["vendor"] in ("sqlite", "postgresql")
    assert checks["cache"] == {**checks["cache"], "status": "ok", "backend": "LocMemCache", "shared": False}
    assert checks["broker"]["status"] == "not configured"
    assert checks["storage"] == {**checks["storage"], "status": "ok", "backend": "local"}


@pytest.mark.django_db
def test_the_database_down_is_503_and_the_other_parts_are_still_reported(client, monkeypatch, closed_port):
    """The check's connection is a real PostgreSQL connection to a port where nothing listens."""
    from django.db.backends.postgresql.base import DatabaseWrapper

    configured = connections.configure_settings(
        {
            "default": connections.settings["default"],
            "down": {
                "ENGINE": "django.db.backends.postgresql",
                "HOST": "127.0.0.1",
                "PORT": closed_port,
                "NAME": "laihua_nowhere",
                "USER": "laihua",
                "OPTIONS": {"connect_timeout": 2},
            },
        }
    )
    down = DatabaseWrapper(configured["down"], alias="down")
    monkeypatch.setattr(health, "connections", {health.DATABASE_ALIAS: down})
    try:
        status, body = healthz(client)
    finally:
        down.close()
    assert status == 503 and body["status"] == "down" and body["degraded"] == ["database"]
    database = body["checks"]["database"]
    assert database["status"] == "error" and database["error"] == "OperationalError"
    assert body["checks"]["cache"]["status"] == "ok" and body["checks"]["broker"]["status"] == "not configured"


@pytest.mark.django_db
def test_a_shared_redis_cache_is_reported_and_its_failure_is_a_named_degradation(client, settings, closed_port):
    settings.CACHES = redis_cache(REDIS)
    status, body = healthz(client)
    assert status == 200 and body["status"] == "ok"
    assert body["checks"]["cache"] == {
        **body["checks"]["cache"],
        "status": "ok",
        "backend": "RedisCache",
        "shared": True,
    }

    settings.CACHES = redis_cache(f"redis://127.0.0.1:{closed_port}/0")
    status, body = healthz(client)
    assert status == 200 and body["status"] == "degraded" and body["degraded"] == ["cache"]
    assert body["checks"]["cache"]["status"] == "error" and body["checks"]["cache"]["error"] == "ConnectionError"
    assert body["checks"]["database"]["status"] == "ok"


@pytest.mark.django_db
def test_the_broker_is_reached_and_its_failure_is_a_named_degradation(client, settings, closed_port):
    settings.BROKER_URL = "redis://:a-password@127.0.0.1:6379/0"
    status, body = healthz(client)
    assert status == 200 and body["checks"]["broker"] == {
        **body["checks"]["broker"],
        "status": "ok",
        "url": "redis://127.0.0.1:6379/0",  # never the password
    }
    settings.BROKER_URL = f"redis://127.0.0.1:{closed_port}/0"
    status, body = healthz(client)
    assert status == 200 and body["status"] == "degraded" and body["degraded"] == ["broker"]
    assert body["checks"]["broker"]["status"] == "error"


@pytest.mark.django_db
def test_object_storage_is_reached_and_a_missing_bucket_is_a_named_degradation(client, settings, s3_storage):
    endpoint, bucket, _prefix = s3_storage
    status, body = healthz(client)
    assert status == 200 and body["checks"]["storage"] == {
        **body["checks"]["storage"],
        "status": "ok",
        "backend": "s3",
        "bucket": bucket,
    }
    options = {**settings.STORAGES["default"]["OPTIONS"], "bucket_name": "laihua-no-such-bucket"}
    settings.STORAGES = {**settings.STORAGES, "default": {**settings.STORAGES["default"], "OPTIONS": options}}
    status, body = healthz(client)
    assert status == 200 and body["status"] == "degraded" and body["degraded"] == ["storage"]
    assert body["checks"]["storage"]["status"] == "error" and body["checks"]["storage"]["error"] == "ClientError"


@pytest.mark.django_db
def test_a_media_root_that_cannot_be_a_folder_is_a_named_degradation(client, settings, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    settings.MEDIA_ROOT = tmp_path / "a-file" / "media"
    status, body = healthz(client)
    assert status == 200 and body["degraded"] == ["storage"] and body["checks"]["storage"]["error"] == "NotWritable"


@pytest.mark.postgres_only
@pytest.mark.django_db
def test_suite_runs_on_postgresql_with_the_trigram_index():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname = 'catalog_item_search_trgm'")
        assert cursor.fetchone() is not None


@pytest.mark.django_db
def test_the_favicon_is_found(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("img/favicon.svg")
    assert 'rel="icon"' in client.get("/en/").content.decode()
