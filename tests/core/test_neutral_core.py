"""Core is cart-type neutral: cart types declare their own parameters and inventory levels,
outbox deliverers are registered explicitly, and SETI/Interspire rules live in their plugins."""

from __future__ import annotations

import inspect
import json
import re
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from seconnect import Capability, InventoryLevel, Param, hookimpl
from seconnect.cli import build_cli
from seconnect.errors import PluginError
from seconnect.inventory import record_sales
from seconnect.outbox import OutboxKinds, Outcome, Policy, Worker, enqueue
from seconnect.plugins import load_plugins
from seconnect.seti import SETI_PARAMS
from seconnect.store import tables

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "seconnect-examplecart"
A, P = InventoryLevel.ATTRIBUTE, InventoryLevel.PRODUCT


@pytest.fixture
def example_plugins(monkeypatch):
    """The built-in plugins and the example plugin (from its folder: it is not installed here)."""
    monkeypatch.syspath_prepend(str(EXAMPLE))
    try:
        from seconnect_examplecart import plugin
    finally:
        for name in [m for m in sys.modules if m.partition(".")[0] == "seconnect_examplecart"]:
            del sys.modules[name]
    return load_plugins(extra=[("examplecart", plugin)])


def _cli(plugins, *args, input=None):
    result = CliRunner().invoke(build_cli(plugins), list(args), input=input)
    return result.exit_code, result.output


# -- declared parameters ------------------------------------------------------------------------

def test_hook_seconnect_cart_params(example_plugins):
    plugins = example_plugins
    # the SETI parameters belong to the SETI types, and to no other; the REST type has its own
    assert {n: p.cart_types for n, p in plugins.params.items() if p.cart_types} == {
        **dict.fromkeys(SETI_PARAMS, ("Generic", "Interspire")), "BigCommerceStatusMap": ("BigCommerce",)}
    for seti_type in ("Generic", "interspire"):
        assert set(SETI_PARAMS) <= set(plugins.params_for(seti_type))
    offered = plugins.params_for("ExampleCart")
    assert offered and not set(offered) & set(SETI_PARAMS)
    assert all(not p.cart_types for p in offered.values())  # core's own only


def test_a_plugin_cannot_redeclare_a_core_parameter_or_declare_for_an_unknown_type(caplog):
    class Greedy:
        @hookimpl
        def seconnect_cart_params(self):
            return {"Generic": [Param("SynchQOH", "text", "", "cart", "mine now"),
                                Param("GenericColour", "text", "red", "cart", "ok")],
                    "NoSuchType": [Param("Orphan", "bool", False, "cart", "nobody's")]}

    plugins = load_plugins(extra=[("greedy", Greedy())])
    assert plugins.params["SynchQOH"].kind == "bool" and not plugins.params["SynchQOH"].cart_types
    assert plugins.params["GenericColour"].cart_types == ("Generic",)
    assert "Orphan" not in plugins.params
    assert "declares it differently" in caplog.text and "NoSuchType" in caplog.text


