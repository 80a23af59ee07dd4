"""Two application servers (gunicorn processes) sharing one PostgreSQL database and one S3-compatible bucket
(moto's server): a file uploaded through one server downloads through the other, behind the same access check.

The harness is this module's own: a fresh database on the test database's PostgreSQL server, migrated and seeded
by `laihua` processes, and two servers configured only by the environment, as an operator would configure them."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from laihua.cases.tests.files import pdf_bytes
from tests.multinode_harness import create_migrated_database
from tests.objectstore import ACCESS_KEY, REGION, SECRET_KEY, free_port, keys, s3_client

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.postgres_only

SEED = """
import json, django
django.setup()
from laihua.accounts.models import Role
from laihua.accounts.services import create_api_token
from tests.builders import make_case, make_city, make_hospital, make_patient, make_user

east = make_hospital()
west = make_hospital("west", city=make_city("beijing", "Beijing", "北京"), en="West Demo Hospital", zh="西部示范医院")
patient_user = make_user("patient", Role.PATIENT)
case = make_case(make_patient(patient_user), east, description="Knee pain.")
people = {
    "patient": patient_user,
    "coordinator": make_user("east-coord", Role.COORDINATOR, east),
    "other_coordinator": make_user("west-coord", Role.COORDINATOR, west),
}
tokens = {name: create_api_token(None, user, "multinode", by_system=True)[1] for name, user in people.items()}
print(json.dumps({"case": case.reference, "tokens": tokens}))
"""


def server_url(name: str) -> str:
    from django.db import connection

    db = connection.settings_dict
    who = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else "")
    return f"postgresql://{who}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


def admin(statement: str) -> None:
    import psycopg

    with psycopg.connect(server_url("postgres"), autocommit=True) as connection:
        connection.execute(statement)


class Cluster:
    """The environment every node reads, the nodes started, and their addresses."""

    def __init__(self, tmp_path: Path, database: str, s3_endpoint: str, bucket: str):
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("LAIHUA_", "DATABASE_URL", "DJANGO_"))}
        self.env.update(
            {
                "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
                "DJANGO_SETTINGS_MODULE": "laihua.settings",
                "LAIHUA_TESTING": "1",
                "LAIHUA_VAR_DIR": str(tmp_path / "var"),
                "LAIHUA_MEDIA_ROOT": str(tmp_path / "never-used"),
                "DATABASE_URL": server_url(database),
                "LAIHUA_S3_BUCKET": bucket,
                "LAIHUA_S3_ENDPOINT_URL": s3_endpoint,
                "LAIHUA_S3_ACCESS_KEY_ID": ACCESS_KEY,
                "LAIHUA_S3_SECRET_ACCESS_KEY": SECRET_KEY,
                "LAIHUA_S3_REGION": REGION,
                "LAIHUA_S3_PREFIX": "cluster",
                "LAIHUA_MFA_REQUIRED_ROLES": "none",
                "LAIHUA_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            }
        )
        self.logs = tmp_path
        self.nodes: list[tuple[subprocess.Popen, str]] = []

    def laihua(self, *arguments: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "laihua.manage", *arguments],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def python(self, code: str) -> str:
        result = subprocess.run([sys.executable, "-c", code], env=self.env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def start_node(self) -> str:
        port = free_port()
        log = open(self.logs / f"node-{port}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "laihua.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--timeout",
                "120",
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        self.nodes.append((process, url))
        return url

    def wait_ready(self, deadline_seconds: float = 180) -> None:
        deadline = time.monotonic() + deadline_seconds
        for process, url in self.nodes:
            while True:
                assert process.poll() is None, (self.logs / f"node-{url.rsplit(':', 1)[1]}.log").read_text()[-3000:]
                try:
                    with urllib.request.urlopen(f"{url}/healthz", timeout=5) as answer:
                        if answer.status == 200:
                            break
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    pass
                assert time.monotonic() < deadline, f"{url} did not start"
                time.sleep(0.5)

    def stop(self) -> None:
        for process, _url in self.nodes:
            process.send_signal(signal.SIGINT)  # gunicorn: quick shutdown
        for process, _url in self.nodes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def request(method: str, url: str, token: str, body: bytes | None = None, content_type: str = "") -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {token}"}
    if content_type:
        headers["Content-Type"] = content_type
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers, method=method)) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read()


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, text in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{text}\r\n'.encode())
    for name, (filename, content, kind) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {kind}\r\n\r\n"
        )
        parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@pytest.fixture
def cluster(tmp_path, s3_server):
    database, bucket = f"laihua_multinode_{uuid.uuid4().hex[:10]}", f"laihua-cluster-{uuid.uuid4().hex[:10]}"
    s3_client(s3_server).create_bucket(Bucket=bucket)
    nodes = Cluster(tmp_path, database, s3_server, bucket)
    create_migrated_database(server_url("postgres"), database, nodes.env)
    try:
        nodes.seeded = json.loads(nodes.python(SEED).strip().splitlines()[-1])
        nodes.urls = [nodes.start_node(), nodes.start_node()]
        nodes.wait_ready()
        nodes.bucket, nodes.s3_endpoint = bucket, s3_server
        yield nodes
    finally:
        nodes.stop()
        admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def test_multinode_a_file_uploaded_through_one_server_downloads_through_the_other(cluster):
    first, second = cluster.urls
    reference, tokens = cluster.seeded["case"], cluster.seeded["tokens"]
    content = pdf_bytes(b" %% uploaded through the first server")
    body, kind = multipart({"body": "My knee scan."}, {"files": ("scan.pdf", content, "application/pdf")})
    status, answer = request("POST", f"{first}/api/cases/{reference}/messages", tokens["patient"], body, kind)
    assert status == 201, answer
    attachment = json.loads(answer)["attachments"][0]
    stored = keys(cluster.s3_endpoint, cluster.bucket)
    assert list(stored.values()) == [content] and next(iter(stored)).startswith("cluster/cases/")

    download = f"/api/cases/{reference}/attachments/{attachment['id']}"
    assert request("GET", f"{second}{download}", tokens["coordinator"]) == (200, content)
    assert request("GET", f"{first}{download}", tokens["patient"]) == (200, content)
    status, refused = request("GET", f"{second}{download}", tokens["other_coordinator"])
    assert status == 404 and content not in refused

    for url in cluster.urls:
        with urllib.request.urlopen(f"{url}/healthz", timeout=10) as answer:
            health = json.loads(answer.read())
        assert health["checks"]["storage"] == {**health["checks"]["storage"], "status": "ok", "backend": "s3"}
        assert health["checks"]["database"]["vendor"] == "postgresql"
