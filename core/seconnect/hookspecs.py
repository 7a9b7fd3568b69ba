"""Every hook a seconnect plugin can implement (pluggy project name ``seconnect``).

Plugins are modules or objects registered under the ``seconnect`` entry-point group; they mark
their functions with :data:`seconnect.hookimpl`. Phases:

1. Declaration — ``seconnect_cart_types``, ``seconnect_cart_params`` (every plugin answers;
   results are collected).
2. Operations — ``capabilities``, ``test_script``, ``import_orders``, ``newest_order``, ``import_products``,
   ``import_customers``, ``sync_inventory``, ``inventory_levels``, ``update_order_status``, ``webhook_received``, ``register_webhooks``. All are ``firstresult``:
   each implementation returns ``None`` for carts whose ``cart.type`` it does not handle, so the
   first plugin that handles the type answers. A plugin can override another plugin's cart type
   by marking its implementation ``tryfirst=True``; core wraps every operation with a hook
   wrapper (audit, timing). Core checks the cart type's capabilities *before* dispatch, so an
   operation hook is only ever called for an operation the cart type declares as supported.
3. Wiring — ``register_commands`` (CLI commands), ``register_outbox_kinds`` (outbox deliverers).
   Core's own commands and outbox kinds arrive through these hooks too.

Errors: operation hooks raise :mod:`seconnect.errors` types (``CartError`` families for cart
trouble); any other exception is reported as a plugin bug naming the plugin.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from datetime import date

    import click

    from .capabilities import Capabilities, InventoryLevel
    from .cartdef import CartDefinition, CartType
    from .operations import (
        InventoryAction,
        InventoryResult,
        InventoryRow,
        OrderBatch,
        StatusResult,
        StatusUpdate,
        WebhookAction,
    )
    from .outbox import OutboxKinds
    from .paramdef import Param

PROJECT = "seconnect"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

# Hooks in the order the reference documents them, by phase; core's dispatcher and the docs
# test read these tuples.
DECLARATION_HOOKS = ("seconnect_cart_types", "seconnect_cart_params")
WIRING_HOOKS = ("register_commands", "register_outbox_kinds")
OPERATION_HOOKS = (
    "capabilities",
    "test_script",
    "import_orders",
    "newest_order",
    "import_products",
    "import_customers",
    "sync_inventory",
    "inventory_levels",
    "update_order_status",
    "webhook_received",
    "register_webhooks",
)


@hookspec
def seconnect_cart_types() -> Iterable[CartType]:
    """Declare the cart types this plugin provides.

    Called once per plugin manager; all plugins answer and their lists are concatenated. Cart
    type ids and aliases must be unique across plugins (compared case-insensitively).

    :returns: the plugin's :class:`~seconnect.CartType` declarations (an empty list is fine for
        plugins that only add commands).
    """


@hookspec
def seconnect_cart_params() -> Mapping[str, Iterable[Param]]:
    """Declare the system parameters of this plugin's cart types.

    Called once per plugin manager; all plugins answer. Each parameter applies only to carts of
    the types it is declared for (``params list --cart`` and ``carts show`` show it for those
    only); the same name declared alike for several types is one parameter of all of them. A
    name of core's own parameters cannot be declared again. Stored values reach the plugin in
    ``cart.params`` as stored text: read them typed with :meth:`Param.of`.

    :returns: cart type id → its :class:`~seconnect.Param` declarations (``{}`` for none).
    """


@hookspec(firstresult=True)
def capabilities(cart: CartDefinition) -> Capabilities | None:
    """Refine the capability matrix for one configured cart.

    Most plugins need not implement this: core uses the capabilities declared with the cart
    type. Implement it when support depends on the cart's own settings (a plugin option,
    a script version). ``firstresult``.

    :param cart: the cart definition, with its effective cart-based parameters in ``cart.params``.
    :returns: the cart's capabilities, or ``None`` when this plugin does not handle ``cart.type``.
    """


@hookspec(firstresult=True)
def test_script(cart: CartDefinition, check_credentials: bool) -> str | None:
    """Check that the cart's Script URL is reachable ("Test Script URL").

    ``firstresult``. Must not change anything at the cart.

    :param cart: the cart definition.
    :param check_credentials: also prove that the user name, password and store code are
        accepted (e.g. with an authenticated count call); raise ``CartAuthError`` if not.
    :returns: the script version the cart reports (shown as ``Test passed: Script version: X``),
        or ``None`` when this plugin does not handle ``cart.type``. Return a
        :class:`~seconnect.ScriptVersion` to add warnings when the replies do not look like this
        cart type's script (``seconnect carts test`` prints them; the test still passes).
    """


@hookspec(firstresult=True)
def import_orders(cart: CartDefinition, checkpoint: str | None, batch_size: int, since: date | None
                  ) -> Iterable[OrderBatch] | None:
    """Download the orders placed after ``checkpoint``, batch by batch, oldest first.

    ``firstresult``. Core stores each batch together with its ``checkpoint`` in one transaction
    before asking for the next, so the iterator may be abandoned at any point and resumed by a
    later call with the last stored checkpoint. A batch's records are dicts valid against
    ``order.schema.json``; records that fail validation are quarantined by core, not dropped.

    :param cart: the cart definition.
    :param checkpoint: the checkpoint of the last stored batch, or ``None`` to start from the
        first order the cart offers.
    :param batch_size: orders per request, from the cart-based parameter ``DownloadBatchSize``.
    :param since: the date of the order at ``checkpoint`` as stored (the newest imported order),
        or ``None`` when there is none or it has no date. A cart that selects orders by date
        rather than by number is asked for orders from then on (SETI: ``lastdate``); orders it
        sends again are matched by number and updated, never duplicated. Declaring this
        argument is optional.
    :returns: an iterable of :class:`~seconnect.OrderBatch`, or ``None`` when this plugin does
        not handle ``cart.type``.
    """


@hookspec(firstresult=True)
def newest_order(cart: CartDefinition) -> str | None:
    """The number of the newest order the cart would hand out now (where ``import_orders``
    from the beginning would end), without downloading the others.

    ``firstresult``. Optional: core asks it when it reads the cart's quantities
    (``import-products``, ``inventory-get``) and when a cart's first order import starts, so that
    sales the cart's stock already included are not taken off local stock again. Without it core
    falls back to its own checkpoint (see the README's "Inventory" section). Must not change
    anything at the cart.

    :param cart: the cart definition.
    :returns: the order number, ``""`` when the cart has no orders, or ``None`` when this plugin
        does not handle ``cart.type``.
    """


@hookspec(firstresult=True)
def import_products(cart: CartDefinition, batch_size: int) -> Iterable[list[dict]] | None:
    """Download every product record (one per variation where the cart exports them that way).

    ``firstresult``. Records are dicts valid against ``product.schema.json``.

    :param cart: the cart definition.
    :param batch_size: records per request.
    :returns: an iterable of record lists (one per request), or ``None`` when this plugin does
        not handle ``cart.type``.
    """


@hookspec(firstresult=True)
def import_customers(cart: CartDefinition, batch_size: int) -> Iterable[list[dict]] | None:
    """Download every customer record.

    ``firstresult``. Records are dicts valid against ``customer.schema.json``. A plugin must
    deliver all of them even when the cart pages wrongly (work around it, e.g. one big batch).

    :param cart: the cart definition.
    :param batch_size: records per request.
    :returns: an iterable of record lists, or ``None`` when this plugin does not handle
        ``cart.type``.
    """


@hookspec(firstresult=True)
def sync_inventory(cart: CartDefinition, action: InventoryAction,
                   items: Sequence[tuple[str, int]]
                   ) -> Iterable[list[InventoryRow]] | list[InventoryResult] | None:
    """Read or change quantities on hand at the cart.

    ``firstresult``. Codes are the cart's own product codes (core maps local SKUs to them).

    :param cart: the cart definition.
    :param action: ``get`` (``items`` is empty; return an iterable of pages of
        :class:`~seconnect.InventoryRow`), ``send`` (``items`` are ``(code, absolute_qty)``) or
        ``adjust`` (``items`` are ``(code, signed_delta)``); for ``send`` and ``adjust`` return one
        :class:`~seconnect.InventoryResult` per item. Report ``unverified`` when the cart's answer
        cannot be trusted; core then reads the quantities back.
    :param items: the codes and quantities, empty for ``get``.
    :returns: as described for ``action``, or ``None`` when this plugin does not handle
        ``cart.type``.
    """


@hookspec(firstresult=True)
def inventory_levels(cart: CartDefinition, codes: Sequence[tuple[str, str | None]]
                     ) -> list[InventoryLevel] | None:
    """Say at which inventory level each of the cart's codes tracks stock.

    ``firstresult``. Optional: without an answer every code is a ``product`` code. Core asks it
    before it queues or sends a quantity, for codes stored by ``import_products`` (the record's
    ``code``, or the ``variation.address`` the plugin gave a variation whose code is shared). A
    code of a local sub-SKU counts as ``sub-sku`` whatever the answer; several ``attribute``
    codes mapped onto one local product (options mode) are not sent that product's total.

    :param cart: the cart definition.
    :param codes: ``(code, web_id)`` pairs as the cart reported them.
    :returns: one :class:`~seconnect.InventoryLevel` per code, in order, or ``None`` when this
        plugin does not handle ``cart.type``.
    """


@hookspec(firstresult=True)
def update_order_status(cart: CartDefinition, update: StatusUpdate) -> StatusResult | None:
    """Push one order's new status label (and tracking numbers) to the cart.

    ``firstresult``. Called by the outbox worker, in order per order. Core only calls it when the
    cart's capabilities (the ``capabilities`` hook's answer, else the type's declaration) support
    status updates. Raise ``CartRejected`` (or
    return ``StatusResult(accepted=False, notes=...)``) when the cart refuses; the update is then
    parked with that reason, never reported as sent.

    :param cart: the cart definition.
    :param update: the order number as the cart numbered it, the label and packages.
    :returns: the cart's answer, or ``None`` when this plugin does not handle ``cart.type``.
    """


@hookspec(firstresult=True)
def webhook_received(cart: CartDefinition, headers: Mapping[str, str], body: bytes) -> WebhookAction | None:
    """Judge one delivery to the service's ``POST /hooks/<cart>`` (`seconnect serve`).

    ``firstresult``. Verify that it comes from the cart (signature, shared secret, whatever the
    cart's API allows) and say what it means; never run a job here: the service answers the cart
    at once and its scheduler runs the job (one run for a burst of events).

    :param cart: the cart the delivery was addressed to.
    :param headers: the request's headers, names lower-cased.
    :param body: the request body as received (at most 1 MB).
    :returns: a :class:`seconnect.WebhookAction` (``run(job, dedupe_key)``, ``ignore()``,
        ``reject()``), or ``None`` when this plugin does not handle ``cart.type``.
    """


@hookspec(firstresult=True)
def register_webhooks(cart: CartDefinition, url: str, remove: bool) -> list[str] | None:
    """Register (or with ``remove``, remove) the cart's webhooks pointing at the service.

    ``firstresult``. Called by `seconnect carts webhooks NAME --url URL [--remove]`.

    :param cart: the cart definition.
    :param url: the full delivery URL, ``<the service's public URL>/hooks/<cart name>``.
    :param remove: remove the webhooks that point at ``url`` instead of registering them.
    :returns: one line per thing done (printed to the merchant), or ``None`` when this plugin
        does not handle ``cart.type``.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands to the ``seconnect`` command line.

    Called for every plugin when the CLI starts; core's own command groups are added the same
    way. Do not replace existing commands.

    :param cli: the top-level ``seconnect`` click group.
    :returns: nothing.
    """


@hookspec
def register_outbox_kinds(kinds: OutboxKinds) -> None:
    """Add outbox kinds: work a plugin queues in ``outbox`` and delivers with ``seconnect run realtime``.

    Called for every plugin when a run first needs the kinds; core's own (``inventory``,
    ``inventory-check``, ``status``) are registered the same way. A kind registered twice is an
    error. Rows of a kind no loaded plugin registers are parked with a reason naming the kind.

    :param kinds: the run's registry; call ``kinds.register(kind, deliver, on_requeue=…,
        on_discard=…)``.
    :returns: nothing.
    """
