"""A small in-memory BigCommerce API for httpx.MockTransport (unit tests of mapping, paging,
rate limits and error mapping until the REST sandbox is merged). Shapes follow
/work/shared/docs/bigcommerce-rest.md; only what the plugin calls is served."""

from __future__ import annotations

import email.utils
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

HASH = "abc123"
TOKEN = "tok-SECRET-123"
BASE = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def rfc2822(when: datetime) -> str:
    return email.utils.format_datetime(when)


def line(line_id: int, order_id: int, sku: str, qty: int = 1, price: str = "10.0000", address_id: int | None = None,
         **extra: Any) -> dict:
    return {"id": line_id, "order_id": order_id, "product_id": 100 + line_id, "variant_id": 500 + line_id,
            "order_address_id": address_id, "name": f"Item {sku}", "sku": sku, "type": "physical",
            "quantity": qty, "quantity_shipped": 0, "quantity_refunded": 0, "price_ex_tax": price,
            "price_inc_tax": price, "total_ex_tax": f"{float(price) * qty:.4f}", "total_inc_tax": "0.0000",
            "total_tax": "0.0000", "weight": "1.5000", "width": "0.0000", "height": "0.0000", "depth": "0.0000",
            "product_options": [], **extra}


def address(address_id: int, order_id: int, **extra: Any) -> dict:
    return {"id": address_id, "order_id": order_id, "first_name": "Ann", "last_name": "Lee", "company": "",
            "street_1": "1 Main St", "street_2": "", "city": "Austin", "state": "Texas", "zip": "78701",
            "country": "United States", "country_iso2": "US", "phone": "555", "email": "ann@example.com",
            "shipping_method": "Flat Rate", "cost_ex_tax": "5.0000", "form_fields": [], **extra}


def order(order_id: int, *, lines: list[dict] | None = None, addresses: list[dict] | None = None,
          modified: datetime | None = None, **extra: Any) -> dict:
    lines = lines if lines is not None else [line(order_id * 10 + 1, order_id, f"SKU-{order_id}")]
    addresses = addresses if addresses is not None else [address(order_id * 10, order_id)]
    for ln in lines:
        if ln["order_address_id"] is None:
            ln["order_address_id"] = addresses[0]["id"] if addresses else 0
    return {
        "id": order_id, "customer_id": 7, "status_id": 11, "status": "Awaiting Fulfillment",
        "date_created": rfc2822(BASE + timedelta(minutes=order_id)),
        "date_modified": rfc2822(modified or BASE + timedelta(minutes=order_id)), "date_shipped": "",
        "subtotal_ex_tax": "10.0000", "subtotal_inc_tax": "10.0000", "total_ex_tax": "15.0000",
        "total_inc_tax": "15.0000", "total_tax": "0.0000", "shipping_cost_ex_tax": "5.0000",
        "items_total": sum(ln["quantity"] for ln in lines), "payment_method": "Credit Card",
        "payment_status": "captured", "refunded_amount": "0.0000", "store_credit_amount": "0.0000",
        "gift_certificate_amount": "0.0000", "discount_amount": "0.0000", "coupon_discount": "0.0000",
        "customer_message": "", "staff_notes": "", "is_deleted": False, "ip_address": "127.0.0.1",
        "shipping_address_count": len(addresses), "currency_code": "USD",
        "billing_address": {"first_name": "Bob", "last_name": "Ray", "street_1": "9 Elm", "city": "Dallas",
                            "state": "Texas", "zip": "75001", "country_iso2": "US", "email": "bob@example.com",
                            "phone": "1", "form_fields": []},
        "_lines": lines, "_addresses": addresses, **extra,
    }


