"""`seconnect run inventory-get` / `inventory-send`, and the real-time inventory deliverer.

SEOM's "Get QOH from Website" and "Send QOH to Website" (seom-behaviour §2.6): point-in-time
copies meant to initialise counts, before real-time sync takes over.

* **Get** reads every quantity the cart reports (``sync_inventory`` action ``get``, paged by the
  plugin), maps each cart code to a local product through ``product_cart_codes`` (the WebID
  decides when the cart repeats a code, as Interspire does for variations), and sets local
  quantities to the cart's. Codes the store file does not know are listed, never invented;
  rows without a code are skipped and counted (``skipped_no_code``).
  When several of the cart's records map to one local product (options mode: a parent standing
  for its variations) the product gets their total. Changes are recorded with source
  ``inventory-get from CART`` and reach every *other* synced cart, never the cart they came from.
  The whole list is read before anything is written, so a failed download changes nothing.
  Every product read (changed or not) notes the cart and its newest order, asked before the
  read: that cart's orders up to it are in the figure and take nothing off when imported later
  (docs/inventory.md).
* **Send** sends absolute quantities of the cart's products (or ``--sku`` ones) in batched
  calls (``qohreplace``, 500 SKUs per request in the SETI plugins) and reports per SKU: OK, not
  found, not tracked. Where the cart's answers cannot be trusted (Interspire: every line says
  "Update Error", seti-protocol §6.6-5) the plugin reports ``unverified`` and the quantities are
  read back in one Get and reported verified or mismatched. Negative local quantities (oversold)
  are sent as 0: a cart cannot sell fewer than none. An options-mode parent whose stock the
  cart keeps per variation is skipped, with the reason (docs/inventory.md).
* **Real-time** (:func:`deliver`, outbox kind ``inventory``): one group per SKU and cart; where
  the cart type supports Send the group sends the SKU's *current* local quantity (any number of
  coalesced changes cost one item, and a repeat after a crash is harmless); otherwise the summed
  delta goes out with ``adjust``. Answers the cart cannot vouch for are checked by
  :func:`verify` (outbox kind ``inventory-check``) with one read-back per cart every
  :data:`VERIFY_DELAY_S` seconds, so read-backs never hold up the sends themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from .. import outbox
from ..capabilities import Capability, InventoryLevel
from ..cartdef import CartDefinition
from ..errors import NotFoundError, SeconnectError, UsageError
from ..http import certainly_unprocessed
from ..inventory import (
    KIND,
    QuantityChange,
    apply_changes,
    levels_at,
    note_sources,
    order_mark,
    sendable_codes,
)
from ..operations import InventoryAction, InventoryOutcome, InventoryResult, InventoryRow
from ..plugins import Plugins
from ..store import Store, tables, utcnow
from ..subskus import stored_mode
from .base import JobRun, cart_lock

__all__ = ["JOB_GET", "JOB_SEND", "CHECK_KIND", "inventory_get", "inventory_send", "deliver", "verify",
           "SEND_CHUNK", "LIST_MAX", "VERIFY_DELAY_S", "MAX_RESENDS"]

JOB_GET = "inventory-get"
JOB_SEND = "inventory-send"
#: Items handed to the plugin per call (it splits them into requests its cart accepts).
SEND_CHUNK = 5000
#: Products written per transaction by a Get.
APPLY_CHUNK = 1000
#: Longest lists (unknown codes, failed SKUs) kept in a summary; counts are always complete.
LIST_MAX = 200
#: Outbox kind of the read-back checks that follow real-time sends the cart's answer cannot vouch for.
CHECK_KIND = "inventory-check"
#: Seconds a check waits after its send: one read-back then serves every SKU sent meanwhile.
VERIFY_DELAY_S = 5.0
#: Times a SKU the cart shows differently after a send is sent again before its check is parked.
MAX_RESENDS = 2

_P = tables.products
_C = tables.product_cart_codes
_ALL_LEVELS = frozenset(InventoryLevel)


@dataclass(frozen=True)
class _Code:
    """A product's code at the cart, with what the store file knows of it."""

    product_id: int
    sku: str
    qoh: int | None
    parent_id: int | None
    code: str
    web_id: str | None
    cart_qoh: int | None
    last_sent_qoh: int | None


