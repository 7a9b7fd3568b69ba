"""`seconnect runs` and `carts show`: run history with outcome, counts, error and hint; runs killed
with SIGKILL show (and are stored) as abandoned, never as running forever."""

from __future__ import annotations

import signal
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic import command

from seconnect import runs
from seconnect.jobs.base import JobRun
from seconnect.store import open_store, tables
from seconnect.store.database import make_engine
from seconnect.store.migrate import _config
from seconnect.store.types import utcnow

from .helpers import add_cart, cli, cli_json, spawn


def test_runs_shows_outcome_counts_error_and_hint(store, plugins, gen, db_url):
    add_cart(store, plugins, gen)
    assert cli(db_url, "run", "import-orders", "--cart", "Shop").exit_code == 0
    gen.set_faults("badauth")
    assert cli(db_url, "run", "import-orders", "--cart", "Shop").exit_code == 15
    gen.set_faults(None)

    result, data = cli_json(db_url, "runs")
    assert result.exit_code == 0
    failed, ok = data["runs"]
    assert (failed["job"], failed["cart"], failed["status"]) == ("import-orders", "Shop", "failed")
    assert "rejected" in failed["error"] and failed["hint"]
    assert (ok["status"], ok["counts"]["new"], ok["error"]) == ("ok", 30, None)
    assert ok["duration_s"] is not None and ok["finished_at"] >= ok["started_at"]

    text = cli(db_url, "runs", "--cart", "Shop", "--job", "import-orders").stdout
    assert "OUTCOME" in text and "failed" in text and "new 30" in text
    assert failed["hint"] in text
    limited = cli(db_url, "runs", "--limit", "1").stdout
    assert "1 of 2 runs shown" in limited and "new 30" not in limited
    assert cli_json(db_url, "runs", "--job", "import-customers")[1] == {"runs": [], "total": 0}


def test_carts_show_has_last_run_per_job_and_checkpoint(store, plugins, gen, db_url):
    add_cart(store, plugins, gen)
    cli(db_url, "run", "import-orders", "--cart", "Shop")
    cli(db_url, "run", "import-customers", "--cart", "Shop")
    newest = gen.downloadable_order_numbers()[-1]
    result, data = cli_json(db_url, "carts", "show", "Shop")
    assert set(data["last_runs"]) == {"import-orders", "import-customers"}
    assert data["last_runs"]["import-orders"]["status"] == "ok"
    assert data["checkpoints"]["import-orders"]["value"] == newest
    text = cli(db_url, "carts", "show", "Shop").stdout
    assert "Last runs:" in text and "import-customers" in text
    assert f"import-orders: {newest}" in text


def _run_rows(db_url: str):
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(tables.runs.c.id, tables.runs.c.status, tables.runs.c.pid)
                                .order_by(tables.runs.c.id)).all()
    finally:
        engine.dispose()


@pytest.mark.parametrize("sandbox_options", [{"orders": 400, "products": 5, "customers": 5, "seed": 9,
                                              "latency_ms": 300}])
def test_a_run_killed_with_sigkill_shows_as_abandoned(store, plugins, gen, db_url):
    add_cart(store, plugins, gen)
    cli(db_url, "params", "set", "DownloadBatchSize", "10", "--cart", "Shop")
    proc = spawn(db_url, "run", "import-orders", "--cart", "Shop")
    try:
        deadline = time.monotonic() + 60
        while not _run_rows(db_url) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, proc.communicate()
        (run_id, status, pid), = _run_rows(db_url)
        assert (status, pid) == ("running", proc.pid)
        assert cli_json(db_url, "runs")[1]["runs"][0]["status"] == "running"  # alive: not abandoned
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)

    shown = cli_json(db_url, "runs")[1]["runs"][0]
    assert (shown["id"], shown["status"]) == (run_id, "abandoned")
    assert shown["error"] == runs.ABANDONED_ERROR and shown["hint"]
    assert _run_rows(db_url)[0].status == "abandoned"  # stored, not only shown
    assert "abandoned" in cli(db_url, "carts", "show", "Shop").stdout


def test_a_run_on_another_host_is_abandoned_once_its_heartbeat_lapses(store):
    with store.begin() as conn:
        ids = [conn.execute(sa.insert(tables.runs).values(
            job="realtime", status="running", pid=1, host="another-machine", started_at=utcnow() - age,
            heartbeat_at=utcnow() - age).returning(tables.runs.c.id)).scalar_one()
            for age in (timedelta(seconds=runs.LEASE_S + 60), timedelta(seconds=5))]
        assert runs.reap(conn) == 1
        status = dict(conn.execute(sa.select(tables.runs.c.id, tables.runs.c.status)).all())
    assert status == {ids[0]: "abandoned", ids[1]: "running"}


def test_a_finished_run_keeps_its_own_outcome(store):
    with JobRun(store, "import-orders", None) as run:
        run.summary = {"received": 3}
    with store.begin() as conn:
        assert runs.reap(conn) == 0
        rows, total = runs.list_runs(conn)
    assert total == 1 and rows[0]["status"] == "ok" and rows[0]["counts"] == {"received": 3}
    assert rows[0]["pid"] is not None and rows[0]["host"] == runs.this_host()


def test_upgrade_keeps_existing_runs_and_their_events(db_url):
    engine = make_engine(db_url)
    with engine.begin() as conn:
        command.upgrade(_config(conn, None), "0001")
        run_id = conn.execute(sa.text("INSERT INTO runs (job, started_at, status) VALUES "
                                      "('import-orders', CURRENT_TIMESTAMP, 'running') RETURNING id")).scalar_one()
        conn.execute(sa.text("INSERT INTO audit_events (run_id, at, event) VALUES (:r, CURRENT_TIMESTAMP, 'x')"),
                     {"r": run_id})
    engine.dispose()
    with open_store(db_url) as upgraded, upgraded.begin() as conn:
        assert conn.execute(sa.select(tables.runs.c.job)).scalars().all() == ["import-orders"]
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.audit_events)).scalar_one() == 1
