"""Injected faults over real HTTPS: what the client sees, and what happens to the cart's state."""

from __future__ import annotations

import httpx
import pytest

from seconnect.sandbox import FaultPlan

from .helpers import Seti, trust


@pytest.mark.parametrize("spec, rules", [
    ("500:0.2", [("500", 0.2, None, None)]),
    ("503*2", [("503", 1.0, 2, None)]),
    ("reset:0.1@DownloadOrders, truncate*1", [("reset", 0.1, None, "downloadorders"), ("truncate", 1.0, 1, None)]),
    ("badauth", [("badauth", 1.0, None, None)]),
    ("SLOW*3@qohreplace,429", [("slow", 1.0, 3, "qohreplace"), ("429", 1.0, None, None)]),
])
def test_grammar(spec, rules):
    plan = FaultPlan.parse(spec)
    assert [(r.kind, r.rate, r.remaining, r.function) for r in plan.rules] == rules


@pytest.mark.parametrize("spec", ["teapot", "500:0", "500:1.5", "503*0", "reset@", "slow:abc", "500*2:0.5"])
def test_grammar_errors_name_the_term(spec):
    with pytest.raises(ValueError, match="fault"):
        FaultPlan.parse(spec)


def _qoh_unchanged(cart: Seti, call) -> None:
    before = cart.sb.qoh("LNT-100")
    call()
    assert cart.sb.qoh("LNT-100") == before


@pytest.mark.parametrize("kind", ["500", "503", "429"])
def test_http_error_faults_skip_the_request(make, kind):
    cart = make(orders=0, faults=f"{kind}*1")
    reply = cart.call("qohreplace", update="LNT-100~1")
    assert reply.status_code == int(kind)
    assert reply.headers.get("Retry-After") == (None if kind == "500" else "1")
    assert cart.sb.qoh("LNT-100") != 1
    assert cart.call("qohreplace", update="LNT-100~1").status_code == 200  # only the next one
    assert cart.sb.qoh("LNT-100") == 1
    assert cart.sb.requests() == [("qohreplace", int(kind)), ("qohreplace", 200)]


def test_reset_drops_the_connection_without_running_the_request(make):
    cart = make(orders=0, faults="reset*1")
    with pytest.raises(httpx.TransportError):
        cart.call("qohreplace", update="LNT-100~1")
    assert cart.sb.qoh("LNT-100") != 1
    assert cart.sb.requests() == [("qohreplace", 0)]
    assert cart.text("getproductscount").startswith("SetiResponse: itemcount=")


def test_truncate_runs_the_request_then_cuts_the_reply(make):
    cart = make(orders=0, faults="truncate*1")
    with pytest.raises(httpx.RemoteProtocolError):
        cart.call("qohreplace", update="LNT-100~1")
    assert cart.sb.qoh("LNT-100") == 1  # applied: the client cannot tell
    assert cart.sb.requests() == [("qohreplace", 200)]


def test_truncated_download_is_cut_short(make):
    cart = make(faults="truncate*1@downloadorders")
    with httpx.Client(verify=trust(cart.sb)) as http, http.stream("POST", cart.sb.url, data={
            "setifunction": "downloadorders", "setiuser": cart.sb.user, "password": cart.sb.password,
            "lastorder": "All"}) as reply:
        announced = int(reply.headers["Content-Length"])
        received = bytearray()
        with pytest.raises(httpx.RemoteProtocolError):
            for chunk in reply.iter_raw():
                received += chunk
    assert 0 < len(received) < announced


def test_slow_reply_arrives_in_pieces(make):
    cart = make(orders=3, faults="slow*1@downloadorders")
    with httpx.Client(verify=trust(cart.sb)) as http, http.stream("POST", cart.sb.url, data={
            "setifunction": "downloadorders", "setiuser": cart.sb.user, "password": cart.sb.password,
            "lastorder": "All"}) as reply:
        pieces = list(reply.iter_raw())
    assert len(pieces) > 5
    body = b"".join(pieces)
    assert body.count(b"<Order>") == len(cart.sb.downloadable_order_numbers())


def test_badauth_rejects_credentials_but_not_sendversion(make):
    cart = make(orders=0, faults="badauth")
    assert cart.raw(setifunction="sendversion", omversion="6.000").text == "SETIResponse: version=6.000"
    _qoh_unchanged(cart, lambda: cart.call("qohreplace", update="LNT-100~1"))
    root = cart.xml("getproductscount")
    assert root.findtext("Response/ResponseDescription") == "Error: Either the username or password was invalid."
    generic = make("generic", orders=0, faults="badauth*1")
    assert generic.text("getproductscount") == "SETIError: Invalid username, password, or store code."
    assert generic.text("getproductscount").startswith("SETIResponse: itemcount=")


def test_function_filter(make):
    cart = make(orders=5, faults="reset@downloadorders")
    assert cart.text("ordercount", lastorder="All").startswith("SetiResponse")
    with pytest.raises(httpx.TransportError):
        cart.call("downloadorders", lastorder="All")


def test_rates_are_deterministic_by_seed(make):
    def statuses(seed: int) -> list[int]:
        cart = make(orders=0, seed=seed, faults="500:0.5")
        return [cart.call("getproductscount").status_code for _ in range(30)]
    first, again, other = statuses(3), statuses(3), statuses(4)
    assert first == again
    assert {200, 500} == set(first)
    assert first != other


def test_admin_calls_are_never_faulted_and_faults_can_change(make):
    cart = make(orders=0, faults="500")
    reply = cart.http.get(f"https://{cart.sb.script_url.split('/')[0]}/__sandbox/state/summary",
                          headers={"X-Sandbox-Token": cart.sb.password})
    assert reply.status_code == 200
    assert cart.call("getproductscount").status_code == 500
    cart.sb.set_faults("503*1")
    assert cart.call("getproductscount").status_code == 503
    cart.sb.set_faults(None)
    assert cart.call("getproductscount").status_code == 200


def test_latency_is_adjustable(make):
    cart = make(orders=0, latency_ms=5)
    assert cart.call("getproductscount").status_code == 200
    cart.sb.set_latency(0)
    with pytest.raises(ValueError):
        cart.sb.set_latency(-1)
