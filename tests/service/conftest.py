"""Fixtures for the service tests (schedules, `seconnect serve`, webhooks, metrics)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def fast_retries(fast_retries: None) -> None:
    """Every test here gets tests/conftest.py's ``fast_retries``: failures show at once."""


@pytest.fixture
def sandbox_options() -> dict:
    return {"products": 5, "orders": 12, "customers": 4, "seed": 3}
