"""Products, customers and inventory of the BigCommerce REST type (MockTransport)."""

from __future__ import annotations

import logging

from seconnect import InventoryAction, InventoryLevel, InventoryOutcome
from seconnect_schemas import explain

from .conftest import bc_cart
from .fakeapi import product, variant


def _catalog(fake):
    fake.products = [
        product(1, "PLAIN 1/2"),
        product(2, "SHIRT", tracking="variant", variants=[
            variant(21, 2, "SHIRT-R-L", ("Colour", "Red"), ("Size", "L"), level=4),
            variant(22, 2, "SHIRT-B-L", ("Colour", "Blue"), ("Size", "L"), level=6)]),
        product(3, "", tracking="none"),
        product(5, "", tracking="variant", variants=[variant(51, 5, "NOSKU-PARENT-OAK", ("Wood", "Oak"))]),
        product(4, "UNTRACKED", tracking="none"),
    ]


def test_products_with_variants_become_parent_and_variation_records(rest, cart, fake, caplog):
    _catalog(fake)
    with caplog.at_level(logging.WARNING):
        pages = list(rest.import_products(cart=cart, batch_size=50))
    records = [r for page in pages for r in page]
    assert all(explain("product", r) == [] for r in records)
    by_code = {r["code"]: r for r in records}
    assert set(by_code) == {"PLAIN 1/2", "SHIRT", "SHIRT-R-L", "SHIRT-B-L", "UNTRACKED", "NOSKU-PARENT-OAK"}
    assert by_code["NOSKU-PARENT-OAK"]["variation"]["parent_web_id"] == "5"
    assert by_code["NOSKU-PARENT-OAK"]["variation"]["parent_name"] == "Product 5"
    assert by_code["PLAIN 1/2"]["qoh"] == 5 and by_code["PLAIN 1/2"]["price"] == "12.50"
    assert by_code["UNTRACKED"]["qoh"] is None
    shirt = by_code["SHIRT"]
    assert [o["name"] for o in shirt["option_lists"]] == ["Colour", "Size"]
    assert [v["name"] for v in shirt["option_lists"][0]["values"]] == ["Red", "Blue"]
    red = by_code["SHIRT-R-L"]
    assert red["variation"]["parent_code"] == "SHIRT" and red["variation"]["values"] == ["Red", "L"]
    assert red["qoh"] == 4 and red["web_id"] == "2-21"
    assert "product 3 ('Product 3') has no SKU: the product itself is skipped" in caplog.text
    assert fake.requests[0].url.params["include"] == "variants"


def test_inventory_levels_follow_the_codes(rest, cart):
    assert rest.inventory_levels(cart=cart, codes=[("PLAIN", "1"), ("SHIRT-R-L", "2-21")]) == [
        InventoryLevel.PRODUCT, InventoryLevel.SUB_SKU]


def test_customers_with_addresses(rest, cart, fake):
    fake.customers = [{"id": 5, "email": "c@example.com", "first_name": "Cé", "last_name": "O'Neil",
                       "company": "A & B", "phone": "1", "addresses": [
                           {"id": 1, "first_name": "Cé", "last_name": "O'Neil", "address1": "1 Rue",
                            "city": "Paris", "state_or_province": "IDF", "postal_code": "75001",
                            "country_code": "FR"}]},
                      {"id": 6, "email": "d@example.com", "first_name": "D", "last_name": "E", "addresses": []}]
    records = [r for page in rest.import_customers(cart=cart, batch_size=50) for r in page]
    assert all(explain("customer", r) == [] for r in records)
    assert records[0]["web_id"] == "5" and records[0]["billing"]["street1"] == "1 Rue"
    assert records[0]["billing"]["country"] == "FR" and records[0]["billing"]["email"] == "c@example.com"
    assert records[1]["billing"]["full_name"] == "D E"


def test_inventory_get_reads_each_code_at_its_tracking_level(rest, cart, fake):
    _catalog(fake)
    rows = {r.code: r.qoh for page in rest.sync_inventory(cart=cart, action=InventoryAction.GET, items=[])
            for r in page}
    assert rows == {"PLAIN 1/2": 5, "SHIRT": None, "SHIRT-R-L": 4, "SHIRT-B-L": 6, "UNTRACKED": None,
                    "NOSKU-PARENT-OAK": 3}


