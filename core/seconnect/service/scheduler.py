"""The scheduler loop of `seconnect serve`: claim due schedules, run their jobs, release them.

Jobs run through the same entry points as `seconnect run` (:mod:`seconnect.run`), so each run is
recorded in ``seconnect runs`` and the per-cart job lock keeps a job from overlapping itself
(a `seconnect run` typed meanwhile simply waits its turn). Up to ``workers`` jobs run at once
in this process; after a stop is asked, nothing new is claimed and the jobs in hand finish.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sqlalchemy import insert, select

from .. import run as jobs
from ..carts import get_cart
from ..jobs.base import last_run_started
from ..plugins import Plugins
from ..store import Store, tables, utcnow
from . import schedules, webhooks
from .schedules import Schedule

__all__ = ["Scheduler", "LEASE_S", "POLL_S"]

log = logging.getLogger(__name__)

#: A claimed schedule's lease; renewed every third of it while its job runs.
LEASE_S = 60.0
#: How often the scheduler looks for due schedules.
POLL_S = 1.0
#: The shortest pause between two passes.
MIN_PAUSE_S = 0.02
#: How often old webhook deliveries are forgotten.
PRUNE_EVERY_S = 3600.0


class Scheduler:
    def __init__(self, store: Store, plugins: Plugins, *, owner: str, stop: threading.Event,
                 lease_s: float = LEASE_S, poll_s: float = POLL_S, workers: int = 4):
        self.store, self.plugins, self.owner, self.stop = store, plugins, owner, stop
        self.lease_s, self.poll_s, self.workers = lease_s, poll_s, workers
        #: Set to look for due schedules now (a webhook arrived here, or a stop was asked).
        self.wake = threading.Event()
        self._in_hand: dict[int, Future[Any]] = {}
        self._renewed = 0.0
        self._pruned = float("-inf")
        self._pause = poll_s

    def run(self) -> None:
        """The thread's body: until ``stop`` is set; then waits for the jobs in hand."""
        failures = 0
        with ThreadPoolExecutor(self.workers, thread_name_prefix="seconnect-job") as pool:
            while not self.stop.is_set():
                self.wake.clear()  # a wake-up during the pass below makes the next one start at once
                try:
                    self.tick(pool)
                    failures = 0
                except Exception:  # a database restart or a network blip: try again shortly
                    failures += 1
                    log.exception("scheduler pass failed; trying again")
                self.wake.wait(min(30.0, self.poll_s * 2 ** failures) if failures else self._pause)
            while self._in_hand:  # finish the work in hand, keeping its leases alive
                self._renew()
                self._reap()
                time.sleep(0.1)

    def tick(self, pool: ThreadPoolExecutor) -> None:
        if time.monotonic() - self._pruned > PRUNE_EVERY_S:
            webhooks.prune(self.store)
            self._pruned = time.monotonic()
        self._reap()
        self._renew()
        free = self.workers - len(self._in_hand)
        self._pause = self.poll_s
        if free <= 0:
            return
        with self.store.begin() as conn:
            claimed = schedules.claim_due(conn, self.owner, self.lease_s, free, running=list(self._in_hand))
            soon = schedules.seconds_to_next(conn)
        # Look again when the next schedule is due (on time, not up to a poll late), else after a poll.
        # Due already but not claimed (another instance is claiming it): the poll, never a spin.
        if soon is not None and (soon > 0 or claimed):
            self._pause = min(self.poll_s, max(MIN_PAUSE_S, soon))
        for schedule in claimed:
            self._in_hand[schedule.id] = pool.submit(self._run, schedule)

    def _reap(self) -> None:
        for schedule_id, future in list(self._in_hand.items()):
            if future.done():
                del self._in_hand[schedule_id]

    def _renew(self) -> None:
        if not self._in_hand or time.monotonic() - self._renewed < self.lease_s / 3:
            return
        try:
            with self.store.begin() as conn:
                schedules.renew(conn, self.owner, list(self._in_hand), self.lease_s)
            self._renewed = time.monotonic()
        except Exception:
            log.warning("could not renew the schedule leases", exc_info=True)

    def _run(self, schedule: Schedule) -> None:
        outcome, run_id, before = "ok", None, last_run_started()
        try:
            with self.store.begin() as conn:
                cart = get_cart(conn, schedule.cart)
                active = conn.execute(select(tables.carts.c.active).where(tables.carts.c.id == cart.id)).scalar()
            if not active:
                outcome = "skipped: cart inactive"
            else:
                log.info("schedule %s: %s for cart %s", schedule.id, schedule.job, cart.name)
                getattr(jobs, schedule.job.replace("-", "_"))(self.store, self.plugins, cart)
        except Exception as exc:  # recorded in the run row (if it got that far); the schedule goes on
            outcome = f"failed: {type(exc).__name__}"
            log.warning("schedule %s (%s, cart %s) failed: %s", schedule.id, schedule.job, schedule.cart, exc)
        finally:
            if last_run_started() != before:  # this thread's previous job left its id behind
                run_id = last_run_started()
            self._finish(schedule, run_id, outcome)
            self.wake.set()  # a webhook may want one more run, or a slot was freed

    def _finish(self, schedule: Schedule, run_id: int | None, outcome: str) -> None:
        try:
            with self.store.begin() as conn:
                kept = schedules.finish(conn, self.owner, schedule, run_id)
                conn.execute(insert(tables.audit_events).values(
                    run_id=run_id, cart_id=schedule.cart_id, event="schedule-ran", at=utcnow(),
                    detail={"schedule": schedule.id, "job": schedule.job, "owner": self.owner, "outcome": outcome,
                            "due": schedule.next_due.isoformat() if schedule.next_due else None,
                            "wanted": schedule.wanted_at is not None, "lease_kept": kept}))
        except Exception:  # the lease lapses and another pass runs it again
            log.warning("could not release schedule %s", schedule.id, exc_info=True)
