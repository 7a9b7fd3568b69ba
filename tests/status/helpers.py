"""Helpers for the status tests: a cart on a sandbox with its orders imported, the CLI, look-ups."""

from __future__ import annotations

import json
from typing import Any

import click
import sqlalchemy as sa
from click.testing import CliRunner

from seconnect import carts
from seconnect.cartdef import CartDefinition
from seconnect.cli import build_cli
from seconnect.jobs.import_orders import import_orders
from seconnect.jobs.realtime import run_realtime
from seconnect.outbox import Policy
from seconnect.params import set_value
from seconnect.plugins import Plugins
from seconnect.sandbox import Sandbox
from seconnect.store import Store, tables

#: Three tries, no waiting between them.
QUICK = Policy(max_attempts=3, backoff_base=0.0, lease=30)


def shop(store: Store, plugins: Plugins, sb: Sandbox, *, name: str = "Shop", **params: str) -> CartDefinition:
    """Cart ``name`` on the sandbox, its orders imported, parameters set (``UseStatusUpdates`` is
    global, the rest per cart)."""
    with store.begin() as conn:
        carts.add_cart(conn, plugins, name=name, cart_type="Interspire" if sb.profile.name == "interspire" else "Generic",
                       user=sb.user, password=sb.password, script_url=sb.script_url, ca_bundle=sb.ca_file)
        cart_id = carts.get_cart(conn, name).id
        for param, value in params.items():
            set_value(conn, param, value, None if param == "UseStatusUpdates" else cart_id)
        cart = carts.get_cart(conn, name)
    assert import_orders(store, plugins, cart)["new"] > 0
    return cart


def order_numbers(store: Store, cart: CartDefinition, *, not_status: str = "") -> list[str]:
    """The cart's imported orders (ascending) whose status is not ``not_status``."""
    o = tables.orders
    with store.begin() as conn:
        rows = conn.execute(sa.select(o.c.number, o.c.status).where(o.c.cart_id == cart.id)
                            .order_by(o.c.number_sort)).all()
    return [r.number for r in rows if not not_status or (r.status or "").casefold() != not_status.casefold()]


def history(store: Store, cart: CartDefinition, number: str) -> list[Any]:
    h, o = tables.order_status_history, tables.orders
    with store.begin() as conn:
        return list(conn.execute(sa.select(h).join(o, o.c.id == h.c.order_id)
                                 .where(o.c.cart_id == cart.id, o.c.number == number).order_by(h.c.id)))


def outbox_rows(store: Store) -> list[Any]:
    with store.begin() as conn:
        return list(conn.execute(sa.select(tables.outbox).order_by(tables.outbox.c.id)))


def deliver(store: Store, plugins: Plugins, policy: Policy = QUICK) -> dict[str, Any]:
    return run_realtime(store, plugins, policy=policy)


def _cli() -> click.Group:
    """The CLI, with `outbox` and `run realtime` added where the main group does not have them yet."""
    from seconnect.cli import outbox, run_inventory

    cli = build_cli()
    cli.commands.setdefault("outbox", outbox.command)
    run = cli.commands["run"]
    assert isinstance(run, click.Group)
    for command in run_inventory.commands:
        run.commands.setdefault(command.name, command)  # type: ignore[arg-type]
    return cli


class Cli:
    """The real CLI, in-process, against one store."""

    def __init__(self, db_url: str):
        self.db_url = db_url
        self.runner = CliRunner()

    def __call__(self, *args: str) -> Any:
        return self.runner.invoke(_cli(), ["--db", self.db_url, *args], catch_exceptions=False)

    def json(self, *args: str) -> Any:
        result = self(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.output)
