"""Talking to BigCommerce's REST API: JSON over HTTPS through :class:`seconnect.http.CartHTTP`.

Requests go to ``https://{api_base}/stores/{store_hash}/v2|v3/...`` with the access token in
``X-Auth-Token`` (masked in every error). This module adds what only BigCommerce knows: the
``X-Rate-Limit-*`` headers (read in any case on every reply, and one :class:`RatePacer` per store
shared by every thread, so concurrent requests stay within the quota), v2 and v3 paging (v2
answers an empty page with 204), and which statuses mean "token refused" or "scope missing".
"""

from __future__ import annotations

import shlex
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from seconnect import CartDefinition
from seconnect.errors import CartAuthError, CartProtocolError, CartRejected, UsageError
from seconnect.http import CartHTTP, RetryPolicy

__all__ = ["API_HOST", "PAGE_MAX", "RatePacer", "RestClient", "check_api_base", "pacer_for"]

API_HOST = "api.bigcommerce.com"
PAGE_MAX = 250  # the largest `limit` v2 and v3 lists take (above it: 413)

# The reply header giving the wait a 429 asks for, by preference, with its unit in seconds.
WAIT_HEADERS = {"x-rate-limit-time-reset-ms": 0.001, "x-retry-after": 1.0, "retry-after": 1.0}

# Which scope each API area needs (named in the 403 hint).
SCOPES = {"orders": "store_v2_orders", "catalog": "store_v2_products_read_only",
          "customers": "store_v2_customers_read_only",
          "inventory": "store_inventory", "store": "store_v2_information_read_only", "hooks": "store_v2_orders_read_only"}


def check_api_base(value: str) -> str:
    """``api_base`` is host[:port], typed without a scheme or path."""
    text = (value or "").strip()
    if "://" in text or "/" in text or not text:
        raise UsageError(f"api_base {value!r} must be a host name with an optional :port, without https:// "
                         "or a path.", hint=f"e.g. `--set api_base={API_HOST}`.")
    return text


class RatePacer:
    """What the store's quota headers last said, and the wait before the next request.

    Every request takes one unit: :meth:`take` counts it before it is sent (so threads sharing
    the pacer never overrun the quota between replies) and waits for the window's reset when
    the units left are at or below ``reserve`` (other apps share the store's quota). Each reply's
    headers (:meth:`__call__`, CartHTTP's ``on_response``) set the count again.
    """

    def __init__(self, reserve: int = 1, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic):
        self.reserve, self.sleep, self.clock = reserve, sleep, clock
        self.left: int | None = None
        self.reset_at = 0.0
        self.quota: int | None = None
        self.window_ms: int | None = None
        self.waits = 0
        self._lock = threading.Lock()

    def __call__(self, response: httpx.Response) -> None:
        headers = response.headers  # httpx headers: any case
        left, reset = _int(headers.get("x-rate-limit-requests-left")), _int(headers.get("x-rate-limit-time-reset-ms"))
        with self._lock:
            self.quota = _int(headers.get("x-rate-limit-requests-quota")) or self.quota
            self.window_ms = _int(headers.get("x-rate-limit-time-window-ms")) or self.window_ms
            if left is not None:
                self.left = left
                self.reset_at = self.clock() + (reset or 0) / 1000.0

    def take(self) -> None:
        with self._lock:
            if self.left is not None and self.left <= self.reserve:
                pause = self.reset_at - self.clock()
                if pause > 0:
                    self.waits += 1
                    self.sleep(pause)
                self.left = None  # a new window: the next reply says how much is left
            elif self.left is not None:
                self.left -= 1


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


_pacers: dict[tuple[str, str], RatePacer] = {}
_pacers_lock = threading.Lock()


def pacer_for(api_base: str, store_hash: str) -> RatePacer:
    """The process's pacer for one store (all carts and threads on that store share its quota)."""
    with _pacers_lock:
        return _pacers.setdefault((api_base.lower(), store_hash), RatePacer())


def _status_hint(status: int, response: httpx.Response) -> str | None:
    if status == 429:
        return ("The store's API quota is used up (it is shared by every app on the store); the call is "
                "retried after the quota's reset.")
    return None


