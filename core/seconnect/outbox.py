"""Outbound work for carts: written with the change that caused it, claimed and delivered by workers.

A change that a cart must hear of (an inventory quantity, later an order status) is written to
``outbox`` in the same transaction as the change itself (:func:`enqueue`); ``seconnect run
realtime`` delivers it. This module is the generic half: claiming, grouping, retries and
parking. What a delivery *does* is registered per ``kind`` (:class:`OutboxKinds`, filled through
the ``register_outbox_kinds`` hook): core registers ``inventory`` and ``inventory-check``
(:mod:`seconnect.jobs.inventory`) and ``status`` (:mod:`seconnect.status`) that way, and a plugin
may add its own. A row of a kind no loaded plugin registers is parked with a reason naming the
kind and the way out (:func:`undeliverable`), never left pending unseen.

Row states::

    pending ──claim──▶ sending ──delivered──▶ sent
       ▲                 │  │
       │   retriable ◀───┘  └──not retriable / attempts used up──▶ parked
       │   failure (backoff)                                        │
       └───────────────── `outbox retry` (attempts reset) ◀─────────┘
       └───────────────── lease expired (worker died): requeued, attempts + 1

* **Claiming** (:func:`claim_groups`): due ``pending`` rows, oldest first, ``FOR UPDATE SKIP
  LOCKED`` on PostgreSQL so concurrent workers (processes or machines) get disjoint rows and
  never deliver a row twice at the same time; on SQLite the write transaction serialises
  claimers (and ``run realtime`` allows one worker per SQLite store). Keys another worker is
  still delivering are left alone, so one key's deliveries do not overtake each other.
* **Coalescing**: the rows claimed for one ``(cart, kind, key)`` — with every other pending
  row of that key, due or waiting for a retry — form one :class:`Group`, delivered once.
* **Retries**: a failure whose error is ``retriable`` (see :mod:`seconnect.errors`) puts the
  group back to ``pending`` after an exponential backoff with jitter (``backoff_base * 2**(n-1)``
  seconds, at most ``backoff_max``; a cart's ``Retry-After`` is honoured). With the defaults a
  row is tried :data:`MAX_ATTEMPTS` times over about 40 minutes.
* **Parking**: after ``max_attempts`` tries, or at once for a failure retrying cannot fix (bad
  credentials, SKU unknown at the cart), rows are ``parked`` with the last error. They stay
  visible in ``seconnect outbox list`` until ``seconnect outbox retry`` re-queues them; the
  other rows keep being delivered.
* **Crashes**: a worker refreshes ``claimed_at`` of its rows while it delivers (a heartbeat
  every quarter lease). Rows left in ``sending`` past the lease (default :data:`LEASE_S`) belong
  to a worker that died: any worker requeues them (counting an attempt). Nothing is lost; a
  deliverer must make a repeat harmless (inventory sends absolute quantities) or refuse to
  guess (:attr:`Group.interrupted`).
* **Unconfirmed**: a deliverer that cannot tell whether the cart acted on a row (the answer was
  lost) parks it with a ``last_error`` starting :data:`UNCONFIRMED`. Sending it again may do it
  twice (a second tracking row, a second e-mail), so only the merchant decides, row by row,
  after checking the cart: ``outbox retry ID --resend-unconfirmed`` sends it, ``outbox discard
  ID`` drops it. ``outbox retry --all`` leaves such rows — and the newer rows of their key,
  which must not overtake them — parked, and says so.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, delete, func, insert, select, tuple_, update

from .cartdef import CartDefinition
from .errors import CartHTTPError, PluginError, SeconnectError
from .plugins import Plugins
from .store import Store, claim, tables, utcnow
from .store.paging import Page, fetch_page

__all__ = [
    "MAX_ATTEMPTS",
    "BACKOFF_BASE_S",
    "BACKOFF_MAX_S",
    "LEASE_S",
    "BATCH_ROWS",
    "Policy",
    "Group",
    "Outcome",
    "DeliveryContext",
    "OutboxKind",
    "OutboxKinds",
    "undeliverable",
    "enqueue",
    "requeue_stuck",
    "claim_groups",
    "settle",
    "Worker",
    "list_rows",
    "retry_parked",
    "discard_parked",
    "RetryResult",
    "UNCONFIRMED",
    "unconfirmed_hint",
    "state_counts",
    "new_worker_id",
]

log = logging.getLogger(__name__)

#: Tries before a row is parked (the first delivery counts).
MAX_ATTEMPTS = 10
#: First retry wait; doubles per attempt.
BACKOFF_BASE_S = 5.0
#: Longest wait between two tries.
BACKOFF_MAX_S = 1800.0
#: A row in ``sending`` whose worker gave no sign of life for this long is requeued.
LEASE_S = 60.0
#: Rows claimed per cycle (before the rest of their keys' rows are swept in).
BATCH_ROWS = 500
#: Seconds a worker reuses a cart's definition (and parameters such as SynchQOH) before re-reading it.
CART_TTL_S = 5.0
#: Carts one worker delivers to at the same time (one thread each).
PARALLEL_CARTS = 8
#: ``last_error`` of a row requeued after its worker died starts with this.
INTERRUPTED = "interrupted"
#: ``last_error`` of a parked row that may have reached the cart starts with this (module docstring).
UNCONFIRMED = "unconfirmed"

_CHUNK = 1000
_O = tables.outbox


@dataclass(frozen=True)
class Policy:
    """Retry, parking and lease settings of a worker (module constants by default)."""

    max_attempts: int = MAX_ATTEMPTS
    backoff_base: float = BACKOFF_BASE_S
    backoff_max: float = BACKOFF_MAX_S
    lease: float = LEASE_S
    batch_rows: int = BATCH_ROWS

    def backoff(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds to wait before try ``attempts + 1``; ±20 % jitter spreads a cart's retries."""
        wait = min(self.backoff_max, self.backoff_base * 2 ** max(0, attempts - 1)) * random.uniform(0.8, 1.2)
        return max(wait, retry_after or 0.0)


