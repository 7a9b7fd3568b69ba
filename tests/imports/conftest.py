from __future__ import annotations

import pytest

from seconnect import carts
from seconnect.plugins import load_plugins
from seconnect.sandbox import Sandbox


@pytest.fixture
def plugins():
    return load_plugins()


def define_cart(store, plugins, sb: Sandbox, name: str = "Shop"):
    """A cart definition for a running sandbox, as `seconnect carts add` would store it."""
    with store.begin() as conn:
        carts.add_cart(conn, plugins, name=name, cart_type="Interspire" if sb.profile.name == "interspire" else "Generic",
                       user=sb.user, password=sb.password, script_url=sb.script_url, ca_bundle=sb.ca_file)
        return carts.get_cart(conn, name)


@pytest.fixture(params=["interspire", "generic"])
def sandbox(request, tmp_path):
    with Sandbox(request.param, orders=60, products=15, customers=25, seed=11, state_dir=tmp_path / "cart") as sb:
        yield sb
