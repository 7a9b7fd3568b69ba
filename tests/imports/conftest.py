from __future__ import annotations

import pytest

from seconnect.plugins import load_plugins
from seconnect.sandbox import Sandbox


@pytest.fixture
def plugins():
    return load_plugins()


@pytest.fixture(params=["interspire", "generic"])
def sandbox(request, tmp_path):
    with Sandbox(request.param, orders=60, products=15, customers=25, seed=11, state_dir=tmp_path / "cart") as sb:
        yield sb
