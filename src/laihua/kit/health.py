"""What /healthz reports: the database, the cache, the job broker and the file storage, each on its own.

Each check answers {"status": "ok" | "error" | "not configured", ...} with what it reached and how long it took;
an error names the exception's class and message, never a password (URLs are shown without their credentials).
The database down makes the whole application "down" (503: a load balancer takes the server out); any other part
in error makes it "degraded" (200: pages still render, the part named is what fails)."""

import os
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.cache import caches
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import DEFAULT_DB_ALIAS, connections

OK, ERROR, NOT_CONFIGURED = "ok", "error", "not configured"
TIMEOUT_SECONDS = 2
DATABASE_ALIAS = DEFAULT_DB_ALIAS


def without_credentials(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _failed(exc: BaseException, started: float, **known) -> dict:
    message = str(exc).splitlines()[0][:200] if str(exc) else ""
    return {"status": ERROR, **known, "error": exc.__class__.__name__, "detail": message, "ms": _ms(started)}


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def check_database(alias: str = "") -> dict:
    connection = connections[alias or DATABASE_ALIAS]
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure is reported, not raised
        return _failed(exc, started, vendor=connection.vendor)
    return {"status": OK, "vendor": connection.vendor, "ms": _ms(started)}


def check_cache() -> dict:
    """A value written and read back: the cache works; `shared` says whether other servers see it too."""
    backend = settings.CACHES["default"]["BACKEND"]
    known = {"backend": backend.rsplit(".", 1)[-1], "shared": "locmem" not in backend and "dummy" not in backend}
    started = time.perf_counter()
    key, value = f"laihua:healthz:{uuid.uuid4().hex}", uuid.uuid4().hex
    try:
        cache = caches["default"]
        cache.set(key, value, timeout=30)
        readable = cache.get(key) == value
        cache.delete(key)
    except Exception as exc:  # noqa: BLE001
        return _failed(exc, started, **known)
    if not readable:
        return {"status": ERROR, **known, "error": "ReadBack", "detail": "a value written was not read back"}
    return {"status": OK, **known, "ms": _ms(started)}


def broker_url() -> str:
    """The Celery broker's URL when one is configured (LAIHUA_BROKER_URL); empty when jobs run in-process."""
    url = getattr(settings, "BROKER_URL", "") or ""
    return url if url.startswith(("redis://", "rediss://", "unix://")) else ""


def redis_client(url: str):
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS)


def check_broker() -> dict:
    url = broker_url()
    if not url:
        return {"status": NOT_CONFIGURED, "detail": "jobs run in the process that starts them"}
    known = {"url": without_credentials(url)}
    started = time.perf_counter()
    try:
        client = redis_client(url)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # noqa: BLE001
        return _failed(exc, started, **known)
    return {"status": OK, **known, "ms": _ms(started)}


def check_storage() -> dict:
    """The uploads' storage: the media folder writable (or creatable), or the bucket reachable with our keys."""
    started = time.perf_counter()
    if isinstance(default_storage, FileSystemStorage):
        root = Path(default_storage.location)
        known = {"backend": "local", "location": str(root)}
        existing = next((path for path in (root, *root.parents) if path.exists()), None)
        if existing is None or not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
            return {"status": ERROR, **known, "error": "NotWritable", "detail": f"{existing or root} is not writable"}
        return {"status": OK, **known, "ms": _ms(started)}
    known = {"backend": "s3", "bucket": default_storage.bucket_name}
    try:
        default_storage.connection.meta.client.head_bucket(Bucket=default_storage.bucket_name)
    except Exception as exc:  # noqa: BLE001
        return _failed(exc, started, **known)
    return {"status": OK, **known, "ms": _ms(started)}


def report() -> tuple[dict, int]:
    """The body of /healthz and its HTTP status."""
    checks = {
        "database": check_database(),
        "cache": check_cache(),
        "broker": check_broker(),
        "storage": check_storage(),
    }
    failing = [name for name, check in checks.items() if check["status"] == ERROR]
    if "database" in failing:
        status, code = "down", 503
    elif failing:
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    return {"status": status, "degraded": failing, "checks": checks}, code
