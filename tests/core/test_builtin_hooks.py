"""The built-in SETI plugins' hook implementations against the sandbox cart (real HTTPS)."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

import seconnect_schemas
from seconnect import (
    CartDefinition,
    InventoryAction,
    InventoryOutcome,
    Package,
    Secret,
    StatusUpdate,
    hookimpl,
)
from seconnect.cli import build_cli
from seconnect.errors import CartRejected
from seconnect.plugins import load_plugins
from seconnect.sandbox import Sandbox


def _cart(sb: Sandbox, **params) -> CartDefinition:
    return CartDefinition(name="Shop", type="Interspire" if sb.profile.name == "interspire" else "Generic",
                          user=sb.user, password=Secret(sb.password), script_url=sb.script_url,
                          ca_bundle=sb.ca_file, params={"DownloadBatchSize": 4, "MaxConcurrentRequests": 2, **params})


@pytest.fixture(params=["interspire", "generic"])
def sb(request, tmp_path):
    with Sandbox(request.param, orders=12, products=10, customers=14, seed=3, state_dir=tmp_path / "c") as sandbox:
        yield sandbox


@pytest.fixture
def plugins():
    return load_plugins()


def test_hook_import_products_pages_and_marks_variations(sb, plugins):
    pages = list(plugins.hook.import_products(cart=_cart(sb), batch_size=4))
    records = [r for page in pages for r in page]
    # Interspire exports one record per combination and none for their parent; the generic
    # script exports the parent too.
    per_parent = 0 if sb.profile.name == "interspire" else 1
    expected = sum(len(p["variations"]) + per_parent if p["variations"] else 1 for p in sb.products())
    assert len(records) == expected
    assert all(seconnect_schemas.is_valid("product", r) for r in records)
    variations = [r for r in records if r.get("variation")]
    assert variations, "the sandbox catalogue has products with variations"
    if sb.profile.name == "interspire":
        assert len(pages) == 1  # no stable product order at this cart: one request for all
        assert all("-" in r["web_id"] for r in variations)


def test_hook_import_customers_gets_every_customer(sb, plugins):
    pages = list(plugins.hook.import_customers(cart=_cart(sb), batch_size=4))
    records = [r for page in pages for r in page]
    # Interspire's paging stops after one batch (seti-protocol 6.6-7); the plugin asks for all at once.
    assert len(records) == len(sb.customers())
    assert len({r["web_id"] for r in records}) == len(records)
    assert all(seconnect_schemas.is_valid("customer", r) for r in records)


def test_hook_sync_inventory_get_send_adjust(sb, plugins):
    cart = _cart(sb)
    rows = [row for page in plugins.hook.sync_inventory(cart=cart, action=InventoryAction.GET, items=[])
            for row in page]
    tracked = [r for r in rows if r.qoh is not None and "[VARID" not in r.code]
    assert tracked
    code = tracked[0].code
    results = plugins.hook.sync_inventory(cart=cart, action=InventoryAction.SEND, items=[(code, 77)])
    expected = InventoryOutcome.UNVERIFIED if sb.profile.name == "interspire" else InventoryOutcome.OK
    assert [r.outcome for r in results] == [expected]
    assert sb.qoh(code) == 77
    adjusted = plugins.hook.sync_inventory(cart=cart, action=InventoryAction.ADJUST, items=[(code, -2)])
    assert adjusted[0].outcome in (InventoryOutcome.OK, InventoryOutcome.UNVERIFIED)
    assert sb.qoh(code) == 75
    missing = plugins.hook.sync_inventory(cart=cart, action=InventoryAction.SEND, items=[("NO-SUCH-SKU", 1)])
    if sb.profile.name == "generic":
        assert missing[0].outcome is InventoryOutcome.NOT_FOUND


def test_hook_update_order_status_form_and_xml(sb, plugins):
    number = sb.downloadable_order_numbers()[0]
    update = StatusUpdate(number, "Shipped", ref_number="SE-1", note="Shipped complete",
                          packages=(Package("1Z001", "UPS", "3/15/2011"), Package("1Z002", "UPS")))
    if sb.profile.name == "interspire":
        # the real module has no updatestatus: its SETIError answer is a rejection, never "sent"
        with pytest.raises(CartRejected, match="error in the transmission"):
            plugins.hook.update_order_status(cart=_cart(sb, UseGenericStatusUpdates=True), update=update)
        return
    result = plugins.hook.update_order_status(cart=_cart(sb), update=update)
    assert result.accepted
    xml = plugins.hook.update_order_status(cart=_cart(sb, GenericStatusSendXML=True), update=update)
    assert xml.accepted
    # What the cart stored, read back exactly: both packages, in order, each with its own carrier
    # and date. The form numbers two packages tracknum1/2 … (§5.2), and the sandbox reads several
    # packages back only that way; the XML sends one <Package> each (the form has no ship method).
    tracking = [{"number": "1Z001", "carrier": "UPS", "pickup_date": "3/15/2011", "method": ""},
                {"number": "1Z002", "carrier": "UPS", "pickup_date": "", "method": ""}]
    assert sb.status_updates() == [
        {"order": number, "status": "Shipped", "refnumber": "SE-1", "notes": "Shipped complete",
         "tracking": tracking, "variant": variant, "ok": True}
        for variant in ("form", "xml")]
    unknown = plugins.hook.update_order_status(cart=_cart(sb), update=StatusUpdate("999999", "Shipped"))
    assert not unknown.accepted and "could not be found" in unknown.notes


def test_hook_register_commands_adds_plugin_commands():
    class Extra:
        @hookimpl
        def register_commands(self, cli):
            @cli.command("hello")
            def hello():
                """Say hello."""
                click.echo("hello from a plugin")

    plugins = load_plugins(extra=[("extra", Extra())])
    result = CliRunner().invoke(build_cli(plugins), ["hello"])
    assert result.exit_code == 0 and "hello from a plugin" in result.output
    assert "hello" in CliRunner().invoke(build_cli(plugins), ["--help"]).output
