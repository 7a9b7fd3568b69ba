"""What both profiles share: the request/reply shapes, request-field parsing, paging, the
per-record XML caches and the cache of whole download pages.

A profile turns one SETI request (already read off the wire, faults already decided) into one
:class:`Reply`. It never touches sockets, so faults, latency and logging stay in the server.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from .generator import STATE_CODES
from .markup import el
from .model import CartModel

TEXT = "text/html; charset=UTF-8"  # what PHP sends for echo'ed text replies
XML = "text/xml; charset=UTF-8"

_PARTY_FIELDS = ("first", "last", "company", "phone", "email", "street1", "street2", "city", "state", "zip",
                 "country")
_PHP_INT = re.compile(r"\s*[+-]?\d+")
#: fields that never choose what a page holds (credentials are checked before the cache)
_UNKEYED = frozenset({"setiuser", "password", "code", "setifunction"})
_DATE_FORMATS = ("%d-%b-%Y", "%d/%b/%Y", "%Y-%m-%d", "%m/%d/%Y", "%d-%b-%Y %H:%M:%S", "%d/%b/%Y %H:%M:%S",
                 "%Y-%m-%d %H:%M:%S")


@dataclass
class SetiRequest:
    """One request as the script sees it: PHP's ``$_REQUEST`` (query and body merged, body
    winning) plus the query string alone, which Interspire routes on."""

    params: dict[str, str]
    query: dict[str, str] = field(default_factory=dict)
    force_bad_auth: bool = False

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.params.get(key, default)

    @property
    def function(self) -> str:
        return self.params.get("setifunction", "")


@dataclass
class Reply:
    body: bytes
    content_type: str = TEXT
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def text(cls, text: str) -> Reply:
        return cls(text.encode())

    @classmethod
    def xml(cls, body: bytes) -> Reply:
        return cls(body, XML)


def php_int(text: str | None) -> int:
    """PHP's ``(int)``/``intval`` of a request field: the leading integer, else 0."""
    if not text:
        return 0
    match = _PHP_INT.match(text)
    return int(match.group(0)) if match else 0


def parse_lastdate(text: str) -> dt.date | None:
    """``All`` → None, else the date in any form SEOM or the sources use (seti-protocol §2.3):
    ``2-Dec-2019``, ``02-Dec-2019``, ``2/Dec/2019``, ISO, US ``12/02/2019``; case-insensitive.
    Raises ValueError for anything else."""
    value = text.strip()
    if value.lower() == "all":
        return None
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"Invalid lastdate {text!r}: expected All or a date such as 2-Dec-2019")


class RecordCache:
    """Rendered XML per record id, filled on first use.

    The cache is what makes serving cheap: a 500-order page is 500 dictionary hits and one
    join. Entries are dropped when the record changes (a status update).
    """

    def __init__(self, render: Callable[[dict], bytes], on_drop: Callable[[], None] = lambda: None):
        self._render = render
        self._on_drop = on_drop
        self._items: dict[int, bytes] = {}
        self._lock = threading.Lock()

    def get_many(self, ids: list[int], load: Callable[[list[int]], dict[int, dict]]) -> list[bytes]:
        items = self._items
        missing = [i for i in ids if i not in items]
        if missing:
            docs = load(missing)
            rendered = {i: self._render(docs[i]) for i in missing if i in docs}
            with self._lock:
                items.update(rendered)
        return [items[i] for i in ids if i in items]

    def drop(self, record_id: int) -> None:
        with self._lock:
            self._items.pop(record_id, None)
        self._on_drop()


class PageCache:
    """Whole download replies (their bytes), rendered once per request fields — page, batch
    size, filters — and served from memory until the cart changes.

    Without it a page costs the sandbox a query, a join and a reply build, so a benchmark's
    "floor" measured the sandbox as much as the client. Entries belong to an epoch: the
    state's version (bumped by any new order, status or stock change) and a local counter
    (bumped by :meth:`clear`, e.g. when a record's cached XML is dropped). A page rendered
    while the epoch moved is served but not kept. A restart builds a new profile, so a new
    cache.
    """

    def __init__(self, state):
        self._state = state
        self._cleared = 0
        self._epoch: tuple[int, int] = (-1, -1)
        self._items: dict[tuple, Reply] = {}
        self._lock = threading.Lock()

    def _current(self) -> tuple[int, int]:
        return self._state.version, self._cleared

    def get(self, request: SetiRequest, render: Callable[[SetiRequest], Reply]) -> Reply:
        key = (request.function.strip().lower(),
               *sorted((k, v) for k, v in request.params.items() if k not in _UNKEYED))
        return self.fetch(key, lambda: render(request))

    def fetch(self, key: tuple, render: Callable[[], Reply]) -> Reply:
        """The reply cached under ``key`` (which must hold every field that chooses the page,
        no credentials), else ``render()``'s, kept when it is a success (REST's empty
        204 past the last page included)."""
        with self._lock:
            epoch = self._current()
            if epoch != self._epoch:
                self._items.clear()
                self._epoch = epoch
            reply = self._items.get(key)
        if reply is not None:
            return reply
        reply = render()
        with self._lock:
            if self._current() == epoch == self._epoch and 200 <= reply.status < 300:
                self._items[key] = reply
        return reply

    def clear(self) -> None:
        with self._lock:
            self._cleared += 1
            self._items.clear()


