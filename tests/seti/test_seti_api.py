"""The public surface of seconnect.seti and seconnect_schemas: explicit, importable, documented."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import seconnect.seti as seti
import seconnect_schemas

MODULES = sorted(m.name for m in pkgutil.iter_modules(seti.__path__))


def test_package_all_is_exact_and_importable():
    assert len(seti.__all__) == len(set(seti.__all__))
    for name in seti.__all__:
        assert getattr(seti, name) is not None
    public = {n for n, v in vars(seti).items() if not n.startswith("_") and not inspect.ismodule(v)}
    assert public == set(seti.__all__)


@pytest.mark.parametrize("module_name", MODULES)
def test_every_module_declares_all_and_documents_itself(module_name):
    module = importlib.import_module(f"seconnect.seti.{module_name}")
    assert module.__doc__ and module.__doc__.strip()
    assert isinstance(module.__all__, list)
    for name in module.__all__:
        assert hasattr(module, name), f"{module_name}.{name} listed in __all__ but missing"


def test_schema_loader_all():
    for name in seconnect_schemas.__all__:
        assert hasattr(seconnect_schemas, name)


def test_client_signature_matches_the_contract():
    params = inspect.signature(seti.SetiClient.__init__).parameters
    assert list(params)[1:] == ["url", "user", "password", "store_code", "omversion", "ca_bundle", "timeout",
                                "max_reply_bytes", "retry", "transport", "http"]
    assert params["max_reply_bytes"].default == 64 * 2**20
    for method in ("send_version", "order_count", "download_orders", "product_count", "download_products",
                   "download_qoh", "customer_count", "download_customers", "qoh_replace", "inv_update",
                   "update_status", "close", "for_cart"):
        assert callable(getattr(seti.SetiClient, method))
