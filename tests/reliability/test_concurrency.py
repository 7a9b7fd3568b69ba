"""An import running while an inventory send runs, as two real processes, on SQLite and PostgreSQL:
both finish, nothing is duplicated, and the cart ends with what the store file says."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from seconnect.sandbox import Sandbox


def _cli(db_url: str, *args: str, stdin: str | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "seconnect", "--db", db_url, *args], text=True,
                            stdin=subprocess.PIPE if stdin else None, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=os.environ.copy())


def _ok(proc: subprocess.Popen, stdin: str | None = None) -> str:
    out, err = proc.communicate(stdin, timeout=300)
    assert proc.returncode == 0, err
    return out


@pytest.mark.slow
def test_import_during_inventory_send(db_url, tmp_path):
    with Sandbox("generic", orders=150, products=40, customers=30, seed=41, latency_ms=15,
                 state_dir=tmp_path / "cart") as sb:
        _ok(_cli(db_url, "carts", "add", "Shop", "--type", "Generic", "--user", sb.user, "--script-url",
                 sb.script_url, "--ca-bundle", sb.ca_file, "--password-stdin", stdin="x"), sb.password + "\n")
        _ok(_cli(db_url, "params", "set", "DownloadBatchSize", "10", "--cart", "Shop"))
        _ok(_cli(db_url, "run", "import-products", "--cart", "Shop", "--attributes", "sub-skus"))
        importing = _cli(db_url, "run", "import-orders", "--cart", "Shop")
        sending = _cli(db_url, "run", "inventory-send", "--cart", "Shop")
        _ok(sending)
        _ok(importing)
        # the send may have run before some sales were taken off: a second send settles the cart
        _ok(_cli(db_url, "run", "inventory-send", "--cart", "Shop"))
        engine = sa.create_engine(db_url)
        with engine.connect() as conn:
            numbers = conn.execute(sa.text("SELECT number FROM orders")).scalars().all()
            local = conn.execute(sa.text(
                "SELECT c.code, p.qoh FROM product_cart_codes c JOIN products p ON p.id = c.product_id "
                "WHERE p.qoh IS NOT NULL AND p.qoh >= 0")).all()
        engine.dispose()
        assert sorted(numbers, key=int) == sb.downloadable_order_numbers()
        assert local and all(sb.qoh(code) == qoh for code, qoh in local if sb.qoh(code) is not None)
