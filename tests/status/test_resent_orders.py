"""A re-sent order and a local status change: the newer one wins, status and history agree.

The cart's status wins only when it changed since the last import of the order (compared with
what the cart reported last time, not with the local status). Real HTTPS to both sandbox
profiles, both store backends, the CLI in-process.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from seconnect import status
from seconnect.store import tables

from .helpers import Cli, history, shop


@pytest.fixture(params=["isc", "gen"])
def sb(request):
    return request.getfixturevalue(request.param)


def _pick(sb, not_status: str) -> str:
    """A downloadable order (not the first: --start-after needs one before it) not in ``not_status``."""
    current = {o["number"]: o["status"] for o in sb.orders()}
    return next(n for n in sb.downloadable_order_numbers()[1:] if current[n] != not_status)


def _stored(store, cart, number: str):
    o = tables.orders
    with store.begin() as conn:
        return conn.execute(sa.select(o.c.status, o.c.cart_status).where(
            o.c.cart_id == cart.id, o.c.number == number)).one()


def _reimport(cli: Cli, number: str) -> None:
    result = cli("run", "import-orders", "--cart", "Shop", "--start-after", str(int(number) - 1))
    assert result.exit_code == 0 and "updated" in result.output, result.output


def test_a_newer_local_change_survives_a_resent_order(store, plugins, sb, db_url):
    cart = shop(store, plugins, sb)
    number = _pick(sb, "Shipped")
    cart_label = _stored(store, cart, number).status
    cli = Cli(db_url)
    assert cli("orders", "set-status", number, "Shipped", "--cart", "Shop").exit_code == 0

    for _ in range(2):
        _reimport(cli, number)
        assert tuple(_stored(store, cart, number)) == ("Shipped", cart_label)
        assert [(h.previous_label, h.label) for h in history(store, cart, number)] == [(cart_label, "Shipped")]
    shown = cli.json("orders", "show", number, "--cart", "Shop")
    assert shown["record"]["status"] == "Shipped" == shown["status_history"][-1]["label"]
    assert shown["cart_status"] == cart_label


def test_a_status_the_cart_changes_later_wins_and_is_recorded(store, plugins, gen, db_url):
    sb = gen  # Interspire's orders carry no status: it never reports one
    cart = shop(store, plugins, sb)
    number = _pick(sb, "Completed")
    cart_label = _stored(store, cart, number).status
    cli = Cli(db_url)
    assert cli("orders", "set-status", number, "Shipped", "--cart", "Shop").exit_code == 0

    sb.set_order_status(number, "Completed")  # the merchant changes it in the cart's admin
    _reimport(cli, number)
    assert tuple(_stored(store, cart, number)) == ("Completed", "Completed")
    rows = history(store, cart, number)
    assert [(h.previous_label, h.label, h.push_state, h.push_reason, h.outbox_id) for h in rows] == [
        (cart_label, "Shipped", "not-needed", rows[0].push_reason, None),
        ("Shipped", "Completed", "not-needed", status.REPORTED, None)]
    assert "Shipped → Completed  push: not-needed (reported by the cart)" in cli(
        "orders", "show", number, "--cart", "Shop").output

    _reimport(cli, number)  # nothing new from the cart: nothing changes, nothing recorded
    assert len(history(store, cart, number)) == 2

    # a later local change wins again until the cart reports something new
    assert cli("orders", "set-status", number, "Cancelled", "--cart", "Shop").exit_code == 0
    _reimport(cli, number)
    assert tuple(_stored(store, cart, number)) == ("Cancelled", "Completed")
    assert [h.label for h in history(store, cart, number)] == ["Shipped", "Completed", "Cancelled"]


def test_a_status_change_at_the_cart_of_an_untouched_order_is_recorded(store, plugins, gen, db_url):
    cart = shop(store, plugins, gen)
    number = _pick(gen, "Completed")
    cart_label = _stored(store, cart, number).status
    gen.set_order_status(number, "Completed")
    _reimport(Cli(db_url), number)
    assert tuple(_stored(store, cart, number)) == ("Completed", "Completed")
    assert [(h.previous_label, h.label, h.push_reason) for h in history(store, cart, number)] == [
        (cart_label, "Completed", status.REPORTED)]