class RestClient:
    """The cart's REST API. ``transport``, ``retry`` and ``pacer`` are for tests."""

    def __init__(self, cart: CartDefinition, *, transport: httpx.BaseTransport | None = None,
                 retry: RetryPolicy | None = None, pacer: RatePacer | None = None):
        self.cart = cart
        api_base = check_api_base(cart.setting("api_base") or API_HOST)
        store_hash = str(cart.setting("store_hash") or "").strip()
        if not store_hash:
            raise UsageError(f"cart {cart.name!r} has no store_hash setting.",
                             hint=f"Set it with `seconnect carts edit {shlex.quote(cart.name)} --set store_hash=HASH`.")
        token = cart.secret("access_token").reveal()
        self.pacer = pacer or pacer_for(api_base, store_hash)
        options: dict[str, Any] = {
            "headers": {"X-Auth-Token": token, "Accept": "application/json"},
            "secrets": (token,), "wait_headers": WAIT_HEADERS, "status_hints": _status_hint,
            "on_response": self.pacer,
        }
        base = f"{api_base}/stores/{store_hash}"
        if transport is not None or retry is not None:
            self.http = CartHTTP(base, ca_bundle=cart.ca_bundle, transport=transport, retry=retry,
                                 timeout=float(cart.param("RequestTimeout", 30)), **options)
        else:
            self.http = CartHTTP.for_cart(cart, base_url=base, **options)

    def call(self, method: str, path: str, *, params: dict | None = None, body: Any = None,
             ok: tuple[int, ...] = (200, 201, 204, 207), idempotent: bool | None = None,
             retry: RetryPolicy | None = None) -> tuple[int, Any]:
        """One API call: ``(status, decoded JSON or None for an empty body)``. 401/403 raise
        CartAuthError, 404/409/422 CartRejected with the API's own message."""
        what = f"{method} {path}"
        if idempotent is None:
            idempotent = method in ("GET", "PUT", "DELETE")
        self.pacer.take()
        reply = self.http.request(method, path, what=what, params=params, json=body,
                                  ok=ok + (400, 401, 403, 404, 409, 413, 422), idempotent=idempotent, retry=retry)
        if reply.status == 401:
            raise CartAuthError(f"{what}: BigCommerce rejected the access token (HTTP 401)",
                                hint="Check the store hash and enter the API account's access token again with "
                                     f"`seconnect carts edit {shlex.quote(self.cart.name)} --secret`.")
        if reply.status == 403:
            scope = SCOPES.get(_area(path), "the scope this call needs")
            raise CartAuthError(f"{what}: the API account lacks the scope for this call (HTTP 403)",
                                hint=f"Give the store's API account the {scope} scope (read-only is not enough "
                                     "for changes) and try again.")
        if reply.status not in ok:
            raise CartRejected(f"{what}: BigCommerce refused (HTTP {reply.status}): {_error_text(reply)}")
        if not reply.body or reply.body.isspace():
            return reply.status, None
        return reply.status, reply.json()

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, params=params)[1]

    def v2_pages(self, path: str, params: dict[str, Any], limit: int = PAGE_MAX) -> Iterator[list[dict]]:
        """A v2 list page by page until a short page or 204 (v2 gives no total)."""
        page = 1
        while True:
            rows = self.get(path, **params, page=page, limit=limit) or []
            if not isinstance(rows, list):
                raise CartProtocolError(f"GET {path}: expected a list, got {type(rows).__name__}")
            if rows:
                yield rows
            if len(rows) < limit:
                return
            page += 1

    def v2_all(self, path: str) -> list[dict]:
        """Every row of a v2 list (an order's lines, addresses, coupons, shipments)."""
        return [row for rows in self.v2_pages(path, {}) for row in rows]

    def v3_pages(self, path: str, params: dict[str, Any], limit: int = PAGE_MAX) -> Iterator[list[dict]]:
        """A v3 list page by page, following ``meta.pagination`` (total_pages)."""
        page = 1
        while True:
            answer = self.get(path, **params, page=page, limit=limit) or {}
            rows = answer.get("data") or []
            if rows:
                yield rows
            pagination = (answer.get("meta") or {}).get("pagination") or {}
            total_pages = pagination.get("total_pages")
            if not rows or (total_pages is not None and page >= int(total_pages)) or \
                    (total_pages is None and len(rows) < limit):
                return
            page += 1


def _area(path: str) -> str:
    parts = path.strip("/").split("/")
    head = parts[1] if len(parts) > 1 else ""
    return {"orders": "orders", "order_statuses": "orders", "catalog": "catalog", "customers": "customers",
            "inventory": "inventory", "hooks": "hooks"}.get(head, "store")


def _error_text(reply: Any) -> str:
    """The API's message: v2 ``[{status, message}]``, v3 ``{title, errors}``."""
    try:
        answer = reply.json()
    except CartProtocolError:
        return repr(reply.body[:120])
    if isinstance(answer, list) and answer and isinstance(answer[0], dict):
        return "; ".join(str(item.get("message", item)) for item in answer)[:300]
    if isinstance(answer, dict):
        errors = answer.get("errors")
        detail = "; ".join(f"{k}: {v}" for k, v in errors.items()) if isinstance(errors, dict) else ""
        return (str(answer.get("title") or answer.get("message") or "") + (f" ({detail})" if detail else ""))[:300]
    return str(answer)[:300]
