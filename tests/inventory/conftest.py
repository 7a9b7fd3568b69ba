"""Fixtures for the inventory tests: 12-product sandboxes (``isc``/``gen`` and ``plugins`` come from
tests/conftest.py), and quick cart retries for every test here."""

from __future__ import annotations

import pytest

from seconnect.sandbox import Sandbox


@pytest.fixture(autouse=True)
def fast_retries(fast_retries: None) -> None:
    """Every inventory test gets tests/conftest.py's ``fast_retries`` (not autouse there)."""


@pytest.fixture
def sandbox_options() -> dict:
    """``isc``/``gen`` here: 12 products, no orders or customers."""
    return {"products": 12, "orders": 0, "customers": 0, "seed": 3}


@pytest.fixture(params=["interspire", "generic"])
def sandbox(request: pytest.FixtureRequest) -> Sandbox:
    """Each profile in turn (``isc``, then ``gen``)."""
    return request.getfixturevalue({"interspire": "isc", "generic": "gen"}[request.param])
