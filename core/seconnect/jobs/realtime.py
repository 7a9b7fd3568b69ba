"""`seconnect run realtime` — the worker that delivers the outbox (SEOM's "stack controller").

``--once`` delivers everything due now and exits (for cron) — waiting a few seconds, if need be,
for the follow-up work its own deliveries scheduled (read-back checks); ``--follow`` keeps
polling until stopped (systemd), finishing the batch in hand on SIGTERM/Ctrl-C. The rules for
claiming, coalescing, retries, parking and crash recovery are :mod:`seconnect.outbox`'s.

Several workers: on PostgreSQL run as many as you like, on one machine or several — they claim
disjoint rows with ``FOR UPDATE SKIP LOCKED``. On SQLite one worker runs at a time (a file lock
beside the store): ``--follow`` waits as a standby and takes over when the running one stops;
``--once`` says that one is running and exits, since that worker is already delivering.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import func, select

from .. import outbox
from ..cartdef import CartDefinition
from ..errors import JobBusy
from ..plugins import Plugins
from ..store import Store, tables, utcnow
from .base import JobRun, cart_lock

__all__ = ["JOB", "POLL_S", "run_realtime"]

log = logging.getLogger(__name__)

JOB = "realtime"
#: Seconds between looks at the outbox when it is empty (``--follow``): changes reach carts
#: well within a second, at the cost of one indexed query per interval.
POLL_S = 0.25

#: ``--once`` waits up to this many seconds in all for work its own deliveries scheduled shortly
#: after them (the read-back checks of Interspire sends, a first quick retry).
ONCE_GRACE_S = 8.0

# The SQLite worker lock is one lock for the whole store, not per cart.
_EVERY_CART = CartDefinition(name="(every cart)", type="")


@contextmanager
def _one_worker_on_sqlite(store: Store, follow: bool, on_wait: Callable[[], None] | None):
    if store.dialect_name != "sqlite":
        yield
        return
    try:
        with cart_lock(store, JOB, _EVERY_CART, timeout=float("inf") if follow else 0.0, on_wait=on_wait):
            yield
    except JobBusy:
        raise JobBusy("another `seconnect run realtime` worker is delivering for this SQLite store.",
                         hint="It delivers everything due; nothing to do here. To run several workers at once, "
                              "use a PostgreSQL store (--db postgresql://…).") from None


def _next_due(store: Store, carts: Sequence[CartDefinition]) -> float | None:
    """Seconds until the next pending row this worker could deliver is due (None: none waits)."""
    o = tables.outbox
    query = select(func.min(o.c.next_attempt_at)).where(o.c.state == "pending")
    if carts:
        query = query.where(o.c.cart_id.in_([c.id for c in carts]))
    with store.connect() as conn:
        due = conn.execute(query).scalar()
    return None if due is None else max(0.0, (due - utcnow()).total_seconds())


def run_realtime(store: Store, plugins: Plugins, *, follow: bool = False, poll: float = POLL_S,
                 policy: outbox.Policy | None = None, carts: Sequence[CartDefinition] = (),
                 stop: threading.Event | None = None, on_wait: Callable[[], None] | None = None,
                 on_cycle: Callable[[dict[str, int]], None] | None = None,
                 worker_id: str | None = None) -> dict[str, Any]:
    """Deliver outbox work until none is due (or, with ``follow``, until ``stop`` is set).

    :param carts: deliver only to these carts (default: every cart).
    :param on_cycle: called with the counts of every cycle that claimed work.
    Returns the summary: totals of rows ``sent``/``retried``/``parked``/``requeued``, the number
    of ``groups`` delivered (one send per SKU and cart), the same per kind (``by_kind``) and the
    outbox's state counts at the end.
    """
    stop = stop or threading.Event()
    worker_id = worker_id or outbox.new_worker_id()
    totals = dict.fromkeys(("cycles", "claimed", "groups", "sent", "retried", "parked", "requeued"), 0)
    summary: dict[str, Any] = {"worker": worker_id, **totals}
    worker: outbox.Worker | None = None
    with JobRun(store, JOB, carts[0] if len(carts) == 1 else None) as run:
        try:
            with _one_worker_on_sqlite(store, follow, on_wait):
                worker = outbox.Worker(store, plugins, policy=policy, worker_id=worker_id,
                                       cart_ids=[c.id for c in carts if c.id is not None], run=run)
                failures, waited = 0, 0.0
                while not stop.is_set():
                    try:
                        counts = worker.cycle()
                        failures = 0
                    except Exception:
                        # A follower outlives a database restart or a network blip: its claimed
                        # rows come back after the lease. A one-shot run reports the error.
                        if not follow:
                            raise
                        failures += 1
                        summary["errors"] = summary.get("errors", 0) + 1
                        log.exception("outbox cycle failed; trying again in %.0f s", min(30.0, 2.0 ** failures))
                        stop.wait(min(30.0, 2.0 ** failures))
                        continue
                    summary["cycles"] += 1
                    for name, value in counts.items():
                        summary[name] += value
                    if counts["claimed"]:
                        if on_cycle:
                            on_cycle(counts)
                        continue  # more may be due already
                    if not follow:
                        soon = _next_due(store, carts) if summary["claimed"] else None
                        if soon is None or waited + soon > ONCE_GRACE_S:
                            break
                        soon = max(soon, 0.2)  # due but not claimable (its SKU busy elsewhere): still count time
                        waited += soon  # follow-up work of this run (read-back checks) is due shortly
                        stop.wait(soon)
                        continue
                    stop.wait(poll)
        finally:
            if worker is not None:
                summary["by_kind"] = worker.by_kind
            with store.begin() as conn:
                summary["outbox"] = outbox.state_counts(conn, carts[0].id if len(carts) == 1 else None)
            run.summary = summary
    return summary
