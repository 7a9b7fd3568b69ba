"""What every `seconnect run …` job shares: the audit-log run row, the per-cart job lock,
record validation with quarantine, and checkpoints.

A job is a plain function ``job(store, plugins, cart, ...) -> dict`` (its summary). It opens a
:class:`JobRun`, takes :func:`cart_lock` so two runs of one job on one cart never interleave
(the second waits, then finds nothing left to do), and writes each batch in one transaction
together with its checkpoint.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select, text, update

import seconnect_schemas

from .. import runs
from ..cartdef import CartDefinition
from ..errors import JobBusy, SeconnectError
from ..store import Store, tables, upsert

__all__ = ["JobRun", "last_run_started", "cart_lock", "RecordCheck", "get_checkpoint", "set_checkpoint", "quarantine_record"]

log = logging.getLogger(__name__)

LOCK_TIMEOUT_S = 600.0


def _now() -> datetime:
    return datetime.now(UTC)


_this_thread = threading.local()


def last_run_started() -> int | None:
    """The id of the newest run row this thread started (the service links a schedule to its run)."""
    return getattr(_this_thread, "run_id", None)


class JobRun:
    """One row in ``runs``: started, then finished as ok or failed with a summary.

    While the job runs, the row holds its pid and host and a heartbeat thread refreshes
    ``heartbeat_at``, so a run killed without a chance to record its end is seen as abandoned
    (:mod:`seconnect.runs`). The error text stored is the error's message and hint only:
    seconnect's errors never carry secrets, and anything else is reduced to its type name and message.
    """

    def __init__(self, store: Store, job: str, cart: CartDefinition | None):
        self.store = store
        self.job = job
        self.cart_id = cart.id if cart else None
        self.id: int | None = None
        self.summary: dict[str, Any] = {}
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def __enter__(self) -> JobRun:
        with self.store.begin() as conn:
            runs.reap(conn)
            now = _now()
            self.id = conn.execute(insert(tables.runs).values(
                job=self.job, cart_id=self.cart_id, started_at=now, status="running",
                pid=os.getpid(), host=runs.this_host(), heartbeat_at=now,
            ).returning(tables.runs.c.id)).scalar_one()
        _this_thread.run_id = self.id
        self._beat = threading.Thread(target=self._heartbeat, name=f"seconnect-run-{self.id}", daemon=True)
        self._beat.start()
        return self

    def _heartbeat(self) -> None:
        while not self._stop.wait(runs.HEARTBEAT_S):
            try:
                with self.store.begin() as conn:
                    conn.execute(update(tables.runs).where(tables.runs.c.id == self.id)
                                 .values(heartbeat_at=_now()))
            except Exception:  # a busy or restarting database: the next beat tries again
                log.debug("could not refresh the heartbeat of run %s", self.id, exc_info=True)

    def event(self, conn: Connection, event: str, **detail: Any) -> None:
        """An audit event inside the caller's transaction (kept only if the batch commits)."""
        conn.execute(insert(tables.audit_events).values(
            run_id=self.id, cart_id=self.cart_id, event=event, detail=detail, at=_now()))

    def __exit__(self, exc_type, exc, tb) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join()
        status = "ok" if exc is None else "failed"
        error = hint = None
        if isinstance(exc, SeconnectError):
            error, hint = exc.message, exc.hint
        elif isinstance(exc, KeyboardInterrupt):
            error, hint = "interrupted (Ctrl-C)", runs.ABANDONED_HINT
        elif exc is not None:
            error = f"{type(exc).__name__}: {exc}"
        try:
            with self.store.begin() as conn:
                conn.execute(update(tables.runs).where(tables.runs.c.id == self.id).values(
                    finished_at=_now(), status=status, summary=self.summary, error=error, hint=hint))
        except Exception:  # never hide the job's own error behind a bookkeeping one
            log.warning("could not record the end of run %s", self.id, exc_info=True)


def _lock_key(job: str, cart_id: int | None) -> int:
    digest = hashlib.blake2b(f"seconnect:{job}:{cart_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def cart_lock(store: Store, job: str, cart: CartDefinition, *, timeout: float = LOCK_TIMEOUT_S,
              on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the lock of one job on one cart; a second holder waits (calling ``on_wait`` once).

    PostgreSQL: a session advisory lock on a connection kept for the job (released if the
    process dies). SQLite: an ``flock`` on a file beside the database (likewise released by the
    kernel on death). Other databases: no lock (uniqueness constraints still prevent duplicates).
    """
    if store.dialect_name == "postgresql":
        key = _lock_key(job, cart.id)
        with store.engine.connect() as conn:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            if not got:
                if on_wait:
                    on_wait()
                conn.execute(text(f"SET lock_timeout = {int(timeout * 1000)}"))
                try:
                    conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
                except Exception as exc:
                    raise _busy(job, cart) from exc
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
        return
    path = _sqlite_lock_path(store, job, cart)
    if path is None:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait:
                on_wait()
            deadline = time.monotonic() + timeout
            while True:
                time.sleep(0.05)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise _busy(job, cart) from None
        yield
    finally:
        os.close(fd)  # closing releases the flock


def _sqlite_lock_path(store: Store, job: str, cart: CartDefinition) -> Path | None:
    if store.dialect_name != "sqlite":
        return None
    database = store.engine.url.database
    if not database or database == ":memory:":
        return None
    return Path(f"{database}.{job}-{cart.id}.lock")


def _busy(job: str, cart: CartDefinition) -> JobBusy:
    return JobBusy(f"another `seconnect run {job}` for cart {cart.name!r} is still running.",
                      hint="Wait for it to finish (it holds the job's lock), then run again.")


class RecordCheck:
    """Validates records against a schema: compiled on the hot path, explained on failure."""

    def __init__(self, schema: str):
        self.schema = schema
        self._validate = seconnect_schemas.validator(schema)

    def problems(self, record: Any) -> list[str]:
        """Empty when valid; else every error with its JSON path."""
        try:
            self._validate(record)
            return []
        except Exception:
            return seconnect_schemas.explain(self.schema, record) or ["invalid record"]


@contextmanager
def ctrl_c_held() -> Iterator[None]:
    """A Ctrl-C during the block takes effect as it ends: a batch's commit and the count of what
    it saved (which an interrupted run reports) land together or not at all. Signals reach only
    the main thread, so elsewhere (the service's workers) this changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if held and callable(previous):  # as if it arrived now (SIG_IGN / SIG_DFL: what they do)
        previous(signal.SIGINT, None)
    elif held and previous == signal.SIG_DFL:
        signal.raise_signal(signal.SIGINT)


def get_checkpoint(conn: Connection, cart: CartDefinition, job: str) -> str | None:
    return conn.execute(select(tables.checkpoints.c.value).where(
        tables.checkpoints.c.cart_id == cart.id, tables.checkpoints.c.job == job)).scalar()


def set_checkpoint(conn: Connection, cart: CartDefinition, job: str, value: str) -> None:
    upsert(conn, tables.checkpoints, [{"cart_id": cart.id, "job": job, "value": value, "updated_at": _now()}],
           ["cart_id", "job"], ["value", "updated_at"])


def quarantine_record(conn: Connection, cart: CartDefinition, kind: str, external_id: str | None,
                      reason: str, record: Any) -> None:
    """Park a record that cannot be stored, with the reason and the record as received."""
    conn.execute(insert(tables.quarantine).values(
        cart_id=cart.id, kind=kind, external_id=external_id, reason=reason[:2000],
        payload=json.dumps(record, default=str, ensure_ascii=False), created_at=_now()))
