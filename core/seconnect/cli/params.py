"""`seconnect params …` — system parameters, global and cart-based."""

from __future__ import annotations

import click

from .. import params as service
from ..carts import get_cart
from . import App, cart_option, emit, json_option, pass_app, table


def _cart_id(conn, cart_name: str | None) -> int | None:
    return get_cart(conn, cart_name).id if cart_name else None


@click.group("params")
def command() -> None:
    """System parameters (global, or per cart with --cart)."""


@command.command("list")
@cart_option()
@json_option
@pass_app
def list_(app: App, cart_name, as_json) -> None:
    """Every parameter with its effective value, where it comes from, and its type."""
    with app.store.begin() as conn:
        values, sources = service.resolve(conn, _cart_id(conn, cart_name))
    data = [{"name": p.name, "value": p.format(values[p.name]), "source": sources[p.name], "scope": p.scope,
             "type": p.describe_type(), "description": p.description} for p in service.PARAMS.values()]
    emit(data, as_json, lambda d: table([[x["name"], x["value"], x["source"], x["scope"]] for x in d],
                                        ["NAME", "VALUE", "FROM", "SCOPE"]))


@command.command("get")
@click.argument("name")
@cart_option()
@pass_app
def get(app: App, name, cart_name) -> None:
    """Print the effective value of parameter NAME."""
    param = service.lookup(name)
    with app.store.begin() as conn:
        values, _ = service.resolve(conn, _cart_id(conn, cart_name))
    click.echo(param.format(values[param.name]))


# A value such as -5 is a value, not an option.
@command.command("set", context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("value")
@cart_option()
@pass_app
def set_(app: App, name, value, cart_name) -> None:
    """Set parameter NAME to VALUE (globally, or for one cart with --cart).

    Booleans take TRUE/FALSE, yes/no, y/n, 1/0 or on/off, in any case.
    """
    with app.store.begin() as conn:
        param, typed = service.set_value(conn, name, value, _cart_id(conn, cart_name))
    where = f" for cart {cart_name!r}" if cart_name else (
        " (global default for every cart)" if param.scope == "cart" else "")
    click.echo(f"{param.name} = {param.format(typed)}{where}")


@command.command("unset")
@click.argument("name")
@cart_option()
@pass_app
def unset(app: App, name, cart_name) -> None:
    """Remove the stored value of NAME, so the fallback applies again.

    A cart's own value falls back to the global value, a global value to the default.
    """
    with app.store.begin() as conn:
        cart_id = _cart_id(conn, cart_name)
        param, removed = service.unset_value(conn, name, cart_id)
        values, sources = service.resolve(conn, cart_id)
    subject = param.name + (f" for cart {cart_name!r}" if cart_name else "")
    now = f"{param.format(values[param.name])} (from {sources[param.name]})"
    click.echo(f"{subject} unset; now {now}." if removed else f"{subject} had no value of its own; it is {now}.")
