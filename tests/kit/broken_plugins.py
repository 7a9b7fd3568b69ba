"""Deliberately broken cart plugins, each run through the conformance kit by test_broken_plugins.

Not collected on its own (the name does not start with ``test_``): every suite here is expected
to fail somewhere. Each plugin is the generic SETI plugin with one mistake a plugin author could
make, under a cart type id of its own, so the kit's default SETI cart (the generic sandbox)
serves it. ``TestHealthy`` is the same plugin without a mistake: it must pass every check the
broken ones fail, which proves each failure comes from the mistake.
"""

from __future__ import annotations

import dataclasses

import httpx

from seconnect import Capabilities, Capability, InventoryAction, OrderBatch, StatusResult, hookimpl
from seconnect.errors import CartAuthError, CartHTTPError, CartRejected
from seconnect.http import RetryPolicy
from seconnect.seti.client import SetiClient
from seconnect.seti.plugin import SetiPlugin
from seconnect.testing.conformance import CartTypeSuite
from seconnect_generic import CART_TYPE as GENERIC


def suite(name: str, plugin_class: type[SetiPlugin] = SetiPlugin, **type_changes) -> type[CartTypeSuite]:
    """A kit suite for ``plugin_class`` serving a copy of the Generic cart type named ``name``."""
    cart_type = dataclasses.replace(GENERIC, id=name, aliases=(), **type_changes)
    return type(f"Test{name}", (CartTypeSuite,), {
        "cart_type": name, "extra_plugins": [(name.lower(), plugin_class(cart_type))], "__module__": __name__})


class AnswersNothingToSend(SetiPlugin):
    """Declares inventory-send but answers nothing for it."""

    @hookimpl
    def sync_inventory(self, cart, action, items):
        if self._mine(cart) and action == InventoryAction.SEND:
            return None
        return super().sync_inventory(cart, action, items)


class NumberlessOrders(SetiPlugin):
    """Emits orders without their number."""

    @hookimpl
    def import_orders(self, cart, checkpoint, batch_size, since):
        batches = super().import_orders(cart, checkpoint, batch_size, since)
        if batches is None:
            return None
        return (OrderBatch([{k: v for k, v in r.items() if k != "number"} for r in b.records], b.checkpoint)
                for b in batches)


class OverlappingPages(SetiPlugin):
    """Starts every batch with the previous batch's last order again."""

    @hookimpl
    def import_orders(self, cart, checkpoint, batch_size, since):
        batches = super().import_orders(cart, checkpoint, batch_size, since)
        return None if batches is None else self._overlap(batches)

    @staticmethod
    def _overlap(batches):
        last = []
        for batch in batches:
            yield OrderBatch(last + batch.records, batch.checkpoint)
            last = batch.records[-1:]


class StopsAfterOnePage(SetiPlugin):
    """Takes a short first page for the end of the list."""

    @hookimpl
    def import_orders(self, cart, checkpoint, batch_size, since):
        batches = super().import_orders(cart, checkpoint, batch_size, since)
        return None if batches is None else iter(list(batches)[:1])


class InclusiveCheckpoint(SetiPlugin):
    """Resumes *at* the checkpoint's order instead of after it."""

    @hookimpl
    def import_orders(self, cart, checkpoint, batch_size, since):
        return super().import_orders(cart, str(int(checkpoint) - 1) if checkpoint else None, batch_size, since)


class AnswersForEveryType(SetiPlugin):
    """Forgets to return None for carts of other types."""

    def _mine(self, cart):
        return True


class AuthAsRejection(SetiPlugin):
    """Reports rejected credentials as a plain rejection."""

    @hookimpl
    def test_script(self, cart, check_credentials):
        try:
            return super().test_script(cart, check_credentials)
        except CartAuthError as exc:
            raise CartRejected(exc.message) from exc


class FaultsAsBugs(SetiPlugin):
    """Lets an HTTP error escape as a bare exception."""

    @hookimpl
    def test_script(self, cart, check_credentials):
        try:
            return super().test_script(cart, check_credentials)
        except CartHTTPError as exc:
            raise RuntimeError("the server said no") from exc


class NoTLSVerification(SetiPlugin):
    """Talks to the cart without verifying its certificate."""

    @hookimpl
    def test_script(self, cart, check_credentials):
        if not self._mine(cart):
            return None
        with SetiClient.for_cart(cart, retry=RetryPolicy.never(),
                                 transport=httpx.HTTPTransport(verify=False)) as client:
            return client.send_version()


class AcceptsEveryStatus(SetiPlugin):
    """Reports status updates as accepted without asking the cart."""

    @hookimpl
    def update_order_status(self, cart, update):
        return StatusResult(accepted=True) if self._mine(cart) else None


class ResultsForFirstItemOnly(SetiPlugin):
    """Answers a multi-SKU send with one result."""

    @hookimpl
    def sync_inventory(self, cart, action, items):
        answer = super().sync_inventory(cart, action, items)
        return answer[:1] if isinstance(answer, list) else answer


class EmptyVersion(SetiPlugin):
    """Answers Test Script URL with an empty version."""

    @hookimpl
    def test_script(self, cart, check_credentials):
        return "" if self._mine(cart) else None


class NoCustomerHook(SetiPlugin):
    """Declares customer import without implementing it."""

    import_customers = None


_NO_LEVELS = Capabilities({c: "supported" for c in Capability})

TestHealthy = suite("KitHealthy")
TestAnswersNothingToSend = suite("KitNoSend", AnswersNothingToSend)
TestNumberlessOrders = suite("KitNumberless", NumberlessOrders)
TestOverlappingPages = suite("KitOverlap", OverlappingPages)
TestStopsAfterOnePage = suite("KitOnePage", StopsAfterOnePage)
TestInclusiveCheckpoint = suite("KitInclusive", InclusiveCheckpoint)
TestAnswersForEveryType = suite("KitGreedy", AnswersForEveryType)
TestAuthAsRejection = suite("KitAuth", AuthAsRejection)
TestFaultsAsBugs = suite("KitFaults", FaultsAsBugs)
TestNoTLSVerification = suite("KitNoTLS", NoTLSVerification)
TestAcceptsEveryStatus = suite("KitAccepts", AcceptsEveryStatus)
TestResultsForFirstItemOnly = suite("KitOneResult", ResultsForFirstItemOnly)
TestEmptyVersion = suite("KitNoVersion", EmptyVersion)
TestNoCustomerHook = suite("KitNoCustomers", NoCustomerHook)
TestNoRealtimeLevels = suite("KitNoLevels", capabilities=_NO_LEVELS)
