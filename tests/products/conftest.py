"""Fixtures for product import and SKU translation: read-only sandbox carts shared per module,
the run's plugins, and a cart on a sandbox in the test's store."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from seconnect.cartdef import CartDefinition
from seconnect.plugins import Plugins, load_plugins
from seconnect.sandbox import Sandbox
from seconnect.store import Store

from .helpers import add_cart


@pytest.fixture(scope="module")
def isc() -> Iterator[Sandbox]:
    """Interspire sandbox, every bug on (variations share their parent's code). Read only."""
    with Sandbox("interspire") as sb:
        yield sb


@pytest.fixture(scope="module")
def gen() -> Iterator[Sandbox]:
    """Generic sandbox: parents with OptionLists, then one record per variation. Read only."""
    with Sandbox("generic") as sb:
        yield sb


@pytest.fixture(params=["interspire", "generic"])
def sandbox(request: pytest.FixtureRequest) -> Sandbox:
    """Each profile in turn."""
    return request.getfixturevalue({"interspire": "isc", "generic": "gen"}[request.param])


@pytest.fixture
def plugins() -> Plugins:
    return load_plugins()


@pytest.fixture
def make_cart(store: Store, plugins: Plugins) -> Callable[..., CartDefinition]:
    """``make_cart(sandbox, name="Shop")``: a cart on the sandbox in this test's store."""
    return lambda sb, name="Shop": add_cart(store, plugins, sb, name)