@dataclass
class Group:
    """The rows of one ``(cart, kind, key)`` claimed together, oldest first: delivered once."""

    cart_id: int
    kind: str
    key: str
    rows: list[Any] = field(default_factory=list)

    @property
    def ids(self) -> list[int]:
        return [r.id for r in self.rows]

    @property
    def attempts(self) -> int:
        return max((r.attempts for r in self.rows), default=0)

    @property
    def payloads(self) -> list[Any]:
        return [r.payload for r in self.rows]

    @property
    def interrupted(self) -> bool:
        """A row of the group was being delivered by a worker that died: it may have landed."""
        return any((r.last_error or "").startswith(INTERRUPTED) for r in self.rows)


@dataclass(frozen=True)
class Outcome:
    """What became of one group: ``sent``, ``retry`` (if attempts remain) or ``park``."""

    state: Literal["sent", "retry", "park"]
    error: str | None = None
    retry_after: float | None = None
    settles_parked: bool = False
    """The delivery supersedes parked rows of the same key (an absolute quantity does)."""
    row_errors: Mapping[int, str] = field(default_factory=dict)
    """Rows of the group whose own reason is not ``error`` (e.g. held behind the failed one)."""

    @classmethod
    def sent(cls, *, settles_parked: bool = False, note: str | None = None) -> Outcome:
        return cls("sent", note, settles_parked=settles_parked)

    @classmethod
    def retry(cls, error: str, retry_after: float | None = None) -> Outcome:
        return cls("retry", error, retry_after)

    @classmethod
    def park(cls, error: str, row_errors: Mapping[int, str] | None = None) -> Outcome:
        return cls("park", error, row_errors=row_errors or {})

    @classmethod
    def from_error(cls, exc: BaseException) -> Outcome:
        """Retry what the error says may succeed later; park the rest."""
        if isinstance(exc, SeconnectError):
            text = exc.message + (f" ({exc.hint})" if exc.hint else "")
            if exc.retriable:
                return cls.retry(text, exc.retry_after if isinstance(exc, CartHTTPError) else None)
            return cls.park(text)
        return cls.retry(f"internal error {type(exc).__name__}: {str(exc)[:300]}")


@dataclass
class DeliveryContext:
    """What a deliverer gets besides the cart and its groups."""

    store: Store
    plugins: Plugins
    worker_id: str
    policy: Policy
    run: Any = None  # the worker's JobRun, for audit events


Deliver = Callable[[DeliveryContext, CartDefinition, list[Group]], list[Outcome]]

