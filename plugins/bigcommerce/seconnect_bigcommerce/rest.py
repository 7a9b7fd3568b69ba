"""BigCommerce over its REST API (cart type ``BigCommerce``): orders v2, catalog/inventory/customers v3.

Settings: ``store_hash``, ``access_token`` (the secret), ``api_base`` (host[:port], default
BigCommerce's API host: the sandbox is just another ``api_base``), optional ``channel_id``,
``location_id`` and ``client_secret`` (webhook verification). The order checkpoint is the
newest ``date_modified`` imported (ISO 8601 UTC); see docs/bigcommerce.md for every decision.
"""

from __future__ import annotations

import logging
import shlex
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import orjson

from seconnect import (
    Capabilities,
    CartDefinition,
    CartType,
    InventoryAction,
    InventoryLevel,
    InventoryOutcome,
    InventoryResult,
    InventoryRow,
    OrderBatch,
    Param,
    ScriptVersion,
    StatusResult,
    StatusUpdate,
    WebhookAction,
    hookimpl,
)
from seconnect import Capability as C
from seconnect.errors import CartProtocolError, CartRejected, UsageError
from seconnect.helpers import start_server_early, streams
from seconnect.http import RetryPolicy

from . import rest_mapping as mapping
from . import webhooks
from .rest_client import API_HOST, PAGE_MAX, RatePacer, RestClient

__all__ = ["CART_TYPE", "PARAMS", "BigCommerceRest", "OrderReading", "plugin", "status_map", "ORDER_OVERLAP"]

log = logging.getLogger("seconnect.bigcommerce")

CART_TYPE = CartType(
    id="BigCommerce",
    label="BigCommerce (REST API)",
    config_schema={
        "type": "object",
        "properties": {
            "store_hash": {"type": "string", "minLength": 1, "pattern": r"^[A-Za-z0-9_-]+$", "title": "Store hash",
                           "description": "the store's permanent id, from the API path /stores/{store_hash}/"},
            "access_token": {"type": "string", "minLength": 1, "writeOnly": True, "title": "Access token",
                             "description": "the store-level API account's access token (X-Auth-Token)"},
            "api_base": {"type": "string", "default": API_HOST, "title": "API host",
                         "pattern": r"^[A-Za-z0-9.\[\]-]+(:[0-9]{1,5})?$",
                         "description": f"host[:port] without https:// or a path (default {API_HOST})"},
            "channel_id": {"type": "integer", "minimum": 1, "title": "Channel id",
                           "description": "import only this channel's orders (default: every channel)"},
            "location_id": {"type": "integer", "minimum": 1, "title": "Inventory location id",
                            "description": "the location stock is read from and sent to (default: the "
                                           "store's default location)"},
            "client_secret": {"type": "string", "writeOnly": True, "title": "Client secret",
                              "description": "the API account's client secret, for webhook signatures"},
        },
        "required": ["store_hash", "access_token"],
    },
    capabilities=Capabilities.declare(
        supported=list(C),
        realtime_levels=[InventoryLevel.PRODUCT, InventoryLevel.SUB_SKU],
    ),
    notes={
        C.CUSTOM_ORDER_FIELDS.value: "The checkout's form fields (billing address form_fields) arrive as custom "
                                     "order fields.",
    },
    order_number_pattern=r"[0-9]+",
    order_number_example="218",
)

#: SEOM labels → BigCommerce status ids, unless the cart's BigCommerceStatusMap says otherwise.
DEFAULT_STATUS_MAP = "Order Received=11;Payment Received=11;Shipped=2;Cancelled=5"

PARAMS: tuple[Param, ...] = (
    Param("BigCommerceStatusMap", "text", DEFAULT_STATUS_MAP, "cart",
          "Order status labels and the BigCommerce status id each is sent as, 'Label=id' separated by ';' "
          "(ids: 1 Pending, 2 Shipped, 3 Partially Shipped, 5 Cancelled, 9 Awaiting Shipment, 10 Completed, "
          "11 Awaiting Fulfillment)."),
)