def _cart_codes(conn: Connection, cart: CartDefinition, product_ids: Sequence[int] | None = None) -> list[_Code]:
    query = select(_C.c.product_id, _P.c.sku, _P.c.qoh, _P.c.parent_id, _C.c.code, _C.c.web_id, _C.c.cart_qoh,
                   _C.c.last_sent_qoh).join(_P, _P.c.id == _C.c.product_id).where(_C.c.cart_id == cart.id)
    if product_ids is None:
        return [_Code(*r) for r in conn.execute(query.order_by(_P.c.sku, _C.c.code))]
    found: list[_Code] = []
    ids = sorted(set(product_ids))
    for start in range(0, len(ids), 1000):
        found += [_Code(*r) for r in conn.execute(query.where(_C.c.product_id.in_(ids[start:start + 1000])))]
    return found


def _by_product(codes: Iterable[_Code]) -> dict[int, list[_Code]]:
    out: dict[int, list[_Code]] = {}
    for c in codes:
        out.setdefault(c.product_id, []).append(c)
    return out


def _sendable(parent_id: int | None, entries: Sequence[_Code],
              code_levels: Mapping[tuple[str, str | None], InventoryLevel], levels: Iterable[InventoryLevel]
              ) -> tuple[list[str], str | None]:
    """:func:`sendable_codes` for a product's code rows (``code_levels``: from :func:`levels_at`)."""
    return sendable_codes(parent_id, [(c.code, code_levels[(c.code, c.web_id)]) for c in entries], levels,
                          reported=[c.code for c in entries if c.cart_qoh is not None])


def _cap(items: list[Any]) -> list[Any]:
    return items[:LIST_MAX]


# -- Get --------------------------------------------------------------------------------------------

class _CodeMap:
    """Finds the local product of a cart record: by WebID first (codes repeat), else by code."""

    def __init__(self, codes: Sequence[_Code]):
        self.by_code = {c.code: c for c in codes}
        self.by_web_id: dict[str, _Code] = {}
        for c in codes:
            if c.web_id:
                self.by_web_id.setdefault(c.web_id, c)

    def find(self, row: InventoryRow) -> _Code | None:
        if row.web_id and row.web_id in self.by_web_id:
            return self.by_web_id[row.web_id]
        known = self.by_code.get(row.code)
        if known is None:
            return None
        # a record with another WebID is another cart product that happens to repeat the code
        return known if not (row.web_id and known.web_id and known.web_id != row.web_id) else None


def _read_all(plugins: Plugins, cart: CartDefinition, progress: Callable[[int], None] | None = None
              ) -> list[InventoryRow]:
    rows: list[InventoryRow] = []
    for page in plugins.call("sync_inventory", cart, Capability.INVENTORY_GET, action=InventoryAction.GET, items=[]):
        rows += page
        if progress:
            progress(len(page))
    return rows


def inventory_get(store: Store, plugins: Plugins, cart: CartDefinition, *, dry_run: bool = False,
                  progress: Callable[[int], None] | None = None,
                  on_wait: Callable[[], None] | None = None) -> dict[str, Any]:
    """Copy the cart's quantities on hand into the store file; returns the summary.

    ``dry_run`` reads the cart and reports the differences (``diff``: SKU, local, cart) without
    writing anything, not even a run record.
    """
    plugins.require(cart, Capability.INVENTORY_GET)
    summary: dict[str, Any] = {"cart": cart.name, "dry_run": dry_run, "received": 0, "matched": 0, "changed": 0,
                               "unchanged": 0, "not_tracked_at_cart": 0, "skipped_no_code": 0, "unknown_count": 0,
                               "unknown_variations": 0,
                               "unknown": [],
                               "diff": [], "queued": 0}
    if dry_run:
        _get(store, plugins, cart, summary, progress, write=False)
        return summary
    with JobRun(store, JOB_GET, cart) as run, cart_lock(store, JOB_GET, cart, on_wait=on_wait):
        try:
            _get(store, plugins, cart, summary, progress, write=True)
        finally:
            run.summary = summary
    return summary


