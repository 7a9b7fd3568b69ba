"""The jobs of ``seconnect run …``, for a plugin's own commands (public API).

A command a plugin adds through ``register_commands`` gets the store, the run's plugins and a
cart from :class:`seconnect.cli.App` (``app.store``, ``app.plugins``, ``app.cart(name)``; take it
with :func:`seconnect.cli.pass_app`) and calls these exactly as ``seconnect run`` does; each
returns the run's summary (a dict) and is recorded in ``seconnect runs`` like the built-in
command. Keyword options are those of the job (``progress``, ``on_wait``, ``dry_run``…).

The jobs themselves are imported when first called, so importing this module at plugin load
costs nothing (CLI start-up does not load the store layer).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .cartdef import CartDefinition
    from .plugins import Plugins
    from .store import Store

__all__ = ["import_orders", "import_products", "import_customers", "inventory_get", "inventory_send",
           "run_realtime"]


def import_orders(store: Store, plugins: Plugins, cart: CartDefinition, **options: Any) -> dict[str, Any]:
    """`seconnect run import-orders` for one cart (options: ``start_after``, ``progress``, ``on_wait``)."""
    from .jobs.import_orders import import_orders as job

    return job(store, plugins, cart, **options)


def import_products(store: Store, plugins: Plugins, cart: CartDefinition, **options: Any) -> dict[str, Any]:
    """`seconnect run import-products` (options: ``attributes``, ``rebuild``, ``dry_run``, ``progress``…)."""
    from .jobs.import_products import import_products as job

    return job(store, plugins, cart, **options)


def import_customers(store: Store, plugins: Plugins, cart: CartDefinition, **options: Any) -> dict[str, Any]:
    """`seconnect run import-customers` (options: ``progress``, ``on_wait``)."""
    from .jobs.import_customers import import_customers as job

    return job(store, plugins, cart, **options)


def inventory_get(store: Store, plugins: Plugins, cart: CartDefinition, **options: Any) -> dict[str, Any]:
    """`seconnect run inventory-get` (options: ``dry_run``, ``progress``, ``on_wait``)."""
    from .jobs.inventory import inventory_get as job

    return job(store, plugins, cart, **options)


def inventory_send(store: Store, plugins: Plugins, cart: CartDefinition, **options: Any) -> dict[str, Any]:
    """`seconnect run inventory-send` (options: ``skus``, ``dry_run``, ``progress``, ``on_wait``)."""
    from .jobs.inventory import inventory_send as job

    return job(store, plugins, cart, **options)


def run_realtime(store: Store, plugins: Plugins, **options: Any) -> dict[str, Any]:
    """`seconnect run realtime` (options: ``carts``, ``follow``, ``stop``, ``policy``…)."""
    from .jobs.realtime import run_realtime as job

    return job(store, plugins, **options)