# Re-read orders modified this long before the checkpoint: an order saved while the last run read
# its page may carry a slightly older date_modified. Re-read orders are matched and updated.
ORDER_OVERLAP = timedelta(minutes=5)
# A second order reader: only with this many live orders left (fewer are read before it has
# started), and only when the quota does not pace the run (none announced or this many left).
SPLIT_MIN_ORDERS = 4 * PAGE_MAX
SPLIT_MIN_LEFT = 1000
INVENTORY_BATCH = 2000  # items per adjustment request (the API's maximum)
CODES_TTL = 300.0  # seconds a catalog read resolves codes for further sends
ID_CHUNK = 50  # product ids per `id:in` read-back request (keeps the query string short)
VERIFY_TRIES, VERIFY_DELAY = 3, 1.0  # reading back asynchronous stock writes


def status_map(cart: CartDefinition) -> dict[str, int]:
    """The cart's label → status id map (labels compared case-insensitively)."""
    text = str(cart.param("BigCommerceStatusMap", DEFAULT_STATUS_MAP) or DEFAULT_STATUS_MAP)
    result: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        label, eq, number = part.rpartition("=")
        if not eq or not label.strip() or not number.strip().isdigit():
            raise UsageError(f"BigCommerceStatusMap: {part!r} is not 'Label=id'.",
                             hint=f"e.g. `seconnect params set BigCommerceStatusMap '{DEFAULT_STATUS_MAP}' "
                                  f"--cart {cart.name}`.")
        result[label.strip().casefold()] = int(number)
    return result


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