def _get(store: Store, plugins: Plugins, cart: CartDefinition, summary: dict[str, Any],
         progress: Callable[[int], None] | None, *, write: bool) -> None:
    mark = order_mark(store, plugins, cart) if write else None
    rows = _read_all(plugins, cart, progress)
    summary["received"] = len(rows)
    with store.begin() as conn:
        codes = _cart_codes(conn, cart)
        options_mode = stored_mode(conn, cart) == "options"
    mapping = _CodeMap(codes)
    totals: dict[int, int | None] = {}
    seen: dict[str, int | None] = {}
    unknown: list[dict[str, Any]] = []
    for row in rows:
        if not row.code:  # a row naming no product (e.g. <Product /> for one without stock rows)
            summary["skipped_no_code"] += 1
            continue
        known = mapping.find(row)
        if known is None:
            # A record repeating a known product's code with its own WebID is a variation: in options
            # mode it has no local product (re-importing does not change that); else it is new at the cart.
            why = "variation" if options_mode and row.code in mapping.by_code else "not-imported"
            unknown.append({"code": row.code, "web_id": row.web_id, "qoh": row.qoh, "reason": why})
            continue
        summary["matched"] += 1
        seen[known.code] = row.qoh
        if row.qoh is not None:
            totals[known.product_id] = (totals.get(known.product_id) or 0) + row.qoh
        else:
            totals.setdefault(known.product_id, None)
    summary["unknown_count"] = len(unknown)
    summary["unknown_variations"] = sum(u["reason"] == "variation" for u in unknown)
    summary["unknown"] = _cap(unknown)
    local = {c.product_id: c for c in codes}
    changes: list[QuantityChange] = []
    diff: list[dict[str, Any]] = []
    for pid, total in totals.items():
        if total is None:
            summary["not_tracked_at_cart"] += 1
            continue
        if local[pid].qoh == total:
            summary["unchanged"] += 1
            continue
        changes.append(QuantityChange(pid, qoh=total))
        diff.append({"sku": local[pid].sku, "local": local[pid].qoh, "cart": total})
    summary["changed"] = len(changes)
    summary["diff"] = _cap(sorted(diff, key=lambda d: d["sku"]))
    if not write:
        return
    by_code = sorted(seen.items())
    read = sorted(pid for pid, total in totals.items() if total is not None)
    for start in range(0, max(len(changes), len(by_code), len(read)), APPLY_CHUNK):
        with store.begin() as conn:
            note_sources(conn, cart, read[start:start + APPLY_CHUNK], mark)
            applied = apply_changes(conn, plugins, changes[start:start + APPLY_CHUNK],
                                    source=f"inventory-get from {cart.name}", reason="inventory-get", cart=cart)
            summary["queued"] += sum(len(a.queued) for a in applied)
            chunk = by_code[start:start + APPLY_CHUNK]
            if chunk:
                conn.execute(update(_C).where(_C.c.cart_id == cart.id, _C.c.code == bindparam("c"))
                             .values(cart_qoh=bindparam("q"), updated_at=utcnow()),
                             [{"c": code, "q": qoh} for code, qoh in chunk])


# -- sending and checking -----------------------------------------------------------------------------

def _send_items(plugins: Plugins, cart: CartDefinition, items: Sequence[tuple[str, int]]) -> list[InventoryResult]:
    """Absolute quantities via the hook, one result per item. A batch the plugin refuses as bad
    input (an unsendable SKU) is split until the bad items are found; the rest still go out."""
    if not items:
        return []
    try:
        results = list(plugins.call("sync_inventory", cart, Capability.INVENTORY_SEND, action=InventoryAction.SEND,
                                    items=list(items)))
    except UsageError as exc:
        if len(items) == 1:
            return [InventoryResult(items[0][0], InventoryOutcome.ERROR, note=exc.message)]
        half = len(items) // 2
        return _send_items(plugins, cart, items[:half]) + _send_items(plugins, cart, items[half:])
    by_code = {r.code: r for r in results}
    return [by_code.get(code) or InventoryResult(code, InventoryOutcome.ERROR, note="the cart gave no result")
            for code, _ in items]


class _ReadBack:
    """The cart's quantities after a send, read in one Get. A record is found by its WebID when
    the store file knows it (a cart may repeat a parent's code for every variation, and the
    address its plugin gave a variation is not what it reports), else by its code."""

    def __init__(self, plugins: Plugins, cart: CartDefinition):
        self.by_code: dict[str, int | None] = {}
        self.by_web_id: dict[str, int | None] = {}
        for row in _read_all(plugins, cart):
            self.by_code.setdefault(row.code, row.qoh)
            if row.web_id:
                self.by_web_id.setdefault(row.web_id, row.qoh)

    def qoh(self, code: str, web_id: str | None) -> tuple[bool, int | None]:
        """(whether the cart lists the record, its quantity)."""
        if web_id and web_id in self.by_web_id:
            return True, self.by_web_id[web_id]
        if code in self.by_code:
            return True, self.by_code[code]
        return False, None


