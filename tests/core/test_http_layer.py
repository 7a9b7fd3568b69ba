"""seconnect.http: one kept-alive client per cart across hook calls, status and wait mapping,
secrets masked, and the "may have reached the cart" fact set where errors are made."""

from __future__ import annotations

import httpx
import pytest

from seconnect import CartDefinition, Secret
from seconnect.errors import CartHTTPError, CartProtocolError, CartUnreachable
from seconnect.http import CartHTTP, RetryPolicy, certainly_unprocessed
from seconnect.sandbox import Sandbox

URL = "shop.example.test/api"


@pytest.fixture
def shop(tmp_path):
    with Sandbox("generic", orders=6, products=3, customers=3, seed=3, state_dir=tmp_path / "shop") as sb:
        yield sb


def _cart(sb: Sandbox, **changes) -> CartDefinition:
    fields = dict(name="Shop", type="Generic", user=sb.user, password=Secret(sb.password),
                  script_url=sb.script_url, ca_bundle=sb.ca_file, id=1)
    return CartDefinition(**(fields | changes))


def test_hook_calls_share_one_connection_per_cart(shop, plugins):
    CartHTTP.close_shared()
    cart = _cart(shop)
    before = shop.connections_accepted()
    plugins.call("test_script", cart, None, check_credentials=True)
    for batch in plugins.call("import_orders", cart, None, checkpoint=None, batch_size=50, since=None):
        assert batch.records
    plugins.call("test_script", cart, None, check_credentials=False)
    assert len(shop.requests()) >= 4
    assert shop.connections_accepted() - before == 1
    # A changed setting (here the timeout) is a new client, never a stale one.
    plugins.call("test_script", _cart(shop, params={"RequestTimeout": 7}), None, check_credentials=False)
    assert shop.connections_accepted() - before == 2
    CartHTTP.close_shared()


def _client(handler, **options) -> CartHTTP:
    return CartHTTP(URL, transport=httpx.MockTransport(handler), retry=RetryPolicy.never(), **options)


def test_named_rate_limit_header_sets_the_wait():
    def handler(request):
        return httpx.Response(429, headers={"X-Rate-Limit-Time-Reset-Ms": "1500"})

    with _client(handler, wait_headers={"x-rate-limit-time-reset-ms": 0.001}) as http:
        with pytest.raises(CartHTTPError) as caught:
            http.request("GET", "/orders", what="GET /orders")
    assert caught.value.retry_after == pytest.approx(1.5)
    assert certainly_unprocessed(caught.value)


def test_status_outside_ok_names_status_and_uses_the_types_hint():
    with _client(lambda r: httpx.Response(404), status_hints=lambda status, _r: f"hint for {status}") as http:
        with pytest.raises(CartHTTPError, match="HTTP 404") as caught:
            http.request("GET", "/x", what="GET /x")
    assert caught.value.hint == "hint for 404"
    assert not caught.value.retriable


def test_secrets_are_masked_in_errors():
    token = "tok-9f8e7d"

    def handler(request):
        raise httpx.ConnectError(f"refused while sending {token}")

    with _client(handler, secrets=(token,)) as http:
        with pytest.raises(CartUnreachable) as caught:
            http.request("GET", "/x", what="GET /x")
    assert token not in str(caught.value) and "********" in str(caught.value)
    assert certainly_unprocessed(caught.value)


def test_a_read_timeout_may_have_reached_the_cart_and_is_not_repeated_when_not_idempotent():
    calls = []

    def handler(request):
        calls.append(request)
        raise httpx.ReadTimeout("slow")

    with CartHTTP(URL, transport=httpx.MockTransport(handler), retry=RetryPolicy.no_wait(attempts=3)) as http:
        with pytest.raises(CartUnreachable) as caught:
            http.request("POST", "/stock", what="POST /stock", idempotent=False)
        assert caught.value.may_have_reached_cart and len(calls) == 1
        calls.clear()
        with pytest.raises(CartUnreachable):
            http.request("GET", "/stock", what="GET /stock")
        assert len(calls) == 3  # idempotent: retried


def test_reply_size_cap_and_parse():
    with _client(lambda r: httpx.Response(200, content=b"x" * 2000), max_reply_bytes=1000) as http:
        with pytest.raises(Exception, match="larger than 1,000 bytes"):
            http.request("GET", "/big", what="GET /big")
    with _client(lambda r: httpx.Response(200, json={"a": 1})) as http:
        assert http.request("GET", "/j", what="GET /j", parse=lambda chunks: b"".join(chunks)) == b'{"a":1}'
        reply = http.request("GET", "/j", what="GET /j")
        assert (reply.status, reply.json()) == (200, {"a": 1})
    with _client(lambda r: httpx.Response(422, content=b"<html>")) as http:
        reply = http.request("GET", "/j", what="GET /j", ok=(200, 422))
        assert reply.status == 422
        with pytest.raises(CartProtocolError, match="not JSON"):
            reply.json()


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_are_not_json(token):
    # Python's json module takes them; JSON has no such numbers, and no record could carry them on
    with _client(lambda r: httpx.Response(200, content=b'[{"quantity": ' + token + b"}]")) as http:
        reply = http.request("GET", "/j", what="GET /j")
        with pytest.raises(CartProtocolError, match="not JSON"):
            reply.json()
