"""The ``bigcommerce`` profile: BigCommerce's REST API as docs/bigcommerce-rest.md describes it.

v2 orders (RFC 2822 dates, 4-decimal money strings, bare arrays, 204 for an empty page), v3
catalog, customers, inventory and webhooks (``{"data", "meta"}``, ISO dates, number prices),
``X-Auth-Token`` auth, a fixed-window rate limit with the four ``x-rate-limit-*`` headers
(always sent lowercase, so clients prove they read headers case-insensitively), and webhook
delivery signed the Standard Webhooks way. Data comes from the same seeded generator as the
SETI profiles, with BigCommerce's own hazards added at generation (:func:`shape`). Every
decision the API docs leave open is listed in docs/sandbox.md, "The bigcommerce profile".
"""

from __future__ import annotations

import base64
import bisect
import dataclasses
import datetime as dt
import hashlib
import hmac
import ipaddress
import itertools
import json
import math
import queue
import re
import secrets
import ssl
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import parse_qsl, urlsplit

from . import generator
from .generator import STATUS_NAMES, Dice, combo_price
from .profiles_base import Profile, Reply

JSON = "application/json"
PROBLEM = "application/problem+json"
BASE_VARIANT_OFFSET = 100_000  # base variant id = this + product id (combination ids are below it)
DEFAULT_LOCATION, SECOND_LOCATION = 1, 2
MAX_LIMIT = 250
MAX_ADJUSTMENT_ITEMS = 2000
MAX_STOCK = 2_147_483_647
UNLIMITED_QUOTA = 1_000_000_000  # what the headers say when the sandbox runs without a quota
ERROR_TYPE = "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"
# statuses given to every third generated order (index % 3 == 2), so every id 0-14 occurs early
STATUS_CYCLE = (0, 4, 14, 12, 13, 6, 7, 8, 1, 5, 2, 3, 9, 10, 11)
COUNTRIES = {"US": "United States", "CA": "Canada", "DE": "Germany", "JP": "Japan", "FR": "France",
             "NO": "Norway"}
_PAYMENT_METHOD = {"gateway_card": "Credit Card", "manual_card": "Manual", "cod": "Cash on Delivery",
                   "paypal": "PayPal"}
_LOOPBACK = ("localhost", "127.0.0.1", "::1")
#: v2 ``sort`` field -> its column in an index row (None: the order id)
SORT_COLUMNS = {"id": None, "customer_id": 4, "date_created": 0, "date_modified": 1, "status_id": 2,
                "channel_id": None, "external_id": None}
EMBEDS = ("none", "list", "object")  # an order's JSON without consignments, with them as a list, as an object


