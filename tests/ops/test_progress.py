"""Progress: a bar with the total and an ETA on a terminal, log lines without one, and Ctrl-C
saying what was saved."""

from __future__ import annotations

import io
import logging
import os
import re
import signal
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from seconnect import carts, runs
from seconnect.cli import run as run_cli
from seconnect.jobs import import_orders as job
from seconnect.jobs.import_orders import import_orders
from seconnect.params import set_value
from seconnect.store.database import make_engine

from .helpers import add_cart, cli


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _batches_of_ten(store, cart):
    """Set the cart's batch size to 10; returns the cart as it now reads."""
    with store.begin() as conn:
        set_value(conn, "DownloadBatchSize", "10", cart.id)
        return carts.get_cart(conn, cart.name)


def test_the_bar_shows_the_total_the_cart_announced(store, plugins, gen):
    cart = _batches_of_ten(store, add_cart(store, plugins, gen))
    screen = Terminal()
    progress = run_cli.Progress("Shop: import-orders", stream=screen)
    import_orders(store, plugins, cart, progress=progress)
    progress.close()
    assert progress.total == 30 and progress.done == 30
    assert re.search(r"100%\|#+\| 30/30 \[[\d:]+<[\d:]+", screen.getvalue())  # total, and the ETA after '<'


def test_without_a_terminal_progress_goes_to_the_log(store, plugins, gen, db_url, caplog, monkeypatch):
    cart = add_cart(store, plugins, gen)
    _batches_of_ten(store, cart)
    monkeypatch.setattr(run_cli, "LOG_EVERY_S", 0.0)  # every batch, rather than every 10 s
    caplog.set_level(logging.INFO, logger="seconnect.cli.run")
    result = cli(db_url, "run", "import-orders", "--cart", "Shop")
    assert result.exit_code == 0
    lines = [r.getMessage() for r in caplog.records if r.name == "seconnect.cli.run"]
    assert lines[0].startswith("Shop: import-orders: 10 of 30 records (33%), about ")
    assert lines[-1].startswith("Shop: import-orders: 30 of 30 records (100%)")


def test_ctrl_c_right_after_a_commit_still_counts_that_batch(store, plugins, gen, monkeypatch):
    """The window the subprocess test below can only hit by chance: a real SIGINT as the batch
    has committed, before the summary has caught up. The run row must still say what the store
    holds."""
    cart = _batches_of_ten(store, add_cart(store, plugins, gen))
    checkpoints: list[str] = []
    real_set, real_begin = job.set_checkpoint, store.begin

    def set_checkpoint(conn, cart, name, value):
        checkpoints.append(value)
        real_set(conn, cart, name, value)

    @contextmanager
    def begin():
        with real_begin() as conn:
            yield conn
        if len(checkpoints) == 2:  # the second batch is committed: Ctrl-C lands now
            checkpoints.append("interrupted")
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(job, "set_checkpoint", set_checkpoint)
    monkeypatch.setattr(store, "begin", begin)
    with pytest.raises(KeyboardInterrupt):
        import_orders(store, plugins, cart)
    with real_begin() as conn:
        summary = runs.last_runs(conn, cart.id)["import-orders"]["summary"]
        count = conn.execute(sa.text("SELECT count(*) FROM orders")).scalar_one()
    assert count == 20
    assert (summary["saved"], summary["checkpoint"]) == (20, checkpoints[1])


@pytest.mark.parametrize("sandbox_options", [{"orders": 400, "products": 5, "customers": 5, "seed": 9,
                                              "latency_ms": 150}])
def test_ctrl_c_says_what_was_saved(store, plugins, gen, db_url):
    cart = add_cart(store, plugins, gen)
    _batches_of_ten(store, cart)
    with store.begin() as conn:
        set_value(conn, "MaxConcurrentRequests", "2", cart.id)  # helper processes get the Ctrl-C too
    engine = make_engine(db_url)

    def stored() -> int:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM orders")).scalar_one()

    proc = subprocess.Popen([sys.executable, "-m", "seconnect", "--db", db_url, "run", "import-orders", "--cart",
                             "Shop"], text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=os.environ.copy(), start_new_session=True)
    deadline = time.monotonic() + 60
    while stored() < 20 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C at a terminal does
    _, err = proc.communicate(timeout=60)
    with engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM orders")).scalar_one()
        checkpoint = conn.execute(sa.text("SELECT value FROM checkpoints WHERE job = 'import-orders'")).scalar_one()
        status, error = conn.execute(sa.text("SELECT status, error FROM runs")).one()
    engine.dispose()
    assert proc.returncode == 1
    assert 20 <= count < 400
    assert f"Interrupted: Shop: {count} orders saved up to order {checkpoint}; run again to continue." in err
    assert "Traceback" not in err, err
    assert (status, error) == ("failed", "interrupted (Ctrl-C)")


def test_the_demo_says_what_it_waits_for(tmp_path):
    result = cli(f"sqlite:///{tmp_path / 'demo.db'}", "demo", "--yes", "--profile", "interspire", "--orders", "5")
    assert result.exit_code == 0, result.output
    out = result.stdout
    said = re.search(r"reads the quantity back about \d+ s after sending", out)
    assert said and said.start() < out.index("the cart's quantity went from")