def test_the_example_cart_is_offered_no_seti_parameter(example_plugins):
    plugins = example_plugins
    code, out = _cli(plugins, "carts", "add", "Ex", "--type", "ExampleCart", "--user", "u",
                     "--script-url", "127.0.0.1:9/api", "--password-stdin", input="p\n")
    assert code == 0, out
    code, out = _cli(plugins, "carts", "add", "Gen", "--type", "Generic", "--user", "u",
                     "--script-url", "127.0.0.1:9/seti.php", "--password-stdin", input="p\n")
    assert code == 0, out

    listed = {r["name"]: r for r in json.loads(_cli(plugins, "params", "list", "--cart", "Ex", "--json")[1])}
    assert "SynchQOH" in listed and not set(listed) & set(SETI_PARAMS)
    shown = json.loads(_cli(plugins, "carts", "show", "Ex", "--json")[1])
    assert "SynchQOH" in shown["params"] and not set(shown["params"]) & set(SETI_PARAMS)

    code, out = _cli(plugins, "params", "set", "GenericStatusSendXML", "TRUE", "--cart", "Ex")
    assert code == 2 and "GenericStatusSendXML is a parameter of cart type Generic and Interspire" in out
    assert "does not apply to cart 'Ex' (type ExampleCart)" in out and "Traceback" not in out

    # a SETI cart has them, and the global listing names whose they are
    assert set(SETI_PARAMS) <= set(json.loads(_cli(plugins, "carts", "show", "Gen", "--json")[1])["params"])
    everything = {r["name"]: r for r in json.loads(_cli(plugins, "params", "list", "--json")[1])}
    assert everything["GenericStatusSendXML"]["cart_types"] == ["Generic", "Interspire"]
    assert everything["SynchQOH"]["cart_types"] == []
    assert "Generic, Interspire" in _cli(plugins, "params", "list")[1]
    code, out = _cli(plugins, "params", "set", "GenericStatusSendXML", "TRUE", "--cart", "Gen")
    assert code == 0 and "GenericStatusSendXML = TRUE for cart 'Gen'" in out
    assert _cli(plugins, "params", "get", "GenericStatusSendXML", "--cart", "Gen")[1].strip() == "TRUE"


def test_a_type_reads_its_own_stored_parameters_typed(store, plugins):
    """Stored text of a type's parameter reaches its plugin, which types it with Param.of."""
    from seconnect import carts, params

    with store.begin() as conn:
        carts.add_cart(conn, plugins, name="Isc", cart_type="Interspire", user="u", password="p",
                       script_url="127.0.0.1:9/gw.php")
        cart = carts.get_cart(conn, "Isc")
        assert not plugins.capabilities_for(cart).supports(Capability.STATUS_UPDATES)
        params.set_value(conn, "UseGenericStatusUpdates", "FALSE", cart.id, plugins.params_for("Interspire"))
        cart = carts.get_cart(conn, "Isc")
        assert not plugins.capabilities_for(cart).supports(Capability.STATUS_UPDATES)  # "FALSE" is not truthy text
        params.set_value(conn, "UseGenericStatusUpdates", "yes", cart.id, plugins.params_for("Interspire"))
        cart = carts.get_cart(conn, "Isc")
    assert cart.params["UseGenericStatusUpdates"] == "TRUE"  # a type's own: stored text
    assert SETI_PARAMS["UseGenericStatusUpdates"].of(cart) is True
    assert plugins.capabilities_for(cart).supports(Capability.STATUS_UPDATES)


# -- inventory levels -----------------------------------------------------------------------------

def test_hook_inventory_levels(example_plugins):
    from seconnect import CartDefinition, Secret

    def cart(type_):
        return CartDefinition(name="c", type=type_, user="u", password=Secret(""), script_url="h/x")

    codes = [("Bell [VARID:10]", "8"), ("BELL-RED", "8-10"), ("LNT-100", "1")]
    assert example_plugins.inventory_levels(cart("Interspire"), codes) == [A, A, P]
    assert example_plugins.inventory_levels(cart("Generic"), codes) == [P, A, P]
    assert example_plugins.inventory_levels(cart("ExampleCart"), codes) == [P, P, P]  # says nothing

    class Miscounts:
        @hookimpl(tryfirst=True)
        def inventory_levels(self, cart, codes):
            return [A]

    plugins = load_plugins(extra=[("miscounts", Miscounts())])
    with pytest.raises(PluginError, match="1 levels for 3 codes"):
        plugins.inventory_levels(cart("Generic"), codes)


def test_no_interspire_rule_in_core_outside_the_sandbox():
    """The sandbox imitates Interspire, so it may; a stored column comment (``comment=``, part of
    migration 0001's schema) only names an example."""
    core = ROOT / "core" / "seconnect"
    found = [f"{p.relative_to(core)}:{n}" for p in core.rglob("*.py") if "sandbox" not in p.relative_to(core).parts
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if "VARID" in line.upper() and "comment=" not in line]
    assert not found, f"Interspire's [VARID:n] rules belong in its plugin: {found}"


# -- explicit wiring -------------------------------------------------------------------------------

