"""The REST client: auth and scope errors, rate-limit pacing and 429 handling (MockTransport)."""

from __future__ import annotations

import httpx
import pytest

from seconnect import CartDefinition, Secret
from seconnect.errors import CartAuthError, CartHTTPError, UsageError
from seconnect.http import RetryPolicy
from seconnect_bigcommerce.rest_client import RatePacer, RestClient, check_api_base

from .conftest import bc_cart
from .fakeapi import TOKEN, FakeBigCommerce


def _client(fake: FakeBigCommerce, slept: list[float], cart: CartDefinition | None = None, **kw) -> RestClient:
    return RestClient(cart or bc_cart(), transport=fake.transport(), retry=kw.pop("retry", RetryPolicy.no_wait()),
                      pacer=RatePacer(sleep=slept.append), **kw)


def test_requests_go_to_the_store_path_with_the_token(fake, slept):
    _client(fake, slept).get("/v2/store")
    request = fake.requests[0]
    assert str(request.url) == "https://bc.test/stores/abc123/v2/store"
    assert request.headers["x-auth-token"] == TOKEN
    assert request.headers["accept"] == "application/json"


def test_a_refused_token_names_the_fix_and_never_shows_the_token(fake, slept):
    cart = CartDefinition("my shop", "BigCommerce", settings={"store_hash": "abc123", "api_base": "bc.test"},
                          secrets={"access_token": Secret("wrong-token-XYZ")})
    with pytest.raises(CartAuthError) as caught:
        _client(fake, slept, cart).get("/v2/store")
    assert "401" in caught.value.message
    assert "carts edit 'my shop' --secret" in caught.value.hint
    assert "wrong-token-XYZ" not in str(caught.value)


def test_a_missing_scope_names_the_scope(slept):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"status": 403, "title": "You don't have a required scope"})
    client = RestClient(bc_cart(), transport=httpx.MockTransport(handler), retry=RetryPolicy.no_wait(),
                        pacer=RatePacer(sleep=slept.append))
    with pytest.raises(CartAuthError) as caught:
        client.get("/v3/inventory/items")
    assert "store_inventory" in caught.value.hint


@pytest.mark.parametrize("lowercase", [False, True])
def test_a_429_with_headers_waits_the_reset_time_then_retries(slept, lowercase):
    fake = FakeBigCommerce(lowercase=lowercase)
    reset = "x-rate-limit-time-reset-ms" if lowercase else "X-Rate-Limit-Time-Reset-Ms"
    fake.scripted = [(429, {reset: "2500", "X-Rate-Limit-Requests-Left": "0"})]
    waits: list[float] = []
    retry = RetryPolicy(attempts=3, sleep=waits.append)
    assert _client(fake, slept, retry=retry).get("/v2/store")["name"]
    assert waits == [2.5]
    assert len(fake.requests) == 2


def test_a_429_without_headers_is_load_shedding_and_backs_off(slept):
    fake = FakeBigCommerce()
    fake.scripted = [(429, {}), (429, {})]
    waits: list[float] = []
    retry = RetryPolicy(attempts=4, initial_wait=1.0, jitter=0.0, sleep=waits.append)
    assert _client(fake, slept, retry=retry).get("/v2/store")["name"]
    assert waits == [1.0, 2.0]  # the shared policy's exponential backoff


def test_a_429_that_persists_gives_up_with_a_retriable_error(slept):
    fake = FakeBigCommerce()
    fake.scripted = [(429, {})] * 5
    with pytest.raises(CartHTTPError) as caught:
        _client(fake, slept, retry=RetryPolicy.no_wait(attempts=2)).get("/v2/store")
    assert caught.value.status == 429 and caught.value.retriable


@pytest.mark.parametrize("lowercase", [False, True])
def test_the_pacer_waits_for_the_reset_when_the_quota_is_nearly_used(slept, lowercase):
    fake = FakeBigCommerce(quota=3, lowercase=lowercase)
    client = _client(fake, slept)
    for _ in range(3):
        client.get("/v2/store")
    # after the second reply one request is left (the reserve): the third waits the reset first
    assert len(slept) == 1 and 0 < slept[0] <= 1.5
    assert client.pacer.quota == 3 and client.pacer.window_ms == 30000


def test_the_pacer_counts_requests_in_flight_between_replies():
    clock = [0.0]
    pacer = RatePacer(reserve=1, sleep=lambda s: clock.__setitem__(0, clock[0] + s), clock=lambda: clock[0])
    pacer(httpx.Response(200, headers={"x-rate-limit-requests-left": "3", "x-rate-limit-time-reset-ms": "4000"}))
    pacer.take()
    pacer.take()  # 3 -> 2 -> 1 without any reply in between (concurrent requests)
    assert clock[0] == 0.0
    pacer.take()  # at the reserve: wait for the window's reset
    assert clock[0] == pytest.approx(4.0)


@pytest.mark.parametrize("value", ["https://api.bigcommerce.com", "api.bigcommerce.com/stores", ""])
def test_api_base_refuses_a_scheme_or_path(value):
    with pytest.raises(UsageError) as caught:
        check_api_base(value)
    assert "without https://" in caught.value.message
