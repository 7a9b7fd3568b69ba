"""Order status labels, ``orders set-status`` with SEOM's push rules, and the ``status`` deliverer.

**Labels.** Order Received, Payment Received, Shipped and Cancelled exist out of the box; the
merchant adds more in the global text parameter :data:`LABELS_PARAM` (``StatusLabels``, labels
separated by ``;``). A label is matched case-insensitively (runs of blanks count as one) and
stored in its canonical spelling, so the cart always gets the same text. An unknown label is
refused, not accepted with a warning: the text goes to the cart, which matches it against its
own status names and may e-mail the customer, so a typo must be caught here.

**A status change** (:func:`set_status`, in the caller's transaction) sets ``orders.status`` and
writes one ``order_status_history`` row (previous label, note, tracking, time). It is queued for
the cart — an ``outbox`` row of kind ``status`` keyed by the cart's order number, written in the
same transaction — only when (SEOM's rules, seom-behaviour §2.7):

* the label actually changed (the same label again is recorded with reason ``label unchanged``
  and sends nothing, even with new tracking numbers — SEOM does the same);
* the cart supports status updates: its plugin's ``capabilities`` answer for this cart, else its
  type's declaration (a SETI type that declares none supports them for a cart whose
  ``UseGenericStatusUpdates`` is TRUE: the generic ``updatestatus`` call is made);
* the global ``UseStatusUpdates`` is TRUE, and the cart is active.

Otherwise the change is kept locally (``not-needed``) and the reason names what to change; for
Interspire it is the cart type's own note, Stone Edge's words. The command still succeeds: the
local change is what was asked for. ``ref_number`` stays empty: seconnect has no order numbers
of its own that a cart could show. The note goes out as ``orderdetail``/``Notes``.

**A re-sent order** (:func:`merge_reported`, called by the order import) does not simply
overwrite the status: the cart's status wins only when it changed since the last import of that
order — the cart's report is compared with what the cart reported last time
(``orders.cart_status``), never with the local status. So a local change stands until the cart
reports a newer status; that newer status then becomes the order's status and is recorded in the
history (``previous_label`` the local one, reason ``reported by the cart``, nothing sent back).
A re-sent order without a status changes nothing.

**Delivery** (:func:`deliver`, run by ``seconnect run realtime``). The rows of one order are
sent one by one in the order they were written, never merged: each is a separate event at the
cart. History mirrors the outbox: ``queued`` while waiting (reason ``retrying: …`` after a
retriable failure), ``sent`` when the cart answered OK, ``rejected`` + reason when the row is
parked. Parked means: the cart declined (``update=False;Notes=…`` or a SETI error such as
Interspire's ``SETIError`` document), the cart cannot take status updates (any more), retries
ran out, or the outcome is unknown (below). Updates of an order after a parked one are held
(parked too) so that the cart never receives them out of order; ``seconnect outbox retry --all``
sends them again, oldest first.

**Never twice without knowing.** A status update may e-mail the customer, so it is resent only
when the cart certainly did not act on it. Before each send the history row is marked
``sending since …`` (committed); the answer replaces the mark, in the transaction that also
marks the outbox row sent. A row found still marked when it comes round again — its worker died
mid-call (:attr:`seconnect.outbox.Group.interrupted`) or failed unexpectedly — is parked as
*unconfirmed* instead of resent; rows of an interrupted group without the mark were never
attempted and go out normally (so a worker that died elsewhere costs nothing). Likewise a
retriable error where the request may have reached the cart (read timeout, reset, a truncated
answer) parks the row as unconfirmed; only failures before the request left (connection
refused, 429/503) are retried with backoff. Resending an unconfirmed row is the merchant's
decision, row by row, after checking the cart (``outbox retry ID --resend-unconfirmed``; ``outbox
retry --all`` leaves it and the later updates of its order parked); it then always sends (the
row's ``attempts`` is 0 again). ``outbox discard ID`` drops it instead.

``outbox retry`` and ``outbox discard`` act on the outbox; :func:`requeued` and
:func:`discarded`, called by :mod:`seconnect.outbox` for kind ``status``, make the history follow
(``queued`` again; ``not-needed`` with the reason it was discarded).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, literal, select, update

from . import outbox
from .capabilities import Capability
from .cartdef import CartDefinition
from .carts import get_cart
from .errors import CapabilityError, SeconnectError, UsageError
from .http import certainly_unprocessed
from .operations import Package, StatusResult, StatusUpdate
from .orders import find_order
from .plugins import Plugins
from .store import insert_many, tables, utcnow

__all__ = [
    "KIND",
    "BUILTIN_LABELS",
    "LABELS_PARAM",
    "known_labels",
    "canonical_label",
    "parse_packages",
    "push_refusal",
    "StatusChange",
    "set_status",
    "merge_reported",
    "deliver",
    "requeued",
    "discarded",
]

KIND = "status"
BUILTIN_LABELS = ("Order Received", "Payment Received", "Shipped", "Cancelled")
#: Global text parameter with the merchant's own labels, ``;``-separated.
LABELS_PARAM = "StatusLabels"
#: ``push_reason`` of a history row whose update is being sent right now (see the docstring).
SENDING = "sending since"
#: ``push_reason`` of a history row for a status the cart reported on a re-sent order.
REPORTED = "reported by the cart"

_H = tables.order_status_history
_O = tables.outbox
_CHUNK = 1000
_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y")
_UNSENDABLE = {"\r": "a line break", "\n": "a line break", "\x00": "a NUL character"}


# -- labels and input ---------------------------------------------------------------------------

def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def known_labels(cart: CartDefinition) -> list[str]:
    """The built-in labels, then the merchant's own (``StatusLabels``), each spelling once."""
    labels: dict[str, str] = {}
    for label in (*BUILTIN_LABELS, *str(cart.param(LABELS_PARAM) or "").split(";")):
        clean = " ".join(label.split())
        if clean:
            labels.setdefault(_fold(clean), clean)
    return list(labels.values())


