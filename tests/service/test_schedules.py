"""Schedules: `seconnect schedule …`, claiming with leases, and the scheduler running real jobs."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from ops.helpers import add_cart, cli, cli_json
from sqlalchemy import select, update

from seconnect.service import schedules
from seconnect.service.scheduler import Scheduler
from seconnect.store import tables, utcnow


def test_schedule_commands_add_list_pause_resume_remove(store, plugins, gen, db_url):
    add_cart(store, plugins, gen)
    result, every = cli_json(db_url, "schedule", "add", "--cart", "Shop", "--job", "import-orders", "--every", "5m")
    assert result.exit_code == 0 and every["every_s"] == 300 and every["timing"] == "every 5m"
    result, daily = cli_json(db_url, "schedule", "add", "--cart", "Shop", "--job", "inventory-send", "--at", "2:00")
    assert result.exit_code == 0 and daily["at"] == "02:00" and daily["timing"] == "daily at 02:00"

    listed = cli_json(db_url, "schedule", "list")[1]
    assert [(s["id"], s["job"], s["paused"]) for s in listed] == [(every["id"], "import-orders", False),
                                                                  (daily["id"], "inventory-send", False)]
    assert "every 5m" in cli(db_url, "schedule", "list").stdout

    assert cli_json(db_url, "schedule", "pause", str(every["id"]))[1]["paused"] is True
    assert "paused" in cli(db_url, "schedule", "list").stdout
    assert cli_json(db_url, "schedule", "resume", str(every["id"]))[1]["paused"] is False
    assert cli(db_url, "schedule", "remove", str(daily["id"])).exit_code == 0
    assert [s["id"] for s in cli_json(db_url, "schedule", "list")[1]] == [every["id"]]
    missing = cli(db_url, "schedule", "remove", str(daily["id"]))
    assert missing.exit_code != 0 and "no schedule has id" in missing.stderr


@pytest.mark.parametrize("args, says", [
    (["--job", "realtime", "--every", "5m"], "runs all the time inside `seconnect serve`"),
    (["--job", "import-everything", "--every", "5m"], "import-orders, import-products"),
    (["--job", "import-orders"], "--every INTERVAL or --at HH:MM"),
    (["--job", "import-orders", "--every", "5m", "--at", "02:00"], "--every INTERVAL or --at HH:MM"),
    (["--job", "import-orders", "--every", "soon"], "30s, 5m, 1h"),
    (["--job", "import-orders", "--at", "25:00"], "HH:MM on the 24-hour clock"),
])
def test_schedule_add_refuses_bad_input_with_a_hint(store, plugins, gen, db_url, args, says):
    add_cart(store, plugins, gen)
    result = cli(db_url, "schedule", "add", "--cart", "Shop", *args)
    assert result.exit_code == 2 and says in result.stderr and "Traceback" not in result.output
    assert cli_json(db_url, "schedule", "list")[1] == []


def test_schedule_add_refuses_an_unknown_cart(store, db_url):
    result = cli(db_url, "schedule", "add", "--cart", "Nope", "--job", "import-orders", "--every", "5m")
    assert result.exit_code == 2 and "no cart named 'Nope'" in result.stderr and "carts add" in result.stderr


def test_daily_time_is_the_next_local_occurrence():
    now = datetime.now().astimezone()
    due = schedules.next_due(None, "02:00", now)
    local = due.astimezone()
    assert (local.hour, local.minute) == (2, 0) and now < due <= now + timedelta(days=1, hours=1)


def test_claim_is_exclusive_until_the_lease_lapses(store, plugins, gen):
    cart = add_cart(store, plugins, gen)
    with store.begin() as conn:
        added = schedules.add(conn, plugins, cart, "import-orders", every_s=60)
        assert [s.id for s in schedules.claim_due(conn, "a", 30, 10)] == [added.id]
        assert schedules.claim_due(conn, "b", 30, 10) == []
        conn.execute(update(tables.schedules).values(lease_until=utcnow() - timedelta(seconds=1)))
        assert [s.id for s in schedules.claim_due(conn, "b", 30, 10)] == [added.id]  # a died: b takes over
        conn.execute(update(tables.schedules).values(lease_until=utcnow() - timedelta(seconds=1)))
        assert schedules.claim_due(conn, "b", 30, 10, running=[added.id]) == []  # b still runs it: never twice
        assert schedules.finish(conn, "a", added, None) is False  # a's lease is gone
        assert schedules.finish(conn, "b", schedules.get(conn, added.id), None) is True


def _run_pass(store, plugins, owner="me") -> None:
    scheduler = Scheduler(store, plugins, owner=owner, stop=threading.Event(), lease_s=30)
    with ThreadPoolExecutor(2) as pool:
        scheduler.tick(pool)
    scheduler._reap()


def test_scheduler_runs_a_missed_schedule_once_and_records_the_run(store, plugins, gen, db_url):
    cart = add_cart(store, plugins, gen)
    with store.begin() as conn:
        added = schedules.add(conn, plugins, cart, "import-orders", every_s=300)
        # The service was down for an hour: twelve slots missed.
        conn.execute(update(tables.schedules).values(next_due=utcnow() - timedelta(hours=1)))
    _run_pass(store, plugins)
    _run_pass(store, plugins)  # nothing is due any more: no catch-up burst

    runs = cli_json(db_url, "runs", "--job", "import-orders")[1]["runs"]
    assert [(r["status"], r["counts"].get("new")) for r in runs] == [("ok", 12)]
    with store.begin() as conn:
        after = schedules.get(conn, added.id)
        events = conn.execute(select(tables.audit_events.c.detail, tables.audit_events.c.run_id)
                              .where(tables.audit_events.c.event == "schedule-ran")).all()
    assert after.last_run_id == runs[0]["id"] and after.lease_owner is None
    assert timedelta(minutes=4) < after.next_due - utcnow() <= timedelta(minutes=5)
    assert [(e.run_id, e.detail["outcome"]) for e in events] == [(runs[0]["id"], "ok")]


def test_a_paused_schedule_does_not_run(store, plugins, gen, db_url):
    cart = add_cart(store, plugins, gen)
    with store.begin() as conn:
        added = schedules.add(conn, plugins, cart, "import-orders", every_s=60)
        schedules.set_paused(conn, added.id, True)
    _run_pass(store, plugins)
    assert cli_json(db_url, "runs")[1]["total"] == 0


def test_removing_a_cart_removes_its_schedules(store, plugins, gen, db_url):
    cart = add_cart(store, plugins, gen)
    with store.begin() as conn:
        schedules.add(conn, plugins, cart, "import-orders", every_s=60)
    assert cli(db_url, "carts", "remove", "Shop", "--yes").exit_code == 0
    assert cli_json(db_url, "schedule", "list")[1] == []
