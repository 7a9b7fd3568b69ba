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
            abandoned = conn.execute(sa.text("SELECT count(*) FROM runs WHERE status = 'abandoned'")).scalar_one()
        engine.dispose()
        expected = sb.downloadable_order_numbers()
        assert sorted(numbers, key=int) == expected  # nothing lost, nothing twice
        assert lines == sum(len(o["lines"]) for o in sb.orders() if o["number"] in set(expected))
        # killed runs are stored as abandoned by the next run (a kill can also land after a run finished)
        assert running == 0 and 1 <= abandoned <= killed


@pytest.mark.slow
def test_realtime_worker_killed_at_random_points(sqlite_url, tmp_path):
    from seconnect import carts, params
    from seconnect.inventory import QuantityChange, apply_changes
    from seconnect.jobs.import_products import import_products
    from seconnect.plugins import load_plugins
    from seconnect.store import open_store, tables

    rng = random.Random(1129)
    plugins = load_plugins()
    with Sandbox("generic", orders=5, products=30, customers=5, seed=32, latency_ms=60,
                 state_dir=tmp_path / "cart") as sb:
        store = open_store(sqlite_url)
        with store.begin() as conn:
            carts.add_cart(conn, plugins, name="Shop", cart_type="Generic", user=sb.user, password=sb.password,
                           script_url=sb.script_url, ca_bundle=sb.ca_file)
            params.set_value(conn, "SynchQOH", "TRUE", carts.get_cart(conn, "Shop").id)
            cart = carts.get_cart(conn, "Shop")
        import_products(store, plugins, cart, attributes="sub-skus")
        with store.begin() as conn:
            ids = conn.execute(sa.select(tables.products.c.id).where(tables.products.c.qoh >= 50)).scalars().all()
        assert len(ids) >= 5

        def sending() -> int:
            with store.begin() as conn:
                return conn.execute(sa.select(sa.func.count()).select_from(tables.outbox)
                                    .where(tables.outbox.c.state == "sending")).scalar_one()

        killed = 0
        for _ in range(TRIALS):
            with store.begin() as conn:
                apply_changes(conn, plugins, [QuantityChange(product_id=rng.choice(ids), delta=-rng.randint(1, 3))
                                              for _ in range(rng.randint(3, 12))], source="crash trial")
            worker = _cli(sqlite_url, "run", "realtime", "--follow", "--lease", "1")
            deadline = time.monotonic() + 30
            while sending() == 0 and worker.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.3))
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=30)
            killed += 1
        time.sleep(1.2)  # past the lease: the dead workers' rows are free again
        final = _cli(sqlite_url, "run", "realtime", "--once", "--lease", "1")
        out, err = final.communicate(timeout=300)
        assert final.returncode == 0, err
        with store.begin() as conn:
            states = conn.execute(sa.select(tables.outbox.c.state, sa.func.count())
                                  .group_by(tables.outbox.c.state)).all()
            local = conn.execute(sa.select(tables.product_cart_codes.c.code, tables.products.c.qoh)
                                 .join(tables.products, tables.products.c.id == tables.product_cart_codes.c.product_id)
                                 .where(tables.products.c.id.in_(ids))).all()
        store.close()
        assert dict(states).keys() == {"sent"}, states  # every queued change delivered
        assert killed == TRIALS
        # exactly once in effect: absolute quantities, so the cart equals the store file
        assert [(code, sb.qoh(code)) for code, _ in local] == [(code, qoh) for code, qoh in local]