def canonical_label(label: str, known: Sequence[str]) -> str:
    """The known label ``label`` names, in its canonical spelling; refuse anything else."""
    found = {_fold(k): k for k in known}.get(_fold(label))
    if found is None:
        close = difflib.get_close_matches(_fold(label), [_fold(k) for k in known], n=1, cutoff=0.6)
        guess = f"Did you mean {next(k for k in known if _fold(k) == close[0])!r}? " if close else ""
        raise UsageError(f"unknown status label {label!r}.",
                         hint=f"{guess}Known labels: {', '.join(known)}. Add your own with `seconnect params set "
                              f"{LABELS_PARAM} \"{'; '.join([*known[len(BUILTIN_LABELS):], label.strip()])}\"`.")
    return found


def _sendable(what: str, value: str) -> str:
    for char, name in _UNSENDABLE.items():
        if char in value:
            raise UsageError(f"the {what} contains {name}, which cannot be sent to a cart.")
    return value.strip()


def _pickup_date(text: str) -> str:
    """Dates as SEOM sends them (``3/15/2011``); ISO and US input accepted."""
    if not text:
        return ""
    for fmt in _DATE_FORMATS:
        try:
            day = datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        return f"{day.month}/{day.day}/{day.year}"
    raise UsageError(f"pickup date {text!r} is not a date.", hint="Write it as YYYY-MM-DD or M/D/YYYY.")


def parse_packages(specs: Iterable[str], *, carrier: str = "", pickup_date: str = "") -> tuple[Package, ...]:
    """Packages from ``NUM[,CARRIER[,PICKUP-DATE[,METHOD]]]`` specs (one per package).

    ``carrier`` and ``pickup_date`` serve every package that leaves its own field empty, so
    ``--tracking A --tracking B --carrier UPS`` means what it says and nothing pairs by position.
    """
    specs = list(specs)
    if not specs and (carrier or pickup_date):
        raise UsageError("--carrier and --pickup-date describe packages; give the tracking numbers with --tracking.")
    packages = []
    for spec in specs:
        fields = [f.strip() for f in _sendable("tracking", spec).split(",")]
        if len(fields) > 4 or not fields[0]:
            raise UsageError(f"--tracking {spec!r}: expected NUM[,CARRIER[,PICKUP-DATE[,METHOD]]].")
        number, own_carrier, own_date, method = fields + [""] * (4 - len(fields))
        packages.append(Package(number, own_carrier or _sendable("carrier", carrier),
                                _pickup_date(own_date or pickup_date.strip()), method))
    return tuple(packages)


# -- the push rules -----------------------------------------------------------------------------

def _gate(plugins: Plugins, cart: CartDefinition) -> tuple[Capability | None, str | None]:
    """The capability to check when calling the hook, or why this cart takes no status updates."""
    try:
        plugins.require(cart, Capability.STATUS_UPDATES)
    except CapabilityError as exc:
        note = plugins.resolve_type(cart.type).notes.get(Capability.STATUS_UPDATES.value)
        return None, note or f"{exc.message} {exc.hint or ''}".strip()
    except SeconnectError as exc:  # e.g. the plugin providing the cart type is not installed
        return None, f"{exc.message} {exc.hint or ''}".strip()
    return Capability.STATUS_UPDATES, None