def test_inventory_send_uses_the_identity_rule_and_verifies(rest, cart, fake):
    _catalog(fake)
    results = rest.sync_inventory(cart=cart, action=InventoryAction.SEND,
                                  items=[("PLAIN 1/2", 9), ("SHIRT-R-L", 7), ("NOPE", 1), ("UNTRACKED", 2)])
    assert [(r.code, r.outcome, r.qoh) for r in results] == [
        ("PLAIN 1/2", InventoryOutcome.OK, 9), ("SHIRT-R-L", InventoryOutcome.OK, 7),
        ("NOPE", InventoryOutcome.NOT_FOUND, None), ("UNTRACKED", InventoryOutcome.NOT_TRACKED, None)]
    read_back = [r.url.params["id:in"] for r in fake.requests if "id:in" in r.url.params]
    assert read_back == ["1,2"]  # only the products sent, verified at the first read
    (write,) = fake.stock_writes
    assert write["items"] == [{"location_id": 1, "product_id": 1, "quantity": 9},
                              {"location_id": 1, "variant_id": 21, "quantity": 7}]


def test_inventory_send_batches_by_2000_and_reports_unseen_writes_as_unverified(rest, cart, fake, slept):
    fake.products = [product(n, f"P{n}") for n in range(1, 2502)]
    fake.apply_writes = False  # asynchronous: not visible yet
    results = rest.sync_inventory(cart=cart, action=InventoryAction.SEND,
                                  items=[(f"P{n}", 1) for n in range(1, 2502)])
    assert [len(w["items"]) for w in fake.stock_writes] == [2000, 501]
    rest.sync_inventory(cart=cart, action=InventoryAction.SEND, items=[("P1", 2)])
    assert fake.paths().count("/v3/inventory/locations") == 1  # the default location, asked once
    assert {r.outcome for r in results} == {InventoryOutcome.UNVERIFIED}
    assert results[0].note == "sent, not yet visible"
    assert slept  # it waited between read-backs


def test_a_rejected_batch_is_reported_per_item_not_fatal(rest, fake):
    _catalog(fake)
    fake.reject_items = {("product_id", 1)}
    cart = bc_cart(location_id=3)
    results = rest.sync_inventory(cart=cart, action=InventoryAction.SEND, items=[("PLAIN 1/2", 9)])
    assert results[0].outcome is InventoryOutcome.ERROR and "422" in results[0].note
    assert fake.stock_writes[0]["items"][0]["location_id"] == 3


def test_inventory_get_at_a_location_reads_its_items(rest, fake):
    _catalog(fake)
    rows = {r.code: r.qoh for page in rest.sync_inventory(cart=bc_cart(location_id=3), action=InventoryAction.GET,
                                                          items=[]) for r in page}
    assert rows == {"PLAIN 1/2": 105, "SHIRT": None, "SHIRT-R-L": 104, "SHIRT-B-L": 106, "UNTRACKED": None,
                    "NOSKU-PARENT-OAK": 103}
    assert "/v3/inventory/locations/3/items" in fake.paths()


def test_a_partly_refused_batch_reports_the_refused_items_and_applies_the_rest(rest, cart, fake):
    _catalog(fake)
    fake.reject_items = {("variant_id", 21)}
    results = rest.sync_inventory(cart=cart, action=InventoryAction.SEND, items=[("PLAIN 1/2", 9), ("SHIRT-R-L", 7)])
    assert [(r.code, r.outcome) for r in results] == [("PLAIN 1/2", InventoryOutcome.OK),
                                                      ("SHIRT-R-L", InventoryOutcome.ERROR)]
    assert "HTTP 207" in results[1].note and "tracked by product" in results[1].note


def test_sends_in_a_row_resolve_codes_from_one_catalog_read(rest, cart, fake):
    _catalog(fake)
    for qty in (1, 2, 3):
        rest.sync_inventory(cart=cart, action=InventoryAction.SEND, items=[("PLAIN 1/2", qty)])
    full_reads = [r for r in fake.requests if r.url.path.endswith("/catalog/products") and "id:in" not in r.url.params]
    assert len(full_reads) == 1
    fake.products.append(product(9, "NEW-ONE"))  # a code the kept catalog lacks: read again
    (result,) = rest.sync_inventory(cart=cart, action=InventoryAction.SEND, items=[("NEW-ONE", 4)])
    assert result.outcome is InventoryOutcome.OK
