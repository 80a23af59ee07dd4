"""Laihua's parts as separate processes, for the multi-node tests (tests/test_multinode_*.py).

`Cluster` makes its own PostgreSQL database (a copy of one migrated once per session: never the pytest one),
empties its own Redis database, and starts application servers (gunicorn), job workers and a local SMTP sink
(`SmtpSink`, aiosmtpd, counting what it accepts) on free ports. Every child gets the same production-like
environment (LAIHUA_CACHE_URL, LAIHUA_BROKER_URL, JSON logs); `extra_env` adds to it (object storage, …).
Each process writes its output to a file in the cluster's folder, shown when a wait times out.

    with Cluster(tmp_path, postgres_url) as cluster:
        a, b = cluster.start_server(), cluster.start_server()
        worker = cluster.start_worker()
        cluster.run_python("from tests.builders import make_city; make_city()")
"""

import asyncio
import atexit
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = "redis://127.0.0.1:6379"
SECRET_KEY = "multinode-" + "k7Qw2pX9vLr4Tz8mN3bYc6Hs5Jd1Fg0A" * 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_reachable(url: str = REDIS_URL) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def wait_until(check, timeout: float, what: str, interval: float = 0.2, logs=()):
    """Call `check` until it returns something true; fail naming `what` (and the logs' tails) after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}" for path in logs)
            raise AssertionError(f"Timed out after {timeout:.0f} s waiting for {what}.\n{tails}")
        time.sleep(interval)


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path
    url: str = ""

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the process and its children (a machine or container dying): nothing gets to clean up."""
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=30)

    def stop(self, timeout: float = 20) -> None:
        if not self.alive():
            return
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class SmtpSink:
    """A local SMTP server that keeps every message it accepted. With `slow_first`, the first message's
    recipient is answered only after that many seconds: a mail server slow enough for a worker to die while
    it waits. `slowed` is set while that wait has begun."""

    slow_first: float = 0
    messages: list = field(default_factory=list)
    slowed: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.slow_first and not self.slowed.is_set():
            self.slowed.set()
            await asyncio.sleep(self.slow_first)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes

        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def __enter__(self):
        from aiosmtpd.controller import Controller

        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def __exit__(self, *exc):
        self._controller.stop()


_templates: dict[str, str] = {}


def create_migrated_database(maintenance_url: str, database: str, env: dict) -> None:
    """Create `database` as a copy of a database migrated once per test session (CREATE DATABASE … TEMPLATE):
    each multi-node test starts from a freshly migrated database without paying for the migrations again."""
    import psycopg

    template = _templates.get(maintenance_url)
    with psycopg.connect(maintenance_url, autocommit=True) as connection:
        if template is None:
            template = f"laihua_multinode_template_{os.getpid()}"
            connection.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{template}"')
            parts = urlsplit(maintenance_url)
            done = subprocess.run(
                [sys.executable, "-m", "laihua.manage", "migrate", "--noinput", "-v0"],
                cwd=ROOT,
                env={**env, "DATABASE_URL": urlunsplit(parts._replace(path=f"/{template}"))},
                capture_output=True,
                text=True,
                timeout=900,
            )
            if done.returncode != 0:
                connection.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
                raise AssertionError(f"laihua migrate failed:\n{done.stdout}\n{done.stderr}")
            _templates[maintenance_url] = template
            atexit.register(_drop, maintenance_url, template)
        connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{database}" TEMPLATE "{template}"')