def push_refusal(plugins: Plugins, cart: CartDefinition) -> str | None:
    """Why status updates cannot go to this cart at all (``None``: they can)."""
    return _gate(plugins, cart)[1]


def _blockers(conn: Connection, cart: CartDefinition, refusal: str | None) -> str | None:
    """Everything that keeps status changes from this cart, each with the way out."""
    reasons = [refusal] if refusal else []
    if not cart.param("UseStatusUpdates", False):
        reasons.append("UseStatusUpdates is FALSE: status updates are off "
                       "(`seconnect params set UseStatusUpdates TRUE` turns them on).")
    if not conn.execute(select(tables.carts.c.active).where(tables.carts.c.id == cart.id)).scalar():
        reasons.append(f"Cart {cart.name!r} is inactive.")
    return " ".join(reasons) or None


@dataclass(frozen=True)
class StatusChange:
    """What :func:`set_status` did: the history row, and whether the change was queued."""

    cart: str
    order_number: str
    label: str
    previous: str | None
    push: str  # "queued" | "not-needed"
    reason: str | None
    history_id: int
    outbox_id: int | None
    note: str
    packages: tuple[Package, ...]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "changed": self.reason != "label unchanged",
                "packages": [asdict(p) for p in self.packages]}


def set_status(conn: Connection, plugins: Plugins, cart_name: str, number: str, label: str, *,
               packages: Sequence[Package] = (), note: str = "") -> StatusChange:
    """Give order ``number`` of a cart a new status label, record it, and queue the push when
    SEOM's rules allow (module docstring). Runs in the caller's transaction."""
    cart = get_cart(conn, cart_name)
    label = canonical_label(label, known_labels(cart))
    note = _sendable("note", note)
    order_id = find_order(conn, cart.name, number).id
    # Lock the order so concurrent changes of one order get their history and queue order right.
    order = conn.execute(select(tables.orders.c.id, tables.orders.c.number, tables.orders.c.status)
                         .where(tables.orders.c.id == order_id).with_for_update()).one()
    previous = order.status
    if previous is not None and _fold(previous) == _fold(label):
        reason: str | None = "label unchanged"
    else:
        reason = _blockers(conn, cart, push_refusal(plugins, cart))
    conn.execute(update(tables.orders).where(tables.orders.c.id == order.id).values(status=label))
    outbox_id = None
    if reason is None:
        payload = {"order_number": order.number, "status": label, "ref_number": "", "note": note,
                   "packages": [asdict(p) for p in packages]}
        outbox.enqueue(conn, [{"cart_id": cart.id, "kind": KIND, "key": order.number, "payload": payload}])
        # enqueue returns nothing; the order's lock makes the newest row of this key ours.
        outbox_id = conn.execute(select(func.max(_O.c.id)).where(
            _O.c.cart_id == cart.id, _O.c.kind == KIND, _O.c.key == order.number)).scalar_one()
    history_id = conn.execute(insert(_H).values(
        order_id=order.id, label=label, previous_label=previous, note=note or None,
        tracking=[asdict(p) for p in packages] or None, changed_at=utcnow(),
        push_state="not-needed" if outbox_id is None else "queued", push_reason=reason, outbox_id=outbox_id,
    ).returning(_H.c.id)).scalar_one()
    return StatusChange(cart.name, order.number, label, previous, "not-needed" if outbox_id is None else "queued",
                        reason, history_id, outbox_id, note, tuple(packages))


def merge_reported(conn: Connection, stored: Mapping[str, Any], rows: Sequence[dict[str, Any]]) -> None:
    """Settle the status of re-sent orders (rule in the module docstring) before they are stored.

    ``rows`` are order rows keyed by ``number`` whose ``status``/``cart_status`` hold what the
    cart sent; ``stored`` maps the numbers already in the store file to their ``id``, ``status``
    and ``cart_status`` (read under lock). Rows are changed in place; history rows are written.
    """
    history = []
    for row in rows:
        old = stored.get(row["number"])
        if old is None:
            continue
        reported = row["cart_status"]
        if reported is None or reported == old.cart_status:  # nothing new from the cart
            row["status"], row["cart_status"] = old.status, old.cart_status
        elif reported != old.status:
            history.append({"order_id": old.id, "label": reported, "previous_label": old.status,
                            "changed_at": utcnow(), "push_state": "not-needed", "push_reason": REPORTED})
    if history:
        insert_many(conn, _H, history)