Requeued = Callable[[Connection, Sequence[int]], None]

@dataclass(frozen=True)
class OutboxKind:
    """One kind of outbound work and what delivers it."""

    name: str
    deliver: Deliver
    on_requeue: Requeued | None = None
    on_discard: Requeued | None = None


class OutboxKinds:
    """The outbox kinds of one run, registered explicitly through the ``register_outbox_kinds``
    hook (core's own the same way); built by :attr:`Plugins.outbox_kinds`."""

    def __init__(self) -> None:
        self._kinds: dict[str, OutboxKind] = {}

    def register(self, kind: str, deliver: Deliver, *, on_requeue: Requeued | None = None,
                 on_discard: Requeued | None = None) -> None:
        """Deliver rows of ``kind`` with ``deliver(ctx, cart, groups) -> [Outcome per group]``.

        A deliverer may raise instead of returning outcomes: the error then decides for every
        group (:meth:`Outcome.from_error`). ``on_requeue(conn, ids)`` is called, in the same
        transaction, when ``outbox retry`` re-queues parked rows of the kind, and
        ``on_discard(conn, ids)`` just before ``outbox discard`` deletes them, so that a kind's
        own bookkeeping (e.g. a status history) follows.
        """
        if kind in self._kinds:
            raise PluginError(f"outbox kind {kind!r} is registered twice.",
                              hint="A plugin must not register a kind core or another plugin already delivers; "
                                   "give its kind a name of its own.")
        self._kinds[kind] = OutboxKind(kind, deliver, on_requeue, on_discard)

    def get(self, kind: str) -> OutboxKind | None:
        return self._kinds.get(kind)

    def names(self) -> list[str]:
        return sorted(self._kinds)


def undeliverable(kind: str) -> str:
    """Why a row of a kind nobody delivers is parked, and the way out."""
    return (f"no deliverer for outbox kind {kind!r}: no loaded plugin registers it (the plugin that queued it "
            "is not installed, or is disabled). Install or enable that plugin, then `seconnect outbox retry`; "
            "or drop the rows with `seconnect outbox discard ID`")


def _call_hooks(conn: Connection, kinds: OutboxKinds, which: str, ids: Sequence[int]) -> None:
    """Tell each kind's ``on_requeue``/``on_discard`` (``which``) which of ``ids`` concern it."""
    by_kind: dict[str, list[int]] = {}
    for chunk in _chunks(ids):
        for row_id, kind in conn.execute(select(_O.c.id, _O.c.kind).where(_O.c.id.in_(chunk))):
            by_kind.setdefault(kind, []).append(row_id)
    for kind, of_kind in by_kind.items():
        registered = kinds.get(kind)
        hook = getattr(registered, which) if registered is not None else None
        if hook is not None:
            hook(conn, of_kind)


def new_worker_id() -> str:
    """``host:pid:random``: names the worker in ``claimed_by`` and in the audit log."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


# -- writing ----------------------------------------------------------------------------------------

def enqueue(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert outbox rows (``cart_id``, ``kind``, ``key``, ``payload``) in the caller's transaction."""
    if not rows:
        return
    now = utcnow()
    conn.execute(insert(_O), [{"state": "pending", "attempts": 0, "created_at": now, "next_attempt_at": now, **r}
                             for r in rows])


# -- claiming ---------------------------------------------------------------------------------------