def test_no_global_plugin_manager_fallback():
    assert inspect.signature(record_sales).parameters["plugins"].default is inspect.Parameter.empty
    core = ROOT / "core" / "seconnect"
    callers = sorted(str(p.relative_to(core)) for p in core.rglob("*.py")
                     if "load_plugins()" in p.read_text(encoding="utf-8"))
    # only entry points build a plugin manager: the CLI, the dashboard's app when it runs on its
    # own (`serve` passes its own), and the test kits that stand in for them
    assert callers == ["cli/__init__.py", "testing/fault_matrix.py", "web/app.py"]


def _row(store, cart_id, kind, key="k1"):
    with store.begin() as conn:
        enqueue(conn, [{"cart_id": cart_id, "kind": kind, "key": key, "payload": {"n": 1}}])


def _states(store):
    with store.begin() as conn:
        return {r.kind: (r.state, r.last_error) for r in conn.execute(sa.select(tables.outbox))}


def test_hook_register_outbox_kinds(store):
    delivered = []

    class Pinger:
        @hookimpl
        def register_outbox_kinds(self, kinds):
            kinds.register("ping", lambda ctx, cart, groups: delivered.extend(g.key for g in groups)
                           or [Outcome.sent()] * len(groups))

    plugins = load_plugins(extra=[("pinger", Pinger())])
    assert {"inventory", "inventory-check", "status", "ping"} == set(plugins.outbox_kinds.names())
    from seconnect import carts

    with store.begin() as conn:
        carts.add_cart(conn, plugins, name="Shop", cart_type="Generic", user="u", password="p",
                       script_url="127.0.0.1:9/seti.php")
        cart_id = carts.get_cart(conn, "Shop").id
    _row(store, cart_id, "ping")
    _row(store, cart_id, "mystery")
    Worker(store, plugins, policy=Policy(backoff_base=0.01)).cycle()
    assert delivered == ["k1"]
    states = _states(store)
    assert states["ping"][0] == "sent"
    state, error = states["mystery"]
    assert state == "parked" and "no deliverer for outbox kind 'mystery'" in error
    assert "Install or enable that plugin" in error


def test_a_kind_registered_twice_is_an_error():
    kinds = OutboxKinds()
    kinds.register("x", lambda ctx, cart, groups: [])
    with pytest.raises(PluginError, match="registered twice"):
        kinds.register("x", lambda ctx, cart, groups: [])


# -- the jobs a plugin command may run ----------------------------------------------------------------

def test_plugin_commands_run_jobs_through_public_api(gen, tmp_path, monkeypatch):
    import subprocess

    import click

    import seconnect
    from seconnect.cli import App, pass_app

    assert "seconnect.run" in seconnect.PUBLIC_MODULES
    loaded = subprocess.run([sys.executable, "-c", "import sys, seconnect, seconnect.run; "
                             "print('sqlalchemy' in sys.modules)"], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "False"  # importing it at plugin load costs no store layer

    class Sync:
        @hookimpl
        def register_commands(self, cli):
            @cli.command("shop-sync")
            @click.argument("cart_name")
            @pass_app
            def sync(app: App, cart_name):
                from seconnect import run

                summary = run.import_customers(app.store, app.plugins, app.cart(cart_name))
                click.echo(f"customers: {summary['received']}")

    monkeypatch.setenv("SECONNECT_DB", f"sqlite:///{tmp_path / 'store.db'}")
    plugins = load_plugins(extra=[("sync", Sync())])
    code, out = _cli(plugins, "carts", "add", "Shop", "--type", "Generic", "--user", gen.user, "--script-url",
                     gen.script_url, "--ca-bundle", gen.ca_file, "--password-stdin", input=gen.password + "\n")
    assert code == 0, out
    code, out = _cli(plugins, "shop-sync", "Shop")
    assert code == 0 and re.fullmatch(r"customers: [1-9][0-9]*", out.strip()), out
    runs = json.loads(_cli(plugins, "runs", "--json")[1])["runs"]
    assert any(r["job"] == "import-customers" and r["status"] == "ok" for r in runs), runs
