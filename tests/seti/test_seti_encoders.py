"""Inventory and status payloads: exact encodings, refusals, and round trips through a server-side
decoder written from the protocol notes (sections 4.1, 4.2, 5.2, 5.3)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from seconnect.errors import UsageError
from seconnect.seti import (
    Package,
    StatusUpdate,
    encode_inventory,
    encode_inventory_xml,
    status_form,
    status_xml,
)


def server_decode(update: str) -> list[tuple[str, int]]:
    """What a careful script does (4.1): split on '|', skip empty segments, split on the last '~'."""
    items = []
    for segment in update.split("|"):
        if segment:
            sku, _, qty = segment.rpartition("~")
            items.append((sku, int(qty)))
    return items


def server_decode_xml(update: str) -> list[tuple[str, int]]:
    root = etree.fromstring(update.encode())
    return [(p.findtext("SKU"), int(p.findtext("QOH"))) for p in root.iter("Product")]


def server_decode_status(form: dict[str, str]) -> tuple[str, str, str, str, list[tuple[str, str, str]]]:
    """Haskell/MerchantTribe reading of the form variant (5.2)."""
    count = int(form.get("trackcount", "0"))
    packages = []
    for i in range(1, count + 1):
        suffix = "" if count == 1 else str(i)
        packages.append((form[f"tracknum{suffix}"], form[f"trackcarrier{suffix}"], form[f"trackpickupdate{suffix}"]))
    return form["ordernumber"], form["orderstatus"], form["refnumber"], form["orderdetail"], packages


def test_delimited_inventory():
    assert encode_inventory([("LNT-100", 38), ("Deck Lantern [VARID:17]", 5), ("GONE-1", 4)]) == \
        ("LNT-100~38|Deck Lantern [VARID:17]~5|GONE-1~4", 3)
    assert encode_inventory([("A~B", -2)], trailing_bar=True) == ("A~B~-2|", 1)


def test_xml_inventory_escapes():
    assert encode_inventory_xml([("A<&>\"'B", 0)]) == \
        "<SETIProducts><Product><SKU>A&lt;&amp;&gt;\"'B</SKU><QOH>0</QOH></Product></SETIProducts>"


@pytest.mark.parametrize("items, words", [
    ([("A|B", 1)], "contains '|'"),
    ([("A\nB", 1)], "contains LF"),
    ([("A\rB", 1)], "contains CR"),
    ([("A\x00B", 1)], "contains NUL"),
    ([("", 1)], "empty SKU"),
    ([("A", 1.5)], "whole number"),
    ([("A", True)], "whole number"),
    ([("A", "3")], "whole number"),
    ([("A", 1), ("A", 2)], "twice"),
    ([], "at least one"),
])
def test_delimited_refusals(items, words):
    with pytest.raises(UsageError, match=words):
        encode_inventory(items)


def test_pipe_is_fine_in_xml_but_line_breaks_and_control_characters_are_not():
    assert server_decode_xml(encode_inventory_xml([("A|B", 1)])) == [("A|B", 1)]
    for bad in ("A\nB", "A\x00B"):
        with pytest.raises(UsageError):
            encode_inventory_xml([(bad, 1)])
    with pytest.raises(UsageError, match="XML cannot carry"):
        encode_inventory_xml([("A\x07B", 1)])


def test_status_form_and_refusals():
    update = StatusUpdate("1041", "Shipped", "SE-1", "done", [Package("T1", "UPS", "3/15/2011", "Ground")])
    assert status_form(update) == {"ordernumber": "1041", "orderstatus": "Shipped", "refnumber": "SE-1",
                                   "orderdetail": "done", "trackcount": "1", "tracknum": "T1",
                                   "trackcarrier": "UPS", "trackpickupdate": "3/15/2011"}
    for bad in (StatusUpdate("", "Shipped"), StatusUpdate("1", "Ship\nped"),
                StatusUpdate("1", "Shipped", note="line1\r\nline2"),
                StatusUpdate("1", "Shipped", packages=[Package("T\x001")])):
        with pytest.raises(UsageError):
            status_form(bad)
        with pytest.raises(UsageError):
            status_xml(bad)


def test_status_xml_minimal():
    assert status_xml(StatusUpdate("7", "Cancelled")) == \
        "<Orders><Order><OrderNumber>7</OrderNumber><Status>Cancelled</Status></Order></Orders>"


# --- round trips -----------------------------------------------------------------------------------

SAFE_TEXT = st.characters(blacklist_characters="\r\n\x00", blacklist_categories=("Cs",))
DELIMITED_SKU = st.text(st.characters(blacklist_characters="|\r\n\x00", blacklist_categories=("Cs",)), min_size=1)
XML_SKU = st.text(st.characters(blacklist_characters="\r\n\x00", blacklist_categories=("Cs", "Cc", "Co"),
                                max_codepoint=0xFFFD), min_size=1)
QTY = st.integers(min_value=-10**9, max_value=10**9)


@given(st.lists(st.tuples(DELIMITED_SKU, QTY), min_size=1, max_size=20, unique_by=lambda item: item[0]),
       st.booleans())
def test_delimited_round_trip(items, trailing_bar):
    update, count = encode_inventory(items, trailing_bar=trailing_bar)
    assert server_decode(update) == items
    assert count == len(items)


@given(st.lists(st.tuples(XML_SKU, QTY), min_size=1, max_size=10, unique_by=lambda item: item[0]))
def test_xml_round_trip(items):
    decoded = server_decode_xml(encode_inventory_xml(items))
    assert decoded == items


@given(st.text(SAFE_TEXT, min_size=1), st.text(SAFE_TEXT), st.text(SAFE_TEXT), st.text(SAFE_TEXT),
       st.lists(st.tuples(st.text(SAFE_TEXT), st.text(SAFE_TEXT), st.text(SAFE_TEXT)), max_size=5))
def test_status_form_round_trip(number, status, ref, detail, packages):
    update = StatusUpdate(number, status, ref, detail, [Package(*p) for p in packages])
    assert server_decode_status(status_form(update)) == (number, status, ref, detail, packages)


@given(st.text(SAFE_TEXT.filter(lambda c: c.isprintable()), min_size=1),
       st.lists(st.text(st.characters(whitelist_categories=("L", "N", "P")), min_size=1), max_size=3))
def test_status_xml_round_trip(number, tracking):
    root = etree.fromstring(status_xml(StatusUpdate(number, "Shipped", packages=[Package(t, "UPS") for t in tracking])))
    order = root.find("Order")
    assert order.findtext("OrderNumber") == number
    assert [p.findtext("TrackNum") for p in order.iter("Package")] == tracking
    assert [p.findtext("TrackingID") for p in order.iter("Package")] == tracking
    assert [p.findtext("PackageID") for p in order.iter("Package")] == [str(i) for i in range(1, len(tracking) + 1)]