class ApiError(Exception):
    """An error reply; rendered as a v2 array or a v3 problem document by the caller."""

    def __init__(self, status: int, message: str, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.errors = status, message, errors or {}


# --------------------------------------------------------------------------------------------
# formats


def money(cents: int) -> str:
    """v2 money: a string with four decimals (``"62.6700"``), from integer cents."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}00"


def price(cents: int) -> float:
    return round(cents / 100, 2)


def rfc2822(ts: int) -> str:
    return format_datetime(dt.datetime.fromtimestamp(ts, dt.UTC))


def iso(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat()


def parse_date(text: str) -> int:
    """A filter date in RFC 2822 or ISO 8601 (a date alone is midnight; no zone means UTC) as a
    Unix time; ``ValueError`` for anything else."""
    value = text.strip()
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return int(when.timestamp())


def _stored_ts(text: str) -> int:
    """A generator date (naive ``YYYY-MM-DD HH:MM:SS``, UTC) as a Unix time."""
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp())


def _dumps(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


# --------------------------------------------------------------------------------------------
# BigCommerce's hazards on top of the shared generator


def shape_catalog(products: list[dict]) -> None:
    """SKUs with a space and a slash (product index ``i % 10 == 8``), in place."""
    for product in products:
        if (product["id"] - 1) % 10 == 8 and product["code"]:
            product["code"] = product["code"].replace("-", " ") + "/B"


def shape_orders(products: list[dict], combos: list[dict], orders: Iterable[dict]) -> None:
    """Add, in place and deterministically, what only this profile has: every status id 0-14
    (order ``index % 3 == 2`` cycles through them; 4 and 14 come with a refund) and 60-line
    orders (``index % 97 == 7``)."""
    by_id = {p["id"]: p for p in products}
    combos_of: dict[int, list[dict]] = {}
    for combo in combos:
        combos_of.setdefault(combo["product_id"], []).append(combo)
    sellable = [(p, c) for p in products for c in combos_of.get(p["id"], [None])]
    for order in orders:
        index = order["id"] - generator.FIRST_ORDER_NUMBER
        if index % 97 == 7 and sellable:
            rng = Dice(f"bigcommerce-lines:{order['id']}")
            while len(order["lines"]) < 60:
                product, combo = rng.pick(sellable)
                order["lines"].append({"line_id": len(order["lines"]) + 1, "product_id": product["id"],
                                       "combo_id": combo["id"] if combo else None, "qty": rng.between(1, 3),
                                       "price": combo_price(by_id[product["id"]], combo), "fields": []})
        if index % 3 == 2 and not order["deleted"]:
            order["status_id"] = STATUS_CYCLE[(index // 3) % len(STATUS_CYCLE)]
            order["status"] = STATUS_NAMES[order["status_id"]]
            if order["status_id"] == 4:
                order["refund"] = {"lines": {str(x["line_id"]): x["qty"] for x in order["lines"]}, "amount": None}
            elif order["status_id"] == 14:
                first = order["lines"][0]
                order["refund"] = {"lines": {str(first["line_id"]): 1}, "amount": first["price"]}


# --------------------------------------------------------------------------------------------
# rate limit


class RateLimiter:
    """BigCommerce's per-store fixed window: ``quota`` requests per ``window_ms``, the window
    starting at the first request after the previous one ended. ``quota=None``: never 429,
    the headers then show a quota of 1,000,000,000."""

    def __init__(self, quota: int | None, window_ms: int):
        if quota is not None and quota < 1:
            raise ValueError("quota must be at least 1 (or None for no limit)")
        if window_ms < 1:
            raise ValueError("window_ms must be at least 1")
        self.quota, self.window_ms = quota, window_ms
        self._start = 0.0
        self._used = 0
        self._lock = threading.Lock()

    def take(self, consume: bool = True) -> tuple[bool, tuple[tuple[str, str], ...]]:
        """(allowed, headers) for one request; ``consume=False`` only reads (401 replies)."""
        quota = self.quota or UNLIMITED_QUOTA
        with self._lock:
            now = time.monotonic()
            if now >= self._start + self.window_ms / 1000:
                self._start, self._used = now, 0
            allowed = self._used < quota
            if allowed and consume:
                self._used += 1
            left, reset = quota - self._used, max(0, int((self._start + self.window_ms / 1000 - now) * 1000))
        headers = (("x-rate-limit-time-window-ms", str(self.window_ms)), ("x-rate-limit-time-reset-ms", str(reset)),
                   ("x-rate-limit-requests-quota", str(quota)), ("x-rate-limit-requests-left", str(left)))
        if not allowed:
            headers += (("x-retry-after", str(math.ceil(reset / 1000))),)
        return allowed, headers


# --------------------------------------------------------------------------------------------
# webhooks


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The Standard Webhooks ``webhook-signature`` value: HMAC-SHA256 keyed with the raw client
    secret over ``{id}.{timestamp}.{body}``, base64, prefixed ``v1,``."""
    mac = hmac.new(secret.encode(), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def _loopback_destination(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    if parts.hostname in _LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


class Webhooks:
    """Hooks kept in the state's ``docs`` (kind ``hook``) and a delivery thread: one POST per
    event and matching active hook, recorded in :attr:`deliveries`. No automatic retries: a
    test replays with :meth:`redeliver_last` (same ``hash``, same ``webhook-id``)."""

    def __init__(self, state, store_hash: str, client_id: str, secret: str, cafile: str | None):
        self.state, self.store_hash, self.client_id, self.secret = state, store_hash, client_id, secret
        self.context = ssl.create_default_context()
        if cafile:
            self.context.load_verify_locations(cafile)
        self.hooks = state.docs("hook")
        self.deliveries: list[dict] = []
        self._last: tuple[dict, list[int]] | None = None
        self._lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None

    def save(self, hook: dict) -> None:
        with self._lock:
            self.hooks[hook["id"]] = hook
        self.state.put_docs("hook", {hook["id"]: hook})

    def delete(self, hook_id: int) -> None:
        with self._lock:
            self.hooks.pop(hook_id, None)
        self.state.delete_doc("hook", hook_id)

    def fire(self, scope: str, data: dict) -> None:
        with self._lock:
            targets = [h["id"] for h in self.hooks.values() if h["is_active"] and _scope_matches(h["scope"], scope)]
        if not targets:
            return
        event = {"producer": f"stores/{self.store_hash}", "hash": hashlib.sha1(uuid.uuid4().bytes).hexdigest(),
                 "created_at": int(time.time()), "store_id": str(int(self.store_hash, 16) % 10_000_000),
                 "scope": scope, "data": data}
        self._send(event, targets)

    def redeliver_last(self) -> bool:
        with self._lock:
            last = self._last
        if last is not None:
            self._send(*last)
        return last is not None

    def _send(self, event: dict, targets: list[int]) -> None:
        with self._lock:
            self._last = (event, targets)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
                self._thread.start()
        self._queue.put((event, targets))

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            event, targets = item
            body = _dumps(event)
            for hook_id in targets:
                with self._lock:
                    hook = self.hooks.get(hook_id)
                if hook is None:
                    continue
                stamp = int(time.time())
                headers = {"Content-Type": JSON, "User-Agent": "seconnect-sandbox-webhooks/1",
                           "webhook-id": event["hash"], "webhook-timestamp": str(stamp),
                           "webhook-signature": sign(self.secret, event["hash"], stamp, body), **hook["headers"]}
                request = urllib.request.Request(hook["destination"], data=body, headers=headers, method="POST")
                try:
                    with urllib.request.urlopen(request, timeout=5, context=self.context) as reply:
                        status, error = reply.status, ""
                except urllib.error.HTTPError as exc:
                    status, error = exc.code, str(exc)
                except OSError as exc:
                    status, error = 0, str(exc)
                with self._lock:
                    self.deliveries.append({"hook": hook_id, "scope": event["scope"], "hash": event["hash"],
                                            "status": status, "error": error})

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=6)
            self._thread = None


def _scope_matches(pattern: str, scope: str) -> bool:
    return pattern == scope or (pattern.endswith("/*") and scope.startswith(pattern[:-1]))


# --------------------------------------------------------------------------------------------
# the profile

Handler = Callable[..., Reply]


class BigCommerceProfile(Profile):
    """A BigCommerce store's REST API under ``/stores/{store_hash}/v2|v3``."""

    name = "bigcommerce"
    path = "/stores/"
    rest = True

    def __init__(self, model, bugs: dict[str, bool] | None = None, *, quota: int | None = 150,
                 window_ms: int = 30_000, embed_lines: int | None = None, inventory_delay_ms: float = 0,
                 client_secret: str | None = None, ca_file: str | None = None):
        if bugs:
            raise ValueError("the bigcommerce profile has no bug switches")
        super().__init__(model)
        state = self.state
        self.store_hash = state.get_meta("store_hash") or hashlib.sha256(f"store:{self.config.seed}".encode()) \
            .hexdigest()[:10]
        self.client_id = state.get_meta("client_id") or secrets.token_hex(15)
        self.client_secret = client_secret or state.get_meta("client_secret") or secrets.token_hex(24)
        state.set_meta(store_hash=self.store_hash, client_id=self.client_id, client_secret=self.client_secret)
        self.api_url = f"{self.config.shop_url}/stores/{self.store_hash}"
        self.limiter = RateLimiter(quota, window_ms)
        self.embed_lines = embed_lines
        self.inventory_delay = inventory_delay_ms / 1000
        self.webhooks = Webhooks(state, self.store_hash, self.client_id, self.client_secret, ca_file)
        self._lock = threading.RLock()
        self._timers: set[threading.Timer] = set()
        self._cache: dict[tuple[int, str], bytes] = {}
        self._overlay = state.docs("order")  # per order: modified time, refund, set by steering
        self._shipments = state.docs("shipment")
        self._stock2 = state.docs("stock2")  # second location: {"qty", "absolute"} per stock key
        self._pmod = state.docs("product")  # product date_modified after stock changes
        self._rows: dict[int, list] = {}
        # (sort field, archived) -> (sort keys, order ids) in that order; dropped on any change
        self._ordered: dict[tuple[str, bool], tuple[list[int], list[int]]] = {}
        for oid, date, status_id, deleted, customer_id in state.order_rows():
            self._index(oid, date, status_id, deleted, customer_id)
        self._variants: dict[int, tuple[int, int | None]] = {}  # variant id -> (product id, combo id)
        self._variants_of: dict[int, list[int]] = {}
        self._by_sku: dict[str, int] = {}
        for pid in sorted(self.catalog.products):
            for cid in [c["id"] for c in self.catalog.combos_of.get(pid, [])] or [None]:
                vid = cid if cid else BASE_VARIANT_OFFSET + pid
                self._variants[vid] = (pid, cid)
                self._variants_of.setdefault(pid, []).append(vid)
                sku = self.variant_sku(pid, cid)
                if sku:
                    self._by_sku.setdefault(sku, vid)
        self._routes = _routes(self)

    # ---------------------------------------------------------------- catalogue rules

    def tracking(self, pid: int) -> str:
        """``none`` for untracked products; products with variations keep stock per variant,
        except every one whose id is a multiple of 4 (by product); the rest by product."""
        product = self.catalog.products[pid]
        if product["track"] == "none":
            return "none"
        return "variant" if pid in self.catalog.combos_of and pid % 4 else "product"

    def variant_sku(self, pid: int, cid: int | None) -> str:
        """A base variant has the product's SKU (maybe empty); other variants always have one:
        the combination's own, else ``<product SKU or SKU-id>-<value codes>``."""
        code = self.catalog.products[pid]["code"]
        if not cid:
            return code
        combo = self.catalog.combos[cid]
        return combo["sku"] or f"{code or f'SKU-{pid}'}-{'-'.join(combo['codes'])}"

    def stock_row(self, pid: int, cid: int | None) -> tuple[str, int] | None:
        mode = self.tracking(pid)
        if mode == "product":
            return ("products", pid)
        return ("combos", cid) if mode == "variant" and cid else None

    def tracked(self, pid: int, cid: int | None) -> bool:
        return self.stock_row(pid, cid) == (("combos", cid) if cid else ("products", pid))

    def product_code(self, pid: int, cid: int | None) -> str:
        return self.variant_sku(pid, cid)

    def resolve(self, sku: str) -> tuple[list[int], list[int]]:
        vid = self._by_sku.get(sku)
        row = self.stock_row(*self._variants[vid]) if vid else None
        if row is None:
            return [], []
        return ([row[1]], []) if row[0] == "products" else ([], [row[1]])

    def downloadable_where(self) -> str:
        return "deleted = 0"

    def script_path(self) -> str:
        return f"/stores/{self.store_hash}"

    # ---------------------------------------------------------------- order index (memory)

    def _index(self, oid: int, date: str, status_id: int, deleted: int, customer_id: int | None) -> None:
        created = _stored_ts(date)
        modified = self._overlay.get(oid, {}).get("modified", created + (oid % 5) * 3600)
        self._rows[oid] = [created, modified, status_id, bool(deleted), customer_id or 0]

    def _touch(self, oid: int, **changes: object) -> None:
        """Record a change to an order: new date_modified, overlay saved, cached JSON dropped."""
        with self._lock:
            now = int(time.time())
            over = self._overlay.setdefault(oid, {})
            over.update(changes, modified=now)
            self._rows[oid][1] = now
            for embed in EMBEDS:
                self._cache.pop((oid, embed), None)
            self._changed()
        self.state.put_docs("order", {oid: over})

    def _changed(self) -> None:
        """Drop what the order lists are served from (sort orders, whole pages); a status,
        archive, refund or shipment goes through :meth:`_touch`, new orders through
        :meth:`add_orders`. A restart builds a new profile, so both start empty."""
        with self._lock:
            self._ordered.clear()
            self.pages.clear()

    def _sorted(self, field: str, archived: bool) -> tuple[list[int], list[int]]:
        """(sort keys, ids) of the live or archived orders by ``field`` then id, kept until a
        change so a list page never scans or sorts every order."""
        with self._lock:
            found = self._ordered.get((field, archived))
            if found is None:
                col = SORT_COLUMNS[field]
                pairs = sorted((oid if col is None else row[col], oid)
                               for oid, row in self._rows.items() if row[3] == archived)
                found = self._ordered[(field, archived)] = ([k for k, _ in pairs], [oid for _, oid in pairs])
        return found

    def _order_row(self, oid: int) -> list:
        row = self._rows.get(oid)
        if row is None:
            raise ApiError(404, "The requested resource was not found.")
        return row

    # ---------------------------------------------------------------- steering (Sandbox methods)

    def add_orders(self, count: int) -> list[int]:
        ids = self.model.add_orders(count, rows=self.stock_row)
        docs = self.state.order_docs(ids)
        now = int(time.time())
        with self._lock:
            for oid in ids:
                doc = docs[oid]
                self._index(oid, doc["date"], doc["status_id"], doc["deleted"], doc["customer_id"])
                self._rows[oid][1] = now
                self._overlay[oid] = {"modified": now}
            self._changed()
        self.state.put_docs("order", {oid: {"modified": now} for oid in ids})
        for oid in ids:
            self.webhooks.fire("store/order/created", {"type": "order", "id": oid})
            self._fire_stock(docs[oid]["lines"])
        return ids

    def set_status(self, order_id: int, status_id: int) -> bool:
        row = self._rows.get(order_id)
        if row is None:
            return False
        with self._lock:
            previous, row[2] = row[2], status_id
        self.state.set_order_status(order_id, STATUS_NAMES[status_id], status_id)
        self._touch(order_id)
        self.webhooks.fire("store/order/updated", {"type": "order", "id": order_id})
        if previous != status_id:
            self.webhooks.fire("store/order/statusUpdated", {
                "type": "order", "id": order_id,
                "status": {"previous_status_id": previous, "new_status_id": status_id}})
        return True

    def archive(self, order_id: int) -> bool:
        row = self._rows.get(order_id)
        if row is None:
            return False
        self.state.set_order_deleted(order_id, True)
        with self._lock:
            row[3] = True
        self._touch(order_id)
        self.webhooks.fire("store/order/archived", {"type": "order", "id": order_id})
        return True

    def refund(self, order_id: int) -> bool:
        """Refund the whole order (every line, the order total); status becomes Refunded (4)."""
        if order_id not in self._rows:
            return False
        doc = self.state.order_docs([order_id])[order_id]
        self._touch(order_id, refund={"lines": {str(x["line_id"]): x["qty"] for x in doc["lines"]}, "amount": None})
        self.webhooks.fire("store/order/refund/created", {"type": "order", "id": order_id})
        self.set_status(order_id, 4)
        return True

    def shipments(self, order_id: int) -> list[dict]:
        return [s for s in self._shipments.values() if s["order_id"] == order_id]

    def warm(self) -> int:
        ids = [oid for oid, row in self._rows.items() if not row[3]]
        for start in range(0, len(ids), 1000):
            self._orders_json(ids[start:start + 1000], "object")
        return len(ids)

    def close(self) -> None:
        for timer in list(self._timers):
            timer.cancel()
        self.webhooks.close()

    # ---------------------------------------------------------------- request flow

    def route_of(self, method: str, path: str) -> tuple[str, str]:
        """(route pattern, resource name for ``@`` fault terms) of a request."""
        rest = self._rest_path(path)
        if rest is not None:
            for route_method, regex, pattern, _ in self._routes:
                if route_method == method and regex.fullmatch(rest):
                    return pattern, pattern.split("/")[2]
        return "(unknown)", "unknown"

    def _rest_path(self, path: str) -> str | None:
        prefix = f"/stores/{self.store_hash}"
        return path[len(prefix):] if path.startswith(prefix + "/") else None

    def handle_rest(self, method: str, path: str, query: str, headers, body: bytes, *, bad_auth: bool = False) -> Reply:
        v3 = "/v3/" in path
        token = headers.get("X-Auth-Token", "")
        if bad_auth or not hmac.compare_digest(token.encode(), self.config.password.encode()):
            _, limits = self.limiter.take(consume=False)
            return _error(v3, ApiError(401, "You have not provided a valid X-Auth-Token header."
                                       if token else "The X-Auth-Token header is missing."), limits)
        allowed, limits = self.limiter.take()
        if not allowed:
            return _error(v3, ApiError(429, "Too many requests: the store's API quota is used up; wait "
                                            "x-rate-limit-time-reset-ms."), limits)
        rest = self._rest_path(path)
        try:
            if rest is None:
                raise ApiError(404, "The requested store was not found.")
            for route_method, regex, _, handler in self._routes:
                match = regex.fullmatch(rest)
                if match and route_method == method:
                    params = dict(parse_qsl(query, keep_blank_values=True))
                    reply = handler(params, body, *match.groups())
                    break
            else:
                if any(regex.fullmatch(rest) for _, regex, _, _ in self._routes):
                    raise ApiError(405, f"{method} is not allowed on this resource.")
                raise ApiError(404, "The requested resource was not found.")
        except ApiError as exc:
            return _error(v3, exc, limits)
        # a copy: the reply may be a cached page shared with other requests
        return dataclasses.replace(reply, headers=limits + reply.headers)

    # ---------------------------------------------------------------- request helpers

    @staticmethod
    def _paging(params: dict[str, str], *, v2: bool, cap: int = MAX_LIMIT) -> tuple[int, int]:
        page, limit = _int(params, "page", 1), _int(params, "limit", 50)
        if page < 1 or limit < 1:
            raise ApiError(400, "page and limit must be whole numbers of at least 1.")
        if limit > cap:
            if v2:
                raise ApiError(413, f"The limit {limit} is above the maximum of {cap}.")
            limit = cap
        return page, limit

    def _v3_list(self, items: list, params: dict[str, str], cap: int = MAX_LIMIT) -> Reply:
        page, limit = self._paging(params, v2=False, cap=cap)
        total, pages = len(items), math.ceil(len(items) / limit)
        data = items[(page - 1) * limit: page * limit]
        links = {"current": f"?page={page}&limit={limit}"}
        if page > 1:
            links["previous"] = f"?page={page - 1}&limit={limit}"
        if page < pages:
            links["next"] = f"?page={page + 1}&limit={limit}"
        meta = {"pagination": {"total": total, "count": len(data), "per_page": limit, "current_page": page,
                               "total_pages": pages, "links": links}}
        return Reply(_dumps({"data": data, "meta": meta}), JSON)

    # ---------------------------------------------------------------- v2: store, time, statuses

    def time(self, params, body) -> Reply:
        return _json({"time": int(time.time())})

    def store(self, params, body) -> Reply:
        return _json({"id": self.store_hash, "domain": "harbor-lantern.example", "secure_url": self.config.shop_url,
                      "name": "Harbor Lantern Supply (sandbox)", "plan_name": "Standard", "plan_level": "Standard",
                      "plan_is_trial": False, "currency": "USD", "timezone": {"name": "Etc/UTC"},
                      "first_name": "Ada", "last_name": "Harbor", "admin_email": "ada@example.com"})

    def order_statuses(self, params, body) -> Reply:
        return _json([{"id": sid, "name": name, "system_label": name, "custom_label": name,
                       "system_description": name, "order": sid} for sid, name in STATUS_NAMES.items()])

    # ---------------------------------------------------------------- v2 orders

    def _select(self, params: dict[str, str], field: str = "id", desc: bool = False) -> Iterator[int]:
        """Order ids matching the v2 list filters (archived ones only with ``is_deleted=true``),
        in ``field`` then id order. Bounds on the sort column itself narrow the kept sort order
        by bisection, so paging on ``min_date_modified`` costs the page, not the store."""
        keys, ids = self._sorted(field, params.get("is_deleted", "false").lower() == "true")
        lo, hi = 0, len(ids)
        sort_col = SORT_COLUMNS[field]
        tests: list[Callable[[list], bool]] = []
        for name, col, lower in (("min_id", None, True), ("max_id", None, False),
                                 ("min_date_created", 0, True), ("max_date_created", 0, False),
                                 ("min_date_modified", 1, True), ("max_date_modified", 1, False)):
            if name in params:
                if col is None:
                    bound = _int(params, name, 0)
                else:
                    try:
                        bound = parse_date(params[name])
                    except ValueError:
                        raise ApiError(400, f"The field '{name}' is invalid: expected an RFC 2822 or "
                                            "ISO 8601 date.") from None
                if col == sort_col:
                    if lower:
                        lo = max(lo, bisect.bisect_left(keys, bound))
                    else:
                        hi = min(hi, bisect.bisect_right(keys, bound))
                else:
                    tests.append(_bound(col, bound, lower))
        for name, col in (("status_id", 2), ("customer_id", 4)):
            if name in params:
                wanted = _int(params, name, 0)
                tests.append(lambda r, c=col, w=wanted: r[c] == w)
        span = range(hi - 1, lo - 1, -1) if desc else range(lo, hi)
        rows = self._rows
        return (ids[i] for i in span if all(t(_r(ids[i], rows[ids[i]])) for t in tests))

    def orders(self, params, body) -> Reply:
        page, limit = self._paging(params, v2=True)
        field, _, direction = params.get("sort", "id").partition(":")
        if field not in SORT_COLUMNS or direction not in ("", "asc", "desc"):
            raise ApiError(400, f"The sort '{params['sort']}' is invalid: use id, customer_id, date_created, "
                                "date_modified, status_id, channel_id or external_id, with :asc or :desc.")
        return self.pages.fetch(("GET /v2/orders", *sorted(params.items())),
                                lambda: self._orders_page(params, page, limit, field, direction == "desc"))

    def _orders_page(self, params: dict[str, str], page: int, limit: int, field: str, desc: bool) -> Reply:
        chunk = list(itertools.islice(self._select(params, field, desc), (page - 1) * limit, page * limit))
        if not chunk:
            return Reply(b"", JSON, 204)
        include = {part.strip() for part in params.get("include", "").split(",")}
        embed = "none"
        if "consignments.line_items" in include or "consignments" in include:
            embed = "object" if params.get("consignment_structure") == "object" else "list"
        return Reply(b"[" + b",".join(self._orders_json(chunk, embed)) + b"]", JSON)

    def orders_count(self, params, body) -> Reply:
        ids = list(self._select(params))
        with self._lock:
            counts = {sid: 0 for sid in STATUS_NAMES}
            for oid in ids:
                counts[self._rows[oid][2]] += 1
        return _json({"statuses": [{"id": sid, "name": name, "system_label": name, "custom_label": name,
                                    "system_description": name, "count": counts[sid], "sort_order": sid}
                                   for sid, name in STATUS_NAMES.items()], "count": len(ids)})

    def order(self, params, body, oid) -> Reply:
        self._order_row(int(oid))
        return Reply(self._orders_json([int(oid)], "none")[0], JSON)

    def update_order(self, params, body, oid) -> Reply:
        order_id = int(oid)
        self._order_row(order_id)
        fields = _body(body, dict)
        if "status_id" in fields:
            status_id = fields["status_id"]
            if not isinstance(status_id, int) or status_id not in STATUS_NAMES:
                raise ApiError(400, f"The field 'status_id' is invalid: {status_id!r} is not a status id (0-14).")
            self.set_status(order_id, status_id)
        if fields.get("is_deleted") is True:
            self.archive(order_id)
        return Reply(self._orders_json([order_id], "none")[0], JSON)

    def delete_order(self, params, body, oid) -> Reply:
        self._order_row(int(oid))
        self.archive(int(oid))
        return Reply(b"", JSON, 204)

    # An order's sub-resources are served from the page cache too (like the lists): a client
    # reads them per order, and a sandbox rendering each from its state would be the slow part
    # of any "fetch and parse" floor measured against it.
    def order_products(self, params, body, oid) -> Reply:
        page, limit = self._paging(params, v2=True)
        self._order_row(int(oid))
        return self.pages.fetch(("GET /v2/orders/products", int(oid), page, limit),
                                lambda: self._order_products(int(oid), page, limit))

    def _order_products(self, oid: int, page: int, limit: int) -> Reply:
        doc = self.state.order_docs([oid])[oid]
        chunk = self._lines(doc)[(page - 1) * limit: page * limit]
        return _json(chunk) if chunk else Reply(b"", JSON, 204)

    def order_addresses(self, params, body, oid) -> Reply:
        self._order_row(int(oid))
        return self.pages.fetch(("GET /v2/orders/shipping_addresses", int(oid)), lambda: self._order_addresses(int(oid)))

    def _order_addresses(self, oid: int) -> Reply:
        doc = self.state.order_docs([oid])[oid]
        return _json(self._addresses(doc, self._lines(doc)))

    def order_coupons(self, params, body, oid) -> Reply:
        self._order_row(int(oid))
        return self.pages.fetch(("GET /v2/orders/coupons", int(oid)), lambda: self._order_coupons(int(oid)))

    def _order_coupons(self, oid: int) -> Reply:
        coupon = self.state.order_docs([oid])[oid]["coupon"]
        if not coupon:
            return Reply(b"", JSON, 204)
        return _json([{"id": int(oid), "coupon_id": sum(map(ord, coupon["code"])), "order_id": int(oid),
                       "code": coupon["code"], "amount": money(coupon["amount"]), "type": 1,
                       "discount": f"{coupon['percent']:.4f}"}])

    def order_shipments(self, params, body, oid) -> Reply:
        self._order_row(int(oid))
        found = self.shipments(int(oid))
        return _json(found) if found else Reply(b"", JSON, 204)

    def create_shipment(self, params, body, oid) -> Reply:
        """Validate like BigCommerce (400 naming the field), store, then Shipped (2) when every
        item is shipped, else Partially Shipped (3)."""
        order_id = int(oid)
        self._order_row(order_id)
        fields = _body(body, dict)
        doc = self.state.order_docs([order_id])[order_id]
        lines = {x["id"]: x for x in self._lines(doc)}
        addresses = {a["id"]: a for a in self._addresses(doc, list(lines.values()))}
        address_id = fields.get("order_address_id")
        if address_id not in addresses:
            raise ApiError(400, f"The field 'order_address_id' is invalid: {address_id!r} is not an address of "
                                f"order {order_id} (its addresses: {', '.join(map(str, addresses))}).")
        items = fields.get("items")
        if not isinstance(items, list) or not items:
            raise ApiError(400, "The field 'items' is required: a list of {order_product_id, quantity}.")
        for n, item in enumerate(items):
            line = lines.get(item.get("order_product_id")) if isinstance(item, dict) else None
            if line is None:
                raise ApiError(400, f"The field 'items.{n}.order_product_id' is invalid: not a line of this order.")
            quantity = item.get("quantity")
            left = line["quantity"] - line["quantity_shipped"]
            if not isinstance(quantity, int) or not 1 <= quantity <= left:
                raise ApiError(400, f"The field 'items.{n}.quantity' is invalid: {quantity!r} (between 1 and the "
                                    f"{left} not yet shipped).")
        for name in ("tracking_number", "shipping_provider", "tracking_carrier", "comments", "shipping_method"):
            if not isinstance(fields.get(name, ""), str):
                raise ApiError(400, f"The field '{name}' is invalid: expected a string.")
        with self._lock:
            sid = max(self._shipments, default=0) + 1
            shipment = {
                "id": sid, "order_id": order_id, "customer_id": self._rows[order_id][4],
                "order_address_id": address_id, "date_created": rfc2822(int(time.time())),
                "tracking_number": fields.get("tracking_number", ""),
                "shipping_method": fields.get("shipping_method", ""),
                "shipping_provider": fields.get("shipping_provider", ""),
                "tracking_carrier": fields.get("tracking_carrier", ""), "tracking_link": "",
                "comments": fields.get("comments", ""), "billing_address": self._billing(doc),
                "shipping_address": {k: v for k, v in addresses[address_id].items()
                                     if k not in ("shipping_quotes", "form_fields")},
                "items": [{"order_product_id": i["order_product_id"], "product_id": lines[i["order_product_id"]]
                           ["product_id"], "quantity": i["quantity"]} for i in items]}
            self._shipments[sid] = shipment
        self.state.put_docs("shipment", {sid: shipment})
        self._touch(order_id)
        shipped = {x["id"]: x["quantity_shipped"] for x in self._lines(doc)}
        done = all(shipped[x["id"]] >= x["quantity"] for x in lines.values())
        self.set_status(order_id, 2 if done else 3)
        return Reply(_dumps(shipment), JSON, 201)

    # ---------------------------------------------------------------- v2 rendering (cached)

    def _orders_json(self, ids: list[int], embed: str) -> list[bytes]:
        cache = self._cache
        missing = [oid for oid in ids if (oid, embed) not in cache]
        if missing:
            docs = self.state.order_docs(missing)
            rendered = {(oid, embed): _dumps(self._order(docs[oid], embed)) for oid in missing}
            with self._lock:
                cache.update(rendered)
        return [cache[(oid, embed)] for oid in ids]

    def _order(self, doc: dict, embed: str) -> dict:
        oid = doc["id"]
        created, modified, status_id, deleted, customer_id = self._rows[oid]
        lines = self._lines(doc)
        subtotal = sum(x["qty"] * x["price"] for x in doc["lines"])
        coupon = doc["coupon"]["amount"] if doc["coupon"] else 0
        ship, handling, tax = doc["ship_cost"], doc["handling"], doc["tax"]
        total_ex = subtotal - doc["discount"] - coupon + ship + handling
        refund = self._overlay.get(oid, {}).get("refund", doc.get("refund"))
        refunded = 0 if not refund else (total_ex + tax if refund["amount"] is None else refund["amount"])
        shipped = [s for s in self._shipments.values() if s["order_id"] == oid]
        payment = doc["payment"]
        link = f"{self.api_url}/v2/orders/{oid}"
        out = {
            "id": oid, "customer_id": customer_id, "date_created": rfc2822(created), "date_modified": rfc2822(modified),
            "date_shipped": rfc2822(_stored_ts(doc["date"]) + 86400) if shipped else "",
            "status_id": status_id, "status": STATUS_NAMES[status_id], "custom_status": STATUS_NAMES[status_id],
            "subtotal_ex_tax": money(subtotal), "subtotal_inc_tax": money(subtotal + tax), "subtotal_tax": money(tax),
            "base_shipping_cost": money(ship), "shipping_cost_ex_tax": money(ship), "shipping_cost_inc_tax": money(ship),
            "shipping_cost_tax": money(0), "shipping_cost_tax_class_id": 2,
            "base_handling_cost": money(handling), "handling_cost_ex_tax": money(handling),
            "handling_cost_inc_tax": money(handling), "handling_cost_tax": money(0), "handling_cost_tax_class_id": 2,
            "base_wrapping_cost": money(0), "wrapping_cost_ex_tax": money(0), "wrapping_cost_inc_tax": money(0),
            "wrapping_cost_tax": money(0), "wrapping_cost_tax_class_id": 3,
            "total_ex_tax": money(total_ex), "total_inc_tax": money(total_ex + tax), "total_tax": money(tax),
            "is_tax_inclusive_pricing": False,
            "items_total": sum(x["quantity"] for x in lines), "items_shipped": sum(x["quantity_shipped"] for x in lines),
            "payment_method": _PAYMENT_METHOD.get(payment["kind"], payment.get("gateway", "")),
            "payment_provider_id": payment.get("trans_id", ""),
            "payment_status": {"gateway_card": "captured", "paypal": "captured"}.get(payment["kind"], ""),
            "refunded_amount": money(refunded), "store_credit_amount": money(0), "gift_certificate_amount": money(0),
            "discount_amount": money(doc["discount"]), "coupon_discount": money(coupon),
            "currency_id": 1, "currency_code": "USD", "currency_exchange_rate": "1.0000000000",
            "default_currency_id": 1, "default_currency_code": "USD", "store_default_currency_code": "USD",
            "store_default_to_transactional_exchange_rate": "1.0000000000",
            "customer_message": doc["message"], "staff_notes": doc["staff_notes"],
            "order_is_digital": all(x["type"] == "digital" for x in lines), "is_deleted": deleted,
            "is_email_opt_in": False, "shipping_address_count": len(doc["shipping_addresses"]) or 1,
            "ip_address": doc["ip"] if ":" not in doc["ip"] else "", "ip_address_v6": doc["ip"] if ":" in doc["ip"] else "",
            "geoip_country": COUNTRIES.get(doc["billing"]["country"], ""),
            "geoip_country_iso2": doc["billing"]["country"],
            "cart_id": "", "channel_id": 1, "order_source": "www", "external_source": None, "external_id": None,
            "external_merchant_id": None, "external_order_id": "", "ebay_order_id": "0", "tax_provider_id": "BasicTaxProvider",
            "customer_locale": "en", "credit_card_type": payment.get("issuer") or None,
            "billing_address": self._billing(doc),
            "products": {"url": f"{link}/products", "resource": f"/orders/{oid}/products"},
            "shipping_addresses": {"url": f"{link}/shipping_addresses", "resource": f"/orders/{oid}/shipping_addresses"},
            "coupons": {"url": f"{link}/coupons", "resource": f"/orders/{oid}/coupons"},
        }
        if embed != "none":
            embedded = lines if self.embed_lines is None else lines[:self.embed_lines]
            shipping = [{**address, "line_items": [x for x in embedded if x["order_address_id"] == address["id"]]}
                        for address in self._addresses(doc, lines)]
            consignments = {"pickups": [], "shipping": shipping, "downloads": [], "email": {"gift_certificates": []}}
            out["consignments"] = consignments if embed == "object" else [consignments]
        return out

    def _billing(self, doc: dict) -> dict:
        b = doc["billing"]
        return {"first_name": b["first"], "last_name": b["last"], "company": b["company"], "street_1": b["street1"],
                "street_2": b["street2"], "city": b["city"], "state": b["state"], "zip": b["zip"],
                "country": COUNTRIES.get(b["country"], b["country"]), "country_iso2": b["country"], "phone": b["phone"],
                "email": b["email"], "form_fields": [{"name": n, "value": v} for n, v in doc["custom_fields"]]}

    def _addresses(self, doc: dict, lines: list[dict]) -> list[dict]:
        """Shipping addresses (the billing address when the order has none); the order's
        shipping and handling are charged on the first."""
        oid = doc["id"]
        out = []
        for k, who in enumerate(doc["shipping_addresses"] or [doc["billing"]]):
            aid = oid * 100 + k + 1
            mine = [x for x in lines if x["order_address_id"] == aid]
            ship, handling = (doc["ship_cost"], doc["handling"]) if k == 0 else (0, 0)
            out.append({
                "id": aid, "order_id": oid, "first_name": who["first"], "last_name": who["last"],
                "company": who["company"], "street_1": who["street1"], "street_2": who["street2"], "city": who["city"],
                "state": who["state"], "zip": who["zip"], "country": COUNTRIES.get(who["country"], who["country"]),
                "country_iso2": who["country"], "phone": who["phone"], "email": who["email"],
                "items_total": sum(x["quantity"] for x in mine), "items_shipped": sum(x["quantity_shipped"] for x in mine),
                "shipping_method": doc["ship_method"], "base_cost": money(ship), "cost_ex_tax": money(ship),
                "cost_inc_tax": money(ship), "cost_tax": money(0), "cost_tax_class_id": 2,
                "base_handling_cost": money(handling), "handling_cost_ex_tax": money(handling),
                "handling_cost_inc_tax": money(handling), "handling_cost_tax": money(0),
                "handling_cost_tax_class_id": 2, "shipping_zone_id": 1, "shipping_zone_name": "United States",
                "form_fields": [],
                "shipping_quotes": {"url": f"{self.api_url}/v2/orders/{oid}/shipping_addresses/{aid}/shipping_quotes",
                                    "resource": f"/orders/{oid}/shipping_addresses/{aid}/shipping_quotes"}})
        return out

    def _lines(self, doc: dict) -> list[dict]:
        """The order's line items; lines are split over its shipping addresses in turn."""
        oid = doc["id"]
        n_addresses = len(doc["shipping_addresses"]) or 1
        refund = self._overlay.get(oid, {}).get("refund", doc.get("refund")) or {"lines": {}}
        shipped: dict[int, int] = {}
        for shipment in self._shipments.values():
            if shipment["order_id"] == oid:
                for item in shipment["items"]:
                    shipped[item["order_product_id"]] = shipped.get(item["order_product_id"], 0) + item["quantity"]
        out = []
        for n, line in enumerate(doc["lines"]):
            pid, cid = line["product_id"], line["combo_id"] or None
            product, combo = self.catalog.products[pid], self.catalog.combos.get(cid) if cid else None
            lid, qty, unit = oid * 100 + line["line_id"], line["qty"], line["price"]
            refunded = refund["lines"].get(str(line["line_id"]), 0)
            # a chosen value's ``value`` is its option value id, as BigCommerce sends it; a typed one's the text
            options = [{"id": lid * 10 + k, "option_id": k + 1, "order_product_id": lid, "product_option_id": k + 1,
                        "display_name": name, "display_value": label, "value": str(value_id),
                        "type": "Multiple choice", "name": name, "display_style": "Dropdown"}
                       for k, (name, label, value_id) in enumerate(zip(combo["options"], combo["labels"],
                                                                       combo["values"], strict=True))] \
                if combo else []
            options += [{"id": lid * 10 + 5 + k, "option_id": 100 + k, "order_product_id": lid,
                         "product_option_id": 100 + k, "display_name": name, "display_value": text, "value": text,
                         "type": "File upload" if kind == "file" else "Text field", "name": name,
                         "display_style": ""} for k, (name, text, kind) in enumerate(line["fields"])]
            out.append({
                "id": lid, "order_id": oid, "product_id": pid, "variant_id": cid or BASE_VARIANT_OFFSET + pid,
                "order_address_id": oid * 100 + n % n_addresses + 1, "order_pickup_method_id": 0,
                "name": product["name"], "name_customer": product["name"], "name_merchant": product["name"],
                "sku": self.variant_sku(pid, cid), "upc": "", "type": product["kind"], "brand": "",
                "base_price": money(unit), "price_ex_tax": money(unit), "price_inc_tax": money(unit),
                "price_tax": money(0), "base_total": money(unit * qty), "total_ex_tax": money(unit * qty),
                "total_inc_tax": money(unit * qty), "total_tax": money(0),
                "discounted_total_inc_tax": money(unit * qty), "quantity": qty,
                "quantity_shipped": shipped.get(lid, 0), "quantity_refunded": refunded,
                "is_refunded": refunded >= qty, "refund_amount": money(unit * refunded), "return_id": 0,
                "base_cost_price": money(product["cost"]), "cost_price_inc_tax": money(product["cost"]),
                "cost_price_ex_tax": money(product["cost"]), "cost_price_tax": money(0),
                "weight": f"{product['weight'] / 100:.4f}", "width": f"{product['width'] / 100:.4f}",
                "height": f"{product['height'] / 100:.4f}", "depth": f"{product['depth'] / 100:.4f}",
                "fixed_shipping_cost": money(0), "ebay_item_id": "", "ebay_transaction_id": "",
                "option_set_id": 1 if combo else None, "parent_order_product_id": None, "is_bundled_product": False,
                "bin_picking_number": "", "configurable_fields": [], "external_id": None,
                "gift_certificate_id": None, "applied_discounts": [], "product_options": options})
        return out

    # ---------------------------------------------------------------- v3 catalog

    def _stock(self) -> tuple[dict[int, int], dict[int, int]]:
        return self.state.stock()

    def _variant(self, vid: int, stock: tuple[dict[int, int], dict[int, int]]) -> dict:
        pid, cid = self._variants[vid]
        product, combo = self.catalog.products[pid], self.catalog.combos.get(cid) if cid else None
        row = self.stock_row(pid, cid)
        level = (stock[0] if row[0] == "products" else stock[1])[row[1]] if row and (row[0] == "combos" or not cid) \
            else 0
        return {"id": vid, "product_id": pid, "sku": self.variant_sku(pid, cid), "sku_id": cid,
                "price": price(combo_price(product, combo)) if combo else None, "sale_price": None,
                "retail_price": None, "cost_price": None, "map_price": None,
                "calculated_price": price(combo_price(product, combo)),
                "calculated_weight": (product["weight"] + (combo["weight_adj"] if combo else 0)) / 100,
                "weight": None, "width": None, "height": None, "depth": None, "upc": "", "gtin": "", "mpn": "",
                "inventory_level": level, "inventory_warning_level": 0, "bin_picking_number": "",
                "purchasing_disabled": False, "purchasing_disabled_message": "", "is_free_shipping": False,
                "fixed_cost_shipping_price": None, "image_url": "",
                "option_values": [{"id": value, "option_id": option["id"], "label": label,
                                   "option_display_name": option["name"]}
                                  for value, label, option in zip(combo["values"], combo["labels"], product["options"],
                                                                  strict=True)] if combo else []}

    def _product(self, pid: int, stock, include: set[str]) -> dict:
        p = self.catalog.products[pid]
        mode = self.tracking(pid)
        variants = [self._variant(vid, stock) for vid in self._variants_of[pid]]
        level = stock[0][pid] if mode == "product" else sum(v["inventory_level"] for v in variants)
        created = _stored_ts(generator.CUSTOMER_EPOCH.isoformat(" ")) + pid * 3600
        out = {"id": pid, "name": p["name"], "type": p["kind"], "sku": p["code"], "description": p["description"],
               "price": price(p["price"]), "sale_price": 0, "retail_price": 0, "cost_price": price(p["cost"]),
               "map_price": 0, "calculated_price": price(p["price"]), "weight": p["weight"] / 100,
               "width": p["width"] / 100, "height": p["height"] / 100, "depth": p["depth"] / 100,
               "inventory_level": level, "inventory_warning_level": 0, "inventory_tracking": mode,
               "is_visible": not p["hidden"], "availability": "disabled" if p["hidden"] else "available",
               "date_created": iso(created), "date_modified": iso(self._pmod.get(pid, {}).get("modified", created)),
               "base_variant_id": None if pid in self.catalog.combos_of else BASE_VARIANT_OFFSET + pid,
               "categories": [], "brand_id": 0, "upc": "", "gtin": "", "mpn": "",
               "custom_url": {"url": f"/{p['name'].lower().replace(' ', '-')}-{pid}/", "is_customized": False},
               "total_sold": 0, "option_set_id": None}
        if "variants" in include:
            out["variants"] = variants
        if "options" in include:
            out["options"] = [{"id": o["id"], "product_id": pid, "display_name": o["name"], "type": "dropdown",
                               "sort_order": k, "option_values": [{"id": v["id"], "label": v["name"], "sort_order": n,
                                                                   "is_default": False}
                                                                  for n, v in enumerate(o["values"])]}
                              for k, o in enumerate(p["options"])]
        return out

    def products(self, params, body) -> Reply:
        include = {x.strip() for x in params.get("include", "").split(",") if x.strip()}
        stock = self._stock()
        items = [self._product(pid, stock, include) for pid in sorted(self.catalog.products)]
        items = _v3_filter(items, params, {"id": "id", "sku": "sku", "date_modified": "date_modified",
                                           "inventory_level": "inventory_level"})
        sort = params.get("sort", "id")
        if sort not in ("id", "name", "sku", "price", "date_modified", "inventory_level", "calculated_price"):
            raise ApiError(422, f"The sort '{sort}' is invalid.", {"sort": "unknown field"})
        items.sort(key=lambda x: (x[sort], x["id"]), reverse=params.get("direction", "asc") == "desc")
        return self._v3_list(items, params, cap=10 if "options" in include else MAX_LIMIT)

    def product(self, params, body, pid) -> Reply:
        if int(pid) not in self.catalog.products:
            raise ApiError(404, "The requested product was not found.")
        include = {x.strip() for x in params.get("include", "").split(",") if x.strip()}
        return _json({"data": self._product(int(pid), self._stock(), include), "meta": {}})

    def variants(self, params, body) -> Reply:
        stock = self._stock()
        items = [self._variant(vid, stock) for vid in sorted(self._variants, key=lambda v: self._variants[v])]
        return self._v3_list(_v3_filter(items, params, {"id": "id", "sku": "sku", "product_id": "product_id"}), params)

    # ---------------------------------------------------------------- v3 customers

    def _customer(self, c: dict, include: set[str]) -> dict:
        created = _stored_ts(c["created"])
        out = {"id": c["id"], "email": c["email"].strip(), "first_name": c["first"], "last_name": c["last"],
               "company": c["company"], "phone": c["phone"], "registration_ip_address": "", "notes": "",
               "tax_exempt_category": "", "customer_group_id": 0, "date_created": iso(created),
               "date_modified": iso(created), "address_count": 1, "attribute_count": 0,
               "authentication": {"force_password_reset": False},
               "accepts_product_review_abandoned_cart_emails": False, "origin_channel_id": 1, "channel_ids": None}
        if "addresses" in include:
            out["addresses"] = [_customer_address(c)]
        return out

    def customers(self, params, body) -> Reply:
        include = {x.strip() for x in params.get("include", "").split(",") if x.strip()}
        items = [self._customer(c, include) for c in self.state.customer_docs()]
        return self._v3_list(_v3_filter(items, params, {"id": "id", "email": "email",
                                                        "date_modified": "date_modified",
                                                        "date_created": "date_created"}), params)

    def customer_addresses(self, params, body) -> Reply:
        items = [_customer_address(c) for c in self.state.customer_docs()]
        return self._v3_list(_v3_filter(items, params, {"id": "id", "customer_id": "customer_id"}), params)

    # ---------------------------------------------------------------- v3 inventory

    def _locations(self) -> list[dict]:
        stamp = iso(_stored_ts(generator.CUSTOMER_EPOCH.isoformat(" ")))
        return [{"id": lid, "code": code, "label": label, "description": label, "type_id": "PHYSICAL",
                 "enabled": True, "storefront_visibility": lid == DEFAULT_LOCATION, "managed_by_external_source": False,
                 "address": {"address1": "18 Quay Lane", "city": "Port Ellery", "state": "Maine", "zip": "04999",
                             "country_code": "US", "email": "", "phone": ""},
                 "operating_hours": {}, "special_hours": [], "time_zone": "Etc/UTC", "created_at": stamp,
                 "updated_at": stamp, "is_default": lid == DEFAULT_LOCATION}
                for lid, code, label in ((DEFAULT_LOCATION, "BC-LOCATION-1", "Default location"),
                                         (SECOND_LOCATION, "WH-2", "Overflow warehouse"))]

    def locations(self, params, body) -> Reply:
        return self._v3_list(_v3_filter(self._locations(), params, {"location_id": "id", "location_code": "code"}),
                             params)

    def _stock_key(self, row: tuple[str, int]) -> int:
        return -row[1] if row[0] == "products" else row[1]

    def inventory_items(self, params, body) -> Reply:
        """One row per stock-keeping record: a product-tracked product (named by its base
        variant, null for one with variations) or a variant of a variant-tracked product."""
        stock, locations = self._stock(), self._locations()
        rows: list[dict] = []
        wanted = {lid for lid in _int_list(params.get("location_id:in"))} or {DEFAULT_LOCATION, SECOND_LOCATION}
        for pid in sorted(self.catalog.products):
            mode = self.tracking(pid)
            if mode == "none":
                continue
            cids = [c["id"] for c in self.catalog.combos_of.get(pid, [])] if mode == "variant" else [None]
            for cid in cids:
                row = self.stock_row(pid, cid)
                vid = cid or (None if pid in self.catalog.combos_of else BASE_VARIANT_OFFSET + pid)
                levels = {DEFAULT_LOCATION: (stock[0] if row[0] == "products" else stock[1])[row[1]],
                          SECOND_LOCATION: self._stock2.get(self._stock_key(row), {}).get("qty", 0)}
                rows.append({"identity": {"sku": self.variant_sku(pid, cid), "variant_id": vid, "product_id": pid,
                                          "sku_id": cid},
                             "locations": [{"location_id": lid, "location_code": loc["code"],
                                            "location_name": loc["label"], "available_to_sell": levels[lid],
                                            "total_inventory_onhand": levels[lid], "location_enabled": True,
                                            "settings": {"safety_stock": 0, "is_in_stock": levels[lid] > 0,
                                                         "warning_level": 0, "bin_picking_number": ""}}
                                           for loc in locations if (lid := loc["id"]) in wanted]})
        for key, field in (("sku:in", "sku"), ("variant_id:in", "variant_id"), ("product_id:in", "product_id")):
            if key in params:
                values = set(params[key].split(",")) if field == "sku" else set(_int_list(params[key]))
                rows = [r for r in rows if r["identity"][field] in values]
        return self._v3_list(rows, params, cap=1000)

    def _adjust(self, body: bytes, relative: bool) -> Reply:
        """Absolute or relative adjustments: valid items are applied (after
        ``inventory_delay_ms``), invalid ones reported by index: 200 when all are valid, 207
        when some are, 422 when none is."""
        fields = _body(body, dict)
        items = fields.get("items")
        if not isinstance(items, list) or not items:
            raise ApiError(422, "The field 'items' is required.", {"items": "a non-empty list"})
        if len(items) > MAX_ADJUSTMENT_ITEMS:
            raise ApiError(422, f"At most {MAX_ADJUSTMENT_ITEMS} items per request.", {"items": "too many"})
        stock = self._stock()
        errors: dict[str, str] = {}
        changes: list[tuple[tuple[str, int], int, int]] = []  # (row, location, new quantity)
        pending: dict[tuple[tuple[str, int], int], int] = {}
        for n, item in enumerate(items):
            try:
                row, location, quantity = self._adjust_item(item, relative)
                key = (row, location)
                current = pending.get(key, self._level(row, location, stock))
                new = current + quantity if relative else quantity
                if relative and new < 0:
                    raise ApiError(422, f"The quantity would drop below the safety stock (0): {current} + {quantity}.")
                if relative and location == SECOND_LOCATION and \
                        not self._stock2.get(self._stock_key(row), {}).get("absolute") and key not in pending:
                    raise ApiError(422, "This item requires an absolute adjustment before relative adjustments.")
                if new > MAX_STOCK:
                    raise ApiError(422, f"The quantity {new} is above the maximum of {MAX_STOCK}.")
                pending[key] = new
                changes.append((row, location, new))
            except ApiError as exc:
                errors[f"items.{n}"] = exc.message
        if not changes:
            raise ApiError(422, "No item could be adjusted.", errors)
        transaction_id = str(uuid.uuid4())
        if self.inventory_delay:
            timer = threading.Timer(self.inventory_delay, self._apply, (changes, relative, transaction_id))
            timer.daemon = True
            self._timers.add(timer)
            timer.start()
        else:
            self._apply(changes, relative, transaction_id)
        if errors:
            return Reply(_dumps({"transaction_id": transaction_id, "status": 207, "title": "Some items were not "
                                 "adjusted.", "type": ERROR_TYPE, "errors": errors}), JSON, 207)
        return _json({"transaction_id": transaction_id})

    def _adjust_item(self, item: object, relative: bool) -> tuple[tuple[str, int], int, int]:
        """Check one item against the identity rule; (stock row, location, quantity)."""
        if not isinstance(item, dict):
            raise ApiError(422, "An item must be an object.")
        location = item.get("location_id")
        if location not in (DEFAULT_LOCATION, SECOND_LOCATION):
            raise ApiError(422, f"location_id {location!r} is not an enabled location (1 or 2).")
        quantity = item.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or (quantity < 0 and not relative):
            raise ApiError(422, f"quantity {quantity!r} is invalid: a whole number"
                                f"{'' if relative else ' of 0 or more'}.")
        named = [k for k in ("sku", "variant_id", "product_id") if k in item]
        if len(named) != 1:
            raise ApiError(422, "Name the item by exactly one of sku, variant_id or product_id.")
        kind = named[0]
        value = item[kind]
        if kind == "product_id":
            if value not in self.catalog.products:
                raise ApiError(422, f"Product {value!r} was not found.")
            pid, cid = value, None
        else:
            vid = self._by_sku.get(value) if kind == "sku" else value
            if vid not in self._variants:
                raise ApiError(422, f"Item with {kind} {value!r} was not found.")
            pid, cid = self._variants[vid]
        mode = self.tracking(pid)
        if mode == "none":
            raise ApiError(422, f"Product {pid} does not track inventory.")
        if mode == "product" and kind != "product_id":
            raise ApiError(422, f"Item with {kind} {value} is tracked by product, please update stock by product id")
        if mode == "variant" and kind == "product_id":
            raise ApiError(422, f"Product {pid} is tracked by variant, please update stock by variant id or sku")
        return self.stock_row(pid, cid), location, quantity

    def _level(self, row: tuple[str, int], location: int, stock) -> int:
        if location == DEFAULT_LOCATION:
            return (stock[0] if row[0] == "products" else stock[1])[row[1]]
        return self._stock2.get(self._stock_key(row), {}).get("qty", 0)

    def _apply(self, changes: list[tuple[tuple[str, int], int, int]], relative: bool, transaction_id: str) -> None:
        self._timers.difference_update([t for t in self._timers if not t.is_alive()])
        default = [(table, row_id, qty) for (table, row_id), location, qty in changes if location == DEFAULT_LOCATION]
        if default:
            self.state.apply_stock(default)
        second = {}
        for row, location, qty in changes:
            if location == SECOND_LOCATION:
                key = self._stock_key(row)
                entry = self._stock2.setdefault(key, {"qty": 0, "absolute": False})
                entry["qty"] = qty
                entry["absolute"] = entry["absolute"] or not relative
                second[key] = entry
        if second:
            self.state.put_docs("stock2", second)
        now = int(time.time())
        touched = {(row[1] if row[0] == "products" else self.catalog.combos[row[1]]["product_id"]) for row, _, _ in changes}
        self._pmod.update({pid: {"modified": now} for pid in touched})
        self.state.put_docs("product", {pid: {"modified": now} for pid in touched})
        for row, location, qty in changes:
            if location == DEFAULT_LOCATION:
                self._fire_row(row, "absolute" if not relative else "relative", qty)

    def _fire_row(self, row: tuple[str, int], method: str, value: int, by_order: bool = False) -> None:
        """``store/product|sku/inventory[/order]/updated`` for a changed stock row (A8)."""
        cause = "/order" if by_order else ""
        if row[0] == "products":
            self.webhooks.fire(f"store/product/inventory{cause}/updated", {
                "type": "product", "id": row[1], "inventory": {"product_id": row[1], "method": method, "value": value}})
        else:
            pid = self.catalog.combos[row[1]]["product_id"]
            self.webhooks.fire(f"store/sku/inventory{cause}/updated", {
                "type": "sku", "id": row[1],
                "inventory": {"product_id": pid, "method": method, "value": value, "variant_id": row[1]}})

    def _fire_stock(self, lines: list[dict]) -> None:
        if not self.webhooks.hooks:
            return
        stock = self._stock()
        for line in lines:
            row = self.stock_row(line["product_id"], line["combo_id"] or None)
            if row:
                self._fire_row(row, "relative", self._level(row, DEFAULT_LOCATION, stock), by_order=True)

    def absolute(self, params, body) -> Reply:
        return self._adjust(body, relative=False)

    def relative(self, params, body) -> Reply:
        return self._adjust(body, relative=True)

    # ---------------------------------------------------------------- v3 hooks

    def _hook_fields(self, fields: dict, hook: dict | None) -> dict:
        scope = fields.get("scope", hook and hook["scope"])
        destination = fields.get("destination", hook and hook["destination"])
        errors = {}
        if not isinstance(scope, str) or not scope.startswith("store/"):
            errors["scope"] = "a webhook scope such as store/order/created"
        if not isinstance(destination, str) or not _loopback_destination(destination):
            errors["destination"] = "an http(s) URL on this machine (the sandbox delivers to loopback only)"
        headers = fields.get("headers", hook["headers"] if hook else {}) or {}
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            errors["headers"] = "an object of string values"
        is_active = fields.get("is_active", hook["is_active"] if hook else True)
        if not isinstance(is_active, bool):
            errors["is_active"] = "true or false"
        if errors:
            raise ApiError(422, "The webhook is invalid.", errors)
        return {"scope": scope, "destination": destination, "headers": headers, "is_active": is_active}

    def hooks(self, params, body) -> Reply:
        items = sorted(self.webhooks.hooks.values(), key=lambda h: h["id"])
        for name in ("scope", "destination"):
            if name in params:
                items = [h for h in items if h[name] == params[name]]
        if "is_active" in params:
            items = [h for h in items if h["is_active"] == (params["is_active"].lower() == "true")]
        return self._v3_list(items, params)

    def create_hook(self, params, body) -> Reply:
        fields = self._hook_fields(_body(body, dict), None)
        now = int(time.time())
        hook = {"id": max(self.webhooks.hooks, default=0) + 1, "client_id": self.client_id,
                "store_hash": self.store_hash, **fields, "created_at": now, "updated_at": now}
        self.webhooks.save(hook)
        return _json({"data": hook, "meta": {}})

    def _hook(self, hook_id: str) -> dict:
        hook = self.webhooks.hooks.get(int(hook_id))
        if hook is None:
            raise ApiError(404, "The requested webhook was not found.")
        return hook

    def get_hook(self, params, body, hook_id) -> Reply:
        return _json({"data": self._hook(hook_id), "meta": {}})

    def update_hook(self, params, body, hook_id) -> Reply:
        hook = self._hook(hook_id)
        hook = {**hook, **self._hook_fields(_body(body, dict), hook), "updated_at": int(time.time())}
        self.webhooks.save(hook)
        return _json({"data": hook, "meta": {}})

    def delete_hook(self, params, body, hook_id) -> Reply:
        hook = self._hook(hook_id)
        self.webhooks.delete(hook["id"])
        return _json({"data": hook, "meta": {}})

    def deactivate_hooks(self) -> None:
        for hook in list(self.webhooks.hooks.values()):
            self.webhooks.save({**hook, "is_active": False})


# --------------------------------------------------------------------------------------------
# module helpers


def _routes(p: BigCommerceProfile) -> list[tuple[str, re.Pattern, str, Handler]]:
    table = [
        ("GET", "/v2/time", p.time), ("GET", "/v2/store", p.store), ("GET", "/v2/order_statuses", p.order_statuses),
        ("GET", "/v2/orders", p.orders), ("GET", "/v2/orders/count", p.orders_count),
        ("GET", "/v2/orders/{id}", p.order), ("PUT", "/v2/orders/{id}", p.update_order),
        ("DELETE", "/v2/orders/{id}", p.delete_order),
        ("GET", "/v2/orders/{id}/products", p.order_products),
        ("GET", "/v2/orders/{id}/shipping_addresses", p.order_addresses),
        ("GET", "/v2/orders/{id}/shippingaddresses", p.order_addresses),
        ("GET", "/v2/orders/{id}/coupons", p.order_coupons),
        ("GET", "/v2/orders/{id}/shipments", p.order_shipments),
        ("POST", "/v2/orders/{id}/shipments", p.create_shipment),
        ("GET", "/v3/catalog/products", p.products), ("GET", "/v3/catalog/products/{id}", p.product),
        ("GET", "/v3/catalog/variants", p.variants),
        ("GET", "/v3/customers", p.customers), ("GET", "/v3/customers/addresses", p.customer_addresses),
        ("GET", "/v3/inventory/items", p.inventory_items), ("GET", "/v3/inventory/locations", p.locations),
        ("PUT", "/v3/inventory/adjustments/absolute", p.absolute),
        ("POST", "/v3/inventory/adjustments/relative", p.relative),
        ("GET", "/v3/hooks", p.hooks), ("POST", "/v3/hooks", p.create_hook),
        ("GET", "/v3/hooks/{id}", p.get_hook), ("PUT", "/v3/hooks/{id}", p.update_hook),
        ("DELETE", "/v3/hooks/{id}", p.delete_hook),
    ]
    return [(method, re.compile(re.escape(path).replace(r"\{id\}", r"(\d+)")), path, handler)
            for method, path, handler in table]


def _r(oid: int, row: list) -> list:
    """An index row as the filters see it: created, modified, status, deleted, customer, id."""
    return [*row, oid]


def _bound(col: int | None, bound: int, lower: bool) -> Callable[[list], bool]:
    index = 5 if col is None else col
    return (lambda r: r[index] >= bound) if lower else (lambda r: r[index] <= bound)


def _int(params: dict[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, f"The field '{name}' is invalid: expected a whole number, not {raw!r}.") from None


def _int_list(raw: str | None) -> list[int]:
    if not raw:
        return []
    try:
        return [int(x) for x in raw.split(",") if x.strip()]
    except ValueError:
        raise ApiError(422, f"Expected a comma-separated list of ids, not {raw!r}.") from None


def _v3_filter(items: list[dict], params: dict[str, str], fields: dict[str, str]) -> list[dict]:
    """Apply ``field``, ``field:in`` and ``field:min``/``:max`` filters (dates compared as
    times, ids as numbers, text exactly)."""
    for key, raw in params.items():
        name, _, op = key.partition(":")
        if name not in fields or op not in ("", "in", "min", "max"):
            continue
        field = fields[name]
        if field.startswith("date_"):
            try:
                bound = parse_date(raw)
            except ValueError:
                raise ApiError(422, f"The filter {key} is invalid: expected a date.", {key: raw}) from None
            test = {"": lambda v, b=bound: v == b, "min": lambda v, b=bound: v >= b,
                    "max": lambda v, b=bound: v <= b}.get(op)
            if test:
                items = [x for x in items if test(parse_date(x[field]))]
            continue
        numeric = field in ("id", "product_id", "customer_id", "inventory_level")
        values = _int_list(raw) if numeric else raw.split(",") if op == "in" else [raw]
        if op in ("", "in"):
            wanted = set(values)
            items = [x for x in items if x[field] in wanted]
        elif numeric and values:
            items = [x for x in items if (x[field] >= values[0] if op == "min" else x[field] <= values[0])]
    return items


def _customer_address(c: dict) -> dict:
    return {"id": c["id"], "customer_id": c["id"], "first_name": c["first"], "last_name": c["last"],
            "company": c["company"], "address1": c["street1"], "address2": c["street2"], "city": c["city"],
            "state_or_province": c["state"], "postal_code": c["zip"], "country_code": c["country"],
            "country": COUNTRIES.get(c["country"], c["country"]), "phone": c["phone"],
            "address_type": "residential", "form_fields": []}


def _body(body: bytes, kind: type) -> dict:
    try:
        value = json.loads(body or b"null")
    except ValueError:
        raise ApiError(400, "The request body is not valid JSON.") from None
    if not isinstance(value, kind):
        raise ApiError(400, "The request body must be a JSON object.")
    return value


def _json(payload: object, status: int = 200) -> Reply:
    return Reply(_dumps(payload), JSON, status)


def _error(v3: bool, exc: ApiError, headers: tuple[tuple[str, str], ...]) -> Reply:
    """v2: ``[{status, message}]``; v3: ``{status, title, type, errors}`` as problem+json."""
    if v3:
        return Reply(_dumps({"status": exc.status, "title": exc.message, "type": ERROR_TYPE, "errors": exc.errors}),
                     PROBLEM, exc.status, headers)
    return Reply(_dumps([{"status": exc.status, "message": exc.message,
                          **({"details": exc.errors} if exc.errors else {})}]), JSON, exc.status, headers)