def requeued(conn: Connection, outbox_ids: Sequence[int]) -> None:
    """History of re-queued status rows says ``queued`` again (for ``outbox retry``)."""
    for start in range(0, len(outbox_ids), _CHUNK):
        conn.execute(update(_H).where(_H.c.outbox_id.in_(list(outbox_ids[start:start + _CHUNK])))
                     .values(push_state="queued", push_reason=None))


def discarded(conn: Connection, outbox_ids: Sequence[int]) -> None:
    """History of discarded status rows says so, keeping why they had been parked (for ``outbox discard``)."""
    for start in range(0, len(outbox_ids), _CHUNK):
        conn.execute(update(_H).where(_H.c.outbox_id.in_(list(outbox_ids[start:start + _CHUNK]))).values(
            push_state="not-needed",
            push_reason=literal("discarded with `seconnect outbox discard`, not sent; it had been parked: ")
            + func.coalesce(_H.c.push_reason, "")))


# -- delivery -----------------------------------------------------------------------------------

def _update_of(payload: dict[str, Any]) -> StatusUpdate:
    return StatusUpdate(order_number=payload["order_number"], status=payload["status"],
                        ref_number=payload.get("ref_number") or "", note=payload.get("note") or "",
                        packages=tuple(Package(**p) for p in payload.get("packages") or ()))


_CHECK_FIRST = "the update may have reached the cart; check the order there before sending it again"


def _retry_hint(row_id: int, reason: str) -> str:
    if reason.startswith(outbox.UNCONFIRMED):
        return (f"outbox row {row_id}: `seconnect outbox retry {row_id} --resend-unconfirmed` sends it again, "
                f"`seconnect outbox discard {row_id}` drops it")
    return f"outbox row {row_id}: `seconnect outbox retry {row_id}` sends it again"