def _drop(maintenance_url: str, database: str) -> None:
    import psycopg

    try:
        with psycopg.connect(maintenance_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    except psycopg.Error:
        pass


class Cluster:
    """One PostgreSQL database and one Redis database shared by the processes this starts (see the module)."""

    def __init__(
        self,
        folder: Path,
        postgres_url: str,
        *,
        database: str = "laihua_multinode",
        redis_db: int = 13,
        extra_env: dict | None = None,
    ):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        parts = urlsplit(postgres_url)
        self.maintenance_url = urlunsplit(parts._replace(path="/postgres"))
        self.database_url = urlunsplit(parts._replace(path=f"/{database}"))
        self.database = database
        self.redis_url = f"{REDIS_URL}/{redis_db}"
        self.processes: list[Process] = []
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
            "DJANGO_SETTINGS_MODULE": "laihua.settings",
            "DATABASE_URL": self.database_url,
            "LAIHUA_SECRET_KEY": SECRET_KEY,
            "LAIHUA_FIELD_KEYS": Fernet.generate_key().decode(),
            "LAIHUA_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "LAIHUA_HTTPS_REDIRECT": "0",
            "LAIHUA_SECURE_COOKIES": "0",
            "LAIHUA_HSTS_SECONDS": "0",
            "LAIHUA_MFA_REQUIRED_ROLES": "none",
            "LAIHUA_CACHE_URL": self.redis_url,
            "LAIHUA_BROKER_URL": self.redis_url,
            "LAIHUA_LOG_FORMAT": "json",
            "LAIHUA_VAR_DIR": str(self.folder / "var"),
            "LAIHUA_MEDIA_ROOT": str(self.folder / "media"),
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        for name in ("LAIHUA_TESTING", "LAIHUA_DEMO", "LAIHUA_DEBUG", "LAIHUA_TEST_DATABASE_URL"):
            self.env.pop(name, None)

    # -- the shared database and cache
    def prepare(self) -> "Cluster":
        """Drop and create the cluster's database, migrated, and empty its Redis database."""
        import redis

        create_migrated_database(self.maintenance_url, self.database, self.env)
        redis.Redis.from_url(self.redis_url).flushdb()
        return self

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(self.maintenance_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def manage(self, *args: str, timeout: float = 120) -> str:
        """Run a `laihua` command against the cluster's database; its output, or an error with it."""
        done = subprocess.run(
            [sys.executable, "-m", "laihua.manage", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, f"laihua {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def run_python(self, code: str, timeout: float = 120) -> str:
        """Run Python code with Django set up on the cluster's database (seed rows, read them back)."""
        script = "import django\ndjango.setup()\n" + code
        done = subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        assert done.returncode == 0, f"Python in the cluster failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    # -- processes
    def _start(self, name: str, argv: list[str], env: dict | None = None) -> Process:
        log = self.folder / f"{name}.log"
        handle = log.open("ab")
        popen = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**self.env, **(env or {})},
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill() takes its children too
        )
        handle.close()
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def start_server(self, name: str = "", timeout: float = 60) -> Process:
        """An application server (gunicorn, one worker) on a free port, once /healthz answers."""
        port = free_port()
        name = name or f"server-{port}"
        argv = [sys.executable, "-m", "gunicorn", "laihua.wsgi:application", "--bind", f"127.0.0.1:{port}"]
        process = self._start(name, [*argv, "--workers", "1", "--threads", "4", "--timeout", "60"])
        process.url = f"http://127.0.0.1:{port}"

        def ready():
            assert process.alive(), f"{name} exited:\n{process.output()[-3000:]}"
            try:
                return httpx.get(f"{process.url}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, timeout, f"{name} to answer /healthz", logs=[process.log])
        return process

    def start_worker(self, name: str = "worker", timeout: float = 60, env: dict | None = None) -> Process:
        """A job worker (`laihua jobs worker`, one child process), once it is ready for jobs."""
        process = self._start(
            name, [sys.executable, "-m", "laihua.manage", "jobs", "worker", "--concurrency", "1"], env
        )
        start = len(process.output()) if process.log.exists() else 0

        def ready():
            assert process.alive(), f"{name} exited:\n{process.output()[-3000:]}"
            return "ready." in process.output()[start:]

        wait_until(ready, timeout, f"{name} to be ready", logs=[process.log])
        return process

    def logs(self) -> list[Path]:
        return [process.log for process in self.processes]

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def __enter__(self) -> "Cluster":
        return self.prepare()

    def __exit__(self, *exc) -> None:
        self.stop()
        self.drop()


def signed_in_client(base_url: str, username: str, password: str) -> httpx.Client:
    """An HTTP client signed in through the sign-in page with a password (the cluster needs no second factor)."""
    client = httpx.Client(base_url=base_url, timeout=30, follow_redirects=False)
    response = post_form(client, "/en/accounts/login/", {"username": username, "password": password})
    assert response.status_code == 302, response.text[-2000:]
    return client


def post_form(client: httpx.Client, path: str, data: dict, **kwargs) -> httpx.Response:
    """Post a form the way a browser does: with the CSRF cookie's token and a same-origin Referer."""
    client.get(path)
    token = client.cookies.get("csrftoken")
    headers = {"Referer": f"{client.base_url}{path}", **kwargs.pop("headers", {})}
    return client.post(path, data={**data, "csrfmiddlewaretoken": token}, headers=headers, **kwargs)