class Profile:
    """Base class: a cart script reachable at ``path`` (+ ``query``) on the sandbox host."""

    name = ""
    path = ""
    query = ""
    rest = False  # True: requests go to ``handle_rest`` (any path, GET/POST/PUT/DELETE)
    #: name -> description of the profile's behaviour switches (``Sandbox(bugs=...)``, ``--bug``)
    SWITCHES: dict[str, str] = {}

    def __init__(self, model: CartModel):
        self.model = model
        self.state = model.state
        self.catalog = model.catalog
        self.config = model.config
        self._parties: dict[tuple, str] = {}
        self.pages = PageCache(self.state)
        self.orders_xml = RecordCache(self.render_order, on_drop=self.pages.clear)
        self.customers_xml = RecordCache(self.render_customer, on_drop=self.pages.clear)

    # what each profile provides ------------------------------------------------------------

    def handle(self, request: SetiRequest) -> Reply:
        raise NotImplementedError

    def render_order(self, order: dict) -> bytes:
        raise NotImplementedError

    def render_customer(self, customer: dict) -> bytes:
        raise NotImplementedError

    def downloadable_where(self) -> str:
        """SQL condition selecting the orders this script hands out."""
        raise NotImplementedError

    def product_code(self, pid: int, cid: int | None) -> str:
        """The ``Code`` this script exports for a product download record."""
        raise NotImplementedError

    def resolve(self, sku: str) -> tuple[list[int], list[int]]:
        """(product ids, combination ids) an inventory update for ``sku`` addresses."""
        raise NotImplementedError

    def tracked(self, pid: int, cid: int | None) -> bool:
        """Whether the script keeps (and reports) stock for this record."""
        return True

    def add_orders(self, count: int) -> list[int]:
        """New orders (see ``CartModel.add_orders``), their lines taken off the tracked stock."""
        return self.model.add_orders(count, self.tracked)

    def set_status(self, order_id: int, status_id: int) -> bool:
        """The merchant changes an order's status in the cart's admin; False: no such order."""
        from .generator import STATUS_NAMES

        changed = self.state.set_order_status(order_id, STATUS_NAMES[status_id], status_id)
        self.orders_xml.drop(order_id)
        return changed

    def close(self) -> None:
        """Stop whatever the profile runs in the background (nothing, for the SETI scripts)."""

    # shared ------------------------------------------------------------------------------------

    def page_stock(self, page: list[tuple[int, int | None]]) -> tuple[dict[int, int], dict[int, int]]:
        """Stock of a page of (product id, combination id) rows, as ``State.stock`` returns it."""
        return self.state.stock_of([pid for pid, cid in page if not cid], [cid for _, cid in page if cid])

    def party(self, who: dict, abbreviate_state: bool) -> str:
        """A Billing/Shipping body: FullName, Company (if any), Phone, Email and the Address
        (Street1/Street2/City/State/Code/Country), the same in both profiles. Memoised by
        value: most orders repeat their customer's block."""
        key = (abbreviate_state, *(who[k] for k in _PARTY_FIELDS))
        cached = self._parties.get(key)
        if cached is None:
            state = STATE_CODES.get(who["state"], who["state"]) if abbreviate_state else who["state"]
            cached = "".join((
                el("FullName", f"{who['first']} {who['last']}"),
                el("Company", who["company"]) if who["company"] else "",
                el("Phone", who["phone"]), el("Email", who["email"]),
                "<Address>", el("Street1", who["street1"]),
                el("Street2", who["street2"]) if who["street2"] else "",
                el("City", who["city"]), el("State", state), el("Code", who["zip"]), el("Country", who["country"]),
                "</Address>"))
            self._parties[key] = cached
        return cached

    def script_path(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path

    def order_records(self, ids: list[int]) -> list[bytes]:
        return self.orders_xml.get_many(ids, self.state.order_docs)

    def warm(self) -> int:
        """Render every downloadable order and every customer into the caches now (what the
        first download pass would otherwise pay for); returns the number of orders."""
        ids = self.state.order_ids(self.downloadable_where())
        for start in range(0, len(ids), 1000):
            self.order_records(ids[start:start + 1000])
        self.customer_records(-1, 0)
        return len(ids)

    def customer_records(self, limit: int, offset: int) -> list[bytes]:
        docs = self.state.customer_docs(limit=limit, offset=offset)
        by_id = {d["id"]: d for d in docs}
        return self.customers_xml.get_many(list(by_id), lambda ids: by_id)

    def auth_ok(self, request: SetiRequest, *, check_code: bool) -> bool:
        """Compare the credential fields in constant time; ``badauth`` faults force a failure."""
        if request.force_bad_auth:
            return False
        cfg = self.config
        pairs = [(request.get("setiuser", ""), cfg.user), (request.get("password", ""), cfg.password)]
        if check_code:
            pairs.append((request.get("code", ""), cfg.store_code))
        ok = True
        for given, expected in pairs:
            ok &= hmac.compare_digest(given.encode(), expected.encode())
        return ok
