"""Helpers for SETI client tests: a scripted fake cart behind httpx.MockTransport, and fixtures.

``fake_cart(*replies)`` returns ``(client, cart)``. Each reply answers one request in order (the
last one repeats): bytes/str become a 200 body, an ``httpx.Response`` is returned as is, an
exception is raised by the transport, and a callable gets the request and returns one of those.
``cart.forms`` holds each request's decoded form fields, ``cart.requests`` the requests.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from seconnect.cartdef import Secret
from seconnect.seti import RetryPolicy, SetiClient

FIXTURES = Path(__file__).parent / "fixtures"
URL = "https://store-h7q2k.example-cart.test/accountinggateway.php?action=process&accounting=stoneedge"
PASSWORD = "Tide-Pool-42"


class FakeCart:
    def __init__(self, replies: tuple[Any, ...]):
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if callable(reply) and not isinstance(reply, httpx.Response):
            reply = reply(request)
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, httpx.Response):
            return reply
        return httpx.Response(200, content=reply.encode() if isinstance(reply, str) else reply)

    @property
    def forms(self) -> list[dict[str, str]]:
        return [{k: v[0] for k, v in parse_qs(r.content.decode(), keep_blank_values=True).items()}
                for r in self.requests]


@pytest.fixture
def fake_cart() -> Callable[..., tuple[SetiClient, FakeCart]]:
    clients: list[SetiClient] = []

    def make(*replies: Any, **options: Any) -> tuple[SetiClient, FakeCart]:
        cart = FakeCart(replies)
        options.setdefault("user", "seom.sync")
        options.setdefault("password", Secret(PASSWORD))
        options.setdefault("retry", RetryPolicy.no_wait())
        client = SetiClient(options.pop("url", URL), transport=httpx.MockTransport(cart), **options)
        clients.append(client)
        return client, cart

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def fixture_bytes() -> Callable[[str], bytes]:
    """Reads a recorded reply body from tests/seti/fixtures."""
    return lambda name: (FIXTURES / name).read_bytes()
