"""`seconnect params …` — system parameters, global and cart-based.

With ``--cart`` only the parameters that apply to that cart are known: core's and its cart type's
own. Without it, every installed type's parameters are listed too, each with the types it is for.
"""

from __future__ import annotations

import click

from .. import params as service
from ..carts import get_cart
from . import App, cart_option, emit, json_option, pass_app, table


def _scope(app: App, conn, cart_name: str | None) -> tuple[int | None, service.Catalogue, str]:
    return scope(app.plugins, conn, cart_name)


def scope(plugins, conn, cart_name: str | None) -> tuple[int | None, service.Catalogue, str]:
    """The cart's id (None: global), the parameters that apply there, and how to name it."""
    if not cart_name:
        return None, plugins.params, "global values"
    cart = get_cart(conn, cart_name)
    return cart.id, plugins.params_for(cart.type), f"cart {cart.name!r} (type {cart.type})"


def _lookup(app: App, name: str, catalogue: service.Catalogue, subject: str):
    return service.lookup(name, catalogue, everywhere=app.plugins.params, subject=subject)


def list_params(plugins, conn, cart_name: str | None) -> list[dict]:
    """`params list` and the dashboard's parameters page: every parameter that applies there."""
    cart_id, catalogue, _ = scope(plugins, conn, cart_name)
    values, sources = service.resolve(conn, cart_id, catalogue)
    return [{"name": p.name, "value": p.format(values[p.name]), "source": sources[p.name], "scope": p.scope,
             "type": p.describe_type(), "cart_types": list(p.cart_types), "description": p.description}
            for p in catalogue.values()]


def set_param(plugins, conn, name: str, value: str, cart_name: str | None):
    """`params set` and the dashboard: set NAME to VALUE globally or for one cart; (param, typed value)."""
    cart_id, catalogue, subject = scope(plugins, conn, cart_name)
    service.lookup(name, catalogue, everywhere=plugins.params, subject=subject)
    return service.set_value(conn, name, value, cart_id, catalogue)


@click.group("params")
def command() -> None:
    """System parameters (global, or per cart with --cart)."""


@command.command("list")
@cart_option()
@json_option
@pass_app
def list_(app: App, cart_name, as_json) -> None:
    """Every parameter with its effective value, where it comes from, and its type.

    With --cart: the parameters that apply to that cart (core's and its type's). Without:
    core's and every installed cart type's, FOR naming the types a parameter applies to.
    """
    with app.store.begin() as conn:
        data = list_params(app.plugins, conn, cart_name)
    emit(data, as_json, lambda d: table([[x["name"], x["value"], x["source"], x["scope"],
                                          ", ".join(x["cart_types"]) or "every cart"] for x in d],
                                        ["NAME", "VALUE", "FROM", "SCOPE", "FOR"]))


@command.command("get")
@click.argument("name")
@cart_option()
@pass_app
def get(app: App, name, cart_name) -> None:
    """Print the effective value of parameter NAME."""
    with app.store.begin() as conn:
        cart_id, catalogue, subject = _scope(app, conn, cart_name)
        param = _lookup(app, name, catalogue, subject)
        values, _ = service.resolve(conn, cart_id, catalogue)
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
        param, typed = set_param(app.plugins, conn, name, value, cart_name)
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
        cart_id, catalogue, subject = _scope(app, conn, cart_name)
        _lookup(app, name, catalogue, subject)
        param, removed = service.unset_value(conn, name, cart_id, catalogue)
        values, sources = service.resolve(conn, cart_id, catalogue)
    subject = param.name + (f" for cart {cart_name!r}" if cart_name else "")
    now = f"{param.format(values[param.name])} (from {sources[param.name]})"
    click.echo(f"{subject} unset; now {now}." if removed else f"{subject} had no value of its own; it is {now}.")
