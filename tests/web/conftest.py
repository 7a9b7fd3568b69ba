"""Fixtures for the dashboard tests: the app served by uvicorn on 127.0.0.1 in a background
thread over a real SQLite store, a user to log in as, and an httpx client logged in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from seconnect import users
from seconnect.plugins import Plugins
from seconnect.store import Store, open_store
from seconnect.testing.web import serve
from seconnect.web import create_app

from .helpers import PASSWORD, USER, Served, log_in


@pytest.fixture
def fast_retries(fast_retries: None) -> None:
    """Cart calls made by the dashboard's actions take two quick tries."""


@pytest.fixture
def web_store(sqlite_url: str) -> Iterator[Store]:
    store = open_store(sqlite_url)
    with store.begin() as conn:
        users.add_user(conn, USER, PASSWORD)
    yield store
    store.close()


@pytest.fixture
def served(web_store: Store, plugins: Plugins, fast_retries: None) -> Iterator[Served]:
    """The dashboard on a free loopback port, stopped after the test."""
    app = create_app(web_store, plugins=plugins)
    with serve(app) as url:
        yield Served(url, web_store, plugins, app)


@pytest.fixture
def client(served: Served) -> Iterator[httpx.Client]:
    """An httpx client logged in as ``USER``."""
    with httpx.Client(base_url=served.url, timeout=30) as c:
        assert log_in(c).status_code == 303
        yield c


@pytest.fixture
def sandbox_options() -> dict:
    """``gen`` here: a small generic cart (it stores every status update it gets)."""
    return {"orders": 4, "products": 3, "customers": 3, "seed": 11}


@pytest.fixture
def shop(served: Served, gen) -> Any:
    """Cart "Shop" on the generic sandbox, its products and orders imported, status updates and
    real-time quantities on."""
    from seconnect import carts
    from seconnect.jobs.import_orders import import_orders
    from seconnect.jobs.import_products import import_products
    from seconnect.params import set_value

    store, plugins = served.store, served.plugins
    with store.begin() as conn:
        carts.add_cart(conn, plugins, name="Shop", cart_type="Generic", user=gen.user, password=gen.password,
                       script_url=gen.script_url, ca_bundle=gen.ca_file)
        cart = carts.get_cart(conn, "Shop")
        set_value(conn, "UseStatusUpdates", "TRUE", None)
        set_value(conn, "SynchQOH", "TRUE", cart.id)
        cart = carts.get_cart(conn, "Shop")
    import_products(store, plugins, cart)
    assert import_orders(store, plugins, cart)["new"] > 0
    return cart