@dataclass
class OrderReading:
    """Where a run's reading of orders stands. Plain data, so that a helper process can carry it on.

    ``queries`` are the list filters still to read, sorted by ``date_modified``: archived orders
    first (BigCommerce lists them only when asked with ``is_deleted=true``; their batches keep the
    run's starting ``checkpoint``), then the live ones, whose batches move it on to the newest
    ``date_modified`` read (``last``). Each full page moves the cursor to its newest date, so an
    order changed meanwhile (it moves past the cursor) is read again, never skipped; what this run
    read already (``seen``) is not mapped twice.
    """

    queries: list[dict[str, Any]]
    checkpoint: str
    last: str
    page: int = 1
    seen: set[tuple[Any, Any]] = field(default_factory=set)
    more: bool = False  # the last page read was full: another follows
    before: str = ""  # live orders modified at or after this are another reading's (see split)

    @classmethod
    def start(cls, cart: CartDefinition, checkpoint: str | None, since: date | None) -> OrderReading:
        """From the checkpoint date minus the overlap; from an order number (``--start-after``),
        the orders after it; from nothing, every order."""
        live: dict[str, Any] = {"include": "consignments.line_items", "consignment_structure": "object",
                                "sort": "date_modified:asc"}
        if checkpoint and checkpoint.isdigit():
            live["min_id"] = int(checkpoint) + 1
        elif checkpoint:
            try:
                when = datetime.fromisoformat(checkpoint)
            except ValueError:
                raise UsageError(f"the order checkpoint {checkpoint!r} is neither a date nor an order number.",
                                 hint="Start again after a known order with `seconnect run import-orders "
                                      "--start-after NUMBER`.") from None
            live["min_date_modified"] = _iso(when - ORDER_OVERLAP)
        elif since is not None:
            live["min_date_modified"] = _iso(datetime(since.year, since.month, since.day, tzinfo=UTC) - ORDER_OVERLAP)
        if cart.setting("channel_id"):
            live["channel_id"] = cart.setting("channel_id")
        return cls([{**live, "is_deleted": "true"}, live], checkpoint or "",
                   checkpoint if checkpoint and not checkpoint.isdigit() else "")

    @property
    def done(self) -> bool:
        return not self.queries

    def next_batch(self, client: RestClient, pool: Executor | None) -> OrderBatch | None:
        """Read the next page and move on; its batch (None when there is nothing to store)."""
        params = self.queries[0]
        rows = client.get("/v2/orders", **params, page=self.page, limit=PAGE_MAX) or []
        if not isinstance(rows, list):
            raise CartProtocolError("GET /v2/orders: the answer is not a list of orders")
        fresh = [r for r in rows if (r.get("id"), r.get("date_modified")) not in self.seen
                 and int(r.get("status_id") or 0) != mapping.INCOMPLETE]
        self.seen.update((r.get("id"), r.get("date_modified")) for r in rows)
        newest = max((mapping.utc_date(r.get("date_modified")) or "" for r in rows), default="")
        archived = params.get("is_deleted") == "true"
        if self.before and not archived:  # max_date_modified includes the bound: those are the other's
            fresh = [r for r in fresh if (mapping.utc_date(r.get("date_modified")) or "") < self.before]
        self.more = len(rows) >= PAGE_MAX
        if not self.more:
            self.queries.pop(0)
            self.page = 1
        elif newest and newest != params.get("min_date_modified"):
            self.queries[0], self.page = {**params, "min_date_modified": newest}, 1
        else:  # a full page modified in the same second: page on within it
            self.page += 1
        records = _order_records(client, fresh, pool)
        if archived:
            return OrderBatch(records, self.checkpoint) if records else None
        self.last = max(self.last, newest)
        return OrderBatch(records, self.last or self.checkpoint) if self.last or records else None


    def split(self, client: RestClient) -> OrderReading | None:
        """Give the later half of the live orders still to read (by date modified: the middle
        one found from their count) to a new reading, which is returned; this one then stops
        before it. None when too few are left to be worth a second reader."""
        live = self.queries[-1]
        if live.get("is_deleted") or (len(self.queries) == 1 and self.page != 1) or self.before:
            return None
        filters = {k: v for k, v in live.items() if k not in ("include", "consignment_structure", "sort")}
        answer = client.get("/v2/orders/count", **filters)
        total = int(answer.get("count") or 0) if isinstance(answer, Mapping) else 0
        if total < SPLIT_MIN_ORDERS:
            return None
        middle = client.get("/v2/orders", **filters, sort="date_modified:asc", limit=1, page=total // 2 + 1)
        mid = mapping.utc_date(middle[0].get("date_modified")) if isinstance(middle, list) and middle else None
        if not mid or mid <= str(live.get("min_date_modified") or ""):
            return None
        self.queries[-1], self.before = {**live, "max_date_modified": mid}, mid
        return OrderReading([{**live, "min_date_modified": mid}], self.checkpoint, "")


def quota_leaves_room(pacer: RatePacer) -> bool:
    """Whether the store's quota leaves room for a second reader: none announced, or at least
    SPLIT_MIN_LEFT requests left in the window (under a smaller one the quota sets the pace)."""
    return pacer.quota is None or (pacer.left or 0) >= SPLIT_MIN_LEFT


def _order_records(client: RestClient, orders: list[dict], pool: Executor | None) -> list[dict]:
    """The orders mapped. An order whose embedded lines hold fewer items than it has gets its
    lines read in full; addresses and coupon codes are read where the order needs them. The
    page's reads are made first, on ``pool`` (the cart's MaxConcurrentRequests at once), then
    every order is mapped: mapping while they ran made the reading threads queue for the
    interpreter lock (measured on 20,000 orders: 2-3 s more CPU than it saved)."""
    parts: list[tuple[dict, list[dict] | str, list[dict] | str, list[dict] | str]] = []
    for order in orders:  # a path stands for what is still to be read
        number = order["id"]
        lines: list[dict] | str = mapping.embedded_lines(order)
        if not order.get("consignments") or mapping.quantity_of(lines) < int(order.get("items_total") or 0):
            lines = f"/v2/orders/{number}/products"
        addresses: list[dict] | str = mapping.embedded_addresses(order)
        if not addresses and int(order.get("shipping_address_count") or 0) > 0:
            addresses = f"/v2/orders/{number}/shipping_addresses"
        coupons: list[dict] | str = []
        if mapping.positive(order.get("coupon_discount")) > 0:
            coupons = f"/v2/orders/{number}/coupons"
        parts.append((order, lines, addresses, coupons))
    paths = [value for part in parts for value in part[1:] if isinstance(value, str)]
    read = dict(zip(paths, (pool.map if pool and len(paths) > 1 else map)(client.v2_all, paths), strict=True))

    def got(value: list[dict] | str) -> list[dict]:
        return read[value] if isinstance(value, str) else value

    return [mapping.order_record(order, got(lines), got(addresses), mapping.coupon_records(got(coupons)))
            for order, lines, addresses, coupons in parts]


class BigCommerceRest:
    """The hook implementations of cart type ``BigCommerce``. ``transport``, ``retry``, ``pacer``
    and ``sleep`` are for tests (MockTransport, no real waiting)."""

    def __init__(self, *, transport: httpx.BaseTransport | None = None, retry: RetryPolicy | None = None,
                 pacer: RatePacer | None = None, sleep: Callable[[float], None] = time.sleep):
        self.transport, self.retry, self.pacer, self.sleep = transport, retry, pacer, sleep
        self._locations: dict[str, int] = {}
        self._codes: dict[str, tuple[float, dict[str, tuple[int | None, str, dict]]]] = {}

    def client(self, cart: CartDefinition, retry: RetryPolicy | None = None) -> RestClient:
        return RestClient(cart, transport=self.transport, retry=retry or self.retry, pacer=self.pacer)

    @staticmethod
    def _mine(cart: CartDefinition) -> bool:
        return cart.type == CART_TYPE.id

    # -- declaration ----------------------------------------------------------------------------
    @hookimpl
    def seconnect_cart_types(self) -> list[CartType]:
        return [CART_TYPE]

    @hookimpl
    def seconnect_cart_params(self) -> dict[str, Iterable[Param]]:
        return {CART_TYPE.id: PARAMS}

    # -- test -----------------------------------------------------------------------------------
    @hookimpl
    def test_script(self, cart: CartDefinition, check_credentials: bool) -> str | None:
        if not self._mine(cart):
            return None
        # A person is waiting: report the first failure instead of retrying. /v2/store needs the
        # token, so the credentials are always checked.
        client = self.client(cart, retry=RetryPolicy.never())
        store = client.get("/v2/store") or {}
        if not isinstance(store, Mapping):
            raise CartProtocolError("GET /v2/store: the answer is not a store object")
        pacer = client.pacer
        limit = (f"rate limit {pacer.quota} requests per {pacer.window_ms / 1000:g} s"
                 if pacer.quota and pacer.window_ms else "no rate limit announced")
        return ScriptVersion(f"BigCommerce REST API, store {store.get('name') or '?'!s} "
                             f"({store.get('plan_name') or 'plan unknown'}), {limit}", credentials_checked=True)

    # -- orders ---------------------------------------------------------------------------------
    @hookimpl
    def import_orders(self, cart: CartDefinition, checkpoint: str | None, batch_size: int, since: date | None
                      ) -> Iterable[OrderBatch] | None:
        if not self._mine(cart):
            return None
        # a test double (``transport``) cannot cross to a helper process: such runs stay in this one
        hand_off = self.transport is None
        if hand_off and not checkpoint and since is None:
            start_server_early(__name__)  # a first import: every order, helpers likely
        return self.read_orders(cart, OrderReading.start(cart, checkpoint, since), hand_off=hand_off)

    def read_orders(self, cart: CartDefinition, reading: OrderReading, hand_off: bool = False,
                    workers: int | None = None) -> Iterator[OrderBatch]:
        """The batches of ``reading``, page by page. With ``hand_off``, once a full page shows that
        more follow, helper processes read, parse and map the rest while the job stores (the
        REST import is CPU-bound: see :mod:`seconnect.helpers`); small runs never start one.
        ``workers``: requests at once (default the cart's MaxConcurrentRequests)."""
        client = self.client(cart)
        workers = workers or int(cart.param("MaxConcurrentRequests", 2))
        with ThreadPoolExecutor(workers, thread_name_prefix="bigcommerce-reads") if workers > 1 else nullcontext() as pool:
            while not reading.done:
                batch = reading.next_batch(client, pool)
                if hand_off and reading.more:
                    break
                if batch is not None:
                    yield batch
            else:
                return
        yield from self._read_in_helpers(cart, client, reading, batch, workers)

    @staticmethod
    def _read_in_helpers(cart: CartDefinition, client: RestClient, reading: OrderReading, first: OrderBatch | None,
                         workers: int) -> Iterator[OrderBatch]:
        """The rest of ``reading`` (after its batch ``first``) from a helper; with two helpers
        when the cart allows two requests at once and the quota does not pace the run (none
        announced, or SPLIT_MIN_LEFT left): the second reads the later half by date modified
        (:meth:`OrderReading.split`), its requests shared out of the cart's MaxConcurrentRequests.
        Until the first is done, every batch carries the first's checkpoint: an order not read
        yet is never behind the stored one."""
        later = reading.split(client) if workers > 1 and quota_leaves_room(client.pacer) else None
        readings = [reading] if later is None else [reading, later]
        share = max(1, workers // len(readings))
        with streams(_read_on, [(cart, r, share) for r in readings], name="bigcommerce-orders") as rest:
            if first is not None:
                yield first
            checkpoint = first.checkpoint if first is not None else reading.checkpoint
            held: str | None = None  # the later half's newest checkpoint, while the first half reads on
            first_done = later is None
            for index, (records, at) in rest:
                if index == 1 and not first_done:
                    held = at
                else:
                    checkpoint = at
                if records is not None:
                    yield OrderBatch(orjson.loads(records) if isinstance(records, bytes) else records, checkpoint)
                elif index == 0 and not first_done:  # the first half is all read
                    first_done = True
                    if held is not None:
                        checkpoint = held
                        yield OrderBatch([], held)

    @hookimpl
    def newest_order(self, cart: CartDefinition) -> str | None:
        if not self._mine(cart):
            return None
        client = self.client(cart)
        params: dict[str, Any] = {"sort": "id:desc"}
        if cart.setting("channel_id"):
            params["channel_id"] = cart.setting("channel_id")
        for rows in client.v2_pages("/v2/orders", params, limit=50):
            for row in rows:
                if int(row.get("status_id") or 0) != mapping.INCOMPLETE:
                    return str(row["id"])
        return ""

    # -- products and customers -----------------------------------------------------------------
    @hookimpl
    def import_products(self, cart: CartDefinition, batch_size: int) -> Iterable[list[dict]] | None:
        if not self._mine(cart):
            return None
        return self._product_pages(cart)

    def _product_pages(self, cart: CartDefinition) -> Iterator[list[dict]]:
        client = self.client(cart)
        for rows in client.v3_pages("/v3/catalog/products", {"include": "variants", "sort": "id"}):
            records: list[dict] = []
            for product in rows:
                found, warnings = mapping.product_records(product)
                for warning in warnings:
                    log.warning("%s: %s", cart.name, warning)
                records += found
            yield records

    @hookimpl
    def import_customers(self, cart: CartDefinition, batch_size: int) -> Iterable[list[dict]] | None:
        if not self._mine(cart):
            return None
        client = self.client(cart)
        return ([mapping.customer_record(c) for c in rows]
                for rows in client.v3_pages("/v3/customers", {"include": "addresses,formfields"}))

    # -- inventory ------------------------------------------------------------------------------
    @hookimpl
    def inventory_levels(self, cart: CartDefinition, codes: Sequence[tuple[str, str | None]]
                         ) -> list[InventoryLevel] | None:
        if not self._mine(cart):
            return None
        # web ids of variants are "<product id>-<variant id>" (rest_mapping.product_records)
        return [InventoryLevel.SUB_SKU if web_id and "-" in web_id else InventoryLevel.PRODUCT
                for _code, web_id in codes]

    @hookimpl
    def sync_inventory(self, cart: CartDefinition, action: InventoryAction, items: Sequence[tuple[str, int]]):
        if not self._mine(cart):
            return None
        action = InventoryAction(action)
        if action is InventoryAction.GET:
            return self._stock_pages(cart)
        if action is InventoryAction.SEND:
            return self._send(cart, items)
        return None  # adjust: never asked, inventory-send is supported (real-time sends absolutes)

    def _stock_pages(self, cart: CartDefinition) -> Iterator[list[InventoryRow]]:
        for records in self._catalog_stock(cart):
            yield [InventoryRow(code=code, qoh=qoh, web_id=web_id) for code, (qoh, web_id, _ident) in records.items()]

    def _catalog_stock(self, cart: CartDefinition, product_ids: Sequence[int] | None = None
                       ) -> Iterator[dict[str, tuple[int | None, str, dict]]]:
        """Pages of code → (qoh, web_id, identity for adjustments), from the catalog (default
        location) or, with a location_id, from that location's inventory items; every product,
        or only ``product_ids`` (read-back after a send)."""
        client = self.client(cart)
        location = cart.setting("location_id")
        at_location: dict[tuple[str, Any], int] = {}
        if location:
            for rows in client.v3_pages(f"/v3/inventory/locations/{location}/items", {}):
                for row in rows:
                    # every item is a variant; a product-tracked product's row is its base variant's
                    ident, onhand = row.get("identity") or {}, int(row.get("total_inventory_onhand") or 0)
                    at_location[("variant", ident.get("variant_id"))] = onhand
                    at_location.setdefault(("product", ident.get("product_id")), onhand)
        queries = [{}] if product_ids is None else [
            {"id:in": ",".join(map(str, product_ids[n:n + ID_CHUNK]))} for n in range(0, len(product_ids), ID_CHUNK)]
        pages = (rows for query in queries
                 for rows in client.v3_pages("/v3/catalog/products", {"include": "variants", "sort": "id", **query}))
        for rows in pages:
            page: dict[str, tuple[int | None, str, dict]] = {}
            for product in rows:
                for record in mapping.product_records(product)[0]:
                    tracking = record["raw"]["inventory_tracking"]
                    variant_id = record["raw"].get("variant_id")
                    if tracking == "variant" and variant_id:
                        ident: dict[str, Any] = {"variant_id": int(variant_id)}
                    else:
                        ident = {"product_id": int(product["id"])}
                    qoh = record.get("qoh")
                    if location and qoh is not None:
                        key = ("variant", ident["variant_id"]) if "variant_id" in ident else ("product", product["id"])
                        qoh = at_location.get(key, 0)
                    # a code whose stock lives at another level (a variant-tracked parent, a variant
                    # of a product-tracked one) is not tracked itself
                    ident["_tracking"] = tracking if record.get("qoh") is not None else "none"
                    ident["_product"] = int(product["id"])
                    page[record["code"]] = (qoh, record["web_id"], ident)
            yield page

    def _identities(self, cart: CartDefinition, client: RestClient, codes: Iterable[str]
                    ) -> dict[str, tuple[int | None, str, dict]]:
        """Code → its catalog entry. The catalog is read whole, so it is kept for CODES_TTL seconds:
        real-time sends in a row do not each read it again; a code it lacks reads it afresh."""
        key = str(client.http.base_url)
        read_at, known = self._codes.get(key, (0.0, {}))
        if time.monotonic() - read_at > CODES_TTL or not set(codes) <= known.keys():
            known = {}
            for page in self._catalog_stock(cart):
                known.update(page)
            self._codes[key] = (time.monotonic(), known)
        return known

    def _send(self, cart: CartDefinition, items: Sequence[tuple[str, int]]) -> list[InventoryResult]:
        client = self.client(cart)
        known = self._identities(cart, client, (code for code, _qty in items))
        location = cart.setting("location_id") or self._default_location(client)
        results: dict[str, InventoryResult] = {}
        sendable: list[tuple[str, int, dict]] = []
        for code, qty in items:
            entry = known.get(code)
            if entry is None:
                results[code] = InventoryResult(code, InventoryOutcome.NOT_FOUND, note="no such SKU in the catalog")
            elif entry[2]["_tracking"] == "none":
                results[code] = InventoryResult(code, InventoryOutcome.NOT_TRACKED,
                                                note="BigCommerce does not track this product's stock")
            else:
                sendable.append((code, qty, {k: v for k, v in entry[2].items() if not k.startswith("_")}))
        for start in range(0, len(sendable), INVENTORY_BATCH):
            chunk = sendable[start:start + INVENTORY_BATCH]
            body = {"reason": "seconnect inventory send",
                    "items": [{"location_id": int(location), **ident, "quantity": qty} for _c, qty, ident in chunk]}
            # 207: some items refused, 422: all of them; errors are keyed "items.<index>"
            status, answer = client.call("PUT", "/v3/inventory/adjustments/absolute", body=body, ok=(200, 207, 422))
            errors = (answer or {}).get("errors") if isinstance(answer, dict) else None
            errors = errors if isinstance(errors, dict) else {}
            for n, (code, _qty, _ident) in enumerate(chunk):
                refused = errors.get(f"items.{n}")
                if refused is not None or status == 422:
                    self._codes.pop(str(client.http.base_url), None)  # e.g. a tracking mode changed: read again
                    reason = refused or (answer or {}).get("title") or "refused"
                    results[code] = InventoryResult(code, InventoryOutcome.ERROR, note=f"HTTP {status}: {reason}"[:300])
                else:
                    results[code] = InventoryResult(code, InventoryOutcome.UNVERIFIED, note="sent, not yet visible")
        self._verify(cart, results, {c: q for c, q, _i in sendable}, {c: known[c][2]["_product"] for c, _q, _i in sendable})
        return [results[code] for code, _qty in items]

    def _verify(self, cart: CartDefinition, results: dict[str, InventoryResult], wanted: dict[str, int],
                products: dict[str, int]) -> None:
        """Writes are asynchronous: read the sent products back a few times; what never shows
        stays unverified (core checks it again later)."""
        pending = {c for c, r in results.items() if r.outcome is InventoryOutcome.UNVERIFIED}
        for attempt in range(VERIFY_TRIES):
            if not pending:
                return
            if attempt:
                self.sleep(VERIFY_DELAY)
            for page in self._catalog_stock(cart, sorted({products[c] for c in pending})):
                for code in pending & page.keys():
                    if page[code][0] == wanted[code]:
                        results[code] = InventoryResult(code, InventoryOutcome.OK, wanted[code])
            pending = {c for c in pending if results[c].outcome is InventoryOutcome.UNVERIFIED}

    def _default_location(self, client: RestClient) -> int:
        """The store's default location, asked once per store and process (it never changes)."""
        key = str(client.http.base_url)
        if key not in self._locations:
            answer = client.get("/v3/inventory/locations", is_default="true") or {}
            rows = [r for r in answer.get("data") or () if r.get("is_default", True)]
            self._locations[key] = int(rows[0]["id"]) if rows else 1
        return self._locations[key]

    # -- status ---------------------------------------------------------------------------------
    @hookimpl
    def update_order_status(self, cart: CartDefinition, update: StatusUpdate) -> StatusResult | None:
        if not self._mine(cart):
            return None
        status_id = status_map(cart).get(update.status.casefold())
        if status_id is None:
            return StatusResult(False, f"no BigCommerce status id for label {update.status!r}: add "
                                       f"'{update.status}=ID' to parameter BigCommerceStatusMap")
        if not update.order_number.isdigit():
            return StatusResult(False, f"{update.order_number!r} is not a BigCommerce order number")
        client = self.client(cart)
        path = f"/v2/orders/{update.order_number}"
        notes = []
        if update.packages:
            notes += self._ship(client, update)
        client.call("PUT", path, body={"status_id": status_id})  # the same PUT twice is harmless
        notes.append(f"status id {status_id}")
        return StatusResult(True, "; ".join(notes))

    def _ship(self, client: RestClient, update: StatusUpdate) -> list[str]:
        """One shipment per tracking number not already at the order (a retry after an unknown
        outcome finds it there and does not create it twice), in the order given. The unshipped
        items of the first address that has any are shared out in line order, so that every
        package gets some (BigCommerce wants items in each shipment) and together they ship all."""
        number = update.order_number
        existing = {str(s.get("tracking_number") or "") for s in client.v2_all(f"/v2/orders/{number}/shipments")}
        todo = [p for p in update.packages if p.tracking_number not in existing]
        notes = [f"shipment {p.tracking_number} already there" for p in update.packages if p not in todo]
        if not todo:
            return notes
        lines = client.v2_all(f"/v2/orders/{number}/products")
        units = [line for line in lines
                 for _ in range(int(line.get("quantity") or 0) - int(line.get("quantity_shipped") or 0))]
        address_id = units[0].get("order_address_id") if units else None
        units = [line for line in units if line.get("order_address_id") == address_id]
        for n, package in enumerate(todo):
            share = units[n * len(units) // len(todo):(n + 1) * len(units) // len(todo)]
            if not share:
                notes.append(f"no unshipped items left for {package.tracking_number}")
                continue
            items: dict[Any, int] = {}
            for line in share:
                items[line["id"]] = items.get(line["id"], 0) + 1
            body = {"order_address_id": address_id, "tracking_number": package.tracking_number,
                    "shipping_provider": "", "tracking_carrier": package.carrier.lower(),
                    "items": [{"order_product_id": line_id, "quantity": qty} for line_id, qty in items.items()]}
            if package.method:
                body["shipping_method"] = package.method
            client.call("POST", f"/v2/orders/{number}/shipments", body=body, idempotent=False)
            notes.append(f"shipment {package.tracking_number}")
        return notes

    # -- webhooks (`seconnect serve`) -------------------------------------------------------------
    @hookimpl
    def webhook_received(self, cart: CartDefinition, headers: Mapping[str, str], body: bytes
                         ) -> WebhookAction | None:
        if not self._mine(cart):
            return None
        if "client_secret" not in cart.secrets:
            return WebhookAction.reject(f"cart {cart.name!r} has no client_secret to verify deliveries with")
        try:
            payload = webhooks.verify_delivery(headers, body, cart.secret("client_secret").reveal())
        except CartRejected as exc:
            return WebhookAction.reject(exc.message)
        scope = str(payload.get("scope") or "")
        job = webhooks.job_for(scope)
        if job is None:
            return WebhookAction.ignore(f"seconnect does not act on {scope or 'events without a scope'}")
        return WebhookAction.run(job, dedupe_key=webhooks.dedupe_key(payload) or None)

    @hookimpl
    def register_webhooks(self, cart: CartDefinition, url: str, remove: bool) -> list[str] | None:
        if not self._mine(cart):
            return None
        client = self.client(cart)
        if remove:
            return [f"removed {webhooks.remove_hooks(cart, url, client)} webhook(s) delivering to {url}"]
        if "client_secret" not in cart.secrets:  # every delivery would be rejected: refuse up front
            raise UsageError(f"cart {cart.name!r} has no client_secret: its webhooks could not be verified, "
                             "so the service would reject every delivery; nothing was registered.",
                             hint=f"Enter the API account's client secret with `seconnect carts edit "
                                  f"{shlex.quote(cart.name)} --secret` (it asks for the access token, then the "
                                  "client secret), then run this command again.")
        off = [h for h in webhooks.list_hooks(cart, client) if h.get("destination") == url and not h.get("is_active")]
        lines = [f"hook {h.get('id')} ({h.get('scope')}) had been deactivated by BigCommerce (its deliveries kept "
                 f"failing): switched back on; make sure {url} is reachable over HTTPS from the internet"
                 for h in off]
        hooks = webhooks.register_hooks(cart, url, client=client)
        return lines + [f"registered {h.get('scope')} -> {h.get('destination')} (hook {h.get('id')})" for h in hooks]



plugin = BigCommerceRest()


def _read_on(cart: CartDefinition, reading: OrderReading, workers: int
             ) -> Iterator[tuple[bytes | list[dict] | None, str]]:
    """In a helper process: the rest of a run's orders (``reading`` as the job left it), each
    batch as (records, checkpoint), then (None, the last checkpoint): this reading is done. The
    records go as JSON: the job loads that twice as fast as pickled dicts (measured: 56 against
    125 µs per order, a sixth of its storing time), and nothing changes on the way (they are
    mapped from JSON replies: strings, numbers, lists and dicts, and the client refuses NaN). A
    number JSON cannot hold exactly goes pickled."""
    checkpoint = reading.last or reading.checkpoint
    for batch in plugin.read_orders(cart, reading, workers=workers):
        checkpoint = batch.checkpoint
        try:
            yield orjson.dumps(batch.records), checkpoint
        except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits
            yield batch.records, checkpoint
    yield None, checkpoint
