"""One `seconnect serve` process: the scheduler and outbox-worker threads, and what the routes ask of them.

:meth:`Service.acquire` takes the one-instance lock on a SQLite store (a file lock beside it,
released by the kernel if the process dies); on PostgreSQL any number of instances share the
work. :meth:`Service.lifespan` starts the threads with the web app and, on shutdown, stops
claiming new work and waits for the work in hand.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import uuid
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import text

from .. import outbox
from ..cartdef import CartDefinition
from ..errors import JobBusy
from ..jobs.base import cart_lock
from ..jobs.realtime import POLL_S as WORKER_POLL_S
from ..plugins import Plugins
from ..runs import this_host
from ..store import Store
from .metrics import Metrics
from .scheduler import LEASE_S, POLL_S, Scheduler

__all__ = ["Service"]

log = logging.getLogger(__name__)

_ONE_SERVICE = CartDefinition(name="(the service)", type="")


class Service:
    def __init__(self, store: Store, plugins: Plugins, *, lease_s: float = LEASE_S, poll_s: float = POLL_S,
                 workers: int = 4, worker_poll_s: float = WORKER_POLL_S):
        self.store, self.plugins = store, plugins
        self.owner = f"{this_host()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.stop = threading.Event()
        self.scheduler = Scheduler(store, plugins, owner=self.owner, stop=self.stop, lease_s=lease_s,
                                   poll_s=poll_s, workers=workers)
        self.worker_poll_s = worker_poll_s
        self.policy = outbox.Policy(lease=lease_s)  # one lease for a killed instance's schedules and outbox rows
        self.metrics = Metrics(self)
        self._threads: dict[str, threading.Thread] = {}
        self._lock = contextlib.ExitStack()
        self._acquired = False

    def acquire(self) -> None:
        """On SQLite, make sure this is the only `seconnect serve` on the store (a clear error if not)."""
        if self.store.dialect_name != "sqlite" or self._acquired:
            return
        try:
            self._lock.enter_context(cart_lock(self.store, "serve", _ONE_SERVICE, timeout=0.0))
            self._acquired = True
        except JobBusy:
            raise JobBusy("another `seconnect serve` is running on this SQLite store.",
                             hint="Stop it first (one instance per SQLite store). To run several instances, "
                                  "use a PostgreSQL store (--db postgresql://…).") from None

    def start(self) -> None:
        self.acquire()
        self._threads = {
            "scheduler": threading.Thread(target=self.scheduler.run, name="seconnect-scheduler", daemon=True),
            "worker": threading.Thread(target=self._deliver, name="seconnect-outbox", daemon=True),
        }
        for thread in self._threads.values():
            thread.start()
        log.info("seconnect serve %s started", self.owner)

    def _deliver(self) -> None:
        from ..jobs.realtime import run_realtime

        run_realtime(self.store, self.plugins, follow=True, poll=self.worker_poll_s, stop=self.stop,
                     worker_id=self.owner, policy=self.policy,
                     on_wait=lambda: log.warning("another realtime worker delivers for this SQLite store; "
                                                 "this one waits to take over"))

    def shutdown(self) -> None:
        """Stop claiming; wait for the jobs and the outbox batch in hand; release the lock."""
        self.stop.set()
        self.scheduler.wake.set()
        for thread in self._threads.values():
            thread.join()
        self._lock.close()
        self._acquired = False
        log.info("seconnect serve %s stopped", self.owner)

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Any = None) -> AsyncIterator[None]:
        from starlette.concurrency import run_in_threadpool

        self.start()
        try:
            yield
        finally:
            await run_in_threadpool(self.shutdown)

    def health(self) -> tuple[bool, dict[str, str]]:
        """Store reachable, scheduler and worker alive (what ``/healthz`` answers)."""
        report: dict[str, str] = {}
        try:
            with self.store.connect() as conn:
                conn.execute(text("SELECT 1"))
            report["store"] = "ok"
        except Exception as exc:
            report["store"] = f"unreachable: {type(exc).__name__}"
        for name in ("scheduler", "worker"):
            thread = self._threads.get(name)
            report[name] = "alive" if thread is not None and thread.is_alive() else "stopped"
        healthy = report["store"] == "ok" and all(report[n] == "alive" for n in ("scheduler", "worker"))
        return healthy, {"status": "ok" if healthy else "failing", **report}
