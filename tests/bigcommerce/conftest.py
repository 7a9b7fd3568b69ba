from __future__ import annotations

import pytest

from seconnect import CartDefinition, Secret
from seconnect.http import RetryPolicy
from seconnect_bigcommerce.rest import BigCommerceRest
from seconnect_bigcommerce.rest_client import RatePacer

from .fakeapi import HASH, TOKEN, FakeBigCommerce


@pytest.fixture
def fake() -> FakeBigCommerce:
    return FakeBigCommerce()


@pytest.fixture
def slept() -> list[float]:
    return []


@pytest.fixture
def rest(fake: FakeBigCommerce, slept: list[float]) -> BigCommerceRest:
    """The plugin talking to ``fake``; waits are recorded in ``slept``, never slept."""
    return BigCommerceRest(transport=fake.transport(), retry=RetryPolicy.no_wait(),
                           pacer=RatePacer(sleep=slept.append), sleep=slept.append)


def bc_cart(**settings) -> CartDefinition:
    return CartDefinition("shop", "BigCommerce", settings={"store_hash": HASH, "api_base": "bc.test", **settings},
                          secrets={"access_token": Secret(TOKEN)}, id=1)


@pytest.fixture
def cart() -> CartDefinition:
    return bc_cart()
