"""The bigcommerce sandbox profile: BigCommerce's REST API over real HTTPS on loopback.

One read-only store per module (``bc``); tests that change a store start their own (``fresh``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from seconnect.sandbox import Sandbox
from seconnect.sandbox.bigcommerce import parse_date

from .helpers import trust

RATE_HEADERS = ("X-Rate-Limit-Time-Window-Ms", "X-Rate-Limit-Time-Reset-Ms", "X-Rate-Limit-Requests-Quota",
                "X-Rate-Limit-Requests-Left")


def client(sb: Sandbox, token: str | None = None) -> httpx.Client:
    headers = {"X-Auth-Token": sb.password if token is None else token, "Accept": "application/json"}
    return httpx.Client(base_url=f"https://{sb.api_base}/stores/{sb.store_hash}", headers=headers,
                        verify=trust(sb), timeout=10)


@pytest.fixture(scope="module")
def bc() -> Iterator[tuple[Sandbox, httpx.Client]]:
    """A 120-order store without a quota; do not change its state."""
    with Sandbox("bigcommerce", orders=120, quota=None) as sb, client(sb) as http:
        yield sb, http


@pytest.fixture
def fresh() -> Iterator[Callable[..., tuple[Sandbox, httpx.Client]]]:
    started: list[tuple[Sandbox, httpx.Client]] = []

    def factory(**options) -> tuple[Sandbox, httpx.Client]:
        sb = Sandbox("bigcommerce", **{"orders": 20, "quota": None, **options}).start()
        started.append((sb, client(sb)))
        return started[-1]

    yield factory
    for sb, http in started:
        http.close()
        sb.stop()


def all_orders(http: httpx.Client, **params) -> list[dict]:
    out, page = [], 1
    while True:
        reply = http.get("/v2/orders", params={**params, "page": page, "limit": params.get("limit", 250)})
        if reply.status_code == 204:
            assert reply.content == b""
            return out
        assert reply.status_code == 200, reply.text
        out += reply.json()
        page += 1


# ------------------------------------------------------------------------------------ auth, basics


def test_token_auth_and_error_shapes(bc):
    sb, _ = bc
    for token in ("", "wrong"):
        with client(sb, token) as http:
            v2 = http.get("/v2/time")
            assert v2.status_code == 401 and v2.json()[0]["status"] == 401
            assert all(name in v2.headers for name in RATE_HEADERS)
            v3 = http.get("/v3/catalog/products")
            assert v3.status_code == 401 and v3.headers["content-type"] == "application/problem+json"
            assert v3.json()["status"] == 401 and "title" in v3.json()
    with client(sb) as http:
        reply = http.get("/v2/time", headers={"X-Auth-Client": "anything"})
        assert reply.status_code == 200 and abs(reply.json()["time"] - time.time()) < 60
        assert http.get("/v2/store").json()["plan_level"] == "Standard"
        assert http.get("/v2/nothing").status_code == 404
        other = httpx.get(f"https://{sb.api_base}/stores/0000000000/v2/time", verify=trust(sb),
                          headers={"X-Auth-Token": sb.password})
        assert other.status_code == 404


def test_v2_paging_204_and_413(bc):
    sb, http = bc
    live = [int(n) for n in sb.downloadable_order_numbers()]
    assert len(http.get("/v2/orders").json()) == 50  # the default page
    pages = all_orders(http, limit=37)
    assert [o["id"] for o in pages] == live  # id ascending, archived ones left out
    assert http.get("/v2/orders", params={"limit": 250}).status_code == 200
    too_big = http.get("/v2/orders", params={"limit": 251})
    assert too_big.status_code == 413 and too_big.json()[0]["status"] == 413
    assert http.get("/v2/orders/count").json()["count"] == len(live)
    window = all_orders(http, min_id=live[10], max_id=live[19])
    assert [o["id"] for o in window] == live[10:20]
    shipped = all_orders(http, status_id=2)
    assert shipped and {o["status_id"] for o in shipped} == {2}
    counts = http.get("/v2/orders/count", params={"status_id": 2}).json()
    assert counts["count"] == len(shipped) == next(s["count"] for s in counts["statuses"] if s["id"] == 2)
    customer = next(o["customer_id"] for o in pages if o["customer_id"])
    assert {o["customer_id"] for o in all_orders(http, customer_id=customer)} == {customer}


def test_date_filters_take_iso_and_rfc2822_and_sort(bc):
    _, http = bc
    orders = all_orders(http)
    middle = parse_date(orders[60]["date_modified"])
    iso = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(middle))
    rfc = format_datetime(dt.datetime.fromtimestamp(middle, dt.UTC))
    by_iso = all_orders(http, min_date_modified=iso)
    by_rfc = all_orders(http, min_date_modified=rfc)
    assert by_iso == by_rfc and 0 < len(by_iso) < len(orders)
    assert all(parse_date(o["date_modified"]) >= middle for o in by_iso)
    created = all_orders(http, max_date_created=rfc.replace("+0000", "-0000"))
    assert created and all(parse_date(o["date_created"]) <= middle for o in created)
    newest = http.get("/v2/orders", params={"sort": "date_modified:desc", "limit": 250}).json()
    stamps = [parse_date(o["date_modified"]) for o in newest]
    assert stamps == sorted(stamps, reverse=True)
    assert http.get("/v2/orders", params={"sort": "id:desc"}).json()[0]["id"] == orders[-1]["id"]
    assert http.get("/v2/orders", params={"min_date_created": "last tuesday"}).status_code == 400
    assert http.get("/v2/orders", params={"sort": "colour"}).status_code == 400


# ------------------------------------------------------------------------------------ list pages from memory

_SORTS = {"id": "id", "customer_id": "customer_id", "date_created": "date_created",
          "date_modified": "date_modified", "status_id": "status_id"}


def _expected(orders: list[dict], sort: str, desc: bool, test: Callable[[dict], bool]) -> list[int]:
    """The list's ids worked out here from every order: filter, then sort key and id."""
    key = (lambda o: o["id"]) if sort == "id" else (
        lambda o: (parse_date(o[sort]) if sort.startswith("date") else o[sort], o["id"]))
    ids = [o["id"] for o in sorted(filter(test, orders), key=key)]
    return ids[::-1] if desc else ids