@dataclass(frozen=True)
class _Verdict:
    outcome: str  # ok | verified | not-found | not-tracked | error | mismatched
    note: str = ""
    cart_qoh: int | None = None

    @property
    def good(self) -> bool:
        return self.outcome in ("ok", "verified")


def _judge(plugins: Plugins, cart: CartDefinition, items: Sequence[tuple[str, int]],
           results: Sequence[InventoryResult], web_ids: dict[str, str | None]) -> dict[str, _Verdict]:
    """Per code: what the cart said, with ``unverified`` answers settled by one read-back."""
    verdicts: dict[str, _Verdict] = {}
    unverified = []
    for (code, qty), result in zip(items, results, strict=True):
        outcome = result.outcome
        if outcome is InventoryOutcome.OK:
            verdicts[code] = _Verdict("ok", result.note, qty)
        elif outcome is InventoryOutcome.NOT_FOUND:
            verdicts[code] = _Verdict("not-found", result.note or "the cart does not know this SKU")
        elif outcome is InventoryOutcome.NOT_TRACKED:
            verdicts[code] = _Verdict("not-tracked", result.note or "the cart does not track stock of this SKU")
        elif outcome is InventoryOutcome.UNVERIFIED:
            unverified.append((code, qty))
        else:
            verdicts[code] = _Verdict("error", result.note or "the cart reported an error")
    if unverified:
        back = _ReadBack(plugins, cart)
        for code, qty in unverified:
            present, qoh = back.qoh(code, web_ids.get(code))
            if not present:
                verdicts[code] = _Verdict("not-found", "not in the cart's quantity list after sending")
            elif qoh is None:
                verdicts[code] = _Verdict("not-tracked", "the cart reports no quantity for it")
            elif qoh == qty:
                verdicts[code] = _Verdict("verified", "read back", qoh)
            else:
                verdicts[code] = _Verdict("mismatched", f"the cart shows {qoh} after being sent {qty}", qoh)
    return verdicts


def _record_sent(conn: Connection, cart: CartDefinition, sent: dict[str, int], verdicts: dict[str, _Verdict]) -> None:
    """``last_sent_qoh`` of what the cart took (and ``cart_qoh`` where its answer says what it now
    holds); a code without a verdict was sent but awaits its read-back: only ``last_sent_qoh``."""
    where = (_C.c.cart_id == cart.id) & (_C.c.code == bindparam("c"))
    # rows are updated in code order, as everywhere: two workers never wait on each other in a cycle
    good = [{"c": code, "s": qty, "q": verdicts[code].cart_qoh} for code, qty in sorted(sent.items())
            if code in verdicts and verdicts[code].good]
    if good:
        conn.execute(update(_C).where(where).values(last_sent_qoh=bindparam("s"), cart_qoh=bindparam("q"),
                                                    updated_at=utcnow()), good)
    waiting = [{"c": code, "s": qty} for code, qty in sorted(sent.items()) if code not in verdicts]
    if waiting:
        conn.execute(update(_C).where(where).values(last_sent_qoh=bindparam("s"), updated_at=utcnow()), waiting)


def _settle_send(store: Store, plugins: Plugins, cart: CartDefinition,
                 answered: Sequence[tuple[tuple[str, int], InventoryResult]], owner: dict[str, _Code]
                 ) -> dict[str, _Verdict]:
    """Judge sent items (reading back the unverified ones) and record what the cart now holds."""
    if not answered:
        return {}
    items = [item for item, _ in answered]
    verdicts = _judge(plugins, cart, items, [r for _, r in answered], {c: owner[c].web_id for c, _ in items})
    with store.begin() as conn:
        _record_sent(conn, cart, dict(items), verdicts)
    return verdicts


# -- Send -------------------------------------------------------------------------------------------

