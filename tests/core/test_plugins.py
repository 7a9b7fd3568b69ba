"""Plugin discovery, the cart-type registry and capability-checked dispatch."""

from __future__ import annotations

import textwrap

import pytest

from seconnect import Capabilities, Capability, CartDefinition, CartType, Secret, hookimpl
from seconnect.errors import CapabilityError, PluginError, UsageError
from seconnect.plugins import load_plugins


def _cart(type_: str, **params) -> CartDefinition:
    return CartDefinition(name="Shop", type=type_, user="u", password=Secret("pw"),
                          script_url="127.0.0.1/x", params=params)


def write_dist(root, name: str, module_source: str, entry_name: str | None = None) -> None:
    """A minimal installed distribution on sys.path, declaring a seconnect entry point."""
    (root / f"{name}.py").write_text(textwrap.dedent(module_source))
    info = root / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[seconnect]\n{entry_name or name} = {name}\n")


def test_hook_seconnect_cart_types_builtins_registered_through_entry_points():
    plugins = load_plugins()
    types = {r.cart_type.id: r.plugin for r in plugins.cart_types()}
    assert types == {"Generic": "generic", "Interspire": "bigcommerce", "BigCommerce": "bigcommerce-rest"}
    assert plugins.resolve_type("seti").id == "Generic"
    assert plugins.resolve_type("bigcommerce").id == "BigCommerce"  # the REST API type, not an alias
    assert plugins.resolve_type(" INTERSPIRE ").id == "Interspire"
    assert plugins.broken == []


def test_unknown_type_lists_installed_types():
    with pytest.raises(UsageError) as err:
        load_plugins().resolve_type("shopify")
    assert "unknown cart type 'shopify'" in str(err.value)
    listed = err.value.hint.split("Installed cart types: ")[1].split(". See")[0].split(", ")
    assert "Interspire" in listed and "Generic (alias: seti" in listed


def test_builtin_capability_matrices_match_the_seed():
    plugins = load_plugins()
    isc = plugins.resolve_type("Interspire").capabilities
    assert isc.supports(Capability.IMPORT_ORDERS) and isc.supports(Capability.INVENTORY_SEND)
    assert not isc.supports(Capability.STATUS_UPDATES)
    assert isc.state(Capability.CUSTOM_ORDER_FIELDS).value == "unsupported"
    assert {lvl.value for lvl in isc.realtime_levels} == {"product", "attribute", "sub-sku"}
    generic = plugins.resolve_type("Generic").capabilities
    assert all(generic.supports(c) for c in Capability)


def test_status_update_refusal_names_the_parameter():
    plugins = load_plugins()
    with pytest.raises(CapabilityError) as err:
        plugins.require(_cart("Interspire"), Capability.STATUS_UPDATES)
    text = str(err.value)
    assert "cart 'Shop' (type Interspire) does not support order status updates" in text
    assert "UseGenericStatusUpdates to TRUE" in text


def test_core_refuses_before_the_plugin_is_called():
    called = []

    class Spy:
        @hookimpl
        def seconnect_cart_types(self):
            return [CartType(id="Spy", label="Spy", capabilities=Capabilities.declare(
                supported=[Capability.IMPORT_ORDERS]))]

        @hookimpl
        def update_order_status(self, cart, update):
            called.append(cart)
            return "should not happen"

    plugins = load_plugins(extra=[("spy", Spy())])
    with pytest.raises(CapabilityError) as err:
        plugins.call("update_order_status", _cart("Spy"), Capability.STATUS_UPDATES, update=None)
    assert called == []
    assert "does not say whether it supports" in str(err.value)  # unknown, not unsupported


def test_hook_capabilities_refines_per_cart():
    class Refiner:
        @hookimpl
        def seconnect_cart_types(self):
            return [CartType(id="Ref", label="Ref", capabilities=Capabilities.declare())]

        @hookimpl
        def capabilities(self, cart):
            if cart.type != "Ref":
                return None
            return Capabilities.declare(supported=[Capability.IMPORT_ORDERS] if cart.param("on") else [])

    plugins = load_plugins(extra=[("ref", Refiner())])
    assert plugins.capabilities_for(_cart("Ref", on=True)).supports(Capability.IMPORT_ORDERS)
    assert not plugins.capabilities_for(_cart("Ref")).supports(Capability.IMPORT_ORDERS)
    # the built-in types are untouched by another plugin's refinement
    assert plugins.capabilities_for(_cart("Generic")).supports(Capability.STATUS_UPDATES)


