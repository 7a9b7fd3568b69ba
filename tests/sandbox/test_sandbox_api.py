"""The Python API: data, determinism, added orders, restarts, admin endpoint, TLS, state reuse."""

from __future__ import annotations

import re
import ssl
import threading
import unicodedata

import httpx
import pytest

from seconnect.sandbox import Sandbox, sandbox_fixture

from .helpers import Seti, trust


def _digits(phone: str) -> str:
    return re.sub(r"\D", "", phone)[-10:]


def test_generated_data_covers_the_hazards(isc):
    sb = isc.sb
    orders = sb.orders()
    text = repr(orders)
    assert any(o["customer_id"] is None for o in orders), "guest orders"
    assert any(o["billing"]["phone"] == "0" for o in orders) and any(o["billing"]["email"] == "0" for o in orders)
    assert any("CJK" in unicodedata.name(ch, "") for ch in text)
    assert any(unicodedata.category(ch) == "So" and ord(ch) > 0x1F000 for ch in text), "emoji"
    assert any(ch in text for ch in "éüÅ")
    assert any(line["qty"] * line["price"] >= 100_000 for o in orders for line in o["lines"])
    assert {o["payment"]["kind"] for o in orders} >= {"gateway_card", "manual_card", "cod", "gateway_other", "paypal"}
    assert any(o["coupon"] for o in orders) and any(o["discount"] for o in orders) and any(o["handling"] for o in orders)
    assert any(len(o["shipping_addresses"]) > 1 for o in orders)
    assert any(f for o in orders for line in o["lines"] for f in line["fields"])
    assert 2.5 <= sum(len(o["lines"]) for o in orders) / len(orders) <= 3.5

    customers = sb.customers()
    emails = [c["email"].strip().lower() for c in customers]
    assert len(set(emails)) < len(emails), "duplicates by e-mail"
    assert any(c["email"] != c["email"].strip() for c in customers)
    phones = [_digits(c["phone"]) for c in customers if c["phone"] != "0"]
    assert len(set(phones)) < len(phones), "duplicates by phone"
    assert len({c["phone"] for c in customers if _digits(c["phone"]) in
                {p for p in phones if phones.count(p) > 1}}) > 1, "formatted differently"
    assert any(c["phone"] == "0" for c in customers)

    products = sb.products()
    assert any(not p["sku"] for p in products) and any(not p["sku"] and p["variations"] for p in products)
    assert any(v["sku"] for p in products for v in p["variations"])
    assert any(p["qoh"] == 0 for p in products) and any(p["price"] >= 100_000 for p in products)


def test_same_seed_same_cart_other_seed_other_cart(make):
    def snapshot(cart: Seti) -> tuple:
        body = cart.call("downloadorders", lastorder="All").content
        customers = cart.call("downloadcustomers").content
        return cart.sb.orders(), body, customers, cart.sb.products()
    a, b, c = make(seed=7), make(seed=7), make(seed=8)
    assert snapshot(a) == snapshot(b)
    assert snapshot(a)[0] != snapshot(c)[0]


def test_add_orders_visible_to_ordercount(make):
    for profile, prefix in (("interspire", "SetiResponse"), ("generic", "SETIResponse")):
        cart = make(profile, orders=10)
        last = cart.sb.downloadable_order_numbers()[-1]
        count = len(cart.sb.downloadable_order_numbers())
        numbers = cart.sb.add_orders(3)
        assert numbers == [str(int(cart.sb.orders()[-4]["number"]) + i) for i in (1, 2, 3)]
        assert cart.text("ordercount", lastorder="All") == f"{prefix}: ordercount={count + 3}"
        assert cart.text("ordercount", lastorder=last) == f"{prefix}: ordercount=3"
        new = cart.xml("downloadorders", lastorder=last, startnum="1", batchsize="10")
        assert [o.findtext("OrderNumber") for o in new.findall("Order")] == numbers


def test_added_orders_are_deterministic(make):
    a, b = make(orders=4, seed=5), make(orders=4, seed=5)
    a.sb.add_orders(2)
    b.sb.add_orders(2)
    assert a.sb.orders() == b.sb.orders()


def test_restart_keeps_port_and_state(make):
    cart = make("generic", orders=5)
    sb = cart.sb
    port, password = sb.port, sb.password
    cart.text("qohreplace", update="LNT-100~77")
    sb.add_orders(2)
    cart.text("updatestatus", ordernumber="1001", orderstatus="Shipped")
    sb.restart()
    assert (sb.port, sb.password) == (port, password)
    assert sb.qoh("LNT-100") == 77
    assert cart.text("ordercount", lastorder="All") == "SETIResponse: ordercount=7"
    assert cart.xml("downloadorders", lastorder="All", batchsize="1").findtext("Order/OrderStatus") == "Shipped"
    assert len(sb.status_updates()) == 1


def test_restart_drops_open_connections(make):
    cart = make(orders=2)
    cart.text("getproductscount")
    cart.sb.restart()
    # the old keep-alive connection is gone; a client that retries on a fresh one succeeds
    for _ in range(2):
        try:
            assert cart.text("getproductscount").startswith("SetiResponse")
            break
        except httpx.TransportError:
            continue
    else:
        pytest.fail("no request succeeded after the restart")


