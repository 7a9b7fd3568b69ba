"""Cart-type plugins for SETI scripts, written once for every SETI dialect.

A plugin for a cart that speaks SETI is one :class:`SetiPlugin` instance: the cart type it
declares plus a :class:`SetiDialect` saying where this cart's script departs from the protocol
(the real Interspire module pages customers once, cannot be trusted on ``qohreplace`` replies,
addresses variations by codes of its own…). Register the instance under the ``seconnect``
entry-point group (``name = "package:plugin"``); both built-in plugins do exactly that.

Every SETI type has the SETI system parameters (:data:`SETI_PARAMS`: the XML variants of the
inventory and status calls, and ``UseGenericStatusUpdates``, which makes a type that does not
declare status updates support them for that cart: the generic ``updatestatus`` call is made).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import date, timedelta

from ..capabilities import Capabilities, Capability, InventoryLevel, Support
from ..cartdef import CartDefinition, CartType
from ..hookspecs import hookimpl
from ..http import RetryPolicy
from ..operations import (
    InventoryAction,
    InventoryOutcome,
    InventoryResult,
    InventoryRow,
    OrderBatch,
    ScriptVersion,
    StatusResult,
    StatusUpdate,
)
from ..paramdef import Param
from .client import SetiClient
from .pool import downloads_in_order
from .values import seti_date

__all__ = ["SETI_ORDER_NUMBER", "SETI_PARAMS", "SetiDialect", "SetiPlugin", "echoes_omversion", "variation_web_id"]

#: SETI order numbers are whole numbers: scripts select ``lastorder`` by comparing numbers, and
#: one that gets text re-sends everything or fails (seti-protocol §3.2, §3.3).
SETI_ORDER_NUMBER = r"[0-9]+"

# qohreplace entries per request: large enough to make a 50k-SKU send a hundred requests,
# small enough for any script's form-field limits.
QOH_REPLACE_CHUNK = 500

# Orders handed to core as one batch when downloads run ahead of storing: pages already
# downloaded are joined, so a small DownloadBatchSize does not mean a transaction per 50 orders.
JOINED_BATCH_MAX = 1000

# Orders asked for from the last announced one on, to learn the newest order's number.
NEWEST_PAGE = 20

#: The system parameters every SETI cart type has (they apply to no other type).
SETI_PARAMS: Mapping[str, Param] = {p.name: p for p in (
    Param("UseGenericStatusUpdates", "bool", False, "cart",
          "Send order status updates to this cart with the generic SETI updatestatus call, even "
          "when its cart type does not declare status-update support."),
    Param("GenericStatusSendXML", "bool", False, "cart",
          "Send generic status updates as XML in the update field instead of form fields."),
    Param("GenericQOHChangeSendAsXML", "bool", False, "cart",
          "Send inventory updates as XML instead of SKU~QTY lists (only for scripts that accept it)."),
)}

_VARIATION_WEB_ID = re.compile(r"^\d+-\d+$")


def variation_web_id(code: str, web_id: str | None) -> InventoryLevel:
    """SETI's default level of a code: ``attribute`` when its WebID is ``<product id>-<combination
    id>`` (a variation of the cart's own product, as SETI scripts number them), else ``product``."""
    return InventoryLevel.ATTRIBUTE if _VARIATION_WEB_ID.match(web_id or "") else InventoryLevel.PRODUCT


_OUTCOMES = {"OK": InventoryOutcome.OK, "NF": InventoryOutcome.NOT_FOUND, "NA": InventoryOutcome.NOT_TRACKED}


def echoes_omversion(client: SetiClient, version: str) -> bool:
    """Whether the script reports SEOM's own version back, as the Interspire/BigCommerce gateway
    does (section 6.2): the version equals the omversion sent, and a second probe with another
    omversion is echoed too (so a script whose own version happens to match is not mistaken)."""
    if version != client.omversion:
        return False
    probe = "5.912" if client.omversion != "5.912" else "5.913"
    return client.send_version(omversion=probe) == probe


# lastdate is a day (``2-Dec-2019``, section 2.3) and scripts differ on whether it means "on or
# after" or "after": sending the day before the newest imported order's day means no order dated
# that day, to the second, is missed. Orders sent twice are matched by number and updated.
LASTDATE_OVERLAP = timedelta(days=1)


def _number_of(records: Sequence[dict], previous: str) -> str:
    """The checkpoint after ``records``: the last order number in them (orders without one are
    quarantined by core; a batch of only such orders keeps ``previous``)."""
    return next((str(r["number"]) for r in reversed(records) if isinstance(r, dict) and r.get("number")),
                previous)


@dataclass(frozen=True)
class SetiDialect:
    """Where a cart's script departs from the spec-style protocol."""

    single_page_customers: bool = False
    """Ask for every customer in one request (a script whose paging breaks after one batch)."""
    single_page_products: bool = False
    """Ask for every product in one request (a script whose product paging has no stable order)."""
    trusts_inventory_replies: bool = True
    """False when the script's per-SKU results are meaningless; results become ``unverified``."""
    product_record: Callable[[dict], dict] | None = None
    """Adds what the plugin knows about a product record (e.g. which variation it is)."""
    can_adjust: Callable[[str], bool] | None = None
    """False for codes whose ``invupdate`` is known to fail at this cart."""
    code_level: Callable[[str, str | None], InventoryLevel] = variation_web_id
    """The inventory level of a ``(code, web_id)`` the cart reported (hook ``inventory_levels``)."""
    script_warnings: Callable[[SetiClient, str], list[str]] | None = None
    """Given the client and the reported version: why the script does not look like this cart
    type's (``carts test`` prints it), or nothing."""


class SetiPlugin:
    """The hook implementations of one SETI cart type."""

    def __init__(self, cart_type: CartType, dialect: SetiDialect | None = None):
        self.cart_type = cart_type
        self.dialect = dialect or SetiDialect()

    def _mine(self, cart: CartDefinition) -> bool:
        return cart.type == self.cart_type.id

    @staticmethod
    def _client(cart: CartDefinition) -> SetiClient:
        return SetiClient.for_cart(cart)

    # -- declaration ----------------------------------------------------------------------
    @hookimpl
    def seconnect_cart_types(self) -> list[CartType]:
        return [self.cart_type]

    @hookimpl
    def seconnect_cart_params(self) -> dict[str, Iterable[Param]]:
        return {self.cart_type.id: SETI_PARAMS.values()}

    # -- operations -----------------------------------------------------------------------
    @hookimpl
    def capabilities(self, cart: CartDefinition) -> Capabilities | None:
        if not self._mine(cart):
            return None
        declared = self.cart_type.capabilities
        if declared.supports(Capability.STATUS_UPDATES) or not SETI_PARAMS["UseGenericStatusUpdates"].of(cart):
            return declared
        return Capabilities({**declared.support, Capability.STATUS_UPDATES: Support.SUPPORTED},
                            declared.realtime_levels)

    @hookimpl
    def inventory_levels(self, cart: CartDefinition, codes: Sequence[tuple[str, str | None]]
                         ) -> list[InventoryLevel] | None:
        if not self._mine(cart):
            return None
        return [self.dialect.code_level(code, web_id) for code, web_id in codes]

    @hookimpl
    def test_script(self, cart: CartDefinition, check_credentials: bool) -> str | None:
        if not self._mine(cart):
            return None
        # A person is waiting for the answer: report the first failure instead of retrying.
        with SetiClient.for_cart(cart, retry=RetryPolicy.never()) as client:
            version = client.send_version()
            warnings = self.dialect.script_warnings(client, version) if self.dialect.script_warnings else []
            if check_credentials:
                client.order_count("All", "All")
        return ScriptVersion(version, warnings)

    @hookimpl
    def import_orders(self, cart: CartDefinition, checkpoint: str | None, batch_size: int, since: date | None
                      ) -> Iterable[OrderBatch] | None:
        if not self._mine(cart):
            return None
        return self._order_batches(cart, checkpoint or "All", batch_size, since)

    def _order_batches(self, cart: CartDefinition, lastorder: str, batch_size: int,
                       since: date | None) -> Iterator[OrderBatch]:
        lastdate = "All" if since is None else seti_date(since - LASTDATE_OVERLAP)
        with self._client(cart) as client:
            announced = client.order_count(lastorder, lastdate)
            # lastorder and lastdate stay fixed for the whole download, so the announced batches are
            # a fixed set: more than one is fetched and parsed by helper processes while core stores.
            pages = [{"lastorder": lastorder, "lastdate": lastdate, "startnum": start, "batchsize": batch_size}
                     for start in range(1, announced + 1, batch_size)]
            if len(pages) > 1:
                batches = downloads_in_order(cart, "download_orders", pages, client=client,
                                             workers=int(cart.param("MaxConcurrentRequests", 1)),
                                             merge_up_to=max(batch_size, JOINED_BATCH_MAX))
            else:
                batches = (client.download_orders(**page) for page in pages)
            last = lastorder
            with closing(batches):  # stop the helpers before paging on
                for records in batches:
                    if not records:
                        break
                    last = _number_of(records, last)
                    yield OrderBatch(records, last, expected=announced)
            # Orders that arrived while downloading sit after the announced ones: page on until
            # the script says there are no more.
            startnum = pages[-1]["startnum"] + batch_size if pages else 1
            while records := client.download_orders(lastorder=lastorder, lastdate=lastdate, startnum=startnum,
                                                    batchsize=batch_size):
                last = _number_of(records, last)
                yield OrderBatch(records, last, expected=announced)
                startnum += batch_size

    @hookimpl
    def newest_order(self, cart: CartDefinition) -> str | None:
        if not self._mine(cart):
            return None
        with self._client(cart) as client:
            newest, startnum = "", client.order_count("All", "All")
            # the last announced order, then any that arrived since (they sort after it)
            while startnum > 0:
                records = client.download_orders(lastorder="All", startnum=startnum, batchsize=NEWEST_PAGE)
                if records:
                    newest = records[-1]["number"]
                if len(records) < NEWEST_PAGE:
                    return newest
                startnum += NEWEST_PAGE
            return newest

    @hookimpl
    def import_products(self, cart: CartDefinition, batch_size: int) -> Iterable[list[dict]] | None:
        if not self._mine(cart):
            return None
        return self._paged(cart, "products", batch_size, self.dialect.single_page_products)

    @hookimpl
    def import_customers(self, cart: CartDefinition, batch_size: int) -> Iterable[list[dict]] | None:
        if not self._mine(cart):
            return None
        return self._paged(cart, "customers", batch_size, self.dialect.single_page_customers)

    def _paged(self, cart: CartDefinition, kind: str, batch_size: int, single_page: bool) -> Iterator[list[dict]]:
        with self._client(cart) as client:
            count = client.product_count() if kind == "products" else client.customer_count()
            download = client.download_products if kind == "products" else client.download_customers
            size = max(count, 1) if single_page else batch_size
            startnum, seen = 1, 0
            while seen < count:
                records = download(startnum=startnum, batchsize=size)
                if not records:
                    return
                if kind == "products" and self.dialect.product_record:
                    records = [self.dialect.product_record(r) for r in records]
                yield records
                seen += len(records)
                startnum += size

    @hookimpl
    def sync_inventory(self, cart: CartDefinition, action: InventoryAction, items: Sequence[tuple[str, int]]):
        if not self._mine(cart):
            return None
        action = InventoryAction(action)
        if action is InventoryAction.GET:
            return self._qoh_pages(cart)
        with self._client(cart) as client:
            as_xml = SETI_PARAMS["GenericQOHChangeSendAsXML"].of(cart)
            if action is InventoryAction.SEND:
                return self._send(client, items, as_xml)
            return [self._adjust(client, code, delta, as_xml) for code, delta in items]

    def _qoh_pages(self, cart: CartDefinition) -> Iterator[list[InventoryRow]]:
        batch_size = int(cart.param("DownloadBatchSize", 50))
        with self._client(cart) as client:
            count = client.product_count()
            size = max(count, 1) if self.dialect.single_page_products else batch_size
            startnum, seen = 1, 0
            while seen < count:
                rows = client.download_qoh(startnum=startnum, batchsize=size)
                if not rows:
                    return
                # a row without a code ("" here) is counted and skipped by core, not fatal
                yield [InventoryRow(code=r.get("code") or "", qoh=r.get("qoh"), web_id=r.get("web_id")) for r in rows]
                seen += len(rows)
                startnum += size

    def _send(self, client: SetiClient, items: Sequence[tuple[str, int]], as_xml: bool) -> list[InventoryResult]:
        results: list[InventoryResult] = []
        for start in range(0, len(items), QOH_REPLACE_CHUNK):
            chunk = items[start:start + QOH_REPLACE_CHUNK]
            replies = client.qoh_replace(chunk, as_xml=as_xml, trailing_bar=False)
            for code, qty in chunk:
                reply = replies.get(code, "")
                if not self.dialect.trusts_inventory_replies:
                    outcome = InventoryOutcome.UNVERIFIED
                else:
                    outcome = _OUTCOMES.get(reply.strip().upper(), InventoryOutcome.ERROR)
                results.append(InventoryResult(code, outcome, qty if outcome is InventoryOutcome.OK else None,
                                               note=reply.strip()))
        return results

    def _adjust(self, client: SetiClient, code: str, delta: int, as_xml: bool) -> InventoryResult:
        if self.dialect.can_adjust and not self.dialect.can_adjust(code):
            return InventoryResult(code, InventoryOutcome.ERROR, note="this cart cannot apply deltas to this code")
        reply = client.inv_update(code, delta, as_xml=as_xml)
        outcome = _OUTCOMES.get(reply.code, InventoryOutcome.ERROR) if reply.ok or reply.code in _OUTCOMES \
            else InventoryOutcome.ERROR
        if not self.dialect.trusts_inventory_replies and outcome is InventoryOutcome.OK:
            return InventoryResult(code, InventoryOutcome.UNVERIFIED, note=reply.note)
        return InventoryResult(code, outcome, reply.qoh, note=reply.note)

    @hookimpl
    def update_order_status(self, cart: CartDefinition, update: StatusUpdate) -> StatusResult | None:
        if not self._mine(cart):
            return None
        with self._client(cart) as client:
            return client.update_status(update, as_xml=SETI_PARAMS["GenericStatusSendXML"].of(cart))