def inventory_send(store: Store, plugins: Plugins, cart: CartDefinition, *, skus: Sequence[str] = (),
                   dry_run: bool = False, progress: Callable[[int], None] | None = None,
                   on_wait: Callable[[], None] | None = None) -> dict[str, Any]:
    """Send local quantities to the cart (every product it has a code for, or ``skus``).

    Returns the summary: ``counts`` per outcome (ok, verified, not-found, not-tracked, error,
    mismatched, skipped; ``untracked`` for products without a local quantity, such as parents of
    sub-SKUs), ``problems`` (SKU, code, outcome, note) and, for a dry run, ``plan`` (SKU, code,
    quantity, last sent, ``cart``: what the cart holds now) and ``changes``, how many of the
    items would change the cart's quantity (read with one Get; None when the cart type has no
    Get), with nothing sent.
    """
    plugins.require(cart, Capability.INVENTORY_SEND)
    with store.begin() as conn:
        if skus:
            ids = dict(conn.execute(select(_P.c.sku, _P.c.id).where(_P.c.sku.in_(list(skus)))).all())
            missing = [s for s in skus if s not in ids]
            if missing:
                raise NotFoundError(f"no product with SKU {', '.join(repr(s) for s in missing[:10])} in the store file.",
                                    hint="`seconnect inventory list` shows the SKUs there are; products come from "
                                         "`seconnect run import-products --cart NAME`.")
            codes = _cart_codes(conn, cart, list(ids.values()))
        else:
            codes = _cart_codes(conn, cart)
    summary: dict[str, Any] = {"cart": cart.name, "dry_run": dry_run, "requested": len(skus) or None,
                               "items": 0, "counts": {}, "problems": [], "plan": []}
    counts: dict[str, int] = {}
    problems: list[dict[str, Any]] = []
    items: list[tuple[str, int]] = []
    owner: dict[str, _Code] = {}
    grouped = _by_product(codes)
    for sku in skus:
        if not any(c.sku == sku for c in codes):
            problems.append({"sku": sku, "code": None, "outcome": "skipped", "note": f"no code at cart {cart.name}"})
    levels = levels_at(plugins, cart, ((c.code, c.web_id) for c in codes))
    for entries in grouped.values():
        first = entries[0]
        if first.qoh is None:  # e.g. the parent of sub-SKUs; named only when asked for by SKU
            if skus:
                problems.append({"sku": first.sku, "code": None, "outcome": "skipped",
                                 "note": "stock not tracked locally (`seconnect inventory set` starts tracking it)"})
            else:
                counts["untracked"] = counts.get("untracked", 0) + 1
            continue
        usable, why = _sendable(first.parent_id, entries, levels, _ALL_LEVELS)
        if not usable:
            problems.append({"sku": first.sku, "code": None, "outcome": "skipped", "note": why})
            continue
        for c in entries:
            if c.code in usable:
                items.append((c.code, max(c.qoh or 0, 0)))
                owner[c.code] = c
    for p in problems:
        counts[p["outcome"]] = counts.get(p["outcome"], 0) + 1  # "untracked" was counted as it went
    summary["items"] = len(items)
    if dry_run:
        # The cart's own figures, read live, say what the send would change (None: no Get to ask).
        back = _ReadBack(plugins, cart) if items and plugins.capabilities_for(cart).supports(
            Capability.INVENTORY_GET) else None
        plan = [{"sku": owner[code].sku, "code": code, "qoh": qty, "last_sent": owner[code].last_sent_qoh,
                 "cart": back.qoh(code, owner[code].web_id)[1] if back else None} for code, qty in items]
        summary["changes"] = sum(p["cart"] != p["qoh"] for p in plan) if back or not items else None
        summary["plan"] = _cap(sorted(plan, key=lambda p: p["cart"] == p["qoh"]))  # changes first
        summary["counts"], summary["problems"] = counts, _cap(problems)
        return summary
    with JobRun(store, JOB_SEND, cart) as run, cart_lock(store, JOB_SEND, cart, on_wait=on_wait):
        try:
            verdicts: dict[str, _Verdict] = {}
            unverified: list[tuple[tuple[str, int], InventoryResult]] = []
            for start in range(0, len(items), SEND_CHUNK):
                chunk = items[start:start + SEND_CHUNK]
                answered = list(zip(chunk, _send_items(plugins, cart, chunk), strict=True))
                # answers that can be trusted are recorded per chunk; the rest once read back
                trusted = [(item, r) for item, r in answered if r.outcome is not InventoryOutcome.UNVERIFIED]
                unverified += [(item, r) for item, r in answered if r.outcome is InventoryOutcome.UNVERIFIED]
                verdicts.update(_settle_send(store, plugins, cart, trusted, owner))
                if progress:
                    progress(len(chunk))
            verdicts.update(_settle_send(store, plugins, cart, unverified, owner))
            for code, verdict in verdicts.items():
                counts[verdict.outcome] = counts.get(verdict.outcome, 0) + 1
                if not verdict.good:
                    problems.append({"sku": owner[code].sku, "code": code, "outcome": verdict.outcome,
                                     "note": verdict.note})
        finally:
            summary["counts"], summary["problems"] = counts, _cap(problems)
            run.summary = summary
    return summary


