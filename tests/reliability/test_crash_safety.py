"""kill -9 at seeded random moments (real subprocesses); after a rerun the store equals the cart."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from seconnect.sandbox import Sandbox

TRIALS = 20


def _cli(db_url: str, *args: str, stdin: str | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "seconnect", "--db", db_url, *args], text=True,
                            stdin=subprocess.PIPE if stdin else None, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=os.environ.copy())


@pytest.mark.slow
def test_import_killed_at_random_points(sqlite_url, tmp_path):
    rng = random.Random(20261129)
    with Sandbox("generic", orders=300, products=10, customers=40, seed=31, latency_ms=15,
                 state_dir=tmp_path / "cart") as sb:
        add = _cli(sqlite_url, "carts", "add", "Shop", "--type", "Generic", "--user", sb.user, "--script-url",
                   sb.script_url, "--ca-bundle", sb.ca_file, "--password-stdin", stdin=sb.password + "\n")
        add.communicate(sb.password + "\n", timeout=60)
        assert add.returncode == 0
        assert _cli(sqlite_url, "params", "set", "DownloadBatchSize", "10", "--cart", "Shop").wait(60) == 0
        engine = sa.create_engine(sqlite_url)

        def runs() -> int:
            with engine.connect() as conn:
                return conn.execute(sa.text("SELECT count(*) FROM runs WHERE job = 'import-orders'")).scalar_one()

        killed = 0
        for _ in range(TRIALS):
            sb.add_orders(rng.randint(1, 15))
            before = runs()
            proc = _cli(sqlite_url, "run", "import-orders", "--cart", "Shop")
            while runs() == before and proc.poll() is None:  # until the job has really started
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.8))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                killed += 1
            proc.wait(timeout=60)
        assert killed >= TRIALS // 2, "most trials should kill a running import"
        final = _cli(sqlite_url, "run", "import-orders", "--cart", "Shop")
        out, err = final.communicate(timeout=300)
        assert final.returncode == 0, err
        with engine.connect() as conn:
            numbers = conn.execute(sa.text("SELECT number FROM orders")).scalars().all()
            lines = conn.execute(sa.text("SELECT count(*) FROM order_lines")).scalar_one()
            running = conn.execute(sa.text("SELECT count(*) FROM runs WHERE status = 'running'")).scalar_one()
        engine.dispose()
        expected = sb.downloadable_order_numbers()
        assert sorted(numbers, key=int) == expected  # nothing lost, nothing twice
        assert lines == sum(len(o["lines"]) for o in sb.orders() if o["number"] in set(expected))
        # killed runs stay 'running' in the audit log (a kill can also land after the run finished)
        assert 1 <= running <= killed