def requeue_stuck(conn: Connection, policy: Policy, now: datetime | None = None) -> int:
    """Put rows whose worker stopped renewing its claim back to ``pending`` (or park them when
    that used their last attempt). Returns how many rows were requeued or parked."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=policy.lease)
    stuck = claim(conn, _O, (_O.c.state == "sending") & (_O.c.claimed_at < cutoff), _O.c.id, 5000)
    by_outcome: dict[tuple[str, str], list[int]] = {}
    for row in stuck:
        note = (f"{INTERRUPTED}: worker {row.claimed_by} stopped while delivering "
                f"(no sign of life for {policy.lease:g} s)")
        state = "parked" if row.attempts + 1 >= policy.max_attempts else "pending"
        by_outcome.setdefault((state, note), []).append(row.id)
    for (state, note), ids in by_outcome.items():
        for chunk in _chunks(ids):
            conn.execute(update(_O).where(_O.c.id.in_(chunk)).values(
                state=state, attempts=_O.c.attempts + 1, last_error=note, next_attempt_at=now,
                claimed_by=None, claimed_at=None))
        log.warning("%d outbox rows of a stopped worker %s", len(ids), "parked" if state == "parked" else "requeued")
    return len(stuck)


def claim_groups(store: Store, worker_id: str, policy: Policy, kinds: Sequence[str] | None = None,
                 cart_ids: Sequence[int] | None = None) -> list[Group]:
    """Claim due work (of ``kinds``; None: every kind) and return it grouped per ``(cart, kind,
    key)``; rows are now ``sending``. The worker claims every kind: a kind without a deliverer is
    parked with the reason, never left pending unseen."""
    with store.begin() as conn:
        now = utcnow()
        busy = _O.alias("busy")
        due = _O.alias("due")
        busy_key = select(busy.c.id).where(busy.c.state == "sending", busy.c.cart_id == due.c.cart_id,
                                           busy.c.kind == due.c.kind, busy.c.key == due.c.key).exists()
        due_keys = select(due.c.cart_id, due.c.kind, due.c.key).where(
            due.c.state == "pending", due.c.next_attempt_at <= now, ~busy_key)
        if kinds is not None:
            due_keys = due_keys.where(due.c.kind.in_(kinds))
        if cart_ids:
            due_keys = due_keys.where(due.c.cart_id.in_(cart_ids))
        due_keys = due_keys.order_by(due.c.next_attempt_at, due.c.id).limit(policy.batch_rows)
        # every pending row of those keys, due or waiting for a retry: one delivery covers them all
        found = claim(conn, _O, (_O.c.state == "pending") & tuple_(_O.c.cart_id, _O.c.kind, _O.c.key).in_(due_keys),
                      _O.c.id, policy.batch_rows * 20)
        rows = {r.id: r for r in found}
        for chunk in _chunks(sorted(rows)):
            conn.execute(update(_O).where(_O.c.id.in_(chunk)).values(state="sending", claimed_by=worker_id,
                                                                    claimed_at=now))
    groups: dict[tuple[int, str, str], Group] = {}
    for row_id in sorted(rows):
        row = rows[row_id]
        groups.setdefault((row.cart_id, row.kind, row.key), Group(row.cart_id, row.kind, row.key)).rows.append(row)
    return list(groups.values())


@contextmanager
def heartbeat(store: Store, worker_id: str, lease: float) -> Iterator[None]:
    """Keep this worker's claims fresh while it delivers (so slow carts are not mistaken for
    dead workers); stops with the block. A dead process stops beating, which is the point."""
    stop = threading.Event()
    interval = max(0.05, lease / 4)

    def beat() -> None:
        while not stop.wait(interval):
            try:
                with store.begin() as conn:
                    conn.execute(update(_O).where(_O.c.claimed_by == worker_id, _O.c.state == "sending")
                                 .values(claimed_at=utcnow()))
            except Exception:  # a missed beat is retried; the lease has slack for three
                log.warning("outbox heartbeat failed", exc_info=True)

    thread = threading.Thread(target=beat, name="outbox-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


# -- settling ---------------------------------------------------------------------------------------

def settle(conn: Connection, worker_id: str, policy: Policy, groups: Sequence[Group], outcomes: Sequence[Outcome],
           now: datetime | None = None) -> dict[str, list[int]]:
    """Record the outcomes of delivered groups; returns row ids by ``sent``/``retried``/``parked``.

    Only rows still claimed by ``worker_id`` change: if this worker was too slow and its rows
    were requeued meanwhile, the new owner's view wins.
    """
    now = now or utcnow()
    done: dict[str, list[int]] = {"sent": [], "retried": [], "parked": []}
    sent_ids: list[int] = []
    settling: list[Group] = []
    for group, outcome in zip(groups, outcomes, strict=True):
        if outcome.state == "sent":
            sent_ids += group.ids
            done["sent"] += group.ids
            if outcome.settles_parked:
                settling.append(group)
            continue
        attempts = group.attempts + 1
        if outcome.state == "retry" and attempts < policy.max_attempts:
            values = {"state": "pending", "next_attempt_at": now + timedelta(
                seconds=policy.backoff(attempts, outcome.retry_after)), "last_error": outcome.error}
            done["retried"] += group.ids
        else:
            error = outcome.error or "delivery failed"
            if outcome.state == "retry":
                error = f"gave up after {attempts} attempts: {error}"
            values = {"state": "parked", "last_error": error}
            done["parked"] += group.ids
        mine = (_O.c.state == "sending", _O.c.claimed_by == worker_id)
        fields = {"attempts": attempts, "claimed_by": None, "claimed_at": None, **values}
        for row_id, own in outcome.row_errors.items():
            conn.execute(update(_O).where(_O.c.id == row_id, *mine).values({**fields, "last_error": own}))
        conn.execute(update(_O).where(_O.c.id.in_(group.ids), *mine).values(**fields))
    for chunk in _chunks(sent_ids):
        conn.execute(update(_O).where(_O.c.id.in_(chunk), _O.c.state == "sending", _O.c.claimed_by == worker_id)
                     .values(state="sent", sent_at=now))
    _settle_parked(conn, settling, now)
    return done


def _settle_parked(conn: Connection, groups: Sequence[Group], now: datetime) -> None:
    """Parked rows older than a delivery that covers them are done: mark them sent."""
    newest = {(g.cart_id, g.kind, g.key): max(g.ids) for g in groups}
    by_cart: dict[tuple[int, str], list[str]] = {}
    for cart_id, kind, key in newest:
        by_cart.setdefault((cart_id, kind), []).append(key)
    for (cart_id, kind), keys in by_cart.items():
        for chunk in _chunks(keys):
            parked = conn.execute(select(_O.c.id, _O.c.key).where(
                _O.c.state == "parked", _O.c.cart_id == cart_id, _O.c.kind == kind, _O.c.key.in_(chunk))).all()
            ids = [r.id for r in parked if r.id < newest[(cart_id, kind, r.key)]]
            if ids:
                conn.execute(update(_O).where(_O.c.id.in_(ids)).values(state="sent", sent_at=now))


# -- the worker -------------------------------------------------------------------------------------

class Worker:
    """Claims, delivers and settles outbox work in cycles; ``cycle()`` does one round."""

    def __init__(self, store: Store, plugins: Plugins, *, policy: Policy | None = None,
                 worker_id: str | None = None, cart_ids: Sequence[int] | None = None, run: Any = None):
        self.store = store
        self.plugins = plugins
        self.policy = policy or Policy()
        self.worker_id = worker_id or new_worker_id()
        self.cart_ids = list(cart_ids) if cart_ids else None
        self.run = run
        self._last_requeue = float("-inf")
        self._carts: dict[int, tuple[float, CartDefinition]] = {}
        #: Totals per kind over the worker's life: groups delivered, rows sent/retried/parked.
        self.by_kind: dict[str, dict[str, int]] = {}

    def cycle(self) -> dict[str, int]:
        """One round: requeue work of dead workers (now and then), claim, deliver per cart, settle.

        Returns row counts of this round: ``claimed``, ``groups``, ``sent``, ``retried``,
        ``parked``, ``requeued``.
        """
        counts = dict.fromkeys(("claimed", "groups", "sent", "retried", "parked", "requeued"), 0)
        if time.monotonic() - self._last_requeue >= max(0.5, self.policy.lease / 4):
            with self.store.begin() as conn:
                counts["requeued"] = requeue_stuck(conn, self.policy)
            self._last_requeue = time.monotonic()
        started = time.perf_counter()
        groups = claim_groups(self.store, self.worker_id, self.policy, None, self.cart_ids)
        if not groups:
            return counts
        log.debug("claimed %d rows in %d groups in %.0f ms", sum(len(g.rows) for g in groups), len(groups),
                  (time.perf_counter() - started) * 1000)
        counts["claimed"] = sum(len(g.rows) for g in groups)
        counts["groups"] = len(groups)
        batches: dict[tuple[int, str], list[Group]] = {}
        for group in groups:
            batches.setdefault((group.cart_id, group.kind), []).append(group)
        context = DeliveryContext(self.store, self.plugins, self.worker_id, self.policy, self.run)
        per_cart: dict[int, list[tuple[str, list[Group]]]] = {}
        for (cart_id, kind), batch in batches.items():
            per_cart.setdefault(cart_id, []).append((kind, batch))

        def one_cart(cart_id: int) -> list[dict[str, list[int]]]:
            return [self._deliver(context, cart_id, kind, batch) for kind, batch in per_cart[cart_id]]

        # Carts are independent: a slow one (or one being read back) must not hold up the others.
        # Within one cart calls stay sequential, as carts share their request quota.
        with heartbeat(self.store, self.worker_id, self.policy.lease):
            if len(per_cart) == 1:
                results = [one_cart(next(iter(per_cart)))]
            else:
                with ThreadPoolExecutor(max_workers=min(len(per_cart), PARALLEL_CARTS),
                                        thread_name_prefix="outbox-cart") as pool:
                    results = list(pool.map(one_cart, per_cart))
        for cart_id, dones in zip(per_cart, results, strict=True):
            for (kind, batch), done in zip(per_cart[cart_id], dones, strict=True):
                tally = self.by_kind.setdefault(kind, {"groups": 0, "sent": 0, "retried": 0, "parked": 0})
                tally["groups"] += len(batch)
                for state, ids in done.items():
                    counts[state] += len(ids)
                    tally[state] += len(ids)
        return counts

    def _deliver(self, context: DeliveryContext, cart_id: int, kind: str, groups: list[Group]) -> dict[str, list[int]]:
        started = time.perf_counter()
        registered = self.plugins.outbox_kinds.get(kind)
        try:
            if registered is None:
                raise PluginError(undeliverable(kind))
            cart = self._cart(cart_id)
            outcomes = registered.deliver(context, cart, groups)
            if len(outcomes) != len(groups):
                raise RuntimeError(f"the {kind} deliverer returned {len(outcomes)} outcomes for {len(groups)} groups")
        except Exception as exc:
            if not isinstance(exc, SeconnectError):
                log.exception("delivering %s work for cart %s failed", kind, cart_id)
            outcomes = [Outcome.from_error(exc)] * len(groups)
        delivered = time.perf_counter()
        with self.store.begin() as conn:
            done = settle(conn, self.worker_id, self.policy, groups, outcomes)
            if self.run is not None:
                self.run.event(conn, "outbox-delivered", worker=self.worker_id, kind=kind, delivered_to=cart_id,
                               **{k: v for k, v in done.items() if v},
                               errors=sorted({o.error for o in outcomes if o.error and o.state != "sent"})[:5])
        log.debug("cart %s, %s: %d groups delivered in %.0f ms, settled in %.0f ms", cart_id, kind, len(groups),
                  (delivered - started) * 1000, (time.perf_counter() - delivered) * 1000)
        return done

    def _cart(self, cart_id: int) -> CartDefinition:
        """The cart's definition, re-read at most every few seconds (edits apply that soon)."""
        from .carts import get_cart

        cached = self._carts.get(cart_id)
        if cached is not None and time.monotonic() - cached[0] < CART_TTL_S:
            return cached[1]
        with self.store.connect() as conn:
            name = conn.execute(select(tables.carts.c.name).where(tables.carts.c.id == cart_id)).scalar_one()
            cart = get_cart(conn, name)
        self._carts[cart_id] = (time.monotonic(), cart)
        return cart


