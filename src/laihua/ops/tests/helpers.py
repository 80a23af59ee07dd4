"""Shared by the backup tests: data worth backing up, the tables' rows, a scan for keys, `laihua` in a process."""

import base64
import contextlib
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

from django.db import connection

import laihua
from laihua.audit.services import record_event
from laihua.cases.services import post_message
from laihua.cases.tests.files import a_pdf

KEY_NEW = "nSoL6BWmsjWmmzHuuoft56MPC8VUGmWlAZYQ8FsvYBk="
KEY_OLD = "q0Ec4StrGcmKJen8kijuz39Sl2JlTCsk43jv7xGnnpo="
SECRET = "a-secret-key-for-the-backup-tests-only-0123456789"


def attach_files(case, users) -> list:
    """Two uploads on the case's thread, by the patient and by staff, as the pages would store them."""
    post_message(users["patient"], case, "My knee scan.", files=[a_pdf("scan.pdf", b" %% scan")])
    message = post_message(users["coordinator"], case, "Our report.", files=[a_pdf("report.pdf", b" %% report")])
    record_event(users["coordinator"], "case.view", case, hospital=case.hospital, detail={"backup": "test"})
    return list(case.attachments.all()) + [message]


def secrets_in(folder: Path, secrets: list[str]) -> dict[str, list[str]]:
    """Which of the secrets (as text, and a key's raw bytes) any file under the folder holds."""
    needles = {}
    for secret in secrets:
        needles[secret] = [secret.encode()]
        with contextlib.suppress(ValueError):
            needles[secret].append(base64.urlsafe_b64decode(secret))
    found = {}
    for path in folder.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            for secret, forms in needles.items():
                if any(form in content for form in forms):
                    found.setdefault(secret, []).append(path.name)
    return found


def media_files(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in root.rglob("*") if path.is_file()}


def run_laihua(*arguments: str, database_url: str) -> subprocess.CompletedProcess:
    """`laihua ...` in a process of its own, configured as an operator would, on another database."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "laihua.settings",
        "DATABASE_URL": database_url,
        "LAIHUA_TESTING": "1",
        "PYTHONPATH": str(Path(laihua.__file__).resolve().parents[1]),
    }
    return subprocess.run(
        [sys.executable, "-m", "laihua.manage", *arguments], env=env, capture_output=True, text=True, timeout=120
    )


def postgres_url(name: str) -> str:
    """A database on the test database's server, reached as the tests reach theirs."""
    db = connection.settings_dict
    who = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else "")
    return f"postgresql://{who}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"
