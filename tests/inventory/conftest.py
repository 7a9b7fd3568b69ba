"""Fixtures for the inventory tests: the run's plugins, fast cart retries, sandboxes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from seconnect.plugins import Plugins, load_plugins
from seconnect.sandbox import Sandbox
from seconnect.seti.client import SetiClient
from seconnect.seti.plugin import SetiPlugin
from seconnect.seti.retry import RetryPolicy


@pytest.fixture
def plugins() -> Plugins:
    return load_plugins()


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SETI client retries a failing call itself, with real waits; tests take two quick tries."""
    monkeypatch.setattr(SetiPlugin, "_client", staticmethod(
        lambda cart: SetiClient.for_cart(cart, retry=RetryPolicy.no_wait(attempts=2))))


def _sandbox(profile: str, tmp_path, **kw) -> Sandbox:
    return Sandbox(profile, products=12, orders=0, customers=0, seed=3, state_dir=tmp_path / profile, **kw)


@pytest.fixture
def isc(tmp_path) -> Iterator[Sandbox]:
    """A fresh Interspire sandbox (every bug on): 12 products, variations as [VARID:n]."""
    with _sandbox("interspire", tmp_path) as sb:
        yield sb


@pytest.fixture
def gen(tmp_path) -> Iterator[Sandbox]:
    """A fresh generic sandbox: 12 products, variations with their own SKUs."""
    with _sandbox("generic", tmp_path) as sb:
        yield sb


@pytest.fixture(params=["interspire", "generic"])
def sandbox(request, tmp_path) -> Iterator[Sandbox]:
    """Each profile in turn."""
    with _sandbox(request.param, tmp_path) as sb:
        yield sb