# -- looking and re-queuing (the CLI) -----------------------------------------------------------------

def list_rows(conn: Connection, *, states: Sequence[str] | None = None, cart_id: int | None = None,
              kind: str | None = None, limit: int | None = 200, offset: int = 0) -> Page:
    """Outbox rows, newest first, with their cart's name (at most ``limit``; ``.total`` counts all)
    and, for an unconfirmed parked row, ``held_because`` (why it waits for the merchant rather than
    for ``outbox retry --all``)."""
    query = select(_O, tables.carts.c.name.label("cart")).join(tables.carts, tables.carts.c.id == _O.c.cart_id)
    if states:
        query = query.where(_O.c.state.in_(states))
    if cart_id is not None:
        query = query.where(_O.c.cart_id == cart_id)
    if kind:
        query = query.where(_O.c.kind == kind)
    rows = fetch_page(conn, query.order_by(_O.c.id.desc()), limit or None, offset)
    page = Page((dict(r._mapping) for r in rows), rows.total)
    for row in page:
        unconfirmed = row["state"] == "parked" and _unconfirmed(row["last_error"])
        row["held_because"] = f"{UNCONFIRMED}: {unconfirmed_hint(row['id'])}" if unconfirmed else None
    return page


def state_counts(conn: Connection, cart_id: int | None = None) -> dict[str, int]:
    query = select(_O.c.state, func.count()).group_by(_O.c.state)
    if cart_id is not None:
        query = query.where(_O.c.cart_id == cart_id)
    counts = dict.fromkeys(tables.OUTBOX_STATES, 0)
    counts.update(dict(conn.execute(query).all()))
    return counts