# -- real-time delivery (outbox kind "inventory") --------------------------------------------------------

def _parked_all(groups: Sequence[outbox.Group], why: str) -> list[outbox.Outcome]:
    return [outbox.Outcome.park(why)] * len(groups)


def deliver(ctx: outbox.DeliveryContext, cart: CartDefinition, groups: list[outbox.Group]) -> list[outbox.Outcome]:
    """Deliver coalesced inventory changes to one cart (rules in the module docstring)."""
    caps = ctx.plugins.capabilities_for(cart)
    with ctx.store.begin() as conn:
        active = conn.execute(select(tables.carts.c.active).where(tables.carts.c.id == cart.id)).scalar()
        if not active:
            return _parked_all(groups, f"cart {cart.name!r} is inactive")
        if not cart.param("SynchQOH", False):
            return _parked_all(groups, f"SynchQOH is FALSE for cart {cart.name!r}: inventory is not synchronized")
        if not caps.supports(Capability.INVENTORY_REALTIME):
            return _parked_all(groups, f"cart type {cart.type} does not support real-time inventory")
        products = {r.sku: r for r in conn.execute(select(_P.c.id, _P.c.sku, _P.c.qoh, _P.c.parent_id).where(
            _P.c.sku.in_([g.key for g in groups])))}
        found = _cart_codes(conn, cart, [p.id for p in products.values()])
    codes = _by_product(found)
    levels = levels_at(ctx.plugins, cart, ((c.code, c.web_id) for c in found))
    outcomes: dict[int, outbox.Outcome] = {}
    plan: dict[int, tuple[Any, list[_Code]]] = {}
    for i, group in enumerate(groups):
        product = products.get(group.key)
        if product is None:
            outcomes[i] = outbox.Outcome.park(f"SKU {group.key!r} is no longer in the store file")
            continue
        if product.qoh is None:
            outcomes[i] = outbox.Outcome.park("the SKU's stock is no longer tracked locally")
            continue
        entries = codes.get(product.id, [])
        usable, why = _sendable(product.parent_id, entries, levels, caps.realtime_levels)
        if not usable:
            outcomes[i] = outbox.Outcome.park(why or "nothing to send")
            continue
        plan[i] = (product, [c for c in entries if c.code in usable])
    if plan:
        try:
            if caps.supports(Capability.INVENTORY_SEND):
                outcomes.update(_deliver_absolute(ctx, cart, groups, plan))
            else:
                outcomes.update(_deliver_deltas(ctx, cart, groups, plan))
        except SeconnectError as exc:  # the cart could not be asked at all: same fate for every SKU
            outcomes.update(dict.fromkeys(plan, outbox.Outcome.from_error(exc)))
    return [outcomes[i] for i in range(len(groups))]


def _deliver_absolute(ctx: outbox.DeliveryContext, cart: CartDefinition, groups: list[outbox.Group],
                      plan: dict[int, tuple[Any, list[_Code]]]) -> dict[int, outbox.Outcome]:
    items = [(c.code, max(product.qoh, 0)) for product, entries in plan.values() for c in entries]
    answered = dict(zip([code for code, _ in items], _send_items(ctx.plugins, cart, items), strict=True))
    trusted = [(code, qty) for code, qty in items if answered[code].outcome is not InventoryOutcome.UNVERIFIED]
    verdicts = _judge(ctx.plugins, cart, trusted, [answered[code] for code, _ in trusted], {})
    outcomes: dict[int, outbox.Outcome] = {}
    checks: list[dict[str, Any]] = []
    due = utcnow() + timedelta(seconds=VERIFY_DELAY_S)
    for i, (product, entries) in plan.items():
        bad = [(c.code, verdicts[c.code]) for c in entries if c.code in verdicts and not verdicts[c.code].good]
        parked = [f"{code}: {v.note}" for code, v in bad if v.outcome in ("not-found", "not-tracked")]
        if parked:
            outcomes[i] = outbox.Outcome.park("; ".join(parked))
        elif bad:
            outcomes[i] = outbox.Outcome.retry("; ".join(f"{code}: {v.note}" for code, v in bad))
        else:
            outcomes[i] = outbox.Outcome.sent(settles_parked=True)
            resent = max((int(p.get("round") or 0) for p in groups[i].payloads), default=0)
            checks += [{"cart_id": cart.id, "kind": CHECK_KIND, "key": groups[i].key, "next_attempt_at": due,
                        "payload": {"code": c.code, "web_id": c.web_id, "sent": max(product.qoh, 0),
                                    "round": resent}}
                       for c in entries if c.code not in verdicts]
    with ctx.store.begin() as conn:
        _record_sent(conn, cart, dict(items), verdicts)
        outbox.enqueue(conn, checks)
        _resync_if_moved(conn, cart, [groups[i] for i in plan], {groups[i].key: p.qoh for i, (p, _) in plan.items()})
    return outcomes


