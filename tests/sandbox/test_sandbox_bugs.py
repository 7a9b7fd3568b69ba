"""Every Interspire bug switch, ON and OFF: each produces exactly its documented difference.

Each probe runs against a fresh sandbox with only that switch changed and returns what a
client would observe; the table says what that must be in each position.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from seconnect.sandbox import BUGS

from .helpers import Seti, lenient_xml, money, response_code

DOCS = Path(__file__).resolve().parents[2] / "docs" / "sandbox.md"


def _orders(cart: Seti) -> list[ET.Element]:
    return cart.all_records("downloadorders", "Order", batch=50, lastorder="All")


def _lines(cart: Seti):
    """(stored line, downloaded Product element, stored order) for every downloaded line."""
    stored = {o["number"]: o for o in cart.sb.orders()}
    for el in _orders(cart):
        order = stored[el.findtext("OrderNumber")]
        yield from ((line, xml, order) for line, xml in zip(order["lines"], el.findall("Shipping/Product"),
                                                             strict=True))


def error_root(cart):
    return cart.xml("ordercount", lastorder="All", password="wrong").tag


def count_casing(cart):
    return cart.text("ordercount", lastorder="All").split(":")[0]


def qohreplace_inverted(cart):
    reply = cart.text("qohreplace", update="LNT-100~7")
    assert cart.sb.qoh("LNT-100") == 7  # stock is set either way
    return reply.splitlines()[1]


def invupdate_bogus_qoh(cart):
    before = cart.sb.qoh("CHR-109")
    reply = cart.text("invupdate", update="CHR-109~3")
    assert cart.sb.qoh("CHR-109") == before + 3
    return reply.split(";")[2], f"QOH={before + 3}"


def invupdate_varid_fails(cart):
    bell = next(p for p in cart.sb.products() if not p["sku"] and p["variations"])
    code = f"{bell['name']} [VARID:{bell['variations'][0]['id']}]"
    before = cart.sb.qoh(code)
    reply = cart.text("invupdate", update=f"{code}~3")
    return reply.split(";")[0], cart.sb.qoh(code) - before


def customers_one_batch(cart):
    root = cart.xml("downloadcustomers", startnum="11", batchsize="10")
    return response_code(root), [c.findtext("WebID") for c in root.findall("Customer")]


def money_thousands(cart):
    big = next(xml for line, xml, _ in _lines(cart) if line["price"] >= 100_000)
    return big.findtext("ItemPrice")


def line_total_double_format(cart):
    line, xml, _ = next((line, xml, o) for line, xml, o in _lines(cart) if line["qty"] * line["price"] >= 100_000)
    return money(xml.findtext("Total")), line["qty"] * line["price"]


def htmlentities(cart):
    body = cart.call("downloadorders", lastorder="All").content
    try:
        ET.fromstring(body)
        strict = True
    except ET.ParseError:
        strict = False
    return strict, b"Cr&egrave;me" in body or b"Caf&eacute;" in body or b"&Aring;ngstr" in body


def products_unordered(cart):
    ids = [r.findtext("WebID") for r in cart.all_records("downloadprods", "Product", batch=50)]
    keys = [tuple(int(x) for x in w.split("-")) for w in ids]
    return keys == sorted(keys)


def variant_parent_code(cart):
    rope = next(p for p in cart.sb.products() if p["sku"] == "RPE-104")
    records = cart.all_records("downloadqoh", "Product", batch=50)
    codes = sorted(r.findtext("Code") for r in records if r.findtext("WebID").startswith(f"{rope['id']}-"))
    return codes, sorted(v["sku"] for v in rope["variations"])


def ordercount_lastdate_unfiltered(cart):
    count = int(cart.text("ordercount", lastdate="All").split("=")[1])
    return count, len(cart.sb.orders()), len(cart.sb.downloadable_order_numbers())


def unknown_module_empty(cart):
    reply = cart.raw(cart.sb.url.replace("accounting=stoneedge", "accounting=quickbooks"),
                     setifunction="ordercount", setiuser=cart.sb.user, password=cart.sb.password)
    return reply.status_code, reply.content


def qohreplace_empty_segment(cart):
    codeless = [p["id"] for p in cart.sb.products() if not p["sku"]]
    reply = cart.text("qohreplace", update="LNT-100~9|", count="1")
    after = {p["id"]: p["qoh"] for p in cart.sb.products()}
    return reply.splitlines()[-2], [after[i] for i in codeless]


def customer_address_misplaced(cart):
    record = cart.xml("downloadcustomers", startnum="1", batchsize="1").find("Customer")
    return (len(record.findall("WebID")), len(record.findall("BillAddr/Address")),
            len(record.findall("ShipAddr/Address")))


def line_sku_fallback(cart):
    names = {p["id"]: p["name"] for p in cart.sb.products()}
    codeless = {p["id"] for p in cart.sb.products() if not p["sku"] and not p["variations"]}
    found = []
    for el in _orders(cart):
        lines = el.findall("Shipping/Product")
        stored = next(o for o in cart.sb.orders() if o["number"] == el.findtext("OrderNumber"))["lines"]
        for n, line in enumerate(stored):
            if line["product_id"] in codeless:
                previous = names[stored[n - 1]["product_id"]] if n else ""
                found.append((lines[n].findtext("SKU") or "", names[line["product_id"]], previous))
    return found


def dimension_swap(cart):
    products = {p["id"]: p for p in cart.sb.products()}
    line, xml, _ = next(_lines(cart))
    product = products[line["product_id"]]
    return money(xml.findtext("Dimension/Length")), product["width"], product["depth"]


def password_escaping(cart):
    return cart.xml("getcustomerscount").tag if cart.call("getcustomerscount").text.startswith("<") else "ok"


# name -> (probe, sandbox options, check when ON, check when OFF)
CASES = {
    "error_root": (error_root, {}, lambda v: v == "SETIError", lambda v: v == "SETIOrders"),
    "count_casing": (count_casing, {}, lambda v: v == "SetiResponse", lambda v: v == "SETIResponse"),
    "qohreplace_inverted": (qohreplace_inverted, {"orders": 0},
                            lambda v: v == "LNT-100=Update Error ", lambda v: v == "LNT-100=OK "),
    "invupdate_bogus_qoh": (invupdate_bogus_qoh, {"orders": 0},
                            lambda v: v[0] == v[1][:5] and v[0] != v[1], lambda v: v[0] == v[1]),
    "invupdate_varid_fails": (invupdate_varid_fails, {"orders": 0},
                              lambda v: v == ("SETIResponse=False", 0), lambda v: v == ("SETIResponse=OK", 3)),
    "customers_one_batch": (customers_one_batch, {},
                            lambda v: v == ("2", []), lambda v: v == ("1", [str(i) for i in range(11, 21)])),
    "money_thousands": (money_thousands, {}, lambda v: "," in v, lambda v: "," not in v and float(v) >= 1000),
    "line_total_double_format": (line_total_double_format, {},
                                 lambda v: v[0] < 100_000 <= v[1] and v[0] % 100 == 0, lambda v: v[0] == v[1]),
    "htmlentities": (htmlentities, {}, lambda v: v == (False, True), lambda v: v == (True, False)),
    "products_unordered": (products_unordered, {"orders": 0}, lambda v: v is False, lambda v: v is True),
    "variant_parent_code": (variant_parent_code, {"orders": 0},
                            lambda v: set(v[0]) == {"RPE-104"}, lambda v: v[0] == v[1]),
    "ordercount_lastdate_unfiltered": (ordercount_lastdate_unfiltered, {},
                                       lambda v: v[0] == v[1] > v[2], lambda v: v[0] == v[2] < v[1]),
    "unknown_module_empty": (unknown_module_empty, {"orders": 0},
                             lambda v: v == (200, b""), lambda v: v[0] == 404),
    "qohreplace_empty_segment": (qohreplace_empty_segment, {"orders": 0},
                                 lambda v: v[0] == "=Update Error " and set(v[1]) == {0},
                                 lambda v: v[0] == "LNT-100=Update Error " and any(v[1])),
    "customer_address_misplaced": (customer_address_misplaced, {"orders": 0},
                                   lambda v: v == (2, 2, 0), lambda v: v == (1, 1, 1)),
    "line_sku_fallback": (line_sku_fallback, {"orders": 200},
                          lambda v: v and all(sku == prev for sku, _, prev in v)
                          and any(sku != name for sku, name, _ in v),
                          lambda v: v and all(sku == name for sku, name, _ in v)),
    "dimension_swap": (dimension_swap, {}, lambda v: v[0] == v[1], lambda v: v[0] == v[2]),
    "password_escaping": (password_escaping, {"orders": 0, "password": "it's-a\\secret"},
                          lambda v: v == "SETIError", lambda v: v == "ok"),
}


def test_every_switch_has_a_case():
    assert set(CASES) == set(BUGS)


@pytest.mark.parametrize("name", list(CASES))
def test_switch_on_and_off(make, name):
    probe, options, when_on, when_off = CASES[name]
    default = make(**options)
    assert default.sb.bugs[name] is True, "every switch is on by default"
    on = probe(default)
    off = probe(make(bugs={name: False}, **options))
    assert when_on(on), f"{name} ON gave {on!r}"
    assert when_off(off), f"{name} OFF gave {off!r}"
    assert on != off


def test_switches_documented():
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("### Bug switches", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE))
    assert documented == set(BUGS)


def test_unknown_switch_is_refused(make):
    with pytest.raises(ValueError, match="unknown bug switch"):
        make(bugs={"no_such_bug": False})
    with pytest.raises(ValueError, match="interspire"):
        make("generic", bugs={"money_thousands": False})


def test_html_entities_reach_the_wire_by_default(make):
    body = make().call("downloadorders", lastorder="All").content
    assert re.search(rb"<Name>[^<]*&[a-z]+;", body)
    tree = lenient_xml(body)
    assert tree.find("Order") is not None
