"""Fixtures for the operations tests (run history, exit codes, doctor, progress)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def fast_retries(fast_retries: None) -> None:
    """Every test here gets tests/conftest.py's ``fast_retries``: failures show at once."""


@pytest.fixture
def sandbox_options() -> dict:
    return {"products": 8, "orders": 30, "customers": 10, "seed": 5}
