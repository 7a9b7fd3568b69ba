"""Fixtures for the sandbox tests: shared read-only carts per module, fresh ones for writes."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from seconnect.sandbox import Sandbox

from .helpers import Seti


@pytest.fixture(scope="module")
def isc() -> Iterator[Seti]:
    """An Interspire sandbox with default data, all bugs on; do not change its state."""
    with Sandbox("interspire") as sb:
        cart = Seti(sb)
        yield cart
        cart.close()


@pytest.fixture(scope="module")
def gen() -> Iterator[Seti]:
    """A generic sandbox with default data; do not change its state."""
    with Sandbox("generic") as sb:
        cart = Seti(sb)
        yield cart
        cart.close()


@pytest.fixture
def make() -> Iterator[Callable[..., Seti]]:
    """Start a fresh sandbox (``make("generic", orders=5, ...)``), stopped after the test."""
    started: list[tuple[Sandbox, Seti]] = []

    def factory(profile: str = "interspire", **options) -> Seti:
        sb = Sandbox(profile, **options).start()
        cart = Seti(sb)
        started.append((sb, cart))
        return cart

    yield factory
    for sb, cart in started:
        cart.close()
        sb.stop()
