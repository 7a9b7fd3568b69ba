"""The retry policy: what is retried, how long it waits, and what is never retried."""

from __future__ import annotations

import httpx
import pytest

from seconnect.errors import CartAuthError, CartHTTPError, CartProtocolError, CartTLSError, CartUnreachable
from seconnect.http import transport_error
from seconnect.seti import RetryPolicy, certainly_unprocessed

from .test_seti_errors import _tls_verify_error

OK_COUNT = "SETIResponse: ordercount=5"
AUTH_ERROR = "SETIError: Invalid username, password, or store code."


def recording_policy(attempts: int = 4, **kw) -> tuple[RetryPolicy, list[float]]:
    sleeps: list[float] = []
    return RetryPolicy(attempts=attempts, sleep=sleeps.append, **kw), sleeps


def test_retries_then_succeeds(fake_cart):
    policy, sleeps = recording_policy()
    client, cart = fake_cart(httpx.ConnectError("[Errno 111] Connection refused"), httpx.Response(502),
                             httpx.ReadTimeout("timed out"), OK_COUNT, retry=policy)
    assert client.order_count() == 5
    assert len(cart.requests) == 4
    assert len(sleeps) == 3
    # exponential backoff with jitter: initial 1 s doubling, plus at most 1 s of jitter
    for n, slept in enumerate(sleeps):
        assert 2 ** n <= slept <= 2 ** n + 1


def test_gives_up_after_the_attempt_limit_with_the_last_error(fake_cart):
    policy, sleeps = recording_policy(attempts=3)
    client, cart = fake_cart(httpx.Response(500), retry=policy)
    with pytest.raises(CartHTTPError) as info:
        client.product_count()
    assert info.value.status == 500
    assert len(cart.requests) == 3 and len(sleeps) == 2


def test_backoff_is_capped(fake_cart):
    policy, sleeps = recording_policy(attempts=6, initial_wait=10, max_wait=15, jitter=0)
    client, _ = fake_cart(httpx.Response(503), retry=policy)
    with pytest.raises(CartHTTPError):
        client.product_count()
    assert sleeps == [10, 15, 15, 15, 15]


def test_total_time_bound_stops_before_a_wait_that_would_exceed_it(fake_cart):
    policy, sleeps = recording_policy(attempts=10, initial_wait=4, max_wait=100, jitter=0, total_seconds=20)
    client, cart = fake_cart(httpx.Response(503), retry=policy)
    with pytest.raises(CartHTTPError):
        client.product_count()
    assert sleeps == [4, 8]  # a third wait of 16 s would end past 20 s after the start
    assert len(cart.requests) == 3


def test_retry_after_is_honoured_and_capped(fake_cart):
    policy, sleeps = recording_policy(max_retry_after=30)
    client, _ = fake_cart(httpx.Response(429, headers={"Retry-After": "7"}),
                          httpx.Response(503, headers={"Retry-After": "600"}), OK_COUNT, retry=policy)
    assert client.order_count() == 5
    assert sleeps == [7.0, 30.0]


@pytest.mark.parametrize("reply, kind", [
    (AUTH_ERROR, CartAuthError),
    ("<html>maintenance</html>", CartProtocolError),
    (httpx.Response(404), CartHTTPError),
    (httpx.Response(400), CartHTTPError),
    (_tls_verify_error(), CartTLSError),
])
def test_never_retried(fake_cart, reply, kind):
    policy, sleeps = recording_policy()
    client, cart = fake_cart(reply, OK_COUNT, retry=policy)
    with pytest.raises(kind):
        client.order_count()
    assert len(cart.requests) == 1 and sleeps == []


def test_inv_update_not_retried_after_a_read_timeout(fake_cart):
    """The cart may have applied the delta already: retrying could apply it twice."""
    policy, _ = recording_policy()
    client, cart = fake_cart(httpx.ReadTimeout("timed out"), "SETIResponse=OK;SKU=A;QOH=1;NOTE=", retry=policy)
    with pytest.raises(CartUnreachable):
        client.inv_update("A", -1)
    assert len(cart.requests) == 1


