"""Fixtures for the status-update tests: small sandboxes with orders (``isc``/``gen`` and ``plugins``
come from tests/conftest.py), and quick cart retries for every test here."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def fast_retries(fast_retries: None) -> None:
    """Every status test gets tests/conftest.py's ``fast_retries`` (not autouse there)."""


@pytest.fixture
def sandbox_options() -> dict:
    """``isc``/``gen`` here: 6 orders, 3 products, 3 customers."""
    return {"orders": 6, "products": 3, "customers": 3, "seed": 7}