def verify(ctx: outbox.DeliveryContext, cart: CartDefinition, groups: list[outbox.Group]) -> list[outbox.Outcome]:
    """Check quantities sent without a trustworthy answer (outbox kind ``inventory-check``).

    Checks wait :data:`VERIFY_DELAY_S` after their send, and a read-back also settles the cart's
    later checks that it already proves, so one read of the cart's whole quantity list serves
    every SKU sent meanwhile (Interspire lists its whole catalogue in one page). Per SKU: the cart shows what was sent → done (``cart_qoh`` recorded); the local
    quantity moved on since → done (the newer send is checked itself); the cart does not list
    the code, or lists no quantity → parked; it shows another number (a sale at the cart in
    between, or the update did not apply) → the current quantity is sent again, at most
    :data:`MAX_RESENDS` times, then parked with both numbers.
    """
    back = _ReadBack(ctx.plugins, cart)
    with ctx.store.begin() as conn:
        local = dict(conn.execute(select(_P.c.sku, _P.c.qoh).where(_P.c.sku.in_([g.key for g in groups]))).all())
    outcomes: list[outbox.Outcome] = []
    seen: dict[str, int | None] = {}
    again: dict[str, int] = {}
    for group in groups:
        latest = {p["code"]: p for p in group.payloads}  # older sends of a code are superseded
        problems = []
        for code, p in latest.items():
            present, qoh = back.qoh(code, p.get("web_id"))
            if present and qoh == p["sent"]:
                seen[code] = qoh
            elif local.get(group.key) is None or max(local[group.key], 0) != p["sent"]:
                continue  # superseded by a newer change, whose own send is checked
            elif not present:
                problems.append(f"{code}: not in the cart's quantity list after sending")
            elif qoh is None:
                problems.append(f"{code}: the cart reports no quantity for it")
            elif int(p.get("round") or 0) < MAX_RESENDS:
                again[group.key] = int(p.get("round") or 0) + 1
            else:
                problems.append(f"{code}: the cart shows {qoh} after being sent {p['sent']} "
                                f"({int(p.get('round') or 0) + 1} times)")
        outcomes.append(outbox.Outcome.park("; ".join(problems)) if problems else outbox.Outcome.sent())
    with ctx.store.begin() as conn:
        seen.update(_settle_early_checks(conn, cart, back))
        if seen:
            conn.execute(update(_C).where(_C.c.cart_id == cart.id, _C.c.code == bindparam("c"))
                         .values(cart_qoh=bindparam("q"), updated_at=utcnow()),
                         [{"c": code, "q": qoh} for code, qoh in sorted(seen.items())])
        ob = tables.outbox
        waiting = set(conn.execute(select(ob.c.key).where(ob.c.cart_id == cart.id, ob.c.kind == KIND,
                                                          ob.c.state == "pending", ob.c.key.in_(list(again))))
                      .scalars()) if again else set()
        outbox.enqueue(conn, [{"cart_id": cart.id, "kind": KIND, "key": key,
                               "payload": {"delta": 0, "qoh": local[key], "resync": True, "round": n}}
                              for key, n in again.items() if key not in waiting])
    return outcomes