@pytest.mark.parametrize("first", [
    httpx.RemoteProtocolError("Server disconnected without sending a response."),
    httpx.Response(500), httpx.Response(502), httpx.WriteTimeout("timed out"),
])
def test_inv_update_not_retried_when_it_may_have_been_applied(fake_cart, first):
    client, cart = fake_cart(first, "SETIResponse=OK;SKU=A;QOH=1;NOTE=")
    with pytest.raises((CartUnreachable, CartHTTPError)):
        client.inv_update("A", -1)
    assert len(cart.requests) == 1


@pytest.mark.parametrize("first", [
    httpx.ConnectError("[Errno 111] Connection refused"), httpx.ConnectTimeout("timed out"),
    httpx.Response(429), httpx.Response(503),
])
def test_inv_update_retried_when_certainly_not_processed(fake_cart, first):
    client, cart = fake_cart(first, "SETIResponse=OK;SKU=A;QOH=1;NOTE=")
    assert client.inv_update("A", -1).qoh == 1
    assert len(cart.requests) == 2


def test_update_status_follows_the_non_idempotent_rule(fake_cart):
    from seconnect.seti import StatusUpdate
    client, cart = fake_cart(httpx.ReadTimeout("timed out"), "SETIResponse: update=OK;Notes=")
    with pytest.raises(CartUnreachable):
        client.update_status(StatusUpdate("1041", "Shipped"))
    assert len(cart.requests) == 1


def test_qoh_replace_is_absolute_so_it_is_retried_after_a_read_timeout(fake_cart):
    client, cart = fake_cart(httpx.ReadTimeout("timed out"), "SETIResponse\nA=OK\nSETIEndOfData")
    assert client.qoh_replace([("A", 3)]) == {"A": "OK"}
    assert len(cart.requests) == 2


def test_downloads_are_retried_after_a_mid_body_reset(fake_cart, fixture_bytes):
    def cut(request: httpx.Request) -> httpx.Response:
        def body():
            yield b'<?xml version="1.0"?><SETIOrders>'
            raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")
        return httpx.Response(200, content=body())

    client, cart = fake_cart(cut, fixture_bytes("orders_isc.xml"))
    assert len(client.download_orders(lastorder="All", startnum=1, batchsize=50)) == 1
    assert len(cart.requests) == 2


def test_never_policy_tries_once(fake_cart):
    client, cart = fake_cart(httpx.Response(503), OK_COUNT, retry=RetryPolicy.never())
    with pytest.raises(CartHTTPError):
        client.order_count()
    assert len(cart.requests) == 1


def test_certainly_unprocessed():
    """The fact is set where the error is made (seconnect.http), not read off the exception chain."""
    def mapped(exc):
        return transport_error(exc, what="ordercount", host="h", timeout=1)

    assert certainly_unprocessed(mapped(httpx.ConnectError("refused")))
    assert certainly_unprocessed(mapped(httpx.ConnectTimeout("t")))
    assert certainly_unprocessed(mapped(httpx.PoolTimeout("t")))
    assert not certainly_unprocessed(mapped(httpx.ReadTimeout("t")))
    assert not certainly_unprocessed(mapped(httpx.RemoteProtocolError("reset")))
    refused = CartUnreachable("x")
    refused.__cause__ = httpx.ConnectError("refused")
    assert not certainly_unprocessed(refused)  # no one said it was not sent
    assert not certainly_unprocessed(CartUnreachable("no cause"))
    assert certainly_unprocessed(CartHTTPError("x", status=503))
    assert certainly_unprocessed(CartHTTPError("x", status=429))
    assert not certainly_unprocessed(CartHTTPError("x", status=500))


def test_default_policy_values():
    policy = RetryPolicy()
    assert policy.attempts == 4
    assert policy.total_seconds > 0 and policy.max_retry_after > 0