class FakeBigCommerce:
    """``handler`` serves MockTransport. ``embed_max`` caps the lines embedded per order (to make
    the plugin page /products); ``throttle`` holds statuses/headers to answer next, in order."""

    def __init__(self, *, quota: int = 150, lowercase: bool = False):
        self.orders: dict[int, dict] = {}
        self.products: list[dict] = []
        self.customers: list[dict] = []
        self.coupons: dict[int, list[dict]] = {}
        self.shipments: dict[int, list[dict]] = {}
        self.stock_writes: list[dict] = []
        self.reject_items: set[tuple[str, int]] = set()
        self.apply_writes = True
        self.embed_max = 1000
        self.quota, self.left, self.lowercase = quota, quota, lowercase
        self.scripted: list[tuple[int, dict[str, str]]] = []
        self.requests: list[httpx.Request] = []
        self.on_request: Callable[[httpx.Request], None] | None = None

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)

    def paths(self) -> list[str]:
        return [r.url.path.removeprefix(f"/stores/{HASH}") for r in self.requests]

    # -- serving ----------------------------------------------------------------------------------
    def _limits(self) -> dict[str, str]:
        names = {"X-Rate-Limit-Requests-Left": str(max(self.left, 0)), "X-Rate-Limit-Requests-Quota": str(self.quota),
                 "X-Rate-Limit-Time-Reset-Ms": "1500", "X-Rate-Limit-Time-Window-Ms": "30000"}
        return {k.lower() if self.lowercase else k: v for k, v in names.items()}

    def _reply(self, status: int, body: Any = None) -> httpx.Response:
        headers = {**self._limits(), "Content-Type": "application/json"}
        if body is None:
            return httpx.Response(status, headers=headers)
        return httpx.Response(status, headers=headers, content=json.dumps(body).encode())

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.on_request:
            self.on_request(request)
        if request.headers.get("x-auth-token") != TOKEN:
            return self._reply(401, [{"status": 401, "message": "no valid token"}])
        if self.scripted:
            status, headers = self.scripted.pop(0)
            return httpx.Response(status, headers=headers)
        self.left -= 1
        path = request.url.path.removeprefix(f"/stores/{HASH}")
        q = request.url.params
        parts = path.strip("/").split("/")
        if path == "/v2/store":
            return self._reply(200, {"id": HASH, "name": "Ann's <Shop> & Co", "plan_name": "Standard"})
        if path == "/v2/orders":
            return self._orders(q)
        if parts[:2] == ["v2", "orders"] and len(parts) >= 3:
            oid = int(parts[2])
            if len(parts) == 3 and request.method == "PUT":
                body = json.loads(request.content)
                self.orders[oid]["status_id"] = body["status_id"]
                return self._reply(200, self._public(self.orders[oid]))
            sub = parts[3]
            if sub == "products":
                return self._v2_page(self.orders[oid]["_lines"], q, default=50)
            if sub == "shipping_addresses":
                return self._v2_page(self.orders[oid]["_addresses"], q, default=50)
            if sub == "coupons":
                return self._v2_page(self.coupons.get(oid, []), q, default=50)
            if sub == "shipments":
                if request.method == "POST":
                    body = json.loads(request.content)
                    self.shipments.setdefault(oid, []).append(body)
                    for item in body["items"]:
                        for ln in self.orders[oid]["_lines"]:
                            if ln["id"] == item["order_product_id"]:
                                ln["quantity_shipped"] += item["quantity"]
                    return self._reply(201, {"id": len(self.shipments[oid]), **body})
                return self._v2_page(self.shipments.get(oid, []), q, default=50)
        if path == "/v3/catalog/products":
            return self._v3_page(self.products, q)
        if path == "/v3/customers":
            return self._v3_page(self.customers, q)
        if path == "/v3/inventory/locations":
            return self._reply(200, {"data": [{"id": 1, "code": "BC-LOCATION-1", "is_default": True}], "meta": {}})
        if parts[:3] == ["v3", "inventory", "locations"] and len(parts) == 5 and parts[4] == "items":
            rows = []
            for p in self.products:
                for v in p.get("variants", []):
                    if p["inventory_tracking"] == "variant" and v["option_values"] or \
                            p["inventory_tracking"] != "variant" and not v["option_values"]:
                        level = v["inventory_level"] if p["inventory_tracking"] == "variant" else p["inventory_level"]
                        rows.append({"identity": {"sku": v["sku"], "variant_id": v["id"], "product_id": p["id"]},
                                     "total_inventory_onhand": level + 100, "available_to_sell": level + 100})
            return self._v3_page(rows, q)
        if path == "/v3/inventory/adjustments/absolute":
            return self._adjust(json.loads(request.content))
        return self._reply(404, {"status": 404, "title": f"no route {path}"})

    @staticmethod
    def _public(o: dict) -> dict:
        return {k: v for k, v in o.items() if not k.startswith("_")}

    def _orders(self, q: httpx.QueryParams) -> httpx.Response:
        archived = q.get("is_deleted", "false") == "true"  # archived orders are listed only when asked
        rows = [o for o in self.orders.values() if bool(o.get("is_deleted")) == archived]
        if "min_id" in q:
            rows = [o for o in rows if o["id"] >= int(q["min_id"])]
        if "min_date_modified" in q:
            since = datetime.fromisoformat(q["min_date_modified"])
            rows = [o for o in rows if email.utils.parsedate_to_datetime(o["date_modified"]) >= since]
        field, _, direction = (q.get("sort") or "id").partition(":")
        key = (lambda o: email.utils.parsedate_to_datetime(o["date_modified"])) if field == "date_modified" \
            else (lambda o: o[field])
        rows.sort(key=lambda o: (key(o), o["id"]), reverse=direction == "desc")
        out = []
        for o in rows:
            public = self._public(o)
            if q.get("include") == "consignments.line_items":
                shipping = []
                for a in o["_addresses"]:
                    items = [ln for ln in o["_lines"] if ln["order_address_id"] == a["id"]][:self.embed_max]
                    shipping.append({**a, "line_items": items})
                public["consignments"] = {"shipping": shipping, "pickups": [], "downloads": [],
                                          "email": {"gift_certificates": []}}
            out.append(public)
        return self._v2_page(out, q, default=50)

    def _v2_page(self, rows: list, q: httpx.QueryParams, default: int) -> httpx.Response:
        limit, page = int(q.get("limit", default)), int(q.get("page", 1))
        chunk = rows[(page - 1) * limit: page * limit]
        return self._reply(200, chunk) if chunk else self._reply(204)

    def _v3_page(self, rows: list, q: httpx.QueryParams) -> httpx.Response:
        limit, page = int(q.get("limit", 50)), int(q.get("page", 1))
        total_pages = max(1, -(-len(rows) // limit))
        return self._reply(200, {"data": rows[(page - 1) * limit: page * limit],
                                 "meta": {"pagination": {"total": len(rows), "count": 0, "per_page": limit,
                                                         "current_page": page, "total_pages": total_pages}}})

    def _adjust(self, body: dict) -> httpx.Response:
        self.stock_writes.append(body)
        bad = {n for n, i in enumerate(body["items"]) if any(k in i and (k, i[k]) in self.reject_items
                                                             for k in ("product_id", "variant_id"))}
        errors = {f"items.{n}": "tracked by product, please update stock by product id" for n in sorted(bad)}
        if bad and len(bad) == len(body["items"]):
            return self._reply(422, {"status": 422, "title": "No item could be adjusted.", "errors": errors})
        body = {**body, "items": [i for n, i in enumerate(body["items"]) if n not in bad]}
        if self.apply_writes:
            for item in body["items"]:
                for p in self.products:
                    if item.get("product_id") == p["id"]:
                        p["inventory_level"] = item["quantity"]
                    for v in p.get("variants", []):
                        if item.get("variant_id") == v["id"]:
                            v["inventory_level"] = item["quantity"]
        if errors:
            return self._reply(207, {"transaction_id": "t-1", "status": 207, "title": "Some items were not adjusted.",
                                     "errors": errors})
        return self._reply(200, {"transaction_id": "t-1"})


def product(pid: int, sku: str, *, tracking: str = "product", level: int = 5, variants: list[dict] | None = None,
            **extra: Any) -> dict:
    """A v3 product with ``include=variants``: its base variant, plus ``variants`` (with options)."""
    base = {"id": pid * 100, "product_id": pid, "sku": sku, "option_values": [], "inventory_level": level,
            "price": None, "weight": None}
    return {"id": pid, "name": f"Product {pid}", "sku": sku, "type": "physical", "price": 12.5, "cost_price": 4,
            "weight": 1.25, "inventory_level": level, "inventory_tracking": tracking, "is_visible": True,
            "base_variant_id": None if variants else base["id"], "variants": variants or [base], **extra}


def variant(vid: int, pid: int, sku: str, *values: tuple[str, str], level: int = 3) -> dict:
    return {"id": vid, "product_id": pid, "sku": sku, "inventory_level": level, "price": 15.0, "weight": None,
            "option_values": [{"id": n, "option_id": 10 + n, "label": label, "option_display_name": name}
                              for n, (name, label) in enumerate(values)]}
