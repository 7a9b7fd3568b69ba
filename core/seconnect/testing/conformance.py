"""The conformance kit for cart plugins: one test class that a plugin's own test suite subclasses.

::

    from seconnect.testing.conformance import CartTypeSuite
    from seconnect_examplecart.fake import FakeShop

    class TestExampleCart(CartTypeSuite):
        cart_type = "ExampleCart"
        cart_factory = FakeShop

Each test gets a fresh cart and a fresh SQLite store, loads the installed plugins through the
``seconnect`` entry-point group exactly as the CLI does, and drives the plugin through core's
real jobs (import, inventory, the outbox worker), because that is what merchants will run.
The checks cover reads *and* writes: declared capabilities are honest both ways, imports page
without gaps or repeats and are idempotent, inventory sends report every SKU and reach the cart,
status updates go out once per change and a refused one is parked, and cart trouble surfaces as
the right error family. A failure says what the plugin must change (problem, plugin, hook, fix,
one per line, in the manner of pluggy's ``PluginValidationError``).

``cart_factory(directory)`` returns a context manager yielding a running cart shaped like
:class:`CartUnderTest` — usually a small fake server the plugin ships with its tests. Cart types
whose plugin is a :class:`~seconnect.seti.plugin.SetiPlugin` need none: the SETI sandbox cart is
the default (:class:`SandboxCart`). See docs/plugins/testing.md. Needs pytest.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import socket
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, ClassVar, NoReturn, Protocol

import pytest
import sqlalchemy as sa

import seconnect_schemas

from .. import carts, hookspecs, params
from ..capabilities import Capability
from ..cartdef import CartDefinition, CartType, Secret
from ..errors import (
    CapabilityError,
    CartAuthError,
    CartError,
    CartHTTPError,
    CartRejected,
    CartTLSError,
    CartUnreachable,
    SeconnectError,
    UsageError,
)
from ..operations import (
    InventoryAction,
    InventoryOutcome,
    InventoryResult,
    InventoryRow,
    OrderBatch,
    Package,
    StatusResult,
    StatusUpdate,
)
from ..plugins import ENTRY_POINT_GROUP, Plugins, load_plugins
from ..store import Store, open_store, tables, utcnow

__all__ = ["CartTypeSuite", "CartUnderTest", "SandboxCart", "Rig", "FAULTS"]

C = Capability
HOOKS_DOC = "docs/plugins/hooks.md"
#: Harness faults the kit asks a test cart for, and the HTTP status a plugin must report for each.
FAULTS = {"500": 500, "503": 503}
#: A SKU and an order number no test cart has.
NO_SUCH_SKU = "SECONNECT-KIT-NO-SUCH-SKU"
NO_SUCH_ORDER = "990000001"


class CartUnderTest(Protocol):
    """What the kit needs from a running test cart: where it is, and a look at what it holds.

    Only the methods a declared capability needs are called (``customer_ids`` only when the
    cart type imports customers, ``status_updates`` only for status updates, ...).
    """

    #: The cart's settings as ``carts add --set`` takes them (typed), without its secrets. A test
    #: cart of a SETI-shaped type may give ``script_url`` (without ``https://``), ``user`` and
    #: ``store_code`` attributes instead.
    settings: Mapping[str, Any]
    #: Its secret settings in plain text (or a ``password`` attribute, the SETI types' secret).
    secrets: Mapping[str, str]
    ca_file: str | None  #: PEM of the CA that signed the cart's certificate

    def order_numbers(self) -> list[str]:
        """Every order an import from the start must deliver, oldest first."""

    def add_orders(self, count: int) -> list[str]:
        """Place ``count`` new orders; their numbers."""

    def product_count(self) -> int:
        """How many product records an import must deliver."""

    def customer_ids(self) -> list[str]:
        """The ``web_id`` of every customer record an import must deliver."""

    def qoh(self, code: str) -> int | None:
        """The quantity the cart holds for a product code (None: not tracked or unknown)."""

    def status_updates(self) -> list[tuple[str, str]]:
        """``(order number, status)`` of every status update the cart accepted, in order."""

    def set_fault(self, kind: str | None) -> None:
        """Answer every request with HTTP ``kind`` ("500", "503") until called with None."""


class SandboxCart:
    """The SETI sandbox cart (:class:`~seconnect.sandbox.Sandbox`) seen as a :class:`CartUnderTest`.

    The default cart of SETI cart types: profile ``interspire`` for the Interspire type, else
    ``generic``. ``SandboxCart.factory("interspire", orders=30)`` picks another.
    """

    SIZES: ClassVar[dict[str, int]] = {"orders": 10, "products": 6, "customers": 8}

    def __init__(self, sandbox: Any):
        self.sandbox = sandbox
        self.script_url = sandbox.script_url
        self.user = sandbox.user
        self.password = sandbox.password
        self.store_code = sandbox.store_code
        self.ca_file = sandbox.ca_file

    @classmethod
    @contextmanager
    def running(cls, directory: Path, profile: str = "generic", **options: Any) -> Iterator[SandboxCart]:
        from ..sandbox import Sandbox

        with Sandbox(profile, state_dir=directory, **{**cls.SIZES, **options}) as sandbox:
            yield cls(sandbox)

    @classmethod
    def factory(cls, profile: str = "generic", **options: Any) -> Callable[[Path], AbstractContextManager[SandboxCart]]:
        return lambda directory: cls.running(directory, profile, **options)

    def order_numbers(self) -> list[str]:
        return self.sandbox.downloadable_order_numbers()

    def add_orders(self, count: int) -> list[str]:
        return self.sandbox.add_orders(count)

    def product_count(self) -> int:
        # Interspire exports one record per variation and none for their parent.
        per_parent = 0 if self.sandbox.profile_name == "interspire" else 1
        return sum(len(p["variations"]) + per_parent if p["variations"] else 1 for p in self.sandbox.products())

    def customer_ids(self) -> list[str]:
        return [str(c["id"]) for c in self.sandbox.customers()]

    def qoh(self, code: str) -> int | None:
        return self.sandbox.qoh(code)

    def status_updates(self) -> list[tuple[str, str]]:
        return [(str(u["order"]), u["status"]) for u in self.sandbox.status_updates() if u["ok"]]

    def set_fault(self, kind: str | None) -> None:
        self.sandbox.set_faults(kind)


def _settings_of(remote: Any, cart_type: CartType) -> dict[str, Any]:
    """The test cart's settings, or its SETI attributes that are settings of the cart type."""
    settings = getattr(remote, "settings", None)
    if settings is not None:
        return dict(settings)
    return {k: getattr(remote, k) for k in ("user", "store_code", "script_url")
            if k in cart_type.settings and getattr(remote, k, None) is not None}


