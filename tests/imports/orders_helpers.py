"""Helpers shared by the import tests (a uniquely named module: conftest names collide)."""

from __future__ import annotations

from seconnect import carts
from seconnect.sandbox import Sandbox


def define_cart(store, plugins, sb: Sandbox, name: str = "Shop"):
    """A cart definition for a running sandbox, as `seconnect carts add` would store it."""
    with store.begin() as conn:
        carts.add_cart(conn, plugins, name=name, cart_type="Interspire" if sb.profile.name == "interspire" else "Generic",
                       user=sb.user, password=sb.password, script_url=sb.script_url, ca_bundle=sb.ca_file)
        return carts.get_cart(conn, name)