@dataclass
class _Delivery:
    """One cart's status rows of one worker cycle, with what the store file says about them."""

    ctx: outbox.DeliveryContext
    cart: CartDefinition
    capability: Capability | None
    blocked: str | None
    history: dict[int, Any]
    parked_before: dict[str, int]

    def history_of(self, conn: Connection, ids: Sequence[int], state: str, reason: str | None) -> None:
        conn.execute(update(_H).where(_H.c.outbox_id.in_(list(ids))).values(push_state=state, push_reason=reason))

    def order(self, group: outbox.Group) -> outbox.Outcome:
        """Send the order's updates oldest first; stop at the first that is not delivered."""
        rows = sorted(group.rows, key=lambda r: r.id)
        oldest_parked = self.parked_before.get(group.key)
        if oldest_parked is not None and oldest_parked < rows[0].id:
            return self.hold(rows, oldest_parked)
        for i, row in enumerate(rows):
            hist = self.history.get(row.id)
            if hist is not None and hist.push_state == "sent":  # delivered; only its bookkeeping was lost
                self.record_sent(row.id, hist.push_reason)
                continue
            refused = self.refusal(group, row, hist)
            if refused:
                return self.park(rows[i:], refused)
            outcome = self.send(group, row)
            if outcome is not None:
                return outcome if outcome.state == "retry" else self.park(rows[i:], outcome.error or "")
        return outbox.Outcome.sent()

    def refusal(self, group: outbox.Group, row: Any, hist: Any) -> str | None:
        """Why ``row`` must not be sent now, or ``None``."""
        if row.attempts == 0:  # new, or re-queued by the merchant: nothing is in doubt
            return self.blocked
        if hist is None and group.interrupted:
            return f"{outbox.UNCONFIRMED}: delivery was interrupted and the store file has no record of how far it got"
        if hist is not None and (hist.push_reason or "").startswith(SENDING):
            return (f"{outbox.UNCONFIRMED}: the cart was asked ({hist.push_reason}) but no answer was recorded; "
                    f"{_CHECK_FIRST}")
        if hist is not None and hist.push_state == "rejected":  # decided; the outbox just missed it
            return hist.push_reason or "rejected"
        return self.blocked

    def send(self, group: outbox.Group, row: Any) -> outbox.Outcome | None:
        """Send one update; ``None`` when the cart took it, else the outcome (history written)."""
        with self.ctx.store.begin() as conn:
            self.history_of(conn, [row.id], "queued", f"{SENDING} {utcnow():%Y-%m-%d %H:%M:%S} UTC")
        try:
            result: StatusResult = self.ctx.plugins.call("update_order_status", self.cart, self.capability,
                                                         update=_update_of(row.payload))
        except SeconnectError as exc:
            outcome = outbox.Outcome.from_error(exc)
            if outcome.state == "retry" and not certainly_unprocessed(exc):
                return outbox.Outcome.park(f"{outbox.UNCONFIRMED}: {outcome.error} — {_CHECK_FIRST}")
            if outcome.state == "retry" and group.attempts + 1 < self.ctx.policy.max_attempts:
                with self.ctx.store.begin() as conn:
                    self.history_of(conn, [row.id], "queued", f"retrying: {outcome.error}")
                return outcome
            if outcome.state == "retry":
                return outbox.Outcome.park(f"gave up after {group.attempts + 1} attempts: {outcome.error}")
            return outcome
        if not result.accepted:
            return outbox.Outcome.park(f"the cart declined: {result.notes}" if result.notes
                                       else "the cart declined the update (no reason given)")
        self.record_sent(row.id, result.notes or None)
        return None

    def record_sent(self, row_id: int, notes: str | None) -> None:
        """History ``sent`` and the outbox row ``sent`` together, before the next update goes."""
        with self.ctx.store.begin() as conn:
            self.history_of(conn, [row_id], "sent", notes)
            conn.execute(update(_O).where(_O.c.id == row_id, _O.c.state == "sending",
                                          _O.c.claimed_by == self.ctx.worker_id).values(state="sent", sent_at=utcnow()))

    def park(self, rows: Sequence[Any], reason: str) -> outbox.Outcome:
        """Park ``rows[0]`` with ``reason`` and hold the later ones behind it."""
        first, later = rows[0], rows[1:]
        hint = _retry_hint(first.id, reason)
        with self.ctx.store.begin() as conn:
            self.history_of(conn, [first.id], "rejected", reason if hint in reason else f"{reason} — {hint}")
            if later:
                self.history_of(conn, [r.id for r in later], "rejected", self.held_behind(first.id, hint=True))
        more = f" ({len(later)} later update{'' if len(later) == 1 else 's'} of this order held behind it)" \
            if later else ""
        # the later rows get their own reason: only the first is in doubt (or declined)
        return outbox.Outcome.park(reason + more, {r.id: self.held_behind(first.id, hint=False) for r in later})

    def hold(self, rows: Sequence[Any], blocker: int) -> outbox.Outcome:
        """Park all of ``rows``: an older update of their order is parked."""
        with self.ctx.store.begin() as conn:
            self.history_of(conn, [r.id for r in rows], "rejected", self.held_behind(blocker, hint=True))
        return outbox.Outcome.park(self.held_behind(blocker, hint=False))

    def held_behind(self, blocker: int, *, hint: bool) -> str:
        text = f"held behind outbox row {blocker}, an earlier update of this order that was not delivered"
        return f"{text}; `seconnect outbox retry --all --cart {self.cart.name}` sends them in order" if hint else text


def deliver(ctx: outbox.DeliveryContext, cart: CartDefinition, groups: list[outbox.Group]) -> list[outbox.Outcome]:
    """Deliver one cart's status rows, one group per order (rules in the module docstring)."""
    capability, refusal = _gate(ctx.plugins, cart)
    ids = sorted(i for g in groups for i in g.ids)
    history: dict[int, Any] = {}
    with ctx.store.begin() as conn:
        blocked = _blockers(conn, cart, refusal)
        for start in range(0, len(ids), _CHUNK):
            history.update((h.outbox_id, h) for h in conn.execute(
                select(_H.c.outbox_id, _H.c.push_state, _H.c.push_reason)
                .where(_H.c.outbox_id.in_(ids[start:start + _CHUNK]))))
        keys = sorted({g.key for g in groups})
        parked_before: dict[str, int] = {}
        for start in range(0, len(keys), _CHUNK):
            parked_before.update(conn.execute(
                select(_O.c.key, func.min(_O.c.id)).where(
                    _O.c.cart_id == cart.id, _O.c.kind == KIND, _O.c.state == "parked",
                    _O.c.key.in_(keys[start:start + _CHUNK])).group_by(_O.c.key)).all())
    delivery = _Delivery(ctx, cart, capability, blocked, history, parked_before)
    return [delivery.order(group) for group in groups]
