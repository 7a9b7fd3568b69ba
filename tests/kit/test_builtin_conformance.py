"""Both built-in plugins pass the conformance kit, each against its own sandbox profile."""

from contextlib import contextmanager
from pathlib import Path

import pytest

from seconnect.sandbox import Sandbox
from seconnect.testing.conformance import CartTypeSuite


class TestGenericConformance(CartTypeSuite):
    cart_type = "Generic"


class TestInterspireConformance(CartTypeSuite):
    cart_type = "Interspire"


class BigCommerceSandboxCart:
    """``Sandbox("bigcommerce")`` seen as the kit's CartUnderTest for the REST type."""

    LABELS = {2: "Shipped", 5: "Cancelled", 11: "Order Received"}  # the type's default status map, inverted

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.settings = {"store_hash": sandbox.store_hash, "api_base": sandbox.api_base}
        self.secrets = {"access_token": sandbox.password}
        self.ca_file = sandbox.ca_file
        # The REST profile keeps no log of status changes: record each change the cart applies
        # (a shipment that ships every item makes the order Shipped by itself, as at BigCommerce).
        self._updates: list[tuple[str, str]] = []
        profile = sandbox._rest()
        apply = profile.set_status

        def recording(order_id: int, status_id: int) -> bool:
            before = next((o["status_id"] for o in sandbox.orders() if o["id"] == order_id), None)
            if before != status_id:
                self._updates.append((str(order_id), self.LABELS.get(status_id, str(status_id))))
            return apply(order_id, status_id)
        profile.set_status = recording

    @classmethod
    @contextmanager
    def running(cls, directory: Path):
        with Sandbox("bigcommerce", state_dir=directory, orders=12, products=6, customers=5) as sandbox:
            yield cls(sandbox)

    def order_numbers(self) -> list[str]:
        # every order but abandoned checkouts (status 0), archived ones too, by date modified
        return [o["number"] for o in self.sandbox.orders() if o["status_id"] != 0]

    def add_orders(self, count: int) -> list[str]:
        return self.sandbox.add_orders(count)

    def product_count(self) -> int:
        # one record per product with a SKU, plus one per variant (the sandbox's variants have SKUs)
        return sum(1 + len(p["variations"]) for p in self.sandbox.products() if p["sku"])

    def customer_ids(self) -> list[str]:
        return [str(c["id"]) for c in self.sandbox.customers()]

    def qoh(self, code: str) -> int | None:
        return self.sandbox.qoh(code)

    def status_updates(self) -> list[tuple[str, str]]:
        return list(self._updates)

    def set_fault(self, kind: str | None) -> None:
        self.sandbox.set_faults(kind)


class TestBigCommerceConformance(CartTypeSuite):
    """The REST type's orders are incremental by date modified with a 5-minute overlap (issue 15):
    a checkpoint re-delivers the orders changed near it, and orders come by date modified, not by
    number. The kit's three checks of number checkpoints do not apply to orders; the rest do."""

    cart_type = "BigCommerce"
    cart_factory = BigCommerceSandboxCart.running
    NUMBER_CHECKPOINTS = "orders are incremental by date modified with an overlap, not by order number"

    @pytest.mark.parametrize("kind", ["orders", "products", "customers"])
    def test_import_pages_without_gaps_or_repeats(self, rig, kind):
        if kind == "orders":
            pytest.skip(self.NUMBER_CHECKPOINTS)
        super().test_import_pages_without_gaps_or_repeats(rig, kind)

    def test_import_orders_resumes_from_every_checkpoint(self, rig):
        pytest.skip(self.NUMBER_CHECKPOINTS)

    @pytest.mark.parametrize("kind", ["orders", "products", "customers"])
    def test_import_jobs_are_idempotent(self, rig, kind):
        if kind == "orders":
            pytest.skip(self.NUMBER_CHECKPOINTS)
        super().test_import_jobs_are_idempotent(rig, kind)
