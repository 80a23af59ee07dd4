"""The fhir.resources R4B Bundle model check, run in a helper process beside the one that imports.

Checking a document against the fhir.resources models is pure CPU in Python (about as long as parsing it
with them, since it is the same validation). An importer that hands the check to a helper process goes on
with its own work (its rules, its items, PostgreSQL's statement) on the machine's other core meanwhile, and
reads the result when it must decide whether to commit.

Each importing process has at most one helper, started on first use from a fork server (so it never inherits
an open database connection or a request's state), with only this module and fhir.resources loaded. The
document goes to it as its JSON text over a pipe, written by the calling thread itself (no feeder thread
that would wait for the interpreter lock while the caller works), and the errors come back the same way.
The check runs in the calling process instead, with the same result, when there is no second core, when
the process may not have children (a daemonic worker process), when another thread of the process is using
the helper, or when the helper cannot be started or has died.

This module imports nothing of Laihua's: it is what the helper process loads.
"""

import atexit
import contextlib
import gc
import json
import multiprocessing
import os
import threading

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

Errors = list[tuple[tuple, str, str]]


def bundle_errors(data: dict) -> Errors:
    """(loc, message, type) of each error the R4B Bundle model finds in a decoded document; [] when none."""
    try:
        Bundle.model_validate(data)
    except ValidationError as exc:
        return _errors(exc)
    return []


def bundle_errors_json(payload: bytes | str) -> Errors:
    """`bundle_errors` of a FHIR JSON text."""
    try:
        Bundle.model_validate_json(payload)
    except ValidationError as exc:
        return _errors(exc)
    return []


def _errors(exc: ValidationError) -> Errors:
    return [(tuple(e["loc"]), e["msg"], e["type"]) for e in exc.errors(include_url=False, include_input=False)]


def _serve(connection) -> None:
    """The helper's loop: a JSON text in, its errors out, until the pipe closes. Python's cyclic garbage
    collector is paused while a document is checked: the models are tens of thousands of short-lived objects
    without cycles, freed by reference counting, that would otherwise make it walk the process's every object
    again and again (as the importer pauses it, records.services.importing)."""
    while True:
        try:
            payload = connection.recv_bytes()
        except (EOFError, OSError):
            return
        gc.disable()
        try:
            result = ("ok", bundle_errors_json(payload))
        except Exception as exc:  # noqa: BLE001 - reported to the caller, which checks in its own process
            result = ("failed", repr(exc))
        finally:
            gc.enable()
        connection.send(result)


class _Helper:
    def __init__(self):
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
        self.connection, theirs = context.Pipe()
        self.process = context.Process(target=_serve, args=(theirs,), daemon=True, name="laihua-fhircheck")
        self.process.start()
        theirs.close()
        self.pid = os.getpid()
        self.lock = threading.Lock()

    def close(self) -> None:
        if self.pid != os.getpid():  # a forked child's copy: the helper is its parent's to close
            return
        try:
            self.connection.close()
        finally:
            self.process.join(timeout=2)
            if self.process.is_alive():
                self.process.kill()


# How long an import waits for the helper's verdict before it drops the helper and checks in its own process
# (a document takes the helper tens of milliseconds).
WAIT_SECONDS = 60

_guard = threading.Lock()
_helper: _Helper | None = None
_unavailable = False


def _get() -> _Helper | None:
    global _helper, _unavailable
    if _unavailable:
        return None
    with _guard:
        if _helper is not None and _helper.pid == os.getpid():
            return _helper
        if (os.cpu_count() or 1) < 2 or multiprocessing.current_process().daemon:
            _unavailable = True
            return None
        try:
            _helper = _Helper()
        except (OSError, ValueError, AssertionError, RuntimeError):
            _unavailable = True
            return None
        atexit.register(_helper.close)
        return _helper


def _drop(helper: _Helper) -> None:
    global _helper
    with _guard:
        if _helper is helper:
            _helper = None
    with contextlib.suppress(OSError):
        helper.close()


def start(data: dict | None = None, text: bytes | str | None = None) -> "Check":
    """Begin the model check of a document: its JSON text when it came as JSON (UTF-8, without a byte order
    mark), else its decoded form."""
    helper = _get()
    if helper is not None and helper.lock.acquire(blocking=False):
        try:
            if text is None:
                text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
            helper.connection.send_bytes(text.encode("utf-8") if isinstance(text, str) else text)
        except (OSError, ValueError):
            helper.lock.release()
            _drop(helper)
        else:
            return Check(data, text, helper)
    return Check(data, text, None)


class Check:
    """A model check begun by `start`; `errors()` waits for its result (once)."""

    def __init__(self, data: dict | None, text: bytes | str | None, helper: _Helper | None):
        self.data, self.text, self.helper, self.result = data, text, helper, None
        self.in_helper = helper is not None

    def errors(self) -> Errors:
        if self.result is None:
            self.result = self._wait()
        return self.result

    def _wait(self) -> Errors:
        helper, self.helper = self.helper, None
        if helper is not None:
            try:
                if not helper.connection.poll(WAIT_SECONDS):
                    raise TimeoutError  # a helper stuck or stopped: dropped, and the check made here
                status, value = helper.connection.recv()
            except (EOFError, OSError):
                _drop(helper)
            else:
                if status == "ok":
                    return value
            finally:
                if helper.lock.locked():
                    helper.lock.release()
        return bundle_errors(self.data) if self.data is not None else bundle_errors_json(self.text)

    def close(self) -> None:
        """Read the helper's answer if nobody did (the import stopped before it needed it), so that the
        helper is free for the next check."""
        if self.helper is not None:
            with contextlib.suppress(Exception):
                self.errors()

    def __del__(self):
        if getattr(self, "helper", None) is not None:
            self.close()