def test_admin_endpoint_requires_token(make):
    cart = make(orders=3)
    base = f"https://{cart.sb.script_url.split('/')[0]}/__sandbox"
    assert cart.http.post(f"{base}/orders?count=2").status_code == 403
    assert cart.http.post(f"{base}/orders?count=2", headers={"X-Sandbox-Token": "guess"}).status_code == 403
    assert cart.http.get(f"{base}/state/summary").status_code == 403
    token = {"X-Sandbox-Token": cart.sb.password}
    added = cart.http.post(f"{base}/orders?count=2", headers=token)
    assert added.status_code == 200
    assert added.json() == {"orders": ["1004", "1005"]}
    assert cart.text("ordercount", lastorder="1003") == "SetiResponse: ordercount=2"
    assert cart.http.post(f"{base}/orders?count=0", headers=token).status_code == 400
    assert cart.http.post(f"{base}/orders?count=lots", headers=token).status_code == 400
    assert cart.http.get(f"{base}/orders", headers=token).status_code == 405
    summary = cart.http.get(f"{base}/state/summary", headers=token).json()
    assert summary["orders"] == 5 and summary["profile"] == "interspire" and summary["customers"] == 30
    assert cart.sb.requests() == [("ordercount", 200)]


def test_state_dir_is_reused(tmp_path):
    with Sandbox("generic", orders=4, state_dir=tmp_path) as sb:
        sb.add_orders(1)
        password, ca = sb.password, open(sb.ca_file).read()
        assert not sb.reused
    assert (tmp_path / "sandbox.db").exists()
    with Sandbox("generic", orders=50, seed=99, state_dir=tmp_path) as sb:
        assert sb.reused and sb.seed == 1
        assert len(sb.orders()) == 5
        assert sb.password == password
        assert open(sb.ca_file).read() == ca
        assert Seti(sb).text("ordercount", lastorder="All") == "SETIResponse: ordercount=5"


def test_temporary_state_is_removed(make):
    cart = make(orders=1)
    where = cart.sb.state_dir
    assert (where / "sandbox.db").exists()
    cart.sb.stop()
    assert not where.exists()


@pytest.mark.parametrize("name", ["localhost", "127.0.0.1"])
def test_certificate_names(isc, name):
    reply = httpx.post(f"https://{name}:{isc.sb.port}/accountinggateway.php?accounting=stoneedge",
                       data={"setifunction": "sendversion"}, verify=trust(isc.sb))
    assert reply.text == "SETIResponse: version=5.500"


def test_ipv6_loopback():
    try:
        sb = Sandbox("generic", orders=1, host="::1").start()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        assert sb.script_url.startswith(f"[::1]:{sb.port}/")
        assert Seti(sb).raw(setifunction="sendversion").text == "SETIResponse: version=1.000"
    finally:
        sb.stop()


def test_untrusted_client_fails_tls(isc):
    with pytest.raises(httpx.ConnectError):
        httpx.post(isc.sb.url, data={"setifunction": "sendversion"}, verify=ssl.create_default_context())


def test_other_paths_404_and_get_works(isc):
    root = f"https://{isc.sb.script_url.split('/')[0]}"
    assert isc.http.post(f"{root}/seti/stoneedge.php").status_code == 404
    reply = isc.http.get(isc.sb.url + "&setifunction=sendversion&omversion=5.1")
    assert reply.text == "SETIResponse: version=5.1"


def test_keep_alive_single_connection(isc):
    with httpx.Client(verify=trust(isc.sb)) as http:
        first = http.post(isc.sb.url, data={"setifunction": "sendversion"})
        stream = first.extensions["network_stream"]
        second = http.post(isc.sb.url, data={"setifunction": "sendversion"})
        assert second.extensions["network_stream"] is stream
        assert first.http_version == "HTTP/1.1"


def test_concurrent_clients_see_the_same_pages(isc):
    expected = isc.call("downloadorders", lastorder="All", startnum="1", batchsize="20").content
    results: list[bytes] = []

    def worker() -> None:
        cart = Seti(isc.sb)
        for _ in range(5):
            results.append(cart.call("downloadorders", lastorder="All", startnum="1", batchsize="20").content)
        cart.close()
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 20


def test_read_back_shapes(isc):
    product = next(p for p in isc.sb.products() if p["variations"])
    assert {"id", "web_id", "code", "sku", "name", "qoh", "tracked", "variations"} <= set(product)
    assert {"id", "web_id", "code", "sku", "qoh", "tracked", "options"} <= set(product["variations"][0])
    assert isc.sb.qoh("no such thing") is None
    assert all(isinstance(n, str) for n in isc.sb.downloadable_order_numbers())


@pytest.mark.parametrize("kwargs, message", [
    ({"profile": "shopify"}, "unknown sandbox profile"),
    ({"orders": -1}, "orders must be"),
    ({"orders": 5, "products": 0}, "at least one product"),
    ({"profile": "generic", "bugs": {"htmlentities": False}}, "interspire"),
    ({"faults": "boom"}, "bad fault term"),
    ({"password": ""}, "must not be empty"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Sandbox(**kwargs).start()


shared = sandbox_fixture("generic", scope="module", orders=3)


def test_pytest_fixture_helper(shared):
    assert shared.profile.name == "generic"
    assert shared.downloadable_order_numbers() == ["1001", "1002", "1003"]


def test_windows_1252_form_bodies_are_understood(make):
    cart = make(orders=0)
    credentials = f"setiuser={cart.sb.user}&password={cart.sb.password}"
    body = f"setifunction=qohreplace&{credentials}&update=Cr%E8me+Br%FBl%E9e+Torch~5"
    reply = cart.http.post(cart.sb.url, content=body.encode("ascii"),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.text.splitlines()[1] == "Crème Brûlée Torch=Update Error "
    assert cart.sb.qoh("Crème Brûlée Torch") == 5


def test_admin_add_orders_to_a_store_without_products(make):
    cart = make(orders=0, products=0)
    base = f"https://{cart.sb.script_url.split('/')[0]}/__sandbox"
    reply = cart.http.post(f"{base}/orders?count=1", headers={"X-Sandbox-Token": cart.sb.password})
    assert reply.status_code == 409 and "product" in reply.json()["error"]
