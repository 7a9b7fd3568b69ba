"""Listings say when they are cut, on stderr (stdout stays the listing / exact JSON); `--limit N`
and `--all` mean the same everywhere; `orders list --since DATE --status LABEL`."""

from __future__ import annotations

import json
from datetime import UTC

import sqlalchemy as sa
from click.testing import CliRunner
from orders_helpers import define_cart

from seconnect.cli import build_cli
from seconnect.jobs.import_orders import import_orders
from seconnect.sandbox import Sandbox
from seconnect.store import tables


def test_orders_list_cut_all_since_and_status(store, plugins, db_url, tmp_path):
    with Sandbox("generic", orders=130, products=6, customers=10, seed=7, state_dir=tmp_path / "c") as sb:
        assert import_orders(store, plugins, define_cart(store, plugins, sb))["quarantined"] == 0
    with store.begin() as conn:
        o = tables.orders
        total = conn.execute(sa.select(sa.func.count()).select_from(o)).scalar_one()
        dates = sorted(d.astimezone(UTC) for d in conn.execute(sa.select(o.c.ordered_at)).scalars())
        statuses = [s for s in conn.execute(sa.select(o.c.status)).scalars()]
    assert total > 100

    def run(*args):
        result = CliRunner().invoke(build_cli(), ["--db", db_url, "orders", "list", *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    default = run()
    assert len(default.stdout.splitlines()) == 1 + 100  # header + the default limit
    assert default.stderr == f"100 of {total} orders shown (--limit N, --all).\n"
    as_json = run("--json", "--limit", "7")
    assert len(json.loads(as_json.stdout)) == 7
    assert json.loads(as_json.stderr) == {"shown": 7, "total": total}
    everything = run("--all", "--json")
    assert len(json.loads(everything.stdout)) == total and everything.stderr == ""
    assert run("--limit", str(total)).stderr == ""  # nothing cut, nothing said

    since = dates[-5]
    recent = json.loads(run("--since", since.strftime("%Y-%m-%d %H:%M:%S"), "--json").stdout)
    assert len(recent) == sum(d >= since.replace(microsecond=0) for d in dates) >= 5
    assert all(r["date"] >= since.replace(microsecond=0).isoformat() for r in recent)
    label = max(set(statuses), key=statuses.count)
    shipped = json.loads(run("--status", label.upper(), "--all", "--json").stdout)
    assert len(shipped) == statuses.count(label) and {r["status"] for r in shipped} == {label}
    assert run("--status", "No Such Label").stdout == "No orders.\n"


def test_limit_is_checked_the_same_everywhere(db_url):
    for listing in (("orders", "list"), ("customers", "list"), ("products", "list"), ("outbox", "list"),
                    ("quarantine", "list"), ("inventory", "list"), ("inventory", "history", "SKU")):
        result = CliRunner().invoke(build_cli(), ["--db", db_url, *listing, "--limit", "0"])
        assert result.exit_code == 2 and "--limit is between 1 and 1,000,000,000" in result.output, listing
        assert "--all" in CliRunner().invoke(build_cli(), ["--db", db_url, *listing, "--help"]).output