def _secrets_of(remote: Any) -> dict[str, str]:
    secrets = getattr(remote, "secrets", None)
    return dict(secrets) if secrets is not None else {"password": remote.password}


_LOOPBACK_PORT = re.compile(r"(127\.0\.0\.1|localhost|\[::1\]):\d+")


def _moved_to(cart: CartDefinition, port: int) -> CartDefinition:
    """The cart with every loopback address in its settings pointing at ``port`` instead."""
    moved = {k: _LOOPBACK_PORT.sub(lambda m: f"{m.group(1)}:{port}", v) if isinstance(v, str) else v
             for k, v in cart.settings.items()}
    return dataclasses.replace(cart, settings=moved)


def _signature(hook: str) -> str:
    return f"{hook}({', '.join(inspect.signature(getattr(hookspecs, hook)).parameters)})"


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Rig:
    """One test's world: the plugins as installed, a store, the running cart and its definition."""

    plugins: Plugins
    store: Store
    remote: Any
    cart: CartDefinition
    cart_type: CartType
    owner: str

    # -- reporting ----------------------------------------------------------------------------
    def problem(self, problem: str, fix: str, hook: str | None = None) -> NoReturn:
        """Fail the test with a message a plugin author can act on."""
        dist = next((p for p in self.plugins.describe() if p["name"] == self.owner), {})
        source = f"{dist.get('distribution', '?')} {dist.get('version', '')}".strip()
        lines = [f"cart type {self.cart_type.id!r} does not conform: {problem}",
                 f"  plugin: {self.owner}, from {source}"]
        if hook:
            lines.append(f"  hook:   {_signature(hook)}  — see {HOOKS_DOC}#{hook}")
        lines.append(f"  fix:    {fix}")
        pytest.fail("\n".join(lines), pytrace=False)

    def need(self, method: str, why: str) -> Callable[..., Any]:
        """A :class:`CartUnderTest` method of the test cart, or a failure saying it is missing."""
        found = getattr(self.remote, method, None)
        if not callable(found):
            pytest.fail(f"the test cart {type(self.remote).__name__} has no {method}(): the kit needs it to "
                        f"check {why}. Fix: add it to the test cart (see CartUnderTest in "
                        "seconnect.testing.conformance).", pytrace=False)
        return found

    # -- capabilities and calls -----------------------------------------------------------------
    def supports(self, capability: Capability) -> bool:
        return self.plugins.capabilities_for(self.cart).supports(capability)

    def require(self, *capabilities: Capability) -> None:
        missing = [c.value for c in capabilities if not self.supports(c)]
        if missing:
            pytest.skip(f"{self.cart_type.id} does not declare {', '.join(missing)} (its refusal is checked by "
                        "test_undeclared_capabilities_are_refused_before_the_plugin_is_called)")

    def answer(self, hook: str, capability: Capability | None, cart: CartDefinition | None = None,
               fix: str = "", **kwargs: Any) -> Any:
        """Call an operation hook as core does (capability first), failing on a ``None`` answer."""
        cart = cart or self.cart
        if capability is not None:
            self.plugins.require(cart, capability)
        result = getattr(self.plugins.hook, hook)(cart=cart, **kwargs)
        if result is None:
            declared = f"declares {capability.value} but " if capability else ""
            self.problem(f"{declared}{hook} answered nothing (None) for a cart of its own type "
                         f"({', '.join(f'{k}={_shown(v)!r}' for k, v in kwargs.items())}).",
                         fix or f"return {_RETURNS[hook]} when cart.type is {self.cart_type.id!r}"
                         + (f", or stop declaring Capability.{capability.name}" if capability else "") + ".",
                         hook)
        return result

    def set_param(self, name: str, value: str, *, global_: bool = False) -> None:
        with self.store.begin() as conn:
            params.set_value(conn, name, value, None if global_ else self.cart.id)
            self.cart = carts.get_cart(conn, self.cart.name)

    @contextmanager
    def spy(self) -> Iterator[list[str]]:
        """Names of the operation hooks called (``capabilities`` aside) while the block runs."""
        called: list[str] = []

        def before(hook_name: str, _impls: Any, _kwargs: Any) -> None:
            if hook_name in hookspecs.OPERATION_HOOKS and hook_name != "capabilities":
                called.append(hook_name)

        undo = self.plugins.pm.add_hookcall_monitoring(before, lambda *_: None)
        try:
            yield called
        finally:
            undo()

    # -- the store --------------------------------------------------------------------------------
    def rows(self, query: Any) -> list[Any]:
        with self.store.begin() as conn:
            return list(conn.execute(query).all())

    def quarantined(self, kind: str) -> list[str]:
        q = tables.quarantine
        return [f"{r.external_id}: {r.reason}" for r in self.rows(
            sa.select(q.c.external_id, q.c.reason).where(q.c.cart_id == self.cart.id, q.c.kind == kind))]

    def deliver_outbox(self, budget: float = 20.0) -> dict[str, int]:
        """Run the outbox worker (``seconnect run realtime --once``) until nothing is pending,
        waiting for rows due later (retries, read-back checks) within ``budget`` seconds."""
        from .. import outbox
        from ..jobs.realtime import run_realtime

        policy = outbox.Policy(backoff_base=0.1, backoff_max=0.3)
        deadline = time.monotonic() + budget
        while True:
            counts = run_realtime(self.store, self.plugins, policy=policy)["outbox"]
            o = tables.outbox
            due = self.rows(sa.select(sa.func.min(o.c.next_attempt_at)).where(o.c.state == "pending"))[0][0]
            if due is None or time.monotonic() >= deadline:
                return counts
            wait = (due - utcnow()).total_seconds() if due.tzinfo else 0.0
            time.sleep(min(max(wait, 0.05), max(deadline - time.monotonic(), 0.0)))

    def outbox_errors(self) -> list[str]:
        o = tables.outbox
        return [f"{r.key}: {r.last_error}" for r in self.rows(
            sa.select(o.c.key, o.c.last_error).where(o.c.cart_id == self.cart.id, o.c.state != "sent"))]