def _settle_early_checks(conn: Connection, cart: CartDefinition, back: _ReadBack) -> dict[str, int | None]:
    """Checks of this cart not due yet that the read-back in hand already proves are done now,
    so that one read-back per cart serves every send of the last :data:`VERIFY_DELAY_S` seconds
    (the rest wait for their own turn). Only rows nobody has claimed change."""
    ob = tables.outbox
    waiting = conn.execute(select(ob.c.id, ob.c.payload).where(
        ob.c.cart_id == cart.id, ob.c.kind == CHECK_KIND, ob.c.state == "pending").order_by(ob.c.id)).all()
    proven = [(r.id, r.payload["code"], r.payload["sent"]) for r in waiting
              if back.qoh(r.payload["code"], r.payload.get("web_id")) == (True, r.payload["sent"])]
    ids = [row_id for row_id, _, _ in proven]
    for start in range(0, len(ids), 1000):
        conn.execute(update(ob).where(ob.c.id.in_(ids[start:start + 1000]), ob.c.state == "pending")
                     .values(state="sent", sent_at=utcnow()))
    return {code: qty for _, code, qty in proven}


def _resync_if_moved(conn: Connection, cart: CartDefinition, groups: Sequence[outbox.Group],
                     sent_qoh: dict[str, int]) -> None:
    """Queue a fresh send for SKUs whose quantity changed while we were sending and that no
    pending row will deliver: only a delivery that overlapped ours (another worker, same SKU)
    can cause that, and then the later-landing send may have carried the older quantity."""
    now_qoh = dict(conn.execute(select(_P.c.sku, _P.c.qoh).where(_P.c.sku.in_(list(sent_qoh)))).all())
    moved = [k for k, q in sent_qoh.items() if now_qoh.get(k, q) != q]
    if not moved:
        return
    ob = tables.outbox
    waiting = set(conn.execute(select(ob.c.key).where(ob.c.cart_id == cart.id, ob.c.kind == KIND,
                                                     ob.c.state == "pending", ob.c.key.in_(moved))).scalars())
    by_key = {g.key: g for g in groups}
    outbox.enqueue(conn, [{"cart_id": cart.id, "kind": KIND, "key": k,
                           "payload": {"product_id": by_key[k].payloads[-1].get("product_id"), "delta": 0,
                                       "qoh": now_qoh[k], "resync": True}}
                          for k in moved if k not in waiting])


def _deliver_deltas(ctx: outbox.DeliveryContext, cart: CartDefinition, groups: list[outbox.Group],
                    plan: dict[int, tuple[Any, list[_Code]]]) -> dict[int, outbox.Outcome]:
    """Summed deltas with ``adjust``, one group at a time. A delta must not be applied twice, so
    a failure that may have reached the cart parks the group instead of retrying it."""
    outcomes: dict[int, outbox.Outcome] = {}
    down: str | None = None
    for i, (_product, entries) in plan.items():
        group = groups[i]
        if down:
            outcomes[i] = outbox.Outcome.retry(f"not tried: {down}")
            continue
        if group.interrupted:
            outcomes[i] = outbox.Outcome.park(
                "a worker stopped while sending this change, so the cart may or may not have applied it; check the "
                f"cart's quantity, then `seconnect run inventory-send --cart {cart.name!r} --sku {group.key!r}` "
                "if the cart supports it, or `seconnect outbox retry ID`")
            continue
        delta = sum(int(p.get("delta") or 0) for p in group.payloads)
        if delta == 0:
            outcomes[i] = outbox.Outcome.sent(note="the changes cancel out")
            continue
        try:
            results = ctx.plugins.call("sync_inventory", cart, Capability.INVENTORY_REALTIME,
                                       action=InventoryAction.ADJUST, items=[(c.code, delta) for c in entries])
        except SeconnectError as exc:
            if exc.retriable and not certainly_unprocessed(exc):
                outcomes[i] = outbox.Outcome.park(f"{exc.message}; the cart may or may not have applied the delta "
                                                  f"{delta:+d}: check its quantity, then `seconnect outbox retry ID`")
            else:
                outcomes[i] = outbox.Outcome.from_error(exc)
            if exc.retriable:
                down = exc.message
            continue
        notes = [(r.code, r.outcome, r.note) for r in results]
        final = [n for n in notes if n[1] in (InventoryOutcome.NOT_FOUND, InventoryOutcome.NOT_TRACKED)]
        failed = [n for n in notes if n[1] is InventoryOutcome.ERROR]
        if final:
            outcomes[i] = outbox.Outcome.park("; ".join(f"{c}: {o.value} {n}".strip() for c, o, n in final))
        elif failed:
            outcomes[i] = outbox.Outcome.retry("; ".join(f"{c}: {n or 'the cart reported an error'}" for c, _, n in failed))
        else:
            outcomes[i] = outbox.Outcome.sent()
    return outcomes