def test_declared_but_unimplemented_hook_is_a_plugin_error():
    class Lazy:
        @hookimpl
        def seconnect_cart_types(self):
            return [CartType(id="Lazy", label="Lazy", capabilities=Capabilities.declare(
                supported=[Capability.IMPORT_CUSTOMERS]))]

    plugins = load_plugins(extra=[("lazy", Lazy())])
    with pytest.raises(PluginError) as err:
        plugins.call("import_customers", _cart("Lazy"), Capability.IMPORT_CUSTOMERS, batch_size=10)
    assert "no installed plugin answered import_customers" in str(err.value)
    assert "'lazy'" in err.value.hint


def test_plugin_bug_is_reported_with_the_plugin_name():
    class Buggy:
        @hookimpl
        def seconnect_cart_types(self):
            return [CartType(id="Buggy", label="Buggy", capabilities=Capabilities.declare(
                supported=[Capability.IMPORT_PRODUCTS]))]

        @hookimpl
        def import_products(self, cart, batch_size):
            if cart.type == "Buggy":
                raise KeyError("oops")

    plugins = load_plugins(extra=[("buggy", Buggy())])
    with pytest.raises(PluginError) as err:
        plugins.call("import_products", _cart("Buggy"), Capability.IMPORT_PRODUCTS, batch_size=5)
    assert "plugin 'buggy' failed in import_products for cart 'Shop': KeyError" in str(err.value)
    assert "SECONNECT_DISABLE_PLUGINS=buggy" in err.value.hint


def test_tryfirst_plugin_overrides_another_plugins_type():
    class Override:
        @hookimpl(tryfirst=True)
        def test_script(self, cart, check_credentials):
            return "9.999" if cart.type == "Generic" else None

    plugins = load_plugins(extra=[("override", Override())])
    assert plugins.call("test_script", _cart("Generic"), None, check_credentials=False) == "9.999"


def test_plugin_raising_on_import_is_skipped_and_named(tmp_path, monkeypatch):
    write_dist(tmp_path, "exploding_cart", "raise RuntimeError('boom at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    plugins = load_plugins()
    assert [b.name for b in plugins.broken] == ["exploding_cart"]
    message = plugins.broken[0].message()
    assert "RuntimeError: boom at import" in message
    assert "SECONNECT_DISABLE_PLUGINS=exploding_cart" in message
    assert "seconnect plugins uninstall exploding_cart" in message
    # the built-ins still work
    assert plugins.resolve_type("Interspire").id == "Interspire"


def test_disable_env_blocks_named_plugins(tmp_path, monkeypatch):
    write_dist(tmp_path, "exploding_cart", "raise RuntimeError('boom')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("SECONNECT_DISABLE_PLUGINS", "exploding_cart, generic")
    plugins = load_plugins()
    assert plugins.broken == []
    assert [r.cart_type.id for r in plugins.cart_types()] == ["BigCommerce", "Interspire"]
    assert plugins.disabled == ["exploding_cart", "generic"]


def test_plugin_with_unknown_hook_is_reported(tmp_path, monkeypatch):
    write_dist(tmp_path, "typo_cart", """
        from seconnect import hookimpl

        @hookimpl
        def import_ordres(cart):
            return []
    """)
    monkeypatch.syspath_prepend(str(tmp_path))
    plugins = load_plugins()
    assert [b.name for b in plugins.broken] == ["typo_cart"]
    assert "import_ordres" in plugins.broken[0].error


def test_duplicate_cart_type_keeps_the_first(caplog):
    class Clash:
        @hookimpl
        def seconnect_cart_types(self):
            return [CartType(id="interspire", label="Impostor", capabilities=Capabilities.declare())]

    plugins = load_plugins(extra=[("clash", Clash())])
    assert plugins.resolve_type("Interspire").label.startswith("BigCommerce")
    assert "already provided" in caplog.text


def test_plugin_bug_while_iterating_batches_is_named():
    class LazyBug:
        @hookimpl
        def seconnect_cart_types(self):
            return [CartType(id="LazyBug", label="x", capabilities=Capabilities.declare(
                supported=[Capability.IMPORT_CUSTOMERS]))]

        @hookimpl
        def import_customers(self, cart, batch_size):
            if cart.type != "LazyBug":
                return None

            def pages():
                yield [{"web_id": "1"}]
                raise ZeroDivisionError("oops in page 2")
            return pages()

    plugins = load_plugins(extra=[("lazybug", LazyBug())])
    pages = plugins.call("import_customers", _cart("LazyBug"), Capability.IMPORT_CUSTOMERS, batch_size=1)
    assert next(pages) == [{"web_id": "1"}]
    with pytest.raises(PluginError, match="plugin 'lazybug' failed in import_customers for cart 'Shop': ZeroDivisionError"):
        next(pages)
