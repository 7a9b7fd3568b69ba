"""Issue 13-4: ``lastdate`` from the checkpoint, so a script that selects orders by date does not
re-send its whole history on every import; carts that ignore it keep working."""

from __future__ import annotations

import datetime as dt

import pytest

from seconnect import carts
from seconnect.jobs.import_orders import import_orders
from seconnect.sandbox import Sandbox


def _cart(store, plugins, sb: Sandbox):
    with store.begin() as conn:
        carts.add_cart(conn, plugins, name="Shop", cart_type="Interspire" if sb.profile.name == "interspire"
                       else "Generic", user=sb.user, password=sb.password, script_url=sb.script_url,
                       ca_bundle=sb.ca_file)
        return carts.get_cart(conn, "Shop")


def test_a_script_that_selects_by_date_is_asked_from_the_newest_order_s_date(store, plugins, tmp_path):
    with Sandbox("generic", orders=500, products=8, customers=10, seed=5, state_dir=tmp_path / "cart",
                 bugs={"ignore_lastorder": True}) as sb:
        cart = _cart(store, plugins, sb)
        first = import_orders(store, plugins, cart)
        sent = set(sb.downloadable_order_numbers())
        held = [o for o in sb.orders() if o["number"] in sent]
        assert first["new"] == len(held) and first["updated"] == 0
        newest = dt.datetime.fromisoformat(max(held, key=lambda o: o["id"])["date"]).date()
        added = sb.add_orders(3)
        second = import_orders(store, plugins, cart)
        # the day before the newest imported order's day is the overlap: re-sent, updated, not duplicated
        overlap = sum(1 for o in held if dt.datetime.fromisoformat(o["date"]).date() >= newest - dt.timedelta(days=1))
        assert second["new"] == 3 and second["checkpoint"] == added[-1]
        assert second["updated"] == overlap < len(held)
        with store.begin() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM orders").scalar() == len(held) + 3


@pytest.mark.parametrize("profile", ["interspire", "generic"])
def test_carts_selecting_by_number_are_unaffected(store, plugins, tmp_path, profile):
    with Sandbox(profile, orders=30, products=8, customers=10, seed=7, state_dir=tmp_path / "cart") as sb:
        cart = _cart(store, plugins, sb)
        first = import_orders(store, plugins, cart)
        added = sb.add_orders(4)
        second = import_orders(store, plugins, cart)
        assert first["new"] == len(sb.downloadable_order_numbers()) - 4
        assert (second["new"], second["updated"], second["checkpoint"]) == (4, 0, added[-1])