# What each operation hook must answer for its own cart type, for failure messages.
_RETURNS = {
    "test_script": "the script's version as a non-empty string",
    "import_orders": "an iterable of seconnect.OrderBatch(records, checkpoint), oldest first",
    "import_products": "an iterable of lists of product records (dicts valid against product.schema.json)",
    "import_customers": "an iterable of lists of customer records (dicts valid against customer.schema.json)",
    "sync_inventory": ("for action 'get' an iterable of lists of seconnect.InventoryRow; for 'send' and 'adjust' "
                       "one seconnect.InventoryResult per item"),
    "update_order_status": "a seconnect.StatusResult (or raise seconnect.errors.CartRejected when the cart refuses)",
    "capabilities": "a seconnect.Capabilities, or None to keep the declared ones",
}

# The hook that serves each operation capability (custom order fields is data, not a call).
_SERVED_BY = {
    C.IMPORT_ORDERS: "import_orders",
    C.IMPORT_PRODUCTS: "import_products",
    C.IMPORT_CUSTOMERS: "import_customers",
    C.INVENTORY_GET: "sync_inventory",
    C.INVENTORY_SEND: "sync_inventory",
    C.INVENTORY_REALTIME: "sync_inventory",
    C.STATUS_UPDATES: "update_order_status",
}


@dataclass(frozen=True)
class _Import:
    """One kind of record import, described for the generic paging and schema checks."""

    kind: str
    capability: Capability
    hook: str
    schema: str
    key_fields: tuple[str, ...]
    truth: str  # the CartUnderTest method that says what the cart holds

    def key(self, record: Any) -> Any:
        values = tuple(record.get(f) if isinstance(record, dict) else None for f in self.key_fields)
        return values[0] if len(values) == 1 else values

    def run_job(self, rig: Rig) -> dict[str, Any]:
        from ..jobs import import_customers, import_orders, import_products

        job = {"orders": import_orders.import_orders, "products": import_products.import_products,
               "customers": import_customers.import_customers}[self.kind]
        return job(rig.store, rig.plugins, rig.cart)


_IMPORTS = {
    "orders": _Import("orders", C.IMPORT_ORDERS, "import_orders", "order", ("number",), "order_numbers"),
    "products": _Import("products", C.IMPORT_PRODUCTS, "import_products", "product", ("web_id", "code"),
                        "product_count"),
    "customers": _Import("customers", C.IMPORT_CUSTOMERS, "import_customers", "customer", ("web_id",),
                         "customer_ids"),
}


def _download(rig: Rig, imp: _Import, batch_size: int, checkpoint: str | None = None) -> list[Any]:
    """Every page the hook yields (OrderBatch for orders, lists otherwise), shape-checked."""
    kwargs: dict[str, Any] = {"batch_size": batch_size}
    if imp.kind == "orders":
        kwargs["checkpoint"] = checkpoint
        kwargs["since"] = None
    pages = list(rig.answer(imp.hook, imp.capability, **kwargs))
    for page in pages:
        if imp.kind == "orders":
            if not isinstance(page, OrderBatch):
                rig.problem(f"import_orders yielded a {type(page).__name__}, not an OrderBatch.",
                            "yield seconnect.OrderBatch(records, checkpoint) per batch.", imp.hook)
            if not isinstance(page.checkpoint, str) or not page.checkpoint:
                rig.problem(f"a batch's checkpoint is {page.checkpoint!r}.",
                            "give every OrderBatch a non-empty string checkpoint that says where the next "
                            "batch starts (e.g. its last order number).", imp.hook)
        elif not isinstance(page, list):
            rig.problem(f"{imp.hook} yielded a {type(page).__name__}, not a list of records.",
                        f"yield one list of record dicts per request ({_RETURNS[imp.hook]}).", imp.hook)
    return pages


def _records(imp: _Import, pages: Sequence[Any]) -> list[Any]:
    return [r for page in pages for r in (page.records if imp.kind == "orders" else page)]


