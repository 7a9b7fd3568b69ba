"""The page cache: download pages are rendered once and served as bytes until the cart changes."""

from __future__ import annotations

import httpx
import pytest

from seconnect.sandbox.profiles_base import SetiRequest

from .helpers import trust

PAGES = [("downloadorders", {"lastorder": "All", "lastdate": "All"}), ("downloadprods", {}),
         ("downloadqoh", {}), ("downloadcustomers", {})]


def _request(cart, function: str, **fields: str) -> SetiRequest:
    sb = cart.sb
    params = {"setifunction": function, "setiuser": sb.user, "password": sb.password, "code": sb.store_code,
              "omversion": "6.000", **fields}
    return SetiRequest(params=params, query={"action": "process", "accounting": "stoneedge"})


def _fresh(cart, function: str, **fields: str) -> bytes:
    """The page rendered now, around the cache (the profile's own handler)."""
    return getattr(cart.sb.profile, function)(_request(cart, function, **fields)).body


@pytest.mark.parametrize("profile", ["generic", "interspire"])
@pytest.mark.parametrize("function, fields", PAGES)
def test_cached_page_is_kept_and_equals_a_fresh_render(make, profile, function, fields):
    cart = make(profile, orders=12, products=6, customers=8)
    page = {**fields, "startnum": "1" if profile == "interspire" else "4", "batchsize": "5"}
    first = cart.call(function, **page)
    assert first.status_code == 200 and b"<ResponseCode>1<" in first.content
    again = cart.call(function, **page)
    assert again.content == first.content == _fresh(cart, function, **page)
    # the second answer is the very reply kept from the first, not a new rendering
    request = _request(cart, function, **page)
    assert cart.sb.profile.handle(request) is cart.sb.profile.handle(request)
    # another batch size or page is another entry
    other = cart.call(function, **{**page, "batchsize": "2"}).content
    assert other == _fresh(cart, function, **{**page, "batchsize": "2"}) != first.content


def test_credentials_are_still_checked_on_a_cached_page(make):
    cart = make("generic", orders=5)
    assert b"<Order>" in cart.call("downloadorders", lastorder="All").content
    refused = cart.call("downloadorders", lastorder="All", password="nope").content
    assert b"<Order>" not in refused and b"<ResponseCode>3<" in refused


@pytest.mark.parametrize("profile", ["generic", "interspire"])
def test_new_orders_show_on_a_cached_page(make, profile):
    cart = make(profile, orders=6)
    before = cart.call("downloadorders", lastorder="All", startnum="1", batchsize="100").content
    added = cart.sb.add_orders(2)
    after = cart.call("downloadorders", lastorder="All", startnum="1", batchsize="100").content
    assert after != before
    assert all(f"<OrderNumber>{n}</OrderNumber>".encode() in after for n in added)
    assert after == _fresh(cart, "downloadorders", lastorder="All", startnum="1", batchsize="100")


def test_status_changes_show_on_a_cached_page(make):
    cart = make("generic", orders=6)
    first = cart.xml("downloadorders", lastorder="All", batchsize="100").find("Order")
    number = first.findtext("OrderNumber")
    new_status = "Cancelled" if first.findtext("OrderStatus") != "Cancelled" else "Completed"
    cart.sb.set_order_status(number, new_status)  # the merchant, in the cart's admin
    shown = {o.findtext("OrderNumber"): o.findtext("OrderStatus")
             for o in cart.xml("downloadorders", lastorder="All", batchsize="100").iter("Order")}
    assert shown[number] == new_status
    # and through SETI's own updatestatus
    assert cart.text("updatestatus", ordernumber=number, orderstatus="Shipped") == "SETIResponse: update=OK;Notes="
    shown = {o.findtext("OrderNumber"): o.findtext("OrderStatus")
             for o in cart.xml("downloadorders", lastorder="All", batchsize="100").iter("Order")}
    assert shown[number] == "Shipped"


@pytest.mark.parametrize("function", ["downloadqoh", "downloadprods"])
def test_stock_changes_show_on_a_cached_page(make, function):
    cart = make("generic", orders=0, products=4)
    records = cart.xml(function, batchsize="100").findall("Product")
    code = next(p.findtext("Code") for p in records if p.findtext("QOH") != "NA")
    assert cart.text("qohreplace", update=f"{code}~4321").splitlines()[1] == f"{code}=OK"
    qoh = {p.findtext("Code"): p.findtext("QOH") for p in cart.xml(function, batchsize="100").iter("Product")}
    assert qoh[code] == "4321"
    cart.text("invupdate", update=f"{code}~-21")
    qoh = {p.findtext("Code"): p.findtext("QOH") for p in cart.xml(function, batchsize="100").iter("Product")}
    assert qoh[code] == "4300"


def test_restart_starts_a_new_cache(make):
    cart = make("generic", orders=4)
    before = cart.call("downloadorders", lastorder="All").content
    kept = cart.sb.profile.pages
    cart.sb.restart()
    cart.http.close()
    cart.http = httpx.Client(verify=trust(cart.sb), timeout=10)
    assert cart.sb.profile.pages is not kept
    assert cart.call("downloadorders", lastorder="All").content == before
