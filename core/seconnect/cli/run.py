"""`seconnect run …` — the jobs, for people at a terminal and for cron/systemd.

Each job prints a one-line summary per cart (``--json`` prints the summaries for scripts), shows
a progress bar when stderr is a terminal, and records a run row in the audit log. With
``--all`` every active cart is processed; one cart failing does not stop the others, and the
exit code is non-zero if any failed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click
from tqdm import tqdm

from ..cartdef import CartDefinition
from ..errors import SeconnectError, UsageError
from . import App, cart_option, emit, json_option, pass_app


@click.group("run")
def command() -> None:
    """Run a job against one cart (--cart NAME) or every active cart (--all)."""


def _carts(app: App, cart_name: str | None, all_carts: bool) -> list[CartDefinition]:
    from ..carts import get_cart, list_carts

    if bool(cart_name) == bool(all_carts):
        raise UsageError("name one cart with --cart NAME, or use --all for every active cart.")
    with app.store.begin() as conn:
        if cart_name:
            return [get_cart(conn, cart_name)]
        return [get_cart(conn, row.name) for row in list_carts(conn, active_only=True)]


def _progress(label: str) -> tuple[Callable[[int], None] | None, Callable[[], None]]:
    if not sys.stderr.isatty():
        return None, lambda: None
    bar = tqdm(desc=label, unit=" records", file=sys.stderr, leave=False)
    return bar.update, bar.close


def _waiting(cart: CartDefinition, job: str) -> Callable[[], None]:
    return lambda: click.echo(f"Waiting for another `run {job}` of cart {cart.name!r} to finish…", err=True)


def _each_cart(app: App, carts: list[CartDefinition], as_json: bool, job: str,
               run_one: Callable[[CartDefinition, Callable[[int], None] | None], dict[str, Any]],
               describe: Callable[[dict[str, Any]], str]) -> None:
    results, failures = [], 0
    if not carts:
        click.echo("No active carts.", err=True)
    for cart in carts:
        update, close = _progress(f"{cart.name}: {job}")
        try:
            summary = run_one(cart, update)
        except SeconnectError as exc:
            if len(carts) == 1:
                raise
            failures += 1
            summary = {"cart": cart.name, "error": exc.message, "hint": exc.hint}
            click.echo(f"{cart.name}: failed: {exc.message}" + (f"\n  {exc.hint}" if exc.hint else ""), err=True)
        finally:
            close()
        results.append(summary)
        if not as_json and "error" not in summary:
            click.echo(f"{cart.name}: {describe(summary)}")
    if as_json:
        emit(results, True)
    if failures:
        sys.exit(6)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _describe_orders(s: dict[str, Any]) -> str:
    matched = sum(s["customers_matched"].values())
    rules = ", ".join(f"{k} {v}" for k, v in sorted(s["customers_matched"].items()))
    text = (f"{_plural(s['new'] + s['updated'], 'order')} ({s['new']} new, {s['updated']} updated); "
            f"customers: {s['customers_created']} created, {matched} matched" + (f" ({rules})" if rules else "")
            + f"; {s['quarantined']} quarantined")
    if s["unmapped_lines"]:
        text += f"; {_plural(s['unmapped_lines'], 'line')} with SKUs not in the store file"
    if s["custom_fields_kept_raw"]:
        text += (f"; custom order fields are not supported by this cart type: "
                 f"{s['custom_fields_kept_raw']} kept with the orders' raw data")
    return text


@command.command("import-orders")
@cart_option()
@click.option("--all", "all_carts", is_flag=True, help="Every active cart.")
@click.option("--start-after", metavar="NUMBER", help="Import orders after this order number (instead of the checkpoint).")
@json_option
@pass_app
def import_orders_cmd(app: App, cart_name, all_carts, start_after, as_json) -> None:
    """Import new orders ("Import My New Orders via Internet")."""
    from ..jobs.import_orders import import_orders

    _each_cart(app, _carts(app, cart_name, all_carts), as_json, "import-orders",
               lambda cart, update: import_orders(app.store, app.plugins, cart, start_after=start_after,
                                                  progress=update, on_wait=_waiting(cart, "import-orders")),
               _describe_orders)


@command.command("import-customers")
@cart_option()
@click.option("--all", "all_carts", is_flag=True, help="Every active cart.")
@json_option
@pass_app
def import_customers_cmd(app: App, cart_name, all_carts, as_json) -> None:
    """Import customer records, matched to existing customers by CustomerSearchField1..4."""
    from ..jobs.import_customers import import_customers

    def describe(s: dict[str, Any]) -> str:
        matched = sum(s["matched"].values())
        rules = ", ".join(f"{k} {v}" for k, v in sorted(s["matched"].items()))
        return (f"{_plural(s['received'], 'customer record')}: {s['created']} created, {matched} matched"
                + (f" ({rules})" if rules else "") + f"; {s['quarantined']} quarantined")

    _each_cart(app, _carts(app, cart_name, all_carts), as_json, "import-customers",
               lambda cart, update: import_customers(app.store, app.plugins, cart, progress=update), describe)


@command.command("import-products")
@cart_option()
@click.option("--all", "all_carts", is_flag=True, help="Every active cart.")
@click.option("--attributes", type=click.Choice(["options", "sub-skus"]),
              help="Keep product attributes as options on order lines, or build sub-SKUs per variant. "
                   "Chosen once per cart (default: the BuildSubSKUs parameter).")
@click.option("--rebuild", is_flag=True, help="Allow changing the attribute choice; rebuilds the cart's mapping.")
@click.option("--dry-run", is_flag=True, help="Print the SKUs that would be created; change nothing.")
@json_option
@pass_app
def import_products_cmd(app: App, cart_name, all_carts, attributes, rebuild, dry_run, as_json) -> None:
    """Import product records (attributes as options or as sub-SKUs)."""
    from ..jobs.import_products import import_products
    from .products import planned_text

    def describe(s: dict[str, Any]) -> str:
        if dry_run:
            return (f"dry run ({s['attributes']}), nothing changed:\n"
                    + planned_text(s.get("planned") or []))
        return (f"{_plural(s['received'], 'product record')} ({s['attributes']}): {s['created']} created, "
                f"{s['updated']} updated, {s['sub_skus']} sub-SKUs; {s['quarantined']} quarantined")

    _each_cart(app, _carts(app, cart_name, all_carts), as_json, "import-products",
               lambda cart, update: import_products(app.store, app.plugins, cart, attributes=attributes,
                                                    rebuild=rebuild, dry_run=dry_run, progress=update),
               describe)