def test_cached_list_pages_equal_a_fresh_render(bc, monkeypatch):
    sb, http = bc
    profile = sb.profile
    orders = all_orders(http)
    stamps = sorted({parse_date(o["date_modified"]) for o in orders})
    cut = stamps[len(stamps) // 2]  # an exact stamp: the bound is inclusive
    cut_iso = dt.datetime.fromtimestamp(cut, dt.UTC).isoformat()
    created = sorted(parse_date(o["date_created"]) for o in orders)[40]
    created_iso = dt.datetime.fromtimestamp(created, dt.UTC).isoformat()
    queries = [({}, lambda o: True),
               ({"min_date_modified": cut_iso}, lambda o: parse_date(o["date_modified"]) >= cut),
               ({"max_date_modified": cut_iso}, lambda o: parse_date(o["date_modified"]) <= cut),
               ({"min_id": orders[10]["id"], "max_id": orders[70]["id"]},
                lambda o: orders[10]["id"] <= o["id"] <= orders[70]["id"]),
               ({"max_date_created": created_iso, "status_id": 2},
                lambda o: parse_date(o["date_created"]) <= created and o["status_id"] == 2)]
    renders: list[dict] = []
    render = profile._orders_page
    monkeypatch.setattr(profile, "_orders_page", lambda params, *a: renders.append(params) or render(params, *a))
    for params, test in queries:
        for sort in _SORTS:
            for desc in (False, True):
                query = {**params, "sort": f"{sort}:{'desc' if desc else 'asc'}", "limit": 17,
                         "include": "consignments.line_items"}
                got = all_orders(http, **query)
                assert [o["id"] for o in got] == _expected(orders, sort, desc, test), query
                first = {**query, "page": 1}
                cached = http.get("/v2/orders", params=first)
                assert all(len(cached.headers.get_list(name)) == 1 for name in RATE_HEADERS)
                profile._changed()  # what any change does: the next page is rendered afresh
                assert http.get("/v2/orders", params=first).content == cached.content, query
    pages = len(renders)
    assert all_orders(http, sort="date_modified:desc", limit=17) and len(renders) > pages
    pages = len(renders)
    assert all_orders(http, sort="date_modified:desc", limit=17)
    assert len(renders) == pages  # the same pages again: served from memory, nothing rendered


def test_each_change_shows_on_the_next_list_page(fresh):
    sb, http = fresh(orders=20)

    def listed(**params) -> dict[int, dict]:
        return {o["id"]: o for o in all_orders(http, sort="date_modified:asc", **params)}

    live, archived = listed(), listed(is_deleted="true")
    new = [int(n) for n in sb.add_orders(3)]
    assert set(listed()) == set(live) | set(new)
    first, second, third = new
    sb.set_order_status(first, "Completed")
    assert listed()[first]["status"] == "Completed"
    sb.archive_order(second)
    assert second not in listed() and second in listed(is_deleted="true")
    assert set(listed(is_deleted="true")) == set(archived) | {second}
    assert all(x["quantity_refunded"] == 0 for x in http.get(f"/v2/orders/{third}/products").json())
    sb.refund_order(third)
    refunded = listed()[third]
    assert refunded["status_id"] == 4 and refunded["refunded_amount"] == refunded["total_inc_tax"]
    # an order's own resources are served from memory too, and change with it
    assert all(x["quantity_refunded"] == x["quantity"] for x in http.get(f"/v2/orders/{third}/products").json())
    order = next(o for o in listed().values() if o["items_total"] > 1 and o["items_shipped"] == 0)
    line = http.get(f"/v2/orders/{order['id']}/products").json()[0]
    made = http.post(f"/v2/orders/{order['id']}/shipments",
                     json={"order_address_id": line["order_address_id"],
                           "items": [{"order_product_id": line["id"], "quantity": 1}]})
    assert made.status_code == 201
    shipped = listed()[order["id"]]
    assert shipped["items_shipped"] == 1 and shipped["status_id"] == 3
    assert http.get(f"/v2/orders/{order['id']}/products").json()[0]["quantity_shipped"] == 1
    before = (listed(), listed(is_deleted="true"))
    sb.restart()
    assert (listed(), listed(is_deleted="true")) == before
    sb.set_order_status(order["id"], "Shipped")
    assert listed()[order["id"]]["status_id"] == 2


def test_v2_formats_and_links_use_the_sandbox_url(bc):
    sb, http = bc
    order = http.get("/v2/orders", params={"limit": 1}).json()[0]
    assert order["date_created"].endswith("+0000") and "," in order["date_created"]
    assert all(len(order[k].split(".")[1]) == 4 for k in ("total_inc_tax", "subtotal_ex_tax", "refunded_amount"))
    base = f"https://{sb.api_base}/stores/{sb.store_hash}/v2/orders/{order['id']}"
    for name in ("products", "shipping_addresses", "coupons"):
        assert order[name]["url"] == f"{base}/{name}"
    followed = http.get(order["products"]["url"])
    assert followed.status_code == 200 and followed.json()[0]["order_id"] == order["id"]
    spelled = http.get(f"/v2/orders/{order['id']}/shippingaddresses")
    assert spelled.json() == http.get(f"/v2/orders/{order['id']}/shipping_addresses").json()


def test_consignments_embed_every_line_like_the_products_pages(bc):
    _, http = bc
    orders = all_orders(http, include="consignments.line_items", consignment_structure="object")
    big = next(o for o in orders if o["items_total"] and len(_embedded(o)) == 60)
    paged = http.get(f"/v2/orders/{big['id']}/products").json()  # 50 by default
    paged += http.get(f"/v2/orders/{big['id']}/products", params={"page": 2}).json()
    assert http.get(f"/v2/orders/{big['id']}/products", params={"page": 3}).status_code == 204
    assert [x["id"] for x in _embedded(big)] == [x["id"] for x in paged]
    as_list = http.get("/v2/orders", params={"include": "consignments.line_items", "limit": 1}).json()[0]
    assert isinstance(as_list["consignments"], list) and as_list["consignments"][0]["shipping"]


def test_embedded_lines_can_be_capped(fresh):
    sb, http = fresh(orders=10, embed_lines=2)
    orders = http.get("/v2/orders", params={"include": "consignments.line_items",
                                            "consignment_structure": "object"}).json()
    long = [o for o in orders if sum(x["quantity"] for x in _embedded(o)) < o["items_total"]]
    assert long and all(len(_embedded(o)) == 2 for o in long)
    lines = http.get(f"/v2/orders/{long[0]['id']}/products").json()
    assert sum(x["quantity"] for x in lines) == long[0]["items_total"]


def _embedded(order: dict) -> list[dict]:
    return [x for c in order["consignments"]["shipping"] for x in c["line_items"]]


# ------------------------------------------------------------------------------------ rate limits and faults


def test_rate_limit_headers_and_429(fresh):
    sb, http = fresh(quota=3, window_ms=500)
    lefts = []
    for _ in range(3):
        reply = http.get("/v2/time")
        assert reply.status_code == 200
        assert all(name in reply.headers for name in RATE_HEADERS)
        assert {k.decode() for k, _ in reply.headers.raw} >= {n.lower() for n in RATE_HEADERS}  # sent lowercase
        lefts.append(int(reply.headers["X-Rate-Limit-Requests-Left"]))
    assert lefts == [2, 1, 0]
    throttled = http.get("/v3/catalog/products")
    assert throttled.status_code == 429
    assert throttled.headers["X-Rate-Limit-Requests-Quota"] == "3"
    assert throttled.headers["X-Rate-Limit-Requests-Left"] == "0"
    reset = int(throttled.headers["X-Rate-Limit-Time-Reset-Ms"])
    assert 0 <= reset <= 500 and throttled.headers["X-Rate-Limit-Time-Window-Ms"] == "500"
    assert sb.throttled() == 1
    time.sleep(reset / 1000 + 0.05)
    assert http.get("/v2/time").status_code == 200
    assert sb.rest_requests()[-2:] == [("GET", "/v3/catalog/products", 429), ("GET", "/v2/time", 200)]


def test_reset_and_truncate_faults_on_rest_calls(fresh):
    sb, http = fresh(faults="reset*1@catalog,truncate*1@orders")
    with pytest.raises(httpx.TransportError):
        http.get("/v3/catalog/products")
    with pytest.raises(httpx.TransportError):
        http.get("/v2/orders")
    assert http.get("/v2/orders").status_code == 200
    assert [status for _, _, status in sb.rest_requests()] == [0, 200, 200]


def test_unlimited_quota_still_sends_headers(bc):
    _, http = bc
    reply = http.get("/v2/time")
    assert int(reply.headers["X-Rate-Limit-Requests-Quota"]) >= 1_000_000


def test_load_shedding_429_has_no_rate_headers(fresh):
    sb, http = fresh(faults="429*1@orders")
    assert http.get("/v2/time").status_code == 200  # other resources are not hit
    shed = http.get("/v2/orders")
    assert shed.status_code == 429 and not any(name in shed.headers for name in RATE_HEADERS)
    assert http.get("/v2/orders").status_code == 200
    assert sb.throttled() == 0 and ("GET", "/v2/orders", 429) in sb.rest_requests()


# ------------------------------------------------------------------------------------ hostile data


def test_hostile_orders_are_there(bc):
    sb, http = bc
    orders = all_orders(http, include="consignments.line_items", consignment_structure="object")
    text = json.dumps(orders, ensure_ascii=False)
    assert "&" in text and "'" in text and any(ord(ch) > 0x1F000 for ch in text)
    assert {o["status_id"] for o in orders} == set(range(15))  # incomplete (0) included
    multi = [o for o in orders if len(o["consignments"]["shipping"]) > 1]
    assert multi
    split = multi[0]
    addresses = http.get(f"/v2/orders/{split['id']}/shipping_addresses").json()
    lines = http.get(f"/v2/orders/{split['id']}/products").json()
    assert {x["order_address_id"] for x in lines} <= {a["id"] for a in addresses}
    refunded = next(o for o in orders if o["status_id"] == 4)
    assert refunded["refunded_amount"] == refunded["total_inc_tax"]
    assert all(x["quantity_refunded"] == x["quantity"] for x in _embedded(refunded))
    partly = next(o for o in orders if o["status_id"] == 14)
    assert 0 < float(partly["refunded_amount"]) < float(partly["total_inc_tax"])
    assert any(o["billing_address"]["form_fields"] for o in orders)
    with_coupon = next(o for o in orders if o["coupon_discount"] != "0.0000")
    assert http.get(f"/v2/orders/{with_coupon['id']}/coupons").json()[0]["code"]
    without = next(o for o in orders if o["coupon_discount"] == "0.0000")
    assert http.get(f"/v2/orders/{without['id']}/coupons").status_code == 204
    archived = all_orders(http, is_deleted="true")
    assert archived and all(o["is_deleted"] for o in archived)
    assert not {o["id"] for o in archived} & {o["id"] for o in orders}
    assert http.get(f"/v2/orders/{archived[0]['id']}").json()["is_deleted"] is True


def test_catalog_tracking_modes_variants_and_odd_skus(bc):
    _, http = bc
    products = http.get("/v3/catalog/products", params={"include": "variants", "limit": 250}).json()["data"]
    assert {p["inventory_tracking"] for p in products} == {"none", "product", "variant"}
    assert any(p["sku"] == "" for p in products)
    odd = [p["sku"] for p in products if " " in p["sku"] and "/" in p["sku"]]
    assert odd
    for p in products:
        assert p["variants"]
        if p["base_variant_id"] is not None:
            assert [v["id"] for v in p["variants"]] == [p["base_variant_id"]] and not p["variants"][0]["option_values"]
        else:
            assert all(v["sku"] and v["option_values"] for v in p["variants"])
        if p["inventory_tracking"] == "variant":
            assert p["inventory_level"] == sum(v["inventory_level"] for v in p["variants"])
    found = http.get("/v3/catalog/products", params={"sku": odd[0]}).json()["data"]
    assert [p["sku"] for p in found] == [odd[0]]
    complex_ = next(p for p in products if p["base_variant_id"] is None)
    variants = http.get("/v3/catalog/variants", params={"product_id:in": complex_["id"]}).json()["data"]
    assert [v["id"] for v in variants] == [v["id"] for v in complex_["variants"]]
    by_sku = http.get("/v3/catalog/variants", params={"sku": variants[0]["sku"]}).json()["data"]
    assert [v["id"] for v in by_sku] == [variants[0]["id"]]
    some = http.get("/v3/catalog/products", params={"id:in": "2,5,9"}).json()["data"]
    assert [p["id"] for p in some] == [2, 5, 9]
    two = http.get("/v3/catalog/products", params={"sku:in": f"{products[0]['sku']},{odd[0]}"}).json()["data"]
    assert {p["sku"] for p in two} == {products[0]["sku"], odd[0]}
    with_options = http.get("/v3/catalog/products", params={"include": "options", "limit": 50}).json()
    assert with_options["meta"]["pagination"]["per_page"] == 10
    assert any(p["options"] and p["options"][0]["option_values"] for p in with_options["data"])
    page = http.get("/v3/catalog/products", params={"limit": 5, "page": 2, "sort": "name",
                                                    "direction": "desc"}).json()
    assert page["meta"]["pagination"]["links"]["next"] == "?page=3&limit=5"
    names = [p["name"] for p in page["data"]]
    assert names == sorted(names, reverse=True)


def test_customers_v3(bc):
    sb, http = bc
    page = http.get("/v3/customers", params={"include": "addresses", "limit": 10}).json()
    assert page["meta"]["pagination"]["total"] == len(sb.customers())
    first = page["data"][0]
    assert first["addresses"][0]["customer_id"] == first["id"]
    picked = http.get("/v3/customers", params={"id:in": f"{first['id']},3"}).json()["data"]
    assert [c["id"] for c in picked] == [first["id"], 3]
    assert http.get("/v3/customers", params={"email:in": first["email"]}).json()["data"][0]["id"] == first["id"]


def test_same_seed_same_shop_as_seti(bc):
    sb, _ = bc
    with Sandbox("generic", orders=1) as seti:
        assert seti.customers() == sb.customers()


# ------------------------------------------------------------------------------------ inventory


def _catalog_item(http: httpx.Client, mode: str, simple: bool = True) -> dict:
    products = http.get("/v3/catalog/products", params={"include": "variants", "limit": 250}).json()["data"]
    return next(p for p in products if p["inventory_tracking"] == mode and (p["base_variant_id"] is not None) == simple)


def test_identity_rule_207_and_422(fresh):
    sb, http = fresh()
    by_product = _catalog_item(http, "product")
    by_variant = _catalog_item(http, "variant", simple=False)
    variant = by_variant["variants"][0]
    wrong = http.put("/v3/inventory/adjustments/absolute", json={"reason": "t", "items": [
        {"location_id": 1, "variant_id": by_product["base_variant_id"], "quantity": 5},
        {"location_id": 1, "product_id": by_variant["id"], "quantity": 5}]})
    assert wrong.status_code == 422
    assert "tracked by product, please update stock by product id" in wrong.json()["errors"]["items.0"]
    assert "items.1" in wrong.json()["errors"]
    mixed = http.put("/v3/inventory/adjustments/absolute", json={"items": [
        {"location_id": 1, "product_id": by_product["id"], "quantity": 42},
        {"location_id": 1, "sku": variant["sku"], "quantity": 7},
        {"location_id": 9, "sku": variant["sku"], "quantity": 7}]})
    assert mixed.status_code == 207 and list(mixed.json()["errors"]) == ["items.2"] and mixed.json()["transaction_id"]
    assert sb.qoh(by_product["sku"]) == 42 and sb.qoh(variant["sku"]) == 7
    again = http.get(f"/v3/catalog/products/{by_product['id']}").json()["data"]
    assert again["inventory_level"] == 42
    since = dt.datetime.fromtimestamp(parse_date(again["date_modified"]), dt.UTC).isoformat()
    touched = http.get("/v3/catalog/products", params={"date_modified:min": since}).json()["data"]
    assert {p["id"] for p in touched} == {by_product["id"], by_variant["id"]}
    first = http.post("/v3/inventory/adjustments/relative", json={"items": [
        {"location_id": 2, "sku": variant["sku"], "quantity": 1}]})
    assert first.status_code == 422 and "absolute adjustment before relative" in first.json()["errors"]["items.0"]
    assert http.put("/v3/inventory/adjustments/absolute", json={"items": [
        {"location_id": 2, "sku": variant["sku"], "quantity": 3}]}).status_code == 200
    assert http.post("/v3/inventory/adjustments/relative", json={"items": [
        {"location_id": 2, "sku": variant["sku"], "quantity": -2}]}).status_code == 200
    below = http.post("/v3/inventory/adjustments/relative", json={"items": [
        {"location_id": 1, "sku": variant["sku"], "quantity": -8}]})
    assert below.status_code == 422
    items = http.get("/v3/inventory/items", params={"sku:in": variant["sku"]}).json()["data"]
    assert [(loc["location_id"], loc["available_to_sell"]) for loc in items[0]["locations"]] == [(1, 7), (2, 1)]
    locations = http.get("/v3/inventory/locations").json()["data"]
    assert [loc["id"] for loc in locations] == [1, 2] and locations[0]["is_default"]


def test_inventory_writes_apply_late(fresh):
    sb, http = fresh(inventory_delay_ms=300)
    product = _catalog_item(http, "product")
    before = sb.qoh(product["sku"])
    reply = http.put("/v3/inventory/adjustments/absolute", json={"items": [
        {"location_id": 1, "product_id": product["id"], "quantity": before + 11}]})
    assert reply.status_code == 200 and reply.json()["transaction_id"]
    assert http.get(f"/v3/catalog/products/{product['id']}").json()["data"]["inventory_level"] == before
    deadline = time.monotonic() + 10
    while sb.qoh(product["sku"]) != before + 11 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert http.get(f"/v3/catalog/products/{product['id']}").json()["data"]["inventory_level"] == before + 11


# ------------------------------------------------------------------------------------ steering and writes


def test_steering_and_order_writes(fresh):
    sb, http = fresh(orders=12)
    started = int(time.time())
    variant_tracked = _catalog_item(http, "variant", simple=False)
    stock_before = {v["sku"]: sb.qoh(v["sku"]) for v in variant_tracked["variants"]}
    new = sb.add_orders(30)
    changed = all_orders(http, min_date_modified=dt.datetime.fromtimestamp(started - 1, dt.UTC).isoformat())
    assert {str(o["id"]) for o in changed} == set(new)
    sold = {}
    for number in new:
        for line in http.get(f"/v2/orders/{number}/products").json():
            if line["product_id"] == variant_tracked["id"]:
                sold[line["sku"]] = sold.get(line["sku"], 0) + line["quantity"]
    assert all(sb.qoh(sku) == stock_before[sku] - sold.get(sku, 0) for sku in stock_before)

    first, second, third = (int(n) for n in new[:3])
    sb.set_order_status(first, "Completed")
    sb.set_order_status(second, 13)
    assert [http.get(f"/v2/orders/{n}").json()["status"] for n in (first, second)] == ["Completed", "Disputed"]
    assert http.put(f"/v2/orders/{third}", json={"status_id": 99}).status_code == 400
    assert http.put(f"/v2/orders/{third}", json={"status_id": 9}).json()["status_id"] == 9
    sb.refund_order(third)
    refunded = http.get(f"/v2/orders/{third}").json()
    assert refunded["status_id"] == 4 and refunded["refunded_amount"] == refunded["total_inc_tax"]
    sb.archive_order(first)
    assert http.delete(f"/v2/orders/{second}").status_code == 204
    assert {first, second} <= {o["id"] for o in all_orders(http, is_deleted="true")}
    assert not {first, second} & {o["id"] for o in all_orders(http)}
    assert {int(o["number"]) for o in sb.orders() if o["deleted"]} >= {first, second}
    admin = httpx.post(f"https://{sb.api_base}/__sandbox/steer/status", params={"order": third, "status": "Shipped"},
                       headers={"X-Sandbox-Token": sb.password}, verify=trust(sb))
    assert admin.status_code == 200 and http.get(f"/v2/orders/{third}").json()["status_id"] == 2
    with pytest.raises(ValueError, match="no order"):
        sb.archive_order(999_999)
    before = http.get(f"/v2/orders/{third}").json()
    requests_so_far = len(sb.rest_requests())
    sb.restart()  # a restarted host serves the same changes and keeps counting
    assert http.get(f"/v2/orders/{third}").json() == before
    assert first in {o["id"] for o in all_orders(http, is_deleted="true")}
    assert len(sb.rest_requests()) > requests_so_far


def test_shipments_validate_and_ship(fresh):
    sb, http = fresh(orders=12)
    order = next(o for o in all_orders(http) if o["items_total"] > 1 and o["items_shipped"] == 0)
    lines = http.get(f"/v2/orders/{order['id']}/products").json()
    address = http.get(f"/v2/orders/{order['id']}/shipping_addresses").json()[0]
    mine = [x for x in lines if x["order_address_id"] == address["id"]]
    post = lambda body: http.post(f"/v2/orders/{order['id']}/shipments", json=body)  # noqa: E731
    bad = post({"order_address_id": 1, "items": [{"order_product_id": mine[0]["id"], "quantity": 1}]})
    assert bad.status_code == 400 and "order_address_id" in bad.json()[0]["message"]
    assert post({"order_address_id": address["id"], "items": []}).status_code == 400
    assert post({"order_address_id": address["id"],
                 "items": [{"order_product_id": mine[0]["id"], "quantity": mine[0]["quantity"] + 1}]}).status_code == 400
    made = post({"order_address_id": address["id"], "tracking_number": "1Z<&>", "shipping_provider": "ups",
                 "items": [{"order_product_id": mine[0]["id"], "quantity": 1}]})
    assert made.status_code == 201 and made.json()["tracking_number"] == "1Z<&>"
    assert sb.shipments(order["id"])[0]["items"] == [{"order_product_id": mine[0]["id"],
                                                      "product_id": mine[0]["product_id"], "quantity": 1}]
    assert http.get(f"/v2/orders/{order['id']}/shipments").json()[0]["id"] == made.json()["id"]
    assert http.get(f"/v2/orders/{order['id']}").json()["status_id"] == 3  # partially shipped


# ------------------------------------------------------------------------------------ webhooks


class _Receiver(BaseHTTPRequestHandler):
    got: list[tuple[dict, bytes]]

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.got.append(({k.lower(): v for k, v in self.headers.items()}, body))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_webhooks_are_signed_and_redelivered(fresh):
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    receiver.got = []  # type: ignore[attr-defined]
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        sb, http = fresh(orders=5)
        destination = f"http://127.0.0.1:{receiver.server_address[1]}/hooks"
        assert http.post("/v3/hooks", json={"scope": "store/order/*", "destination": "https://example.com/x"}
                         ).status_code == 422
        hook = http.post("/v3/hooks", json={"scope": "store/order/*", "destination": destination,
                                            "is_active": True, "headers": {"X-Shared": "s3cret"}}).json()["data"]
        assert hook["store_hash"] == sb.store_hash and http.get(f"/v3/hooks/{hook['id']}").json()["data"] == hook
        sb.set_order_status(1001, "Shipped")
        got = _wait_for(receiver.got, 2)
        scopes = [json.loads(body)["scope"] for _, body in got]
        assert scopes == ["store/order/updated", "store/order/statusUpdated"]
        headers, body = got[1]
        payload = json.loads(body)
        assert payload["data"]["id"] == 1001 and payload["data"]["status"]["new_status_id"] == 2
        assert payload["producer"] == f"stores/{sb.store_hash}" and headers["x-shared"] == "s3cret"
        signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
        expected = base64.b64encode(hmac.new(sb.client_secret.encode(), signed, hashlib.sha256).digest()).decode()
        assert headers["webhook-signature"] == f"v1,{expected}"
        assert sb.redeliver_last()
        again = _wait_for(receiver.got, 3)[2]
        assert json.loads(again[1])["hash"] == payload["hash"] and again[0]["webhook-id"] == headers["webhook-id"]
        sb.deactivate_hooks()
        assert http.get("/v3/hooks", params={"is_active": "true"}).json()["data"] == []
        sb.archive_order(1002)
        time.sleep(0.3)
        assert len(receiver.got) == 3  # type: ignore[attr-defined]
        assert [d["status"] for d in sb.webhook_deliveries()] == [200, 200, 200]
        stock_hook = http.post("/v3/hooks", json={"scope": "store/product/inventory/updated",
                                                  "destination": destination}).json()["data"]
        product = _catalog_item(http, "product")
        http.put("/v3/inventory/adjustments/absolute", json={"items": [
            {"location_id": 1, "product_id": product["id"], "quantity": 5}]})
        stock_event = json.loads(_wait_for(receiver.got, 4)[3][1])
        assert stock_event["scope"] == "store/product/inventory/updated" and stock_event["data"]["inventory"] == {
            "product_id": product["id"], "method": "absolute", "value": 5}
        assert http.delete(f"/v3/hooks/{stock_hook['id']}").status_code == 200
        assert http.delete(f"/v3/hooks/{hook['id']}").status_code == 200
        assert http.get(f"/v3/hooks/{hook['id']}").status_code == 404
    finally:
        receiver.shutdown()
        receiver.server_close()


def _wait_for(got: list, n: int) -> list:
    deadline = time.monotonic() + 10
    while len(got) < n and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(got) >= n
    return got


@pytest.mark.parametrize("options, message", [
    ({"quota": 0}, "quota must be at least 1"), ({"window_ms": 0}, "window_ms"),
    ({"embed_lines": -1}, "embed_lines"), ({"inventory_delay_ms": -5}, "inventory_delay_ms"),
    ({"bugs": {"money_thousands": False}}, "unknown bug switch"),
])
def test_bad_options_are_refused_up_front(options, message):
    with pytest.raises(ValueError, match=message):
        Sandbox("bigcommerce", **options)