def unconfirmed_hint(row_id: int) -> str:
    """What to do about an unconfirmed row (see the module docstring)."""
    return (f"the cart may have applied it; check the cart, then `seconnect outbox retry {row_id} "
            f"--resend-unconfirmed` or `seconnect outbox discard {row_id}`")


def _unconfirmed(last_error: str | None) -> bool:
    return (last_error or "").startswith(UNCONFIRMED)


@dataclass
class RetryResult:
    """What :func:`retry_parked` did: rows re-queued, named rows it could not re-queue (with
    why), and rows ``--all`` left parked: unconfirmed ones and newer rows of their keys."""

    retried: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unconfirmed: list[int] = field(default_factory=list)
    held: list[int] = field(default_factory=list)


def retry_parked(conn: Connection, kinds: OutboxKinds, *, ids: Sequence[int] = (), cart_id: int | None = None,
                 resend_unconfirmed: bool = False) -> RetryResult:
    """Re-queue parked rows with a fresh set of attempts: the given ``ids``, else every parked
    row (of ``cart_id`` if given) except unconfirmed ones and the newer rows of their keys.

    A named unconfirmed row is re-queued only with ``resend_unconfirmed`` (the merchant checked
    the cart); it is never implied by "every parked row".
    """
    result = RetryResult()
    if ids:
        found = {r.id: r for r in conn.execute(select(_O.c.id, _O.c.state, _O.c.last_error)
                                               .where(_O.c.id.in_(list(ids))))}
        for row_id in ids:
            row = found.get(row_id)
            if row is None:
                result.problems.append(f"row {row_id} does not exist")
            elif row.state != "parked":
                result.problems.append(f"row {row_id} is {row.state}, not parked")
            elif _unconfirmed(row.last_error) and not resend_unconfirmed:
                result.problems.append(f"row {row_id} is unconfirmed: {unconfirmed_hint(row_id)}")
            else:
                result.retried.append(row_id)
    else:
        query = select(_O.c.id, _O.c.cart_id, _O.c.kind, _O.c.key, _O.c.last_error).where(_O.c.state == "parked")
        if cart_id is not None:
            query = query.where(_O.c.cart_id == cart_id)
        blocked: set[tuple[int, str, str]] = set()  # keys with an unconfirmed row: newer rows wait behind it
        for row in conn.execute(query.order_by(_O.c.id)):
            key = (row.cart_id, row.kind, row.key)
            if _unconfirmed(row.last_error):
                result.unconfirmed.append(row.id)
                blocked.add(key)
            elif key in blocked:
                result.held.append(row.id)
            else:
                result.retried.append(row.id)
    now = utcnow()
    for chunk in _chunks(result.retried):
        conn.execute(update(_O).where(_O.c.id.in_(chunk), _O.c.state == "parked").values(
            state="pending", attempts=0, next_attempt_at=now, claimed_by=None, claimed_at=None))
    _call_hooks(conn, kinds, "on_requeue", result.retried)
    return result


def discard_parked(conn: Connection, kinds: OutboxKinds, ids: Sequence[int]) -> tuple[list[int], list[str]]:
    """Delete the named parked rows: they will not be delivered (the merchant checked the cart,
    or no longer wants them). Returns the ids discarded and a note per id that was not."""
    found = dict(conn.execute(select(_O.c.id, _O.c.state).where(_O.c.id.in_(list(ids)))).all())
    problems = [f"row {i} does not exist" if i not in found else f"row {i} is {found[i]}, not parked"
                for i in ids if found.get(i) != "parked"]
    wanted = [i for i in ids if found.get(i) == "parked"]
    _call_hooks(conn, kinds, "on_discard", wanted)
    for chunk in _chunks(wanted):
        conn.execute(delete(_O).where(_O.c.id.in_(chunk), _O.c.state == "parked"))
    return wanted, problems
