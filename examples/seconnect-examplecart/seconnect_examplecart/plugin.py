"""ExampleCart for seconnect: the cart type, and the hooks that serve it.

Every operation hook first checks ``cart.type`` and returns None for carts of other types: all
plugins answer through the same hooks, and the first answer wins.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal
from urllib.parse import quote

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
    StatusResult,
    StatusUpdate,
    hookimpl,
)
from seconnect import Capability as C

from .client import ShopClient

CART_TYPE = CartType(
    id="ExampleCart",
    label="ExampleCart (JSON API)",
    capabilities=Capabilities.declare(
        supported=[C.IMPORT_ORDERS, C.IMPORT_PRODUCTS, C.INVENTORY_GET, C.INVENTORY_SEND,
                   C.INVENTORY_REALTIME, C.STATUS_UPDATES],
        unsupported=[C.IMPORT_CUSTOMERS, C.CUSTOM_ORDER_FIELDS],
        realtime_levels=[InventoryLevel.PRODUCT],
    ),
    # The cart's settings: titles label them in `carts add`/`show`; writeOnly marks the secret.
    config_schema={
        "type": "object",
        "properties": {
            "script_url": {"type": "string", "minLength": 1, "title": "API URL",
                           "description": "the shop's API address, without https://"},
            "user": {"type": "string", "minLength": 1, "title": "API User"},
            "password": {"type": "string", "minLength": 1, "writeOnly": True, "title": "API Key"},
        },
        "required": ["script_url", "user", "password"],
    },
    notes={
        C.IMPORT_CUSTOMERS.value: "The shop's API has no customer list: customers arrive with their orders.",
        C.CUSTOM_ORDER_FIELDS.value: "The shop's checkout has no custom fields.",
    },
    script_url_example="shop.example.com/api",
)


def _mine(cart: CartDefinition) -> bool:
    return cart.type == CART_TYPE.id


@hookimpl
def seconnect_cart_types() -> list[CartType]:
    return [CART_TYPE]


@hookimpl
def test_script(cart: CartDefinition, check_credentials: bool) -> str | None:
    if not _mine(cart):
        return None
    shop = ShopClient(cart)
    version = shop.get("/ping")["version"]
    if check_credentials:
        shop.get("/orders", limit=0)  # any authenticated call: a 401 becomes CartAuthError
    return version


@hookimpl
def import_orders(cart: CartDefinition, checkpoint: str | None, batch_size: int) -> Iterator[OrderBatch] | None:
    if not _mine(cart):
        return None
    return _order_batches(cart, checkpoint or "0", batch_size)


def _order_batches(cart: CartDefinition, after: str, batch_size: int) -> Iterator[OrderBatch]:
    """Keyset paging: each request asks for the orders after the last one received."""
    shop = ShopClient(cart)
    while True:
        orders = shop.get("/orders", after=after, limit=batch_size)["orders"]
        if not orders:
            return
        records = [order_record(order) for order in orders]
        after = records[-1]["number"]
        yield OrderBatch(records, checkpoint=after)


def order_record(order: dict) -> dict:
    """One shop order as order.schema.json wants it: numbers as strings, money as "12.50"."""
    lines = [{
        "line_no": n, "sku": item["sku"], "name": item["name"], "quantity": item["qty"],
        "unit_price": item["price"], "total": f"{Decimal(item['price']) * item['qty']:.2f}",
    } for n, item in enumerate(order["items"], start=1)]
    customer = {"full_name": order["customer"]["name"], "email": order["customer"]["email"]}
    return {
        "number": str(order["number"]),
        "date": order["placed_at"],
        "status": order["status"],
        "billing": customer,
        "shipping": customer,
        "lines": lines,
        "totals": {"grand_total": order["total"]},
    }


@hookimpl
def import_products(cart: CartDefinition, batch_size: int) -> Iterator[list[dict]] | None:
    if not _mine(cart):
        return None
    return _product_pages(cart, batch_size)


def _product_pages(cart: CartDefinition, batch_size: int) -> Iterator[list[dict]]:
    """Offset paging, one list of product records per request."""
    shop = ShopClient(cart)
    offset = 0
    while True:
        products = shop.get("/products", offset=offset, limit=batch_size)["products"]
        if not products:
            return
        yield [{"code": p["sku"], "name": p["name"], "price": p["price"], "qoh": p["stock"]} for p in products]
        offset += len(products)


_OUTCOMES = {"updated": InventoryOutcome.OK, "unknown": InventoryOutcome.NOT_FOUND}


@hookimpl
def sync_inventory(cart: CartDefinition, action: InventoryAction, items: Sequence[tuple[str, int]]):
    if not _mine(cart):
        return None
    if action == InventoryAction.GET:
        return ([InventoryRow(code=p["code"], qoh=p["qoh"]) for p in page]
                for page in _product_pages(cart, int(cart.param("DownloadBatchSize", 50))))
    if action == InventoryAction.SEND:
        shop = ShopClient(cart)
        answers = shop.call("PUT", "/stock", body=dict(items))["results"]
        return [InventoryResult(code, _OUTCOMES.get(answers.get(code), InventoryOutcome.ERROR),
                                qoh=qty if answers.get(code) == "updated" else None,
                                note=answers.get(code, "no answer for this SKU"))
                for code, qty in items]
    return None  # "adjust": never asked, since inventory-send is supported (real-time sends absolutes)


@hookimpl
def update_order_status(cart: CartDefinition, update: StatusUpdate) -> StatusResult | None:
    if not _mine(cart):
        return None
    body = {"status": update.status, "note": update.note,
            "tracking": [{"number": p.tracking_number, "carrier": p.carrier} for p in update.packages]}
    shop = ShopClient(cart)  # a refusal (unknown order...) raises CartRejected: parked, never resent
    answer = shop.call("POST", f"/orders/{quote(update.order_number, safe='')}/status", body=body)
    return StatusResult(accepted=True, notes=answer.get("message", ""))
