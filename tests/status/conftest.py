"""Fixtures for the status-update tests: the run's plugins, quick cart retries, small sandboxes."""

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
    """The SETI client retries a failing call itself with real waits; here it takes two quick tries."""
    monkeypatch.setattr(SetiPlugin, "_client", staticmethod(
        lambda cart: SetiClient.for_cart(cart, retry=RetryPolicy.no_wait(attempts=2))))


def _sandbox(profile: str, tmp_path) -> Sandbox:
    return Sandbox(profile, orders=6, products=3, customers=3, seed=7, state_dir=tmp_path / profile)


@pytest.fixture
def gen(tmp_path) -> Iterator[Sandbox]:
    """A generic sandbox: a spec-style script that stores every updatestatus it gets."""
    with _sandbox("generic", tmp_path) as sb:
        yield sb


@pytest.fixture
def isc(tmp_path) -> Iterator[Sandbox]:
    """An Interspire sandbox: the real module has no updatestatus and answers a SETIError document."""
    with _sandbox("interspire", tmp_path) as sb:
        yield sb
