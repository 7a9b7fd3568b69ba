"""Order import of the BigCommerce REST type: mapping, paging and the checkpoint (MockTransport)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from seconnect_bigcommerce import rest_mapping as mapping
from seconnect_bigcommerce.rest import ORDER_OVERLAP
from seconnect_schemas import explain

from .fakeapi import BASE, address, line, order


def _import(rest, cart, checkpoint=None):
    batches = list(rest.import_orders(cart=cart, checkpoint=checkpoint, batch_size=50, since=None))
    return [r for b in batches for r in b.records], (batches[-1].checkpoint if batches else None)


def _valid(record):
    assert explain("order", record) == []


def test_test_script_reports_the_store_name_and_the_rate_limit(rest, cart):
    version = rest.test_script(cart=cart, check_credentials=False)
    assert "Ann's <Shop> & Co" in version
    assert "150 requests per 30 s" in version


def test_money_dates_addresses_and_form_fields_map_into_the_order_schema(rest, cart, fake):
    fake.orders[1] = order(
        1, lines=[line(11, 1, "A/1 x", qty=2, price="62.6793", product_options=[
            {"display_name": "Colour", "display_value": "Rot & <Blau>"}])],
        addresses=[address(10, 1), address(20, 1, street_1="2 Side St", cost_ex_tax="7.5000",
                                           shipping_method="Express")],
        date_created="Tue, 05 Mar 2019 21:40:11 -0500", customer_message="Leave at door",
        refunded_amount="3.5000", discount_amount="1.0000",
        billing_address={**order(9)["billing_address"],
                         "form_fields": [{"name": "Gift note", "value": "Happy 🎂"}, {"name": "Tags", "value": ["a", "b"]}]})
    fake.orders[1]["_lines"].append(line(12, 1, "B", address_id=20))
    fake.orders[1]["items_total"] = 3
    records, checkpoint = _import(rest, cart)
    (record,) = records
    _valid(record)
    assert record["number"] == "1"
    assert record["date"] == "2019-03-06T02:40:11+00:00"
    assert record["lines"][0]["unit_price"] == "62.6793" and record["lines"][0]["sku"] == "A/1 x"
    assert record["lines"][0]["options"] == [{"name": "Colour", "value": "Rot & <Blau>"}]
    assert [ln["raw"]["order_address_id"] for ln in record["lines"]] == ["10", "20"]
    assert record["shipping"]["street1"] == "1 Main St"
    assert record["raw"]["shipping_address[2]/street_1"] == "2 Side St"
    assert record["totals"]["shipping"] == "12.5000" and record["totals"]["shipping_method"] == "Flat Rate; Express"
    assert record["totals"]["discounts"] == [{"amount": "1.0000", "description": "Discount"}]
    assert record["raw"]["order/refunded_amount"] == "3.5000"
    assert record["other"]["instructions"] == "Leave at door"
    assert record["custom_fields"] == [{"name": "Gift note", "value": "Happy 🎂"}, {"name": "Tags", "value": "a, b"}]
    assert record["payments"][0]["kind"] == "CreditCard"
    assert checkpoint == "2026-01-05T12:01:00+00:00"


def test_incomplete_orders_are_skipped_and_archived_ones_reported_as_archived(rest, cart, fake):
    fake.orders[1] = order(1, status_id=0, status="Incomplete")
    fake.orders[2] = order(2, is_deleted=True, status="Cancelled", status_id=5)
    fake.orders[3] = order(3)
    records, _ = _import(rest, cart)
    assert [(r["number"], r["status"]) for r in records] == [("2", mapping.ARCHIVED), ("3", "Awaiting Fulfillment")]


def test_orders_with_more_lines_than_embedded_are_paged_in_full(rest, cart, fake):
    fake.orders[1] = order(1, lines=[line(100 + n, 1, f"L{n}") for n in range(60)])
    fake.orders[2] = order(2)
    fake.embed_max = 10
    records, _ = _import(rest, cart)
    assert [len(r["lines"]) for r in records] == [60, 1]
    assert [ln["sku"] for ln in records[0]["lines"]] == [f"L{n}" for n in range(60)]
    product_calls = [p for p in fake.paths() if p.endswith("/products")]
    assert product_calls == ["/v2/orders/1/products"]  # only the order that needed it
    assert all(r.url.params.get("limit") == "250" for r in fake.requests if r.url.path.endswith("/products"))


def test_coupons_are_fetched_only_for_orders_with_a_coupon_discount(rest, cart, fake):
    fake.orders[1] = order(1, coupon_discount="2.0000")
    fake.orders[2] = order(2)
    fake.coupons[1] = [{"id": 1, "code": "SAVE2", "amount": "2.0000", "discount": "2.0000", "type": 1}]
    records, _ = _import(rest, cart)
    assert records[0]["coupons"] == [{"name": "SAVE2", "total": "2.0000", "apply": "1"}]
    assert [p for p in fake.paths() if "coupons" in p] == ["/v2/orders/1/coupons"]


def test_the_list_is_one_request_per_250_orders_and_204_ends_it(rest, cart, fake):
    for n in range(1, 501):
        fake.orders[n] = order(n)
    records, checkpoint = _import(rest, cart)
    assert len({r["number"] for r in records}) == 500 == len(records)
    # archived ones (204), then 250 + 250 (+ the overlap at the cursor) and the short page
    assert fake.paths().count("/v2/orders") == 4
    assert fake.requests[0].url.params["is_deleted"] == "true"
    assert fake.requests[1].url.params["sort"] == "date_modified:asc"
    assert fake.requests[1].url.params["include"] == "consignments.line_items"
    assert checkpoint == (BASE + timedelta(minutes=500)).isoformat()


def test_a_resumed_import_overlaps_and_sees_changed_orders(rest, cart, fake):
    for n in range(1, 4):
        fake.orders[n] = order(n)
    _records, checkpoint = _import(rest, cart)
    fake.orders[2] = order(2, status="Shipped", status_id=2, modified=BASE + timedelta(hours=2))
    fake.requests.clear()
    records, new_checkpoint = _import(rest, cart, checkpoint)
    sent = fake.requests[1].url.params["min_date_modified"]
    assert sent == (BASE + timedelta(minutes=3) - ORDER_OVERLAP).isoformat()
    assert ("2", "Shipped") in [(r["number"], r["status"]) for r in records]
    assert new_checkpoint == (BASE + timedelta(hours=2)).isoformat()


def test_start_after_an_order_number(rest, cart, fake):
    for n in range(1, 4):
        fake.orders[n] = order(n)
    records, _ = _import(rest, cart, "1")
    assert [r["number"] for r in records] == ["2", "3"]


def test_newest_order_skips_incomplete_checkouts(rest, cart, fake):
    assert rest.newest_order(cart=cart) == ""
    fake.orders[1] = order(1)
    fake.orders[2] = order(2, status_id=0)
    assert rest.newest_order(cart=cart) == "1"


@pytest.mark.parametrize("value, expected", [("62.6793", "62.6793"), (12.5, "12.50"), ("0", "0.00"), ("", None),
                                             (None, None), ("-3.10", "-3.10")])
def test_money(value, expected):
    assert mapping.money(value) == expected


# The mapping's fast paths (plain v2 decimals, "+0000" dates) against the general path's answers.
@pytest.mark.parametrize("value, expected", [
    ("62", "62.00"), ("62.6", "62.60"), ("62.60", "62.60"), ("62.6793", "62.6793"), ("62.679312", "62.679312"),
    ("-3.10", "-3.10"), ("-0.00", "-0.00"), ("0.0000", "0.0000"), ("00.10", "0.10"), ("12.34\n", "12.34"),
    ("1e3", "1000.00"), ("-1e-3", "-0.001"), ("abc", None), ("NaN", None), ("Infinity", None), (12, "12.00")])
def test_money_keeps_plain_decimals_and_pads_the_rest(value, expected):
    assert mapping.money(value) == expected


@pytest.mark.parametrize("value, expected", [
    ("13.7600", "13.76"), ("13.0000", "13"), ("10.0000", "10"), ("0.0000", "0"), ("-0.0000", "-0"), ("0.1", "0.1"),
    ("1e3", "1000"), ("abc", None), ("", None), (None, None), (7, "7")])
def test_decimal_text_drops_trailing_zeros(value, expected):
    assert mapping.decimal_text(value) == expected


@pytest.mark.parametrize("total_tax, taxable", [("0.0000", False), ("-0.00", False), ("0.0001", True),
                                                ("-2.5000", True), ("0", False), ("abc", False), ("1e-9", True),
                                                ("", None), (None, None)])
def test_a_line_is_taxable_when_its_tax_is_not_zero(total_tax, taxable):
    assert mapping._line(1, {"id": 1, "total_tax": total_tax})["taxable"] is taxable


@pytest.mark.parametrize("value, expected", [
    ("Tue, 20 Nov 2012 00:00:00 +0000", "2012-11-20T00:00:00+00:00"),
    ("Fri, 05 Jan 2024 23:59:59 +0000", "2024-01-05T23:59:59+00:00"),
    ("Tue, 20 Nov 2012 00:00:00 -0500", "2012-11-20T05:00:00+00:00"),
    ("Tue, 20 Nov 2012 03:00:00 +0530", "2012-11-19T21:30:00+00:00"),
    ("Tue, 20 Nov 2012 00:00:00 GMT", "2012-11-20T00:00:00+00:00"),
    ("Tue, 20 Nov 0069 00:00:00 +0000", "1969-11-20T00:00:00+00:00"),  # email.utils' two-digit year rule
    ("Wed, 31 Feb 2012 00:00:00 +0000", "Wed, 31 Feb 2012 00:00:00 +0000"),  # no such day: kept as sent
    ("Tue, 20 Nov 2012 24:00:00 +0000", "Tue, 20 Nov 2012 24:00:00 +0000"),
    ("2012-11-20T00:00:00Z", "2012-11-20T00:00:00+00:00"), ("2012-11-20T05:00:00+05:00", "2012-11-20T00:00:00+00:00"),
    ("garbage", "garbage"), ("", None), (None, None)])
def test_utc_date(value, expected):
    assert mapping.utc_date(value) == expected


def test_quantity_of_counts_every_line_as_a_non_negative_whole_number():
    lines = [{"quantity": 3}, {"quantity": -2}, {"quantity": "1.0000"}, {"quantity": None}, {"quantity": True},
             {"quantity": 10**30 + 1}]
    assert mapping.quantity_of(lines) == 6 + 10**30  # Decimal's 28 digits round the last one


@pytest.mark.parametrize("method, kind", [("Credit Card", "CreditCard"), ("PayPal Checkout", "PayPal"),
                                          ("Stripe Checkout", "CreditCard"), ("Cash on Delivery", "COD"),
                                          ("Check", "Check"), ("Manual", "Generic1"), ("Barcode pay", "Generic1")])
def test_payment_kind(method, kind):
    assert mapping.payment_kind(method) == kind




def test_the_helper_sends_records_as_json_and_pickles_what_json_cannot_hold(monkeypatch, cart):
    from seconnect import OrderBatch
    from seconnect_bigcommerce import rest as rest_module

    batches = [OrderBatch([{"number": "1", "lines": [{"quantity": 2}]}], "a"),
               OrderBatch([{"number": "2", "lines": [{"quantity": 10**30}]}], "b")]
    monkeypatch.setattr(rest_module.plugin, "read_orders", lambda cart, reading, workers: iter(batches))
    sent = list(rest_module._read_on(cart, rest_module.OrderReading.start(cart, None, None), 1))
    assert sent[0] == (b'[{"number":"1","lines":[{"quantity":2}]}]', "a")
    assert sent[1] == (batches[1].records, "b")  # beyond 64 bits: as it is, pickled
    assert sent[2] == (None, "b")  # then: this reading is done, at its last checkpoint


@pytest.mark.parametrize(("quota", "left", "room"), [(None, None, True), (150, 149, False), (450, 440, False),
                                                       (20_000, 19_990, True), (20_000, 12, False)])
def test_a_second_order_reader_only_where_the_quota_does_not_set_the_pace(quota, left, room):
    from seconnect_bigcommerce.rest import quota_leaves_room
    from seconnect_bigcommerce.rest_client import RatePacer

    pacer = RatePacer()
    pacer.quota, pacer.left = quota, left
    assert quota_leaves_room(pacer) is room