def _shown(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _listed(values: Sequence[Any], limit: int = 8) -> str:
    if not values:
        return "none"
    shown = ", ".join(repr(v) for v in list(values)[:limit])
    return shown + (f" … ({len(values)} in all)" if len(values) > limit else "")


def _repeats(keys: Sequence[Any]) -> list[Any]:
    seen: set[Any] = set()
    return [k for k in keys if k in seen or seen.add(k)]


def _fresh_rows(rig: Rig, count: int = 3) -> list[InventoryRow]:
    """Up to ``count`` tracked rows of the cart's quantity list whose code appears once."""
    rows = [row for page in rig.answer("sync_inventory", C.INVENTORY_GET, action=InventoryAction.GET, items=[])
            for row in page]
    for row in rows:
        if not isinstance(row, InventoryRow):
            rig.problem(f"sync_inventory(action='get') yielded a {type(row).__name__} inside a page.",
                        "yield lists of seconnect.InventoryRow(code, qoh, web_id).", "sync_inventory")
    codes = [r.code for r in rows]
    return [r for r in rows if r.qoh is not None and codes.count(r.code) == 1][:count]


def _expect_error(rig: Rig, what: str, family: type[CartError], call: Callable[[], Any], hook: str,
                  fix: str) -> CartError:
    """Run ``call``; it must raise ``family``. Anything else fails with ``fix``."""
    raised: SeconnectError | None = None
    try:
        result = call()
        if hook != "test_script":
            list(result)  # imports fail while iterating
    except SeconnectError as exc:
        raised = exc
    if isinstance(raised, family):
        return raised
    if raised is not None:  # reported outside the except block: no chained tracebacks
        rig.problem(f"{what} raised {type(raised).__name__} ({raised.message}), not {family.__name__}.", fix, hook)
    rig.problem(f"{what} raised nothing.", fix, hook)


class CartTypeSuite:
    """The conformance tests; subclass it as ``Test…`` and set ``cart_type`` (module docstring).

    Class attributes: ``cart_type`` (id or alias), ``cart_factory`` (``directory -> context
    manager`` yielding a :class:`CartUnderTest`; default: the SETI sandbox for SETI types),
    ``extra_plugins`` (``(name, plugin)`` pairs registered besides the installed ones, for
    in-process plugins), ``cart_params`` (cart-based system parameters of the test cart).
    """

    cart_type: ClassVar[str] = ""
    cart_factory: ClassVar[Callable[[Path], AbstractContextManager[Any]] | None] = None
    extra_plugins: ClassVar[Sequence[tuple[str, object]]] = ()
    cart_params: ClassVar[dict[str, str]] = {"DownloadBatchSize": "3", "MaxConcurrentRequests": "2"}

    @pytest.fixture
    def rig(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
        """A fresh cart and store, isolated from the user's own key file and store."""
        monkeypatch.setenv("SECONNECT_KEY_FILE", str(tmp_path / "secret.key"))
        monkeypatch.setenv("SECONNECT_DB", f"sqlite:///{tmp_path / 'store.db'}")
        cls = type(self)
        plugins = load_plugins(extra=cls.extra_plugins)
        cart_type = _resolve(cls, plugins)
        owner = plugins.owner_of(cart_type.id)
        factory = cls.cart_factory or _default_factory(plugins, cart_type, owner)
        with ExitStack() as stack:
            remote = stack.enter_context(factory(tmp_path / "cart"))
            store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
            stack.callback(store.close)
            with store.begin() as conn:
                try:
                    cart = carts.add_cart(conn, plugins, name="Kit shop", cart_type=cart_type.id,
                                          settings=_settings_of(remote, cart_type), secrets=_secrets_of(remote),
                                          ca_bundle=remote.ca_file)
                except UsageError as exc:
                    refused = exc
                else:
                    refused = None
                if refused is not None:
                    pytest.fail(f"the test cart's definition is refused: {refused}\nFix: make the cart type's "
                                "config_schema accept the test cart's settings and secrets, or make the test "
                                "cart use values it accepts.", pytrace=False)
                for name, value in cls.cart_params.items():
                    params.set_value(conn, name, value, cart.id)
                cart = carts.get_cart(conn, cart.name)
            yield Rig(plugins, store, remote, cart, cart_type, owner)

    # -- declaration ------------------------------------------------------------------------------
    def test_cart_type_declaration(self, rig: Rig) -> None:
        """The declaration is complete: every supported operation has a hook behind it."""
        ct = rig.cart_type
        if not ct.label.strip():
            rig.problem("the cart type has no label.", "give CartType a label merchants recognise.",
                        "seconnect_cart_types")
        if ct.config_schema:
            from jsonschema import Draft202012Validator, SchemaError

            try:
                Draft202012Validator.check_schema(ct.config_schema)
            except SchemaError as exc:
                rig.problem(f"config_schema is not a valid JSON Schema: {exc.message}.",
                            "fix CartType.config_schema (Draft 2020-12).", "seconnect_cart_types")
        odd = [k for k, prop in ct.settings.items() if prop.get("writeOnly") and prop.get("type", "string") != "string"]
        if odd:
            rig.problem(f"secret settings that are not strings: {_listed(odd)}.",
                        'give each "writeOnly": true property "type": "string".', "seconnect_cart_types")
        values = {c.value for c in Capability}
        stray = sorted(set(ct.notes) - values)
        if stray:
            rig.problem(f"notes has keys that are no capability: {_listed(stray)}.",
                        "key CartType.notes by Capability values, e.g. Capability.STATUS_UPDATES.value.",
                        "seconnect_cart_types")
        caps = ct.capabilities
        if caps.supports(C.INVENTORY_REALTIME) and not caps.realtime_levels:
            rig.problem("inventory-realtime is declared but realtime_levels is empty, so no change is ever sent.",
                        "pass realtime_levels=[InventoryLevel.PRODUCT, …] to Capabilities.declare, or stop "
                        "declaring Capability.INVENTORY_REALTIME.", "seconnect_cart_types")
        implemented = {h.name for h in rig.plugins.pm.get_hookcallers(rig.plugins.pm.get_plugin(rig.owner)) or ()}
        if "test_script" not in implemented:
            rig.problem("the plugin implements no test_script hook, so `seconnect carts test` cannot work.",
                        "implement test_script(cart, check_credentials).", "test_script")
        for capability, hook in _SERVED_BY.items():
            if caps.supports(capability) and hook not in implemented:
                rig.problem(f"{capability.value} is declared supported but the plugin implements no {hook} hook.",
                            f"implement {hook}, or declare Capability.{capability.name} unsupported.", hook)

    def test_hooks_ignore_other_cart_types(self, rig: Rig) -> None:
        """Every operation hook answers None for a cart of a type it does not provide."""
        foreign = dataclasses.replace(_moved_to(rig.cart, _closed_port()), type="SeconnectKitOtherType")
        arguments = {"cart": foreign, "check_credentials": True, "checkpoint": None, "since": None, "batch_size": 3,
                     "action": InventoryAction.GET, "items": [], "codes": [("X", None)],
                     "update": StatusUpdate("1", "Shipped"),
                     # `seconnect serve`'s hooks
                     "headers": {}, "body": b"{}", "url": "https://seconnect.example/hooks", "remove": False}
        plugin = rig.plugins.pm.get_plugin(rig.owner)
        for caller in rig.plugins.pm.get_hookcallers(plugin) or ():
            if caller.name not in hookspecs.OPERATION_HOOKS:
                continue
            for impl in caller.get_hookimpls():
                if impl.plugin is not plugin or impl.hookwrapper or impl.wrapper:
                    continue
                fix = (f"start {caller.name} with `if cart.type != {rig.cart_type.id!r}: return None`, so other "
                       "plugins' cart types keep working (firstresult: the first answer wins)")
                if inspect.isgeneratorfunction(impl.function):
                    rig.problem(f"{caller.name} is a generator function, so it returns a generator even for "
                                "carts that are not its type.",
                                f"{fix}; then return a generator made by a helper function.", caller.name)
                try:
                    result = impl.function(**{name: arguments[name] for name in impl.argnames})
                except Exception as exc:
                    result = exc
                if isinstance(result, Exception):
                    rig.problem(f"{caller.name} raised {type(result).__name__} for a cart of type "
                                f"{foreign.type!r}: {result}", fix, caller.name)
                if result is not None:
                    rig.problem(f"{caller.name} answered {type(result).__name__} for a cart of type "
                                f"{foreign.type!r}, which it does not provide.", fix, caller.name)

    def test_undeclared_capabilities_are_refused_before_the_plugin_is_called(self, rig: Rig) -> None:
        """Core refuses what the cart type does not declare, without calling the plugin."""
        refused = [c for c in _SERVED_BY if not rig.supports(c)]
        if not refused:
            pytest.skip(f"{rig.cart_type.id} declares every operation capability")
        for capability in refused:
            with rig.spy() as called:
                try:
                    _attempt(rig, capability)
                except CapabilityError as exc:
                    if capability.value not in exc.message:
                        pytest.fail(f"the refusal of {capability.value} does not name it: {exc.message}")
                else:
                    pytest.fail(f"{capability.value} is not supported by {rig.cart_type.id}, yet core did not "
                                "refuse it")
            if called:
                rig.problem(f"{capability.value} is not declared, yet {', '.join(called)} was called.",
                            "core must refuse before dispatch: check the capabilities hook does not claim it.",
                            called[0])

    # -- test script ------------------------------------------------------------------------------
    def test_test_script_returns_a_version(self, rig: Rig) -> None:
        """"Test Script URL" answers the script's version, with and without the credential check."""
        for check in (False, True):
            version = rig.answer("test_script", None, check_credentials=check)
            if not isinstance(version, str) or not version.strip():
                rig.problem(f"test_script(check_credentials={check}) answered {version!r}.",
                            "return the version the cart reports as a non-empty string (merchants see "
                            "'Test passed: Script version: X').", "test_script")

    # -- imports ----------------------------------------------------------------------------------
    @pytest.mark.parametrize("kind", list(_IMPORTS))
    def test_import_pages_without_gaps_or_repeats(self, rig: Rig, kind: str) -> None:
        """Whatever the batch size, every record arrives exactly once (orders oldest first)."""
        imp = _IMPORTS[kind]
        rig.require(imp.capability)
        truth = rig.need(imp.truth, f"that {imp.hook} delivers every record")()
        expected = list(truth) if isinstance(truth, list) else None
        size = len(expected) if expected is not None else int(truth)
        if size < 4:
            pytest.fail(f"the test cart holds {size} {kind}; the kit needs at least 4 to check paging.")
        seen: dict[int, list[Any]] = {}
        for batch_size in (1, 3, size + 5):
            keys = [imp.key(r) for r in _records(imp, _download(rig, imp, batch_size))]
            repeated = _repeats(keys)
            if repeated:
                rig.problem(f"with batch_size={batch_size} these {kind} came more than once: {_listed(repeated)}.",
                            "page so that each request starts right after the last record of the previous one "
                            "(e.g. by the last number or offset actually received).", imp.hook)
            if expected is not None:
                got, wanted = set(keys), set(expected)
                missing = [k for k in expected if k not in got]
                if missing:
                    rig.problem(f"with batch_size={batch_size} these {kind} never came: {_listed(missing)}.",
                                "keep requesting pages until the cart has no more records; do not stop at a "
                                "short or empty-looking page before the end.", imp.hook)
                extra = [k for k in keys if k not in wanted]
                if extra:
                    rig.problem(f"with batch_size={batch_size} records the cart does not hold came: "
                                f"{_listed(extra)}.", f"return only the cart's own {kind}.", imp.hook)
                if kind == "orders" and keys != expected:
                    rig.problem(f"orders came in the order {_listed(keys)}, not oldest first.",
                                "request orders in ascending order number (the checkpoint relies on it).",
                                imp.hook)
            elif len(keys) != size:
                rig.problem(f"with batch_size={batch_size} {len(keys)} {kind} came; the cart holds {size}.",
                            "deliver every record exactly once, whatever the batch size.", imp.hook)
            seen[batch_size] = sorted(map(repr, keys))
        if len({tuple(v) for v in seen.values()}) > 1:
            rig.problem(f"the {kind} delivered depend on the batch size.",
                        "page so that the batch size changes only how many requests are made.", imp.hook)

    @pytest.mark.parametrize("kind", list(_IMPORTS))
    def test_import_records_are_schema_valid(self, rig: Rig, kind: str) -> None:
        """Records are what the record schema accepts, so core stores them instead of quarantining."""
        imp = _IMPORTS[kind]
        rig.require(imp.capability)
        records = _records(imp, _download(rig, imp, 50))
        if not records:
            pytest.fail(f"the test cart delivered no {kind}; the kit cannot check their shape.")
        schema = seconnect_schemas.load(imp.schema)
        for record in records:
            problems = seconnect_schemas.explain(imp.schema, record) if isinstance(record, dict) else \
                [f"$: a {type(record).__name__}, not a dict"]
            if problems:
                required = ", ".join(schema.get("required", ()))
                rig.problem(f"one of the {imp.kind} is not valid against {imp.schema}.schema.json: "
                            f"{'; '.join(problems[:4])}. The record: {str(record)[:300]}",
                            f"build each record as {imp.schema}.schema.json says (package seconnect_schemas); "
                            f"required: {required}; money as strings like \"12.50\"; nothing the schema does "
                            "not list (put the rest in 'raw').", imp.hook)

    def test_import_orders_resumes_from_every_checkpoint(self, rig: Rig) -> None:
        """Passing a batch's checkpoint back delivers exactly the orders after that batch."""
        imp = _IMPORTS["orders"]
        rig.require(imp.capability)
        batches = _download(rig, imp, 3)
        numbers = [r.get("number") for b in batches for r in b.records]
        done = 0
        for batch in batches:
            done += len(batch.records)
            rest = [r.get("number") for r in _records(imp, _download(rig, imp, 3, batch.checkpoint))]
            if rest != numbers[done:]:
                rig.problem(f"resuming from checkpoint {batch.checkpoint!r} delivered {_listed(rest)}; the orders "
                            f"after that batch are {_listed(numbers[done:])}.",
                            "make the checkpoint say where the next batch starts (e.g. the batch's last order "
                            "number) and, given it back, deliver only the orders after it.", imp.hook)

    @pytest.mark.parametrize("kind", list(_IMPORTS))
    def test_import_jobs_are_idempotent(self, rig: Rig, kind: str) -> None:
        """Through core's real job: everything stored once, a rerun adds nothing, new orders arrive."""
        imp = _IMPORTS[kind]
        rig.require(imp.capability)
        first = imp.run_job(rig)
        parked = rig.quarantined(kind.rstrip("s"))
        if parked:
            rig.problem(f"the {kind} import quarantined {len(parked)} records: {_listed(parked, 3)}.",
                        f"emit records that {imp.schema}.schema.json accepts and core can store.", imp.hook)
        if kind == "orders":
            _check_orders_stored(rig, imp, first)
            return
        second = imp.run_job(rig)
        if second.get("created"):
            rig.problem(f"a second {kind} import created {second['created']} more; the first created "
                        f"{first.get('created')}.",
                        f"give each record a stable identity (web_id{' and code' if kind == 'products' else ''}) "
                        "that does not change between downloads.", imp.hook)

    # -- inventory --------------------------------------------------------------------------------
    def test_inventory_get_reports_the_carts_quantities(self, rig: Rig) -> None:
        """Get lists codes with the quantities the cart holds."""
        rig.require(C.INVENTORY_GET)
        qoh = rig.need("qoh", "that inventory get reports the cart's quantities")
        rows = _fresh_rows(rig, count=10**6)
        if not rows:
            pytest.fail("the test cart reports no tracked quantity; the kit needs products with stock.")
        wrong = [(r.code, r.qoh, qoh(r.code)) for r in rows if qoh(r.code) is not None and qoh(r.code) != r.qoh]
        if wrong:
            rig.problem("get reported quantities the cart does not hold: "
                        + "; ".join(f"{c}: reported {a}, cart holds {b}" for c, a, b in wrong[:5]) + ".",
                        "report each code's current quantity on hand (None when the cart does not track it).",
                        "sync_inventory")

    def test_inventory_send_reports_each_sku_and_get_reads_it_back(self, rig: Rig) -> None:
        """Send answers one result per SKU, changes the cart, and a Get then shows the new values."""
        rig.require(C.INVENTORY_SEND)
        qoh = rig.need("qoh", "that inventory send changed the cart")
        if not rig.supports(C.INVENTORY_GET):
            pytest.skip("inventory-get is not declared, so the kit has no codes to send to")
        rows = _fresh_rows(rig)
        if not rows:
            pytest.fail("the test cart reports no tracked quantity; the kit needs products with stock.")
        items = [(r.code, (r.qoh or 0) + 7 + i) for i, r in enumerate(rows)] + [(NO_SUCH_SKU, 5)]
        fix = ("for action 'send', set each item's quantity at the cart and return one InventoryResult per "
               "item, with the item's code")
        results = rig.answer("sync_inventory", C.INVENTORY_SEND, action=InventoryAction.SEND, items=items,
                             fix=fix + ", or stop declaring Capability.INVENTORY_SEND.")
        results = list(results)
        if not all(isinstance(r, InventoryResult) for r in results):
            rig.problem("send answered something other than InventoryResult objects.", fix + ".", "sync_inventory")
        by_code = {r.code: r for r in results}
        missing = [code for code, _ in items if code not in by_code]
        if missing or len(results) != len(items):
            rig.problem(f"send answered {len(results)} results for {len(items)} items; no result for "
                        f"{_listed(missing)}.", fix + " (not_found for codes the cart does not know).",
                        "sync_inventory")
        if by_code[NO_SUCH_SKU].outcome is InventoryOutcome.OK:
            rig.problem(f"send reported ok for {NO_SUCH_SKU!r}, a SKU the cart does not have.",
                        "report InventoryOutcome.NOT_FOUND (or UNVERIFIED when the cart's answer cannot be "
                        "trusted) for codes the cart does not know.", "sync_inventory")
        for code, sent in items[:-1]:
            outcome = by_code[code].outcome
            if outcome not in (InventoryOutcome.OK, InventoryOutcome.UNVERIFIED):
                rig.problem(f"send of {code!r} = {sent} answered {outcome.value} ({by_code[code].note!r}).",
                            "report ok when the cart took the quantity.", "sync_inventory")
            if qoh(code) != sent:
                rig.problem(f"after sending {code!r} = {sent} the cart holds {qoh(code)}.",
                            "send the absolute quantity given for each item.", "sync_inventory")
        sent_codes = dict(items[:-1])
        got = {r.code: r.qoh for r in _fresh_rows(rig, count=10**6) if r.code in sent_codes}
        stale = {c: (q, got.get(c)) for c, q in sent_codes.items() if got.get(c) != q}
        if stale:
            rig.problem("a Get after the send does not return what was sent: "
                        + "; ".join(f"{c}: sent {a}, got {b}" for c, (a, b) in stale.items()) + ".",
                        "read quantities fresh from the cart on every get (no stale cache).", "sync_inventory")

    def test_inventory_send_job_reaches_the_cart(self, rig: Rig) -> None:
        """`run inventory-send` after a product import: every sent SKU ends up at the cart."""
        rig.require(C.INVENTORY_SEND, C.IMPORT_PRODUCTS)
        from ..inventory import QuantityChange, apply_changes
        from ..jobs.import_products import import_products
        from ..jobs.inventory import inventory_get, inventory_send

        qoh = rig.need("qoh", "that inventory send changed the cart")
        import_products(rig.store, rig.plugins, rig.cart)
        chosen = _tracked_products(rig, 4)
        with rig.store.begin() as conn:
            apply_changes(conn, rig.plugins, [QuantityChange(p.id, qoh=20 + i) for i, p in enumerate(chosen)],
                          source="conformance kit")
        summary = inventory_send(rig.store, rig.plugins, rig.cart, skus=[p.sku for p in chosen])
        bad = [p for p in summary["problems"] if p["outcome"] in ("error", "mismatched", "not-found")]
        if bad:
            rig.problem("inventory-send reported " + "; ".join(
                f"{p['code']}: {p['outcome']} {p['note']}".strip() for p in bad[:5]) + ".",
                "address products by the codes your import_products emitted, and report ok only when the "
                "cart took the quantity.", "sync_inventory")
        for i, product in enumerate(chosen):
            if qoh(product.code) not in (20 + i, None):
                rig.problem(f"after inventory-send the cart holds {qoh(product.code)} of {product.code!r}, not "
                            f"{20 + i}.", "set the absolute quantity of each item sent.", "sync_inventory")
        if rig.supports(C.INVENTORY_GET):
            diff = inventory_get(rig.store, rig.plugins, rig.cart, dry_run=True)["diff"]
            moved = [d for d in diff if d["sku"] in {p.sku for p in chosen}]
            if moved:
                rig.problem(f"a Get right after the send disagrees with what was sent: {_listed(moved, 3)}.",
                            "get must report the quantities the cart holds, under the codes send uses.",
                            "sync_inventory")

    def test_realtime_inventory_reaches_the_cart(self, rig: Rig) -> None:
        """A local stock change goes out through the outbox worker and lands at the cart."""
        rig.require(C.INVENTORY_REALTIME, C.IMPORT_PRODUCTS)
        from ..inventory import QuantityChange, apply_changes
        from ..jobs.import_products import import_products

        qoh = rig.need("qoh", "that real-time changes reach the cart")
        rig.set_param("SynchQOH", "TRUE")
        import_products(rig.store, rig.plugins, rig.cart)
        chosen = _tracked_products(rig, 3)
        with rig.store.begin() as conn:
            applied = apply_changes(conn, rig.plugins, [QuantityChange(p.id, delta=-1) for p in chosen],
                                    source="conformance kit")
        queued = [p for p, a in zip(chosen, applied, strict=True) if rig.cart.name in a.queued]
        if not queued:
            rig.problem("no imported product's change was queued for the cart.",
                        "declare realtime_levels that match the codes import_products emits (plain products: "
                        "InventoryLevel.PRODUCT).", "sync_inventory")
        counts = rig.deliver_outbox()
        if counts["parked"] or counts["pending"]:
            rig.problem(f"real-time delivery did not finish: {_listed(rig.outbox_errors(), 3)}.",
                        "answer sends (or adjusts, if inventory-send is not declared) with one ok result per "
                        "item.", "sync_inventory")
        for product in queued:
            if qoh(product.code) != product.qoh - 1:
                rig.problem(f"after real-time delivery the cart holds {qoh(product.code)} of {product.code!r}; "
                            f"the store has {product.qoh - 1}.", "apply the quantities core sends.",
                            "sync_inventory")

    # -- status updates ---------------------------------------------------------------------------
    def test_status_updates_are_sent_once_per_change(self, rig: Rig) -> None:
        """One update per label change reaches the cart; the same label again sends nothing."""
        rig.require(C.STATUS_UPDATES, C.IMPORT_ORDERS)
        from ..jobs.import_orders import import_orders

        received = rig.need("status_updates", "that status updates reach the cart")
        import_orders(rig.store, rig.plugins, rig.cart)
        rig.set_param("UseStatusUpdates", "TRUE", global_=True)
        number = rig.rows(sa.select(tables.orders.c.number).where(tables.orders.c.cart_id == rig.cart.id)
                          .order_by(tables.orders.c.id).limit(1))[0].number
        expected: list[tuple[str, str]] = []
        for label, changes in (("Shipped", True), ("Shipped", False), ("Cancelled", True)):
            change = _set_status(rig, number, label)
            if changes:
                expected.append((number, label))
            counts = rig.deliver_outbox()
            if counts["parked"]:
                rig.problem(f"the update of order {number} to {label!r} was parked: "
                            f"{_listed(rig.outbox_errors(), 2)}.",
                            "return StatusResult(accepted=True) when the cart took the update.",
                            "update_order_status")
            got = [u for u in received() if u[0] == number]
            if got != expected:
                rig.problem(f"after setting order {number} to {label!r} ({change.push}) the cart received "
                            f"{got}; expected {expected}.",
                            "send exactly one update per call: no resends, no batching, the label as given.",
                            "update_order_status")

    def test_status_rejection_is_parked(self, rig: Rig) -> None:
        """An update the cart refuses is reported as refused and parked, never marked sent."""
        rig.require(C.STATUS_UPDATES)
        received = rig.need("status_updates", "that a refused update is not applied")
        fix = ("when the cart refuses (here: an order it does not have), return StatusResult(accepted=False, "
               "notes=<the cart's reason>) or raise seconnect.errors.CartRejected")
        try:
            result = rig.answer("update_order_status", C.STATUS_UPDATES,
                                update=StatusUpdate(NO_SUCH_ORDER, "Shipped"))
        except SeconnectError as exc:
            result = exc
        if isinstance(result, SeconnectError) and not isinstance(result, CartRejected):
            rig.problem(f"an update of order {NO_SUCH_ORDER}, which the cart does not have, raised "
                        f"{type(result).__name__}: {result.message}", fix + ".", "update_order_status")
        if not isinstance(result, SeconnectError):
            if not isinstance(result, StatusResult):
                rig.problem(f"update_order_status answered a {type(result).__name__}.", fix + ".",
                            "update_order_status")
            if result.accepted:
                rig.problem(f"an update of order {NO_SUCH_ORDER}, which the cart does not have, was reported "
                            "accepted.", fix + ".", "update_order_status")
        rig.set_param("UseStatusUpdates", "TRUE", global_=True)
        with rig.store.begin() as conn:
            conn.execute(sa.insert(tables.orders).values(cart_id=rig.cart.id, number=NO_SUCH_ORDER, status="Order "
                                                         "Received", imported_at=utcnow(), updated_at=utcnow()))
        _set_status(rig, NO_SUCH_ORDER, "Shipped")
        counts = rig.deliver_outbox()
        if counts["parked"] != 1 or counts["sent"]:
            pytest.fail(f"the refused update was not parked (outbox: {counts}).")
        if any(u[0] == NO_SUCH_ORDER for u in received()):
            rig.problem("the cart applied an update it refused.", fix + ".", "update_order_status")

    # -- errors -----------------------------------------------------------------------------------
    def test_bad_credentials_raise_cart_auth_error(self, rig: Rig) -> None:
        """A wrong password is CartAuthError (fatal, never retried), from the check and from imports."""
        bad = dataclasses.replace(rig.cart, secrets={name: Secret(secret.reveal() + "-wrong")
                                                     for name, secret in rig.cart.secrets.items()})
        fix = "raise seconnect.errors.CartAuthError when the cart rejects the user name, password or store code"
        exc = _expect_error(rig, "test_script(check_credentials=True) with a wrong password", CartAuthError,
                            lambda: rig.answer("test_script", None, cart=bad, check_credentials=True),
                            "test_script", fix + " (make an authenticated call when check_credentials is True).")
        if exc.retriable:
            rig.problem("CartAuthError is marked retriable.", "leave CartAuthError.retriable False.", "test_script")
        for imp in _IMPORTS.values():
            if rig.supports(imp.capability):
                kwargs = {"batch_size": 3, **({"checkpoint": None, "since": None} if imp.kind == "orders" else {})}
                _expect_error(rig, f"{imp.hook} with a wrong password", CartAuthError,
                              lambda imp=imp, kwargs=kwargs: rig.answer(imp.hook, imp.capability, cart=bad, **kwargs),
                              imp.hook, fix + ".")
                break

    def test_cart_faults_surface_as_error_families(self, rig: Rig) -> None:
        """Unreachable, untrusted and failing carts raise CartUnreachable, CartTLSError and CartHTTPError."""
        def check(cart: CartDefinition) -> Callable[[], Any]:
            return lambda: rig.answer("test_script", None, cart=cart, check_credentials=True)

        down = _moved_to(rig.cart, _closed_port())
        exc = _expect_error(rig, "test_script against a refused connection", CartUnreachable, check(down),
                            "test_script", "turn connection errors (refused, reset, DNS, timeout) into "
                            "seconnect.errors.CartUnreachable.")
        if not exc.retriable:
            rig.problem("CartUnreachable is not retriable.", "leave CartUnreachable.retriable True.", "test_script")
        _expect_error(rig, "test_script against a certificate no CA vouches for", CartTLSError,
                      check(dataclasses.replace(rig.cart, ca_bundle=None)), "test_script",
                      "verify TLS with the system trust store plus cart.ca_bundle (never verify=False), and "
                      "turn certificate failures into seconnect.errors.CartTLSError.")
        set_fault = getattr(rig.remote, "set_fault", None)
        if not callable(set_fault):
            pytest.skip("the test cart has no set_fault(kind): HTTP 500/503 were not checked")
        for kind, status in FAULTS.items():
            set_fault(kind)
            try:
                exc = _expect_error(rig, f"test_script while the cart answers HTTP {status}", CartHTTPError,
                                    check(rig.cart), "test_script",
                                    "raise seconnect.errors.CartHTTPError(message, status=<the HTTP status>) for "
                                    "HTTP error answers (retriable is set from the status).")
            finally:
                set_fault(None)
            if exc.status != status or not exc.retriable:
                rig.problem(f"HTTP {status} was reported as CartHTTPError status={exc.status}, "
                            f"retriable={exc.retriable}.", "pass the answer's real status to CartHTTPError.",
                            "test_script")
        rig.answer("test_script", None, check_credentials=True)  # the cart is healthy again


def _resolve(cls: type, plugins: Plugins) -> CartType:
    if not cls.cart_type:
        pytest.fail(f"{cls.__name__}: set cart_type to the id of the cart type under test.", pytrace=False)
    try:
        return plugins.resolve_type(cls.cart_type)
    except UsageError as exc:
        hint = exc.hint
    broken = "".join(f"\n  broken plugin: {b.message()}" for b in plugins.broken)
    pytest.fail(f"cart type {cls.cart_type!r} is not installed: {hint}{broken}\nFix: install the plugin "
                f"(`pip install -e .`) so it is registered under the {ENTRY_POINT_GROUP!r} entry-point group, "
                "or pass it in extra_plugins.", pytrace=False)


def _default_factory(plugins: Plugins, cart_type: CartType, owner: str) -> Callable[[Path], Any]:
    from ..seti.plugin import SetiPlugin

    if not isinstance(plugins.pm.get_plugin(owner), SetiPlugin):
        pytest.fail(f"cart type {cart_type.id!r} does not speak SETI, so the kit has no cart for it.\nFix: set "
                    "cart_factory to a callable taking a directory and returning a context manager that yields "
                    "your test cart (see CartUnderTest).", pytrace=False)
    return SandboxCart.factory("interspire" if cart_type.id == "Interspire" else "generic")


def _attempt(rig: Rig, capability: Capability) -> None:
    """What a merchant would run for ``capability`` (a job, or the hook call core makes)."""
    from ..jobs import import_customers, import_orders, import_products, inventory

    store, plugins, cart = rig.store, rig.plugins, rig.cart
    jobs = {C.IMPORT_ORDERS: import_orders.import_orders, C.IMPORT_PRODUCTS: import_products.import_products,
            C.IMPORT_CUSTOMERS: import_customers.import_customers, C.INVENTORY_GET: inventory.inventory_get,
            C.INVENTORY_SEND: inventory.inventory_send}
    if capability in jobs:
        jobs[capability](store, plugins, cart)
    elif capability is C.INVENTORY_REALTIME:
        plugins.call("sync_inventory", cart, capability, action=InventoryAction.ADJUST, items=[(NO_SUCH_SKU, 1)])
    else:
        plugins.call("update_order_status", cart, capability, update=StatusUpdate(NO_SUCH_ORDER, "Shipped"))


def _check_orders_stored(rig: Rig, imp: _Import, first: dict[str, Any]) -> None:
    expected = rig.need("order_numbers", "that every order is stored")()
    o = tables.orders
    stored = [r.number for r in rig.rows(sa.select(o.c.number).where(o.c.cart_id == rig.cart.id))]
    if sorted(stored) != sorted(expected):
        rig.problem(f"the import stored {len(stored)} orders; the cart holds {len(expected)}.",
                    "deliver every order once, in batches whose checkpoint resumes after them.", imp.hook)
    again = imp.run_job(rig)
    if again["received"]:
        rig.problem(f"a second import received {again['received']} orders that were imported already.",
                    "given a checkpoint, deliver only orders after it (not the checkpoint's own order).", imp.hook)
    added = rig.need("add_orders", "that new orders arrive on the next import")(2)
    third = imp.run_job(rig)
    if third["new"] != len(added):
        rig.problem(f"after the cart took {len(added)} new orders ({_listed(added)}), the next import stored "
                    f"{third['new']} new ones.", "deliver orders placed after the checkpoint.", imp.hook)


def _tracked_products(rig: Rig, count: int) -> list[Any]:
    """Imported products with a local quantity and a code at the cart, one code each."""
    p, c = tables.products, tables.product_cart_codes
    rows = rig.rows(sa.select(p.c.id, p.c.sku, p.c.qoh, c.c.code).join(c, c.c.product_id == p.c.id)
                    .where(c.c.cart_id == rig.cart.id, p.c.qoh.is_not(None), p.c.qoh > 0).order_by(p.c.id))
    codes = [r.code for r in rows]
    ids = [r.id for r in rows]
    chosen = [r for r in rows if codes.count(r.code) == 1 and ids.count(r.id) == 1
              and rig.remote.qoh(r.code) is not None][:count]
    if not chosen:
        pytest.fail("after the product import no product has stock and a code of its own at the cart; the kit "
                    "needs the test cart to hold tracked products.")
    return chosen


def _set_status(rig: Rig, number: str, label: str) -> Any:
    from ..status import set_status

    with rig.store.begin() as conn:
        return set_status(conn, rig.plugins, rig.cart.name, number, label,
                          packages=(Package("1ZKIT0001", "UPS"),), note="conformance kit")
