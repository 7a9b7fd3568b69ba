"""seconnect's BigCommerce cart against the Singer tap ``tap-bigcommerce==1.1.3``, same sandbox store.

Each tool gets a fresh ``bigcommerce`` sandbox built from the same seed (same orders, a fresh
rate-limit window) and extracts every order with its lines. Counted from the sandbox's own
counters: requests made, quota 429s; from the tool's output: live orders (not archived, not
status 0) and their lines extracted, lines lost (the live orders' lines not extracted, whether
the order was dropped or cut short); and wall seconds.

The tap is never a project dependency: it is installed with pip into a throwaway venv under a
temporary directory (``--tap-venv DIR`` keeps and reuses one). It builds
``https://api.bigcommerce.com/stores/{hash}/v2…`` URLs from a class attribute, so it runs
through a small launcher that rewrites that host to the sandbox on ``requests.Session.request``
and trusts the sandbox CA through ``REQUESTS_CA_BUNDLE``; the tap itself is unchanged.

Run: ``.venv/bin/python bench/bigcommerce_vs_tap.py [--orders 1000] [--quota 150]
[--window-ms 30000] [--tools tap,seconnect]`` (``--quota 0``: no limit). Under the default
quota the tap paces itself to about one page of 45 orders per 30 s window: 1,000 orders take
about 11 minutes.

Measured 3 Dec 2026 on the shared 2-core machine, 1,000 orders, quota 150 per 30 s (tap only):
the tap made 2,949 requests (no 429: it waits out each window) in 634 s and extracted 514 of
the 943 live orders, 1,620 of their 3,421 lines. It drops every order with a typed option
(its schema wants ``product_options.value`` to be a number; BigCommerce sends the text) and
reads only the first 50 lines of the 60-line orders.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from seconnect.sandbox import Sandbox

TAP = "tap-bigcommerce==1.1.3"
SEED = 15
START_DATE = "2000-01-01T00:00:00Z"
LAUNCHER = '''"""Run tap-bigcommerce against $SANDBOX_URL instead of api.bigcommerce.com."""
import os
import sys

import requests

_HOST = "https://api.bigcommerce.com"
_request = requests.Session.request


def request(self, method, url, *args, **kwargs):
    if url.startswith(_HOST):
        url = os.environ["SANDBOX_URL"] + url[len(_HOST):]
    return _request(self, method, url, *args, **kwargs)


requests.Session.request = request
from tap_bigcommerce import main  # noqa: E402

sys.argv[0] = "tap-bigcommerce"
main()
'''


@dataclass
class Result:
    tool: str
    orders: int
    lines: int
    lines_lost: int
    requests: int
    throttled: int
    seconds: float


def tap_python(venv: Path) -> Path:
    """The throwaway venv's python, with the tap installed (once)."""
    python = venv / "bin" / "python"
    if not (venv / "bin" / "tap-bigcommerce").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", TAP], check=True)
    (venv / "run_tap.py").write_text(LAUNCHER)
    return python


def run_tap(sb: Sandbox, python: Path, work: Path) -> tuple[int, int, dict[int, int]]:
    """Discover, select the orders stream, sync; (orders, lines, lines per order id) from its records."""
    config = work / "config.json"
    config.write_text(json.dumps({"start_date": START_DATE, "client_id": "sandbox-client",
                                  "access_token": sb.password, "store_hash": sb.store_hash}))
    env = {**os.environ, "SANDBOX_URL": f"https://{sb.api_base}", "REQUESTS_CA_BUNDLE": sb.ca_file}
    launcher = [str(python), str(python.parent.parent / "run_tap.py"), "--config", str(config)]
    catalog = json.loads(subprocess.run([*launcher, "--discover"], env=env, check=True, capture_output=True,
                                        text=True).stdout)
    catalog["streams"] = [s for s in catalog["streams"] if s["tap_stream_id"] == "orders"]
    for entry in catalog["streams"][0]["metadata"]:
        if not entry["breadcrumb"]:
            entry["metadata"]["selected"] = True
    (work / "catalog.json").write_text(json.dumps(catalog))
    sync = subprocess.run([*launcher, "--catalog", str(work / "catalog.json")], env=env, check=True,
                          capture_output=True, text=True)
    per_order: dict[int, int] = {}
    for line in sync.stdout.splitlines():
        message = json.loads(line)
        if message.get("type") == "RECORD" and message["stream"] == "orders":
            record = message["record"]
            per_order[record["id"]] = len(record.get("products") or [])
    return len(per_order), sum(per_order.values()), per_order


def seconnect_store(sb: Sandbox, work: Path) -> dict[str, str]:
    """A fresh SQLite store under ``work`` with a ``BigCommerce`` cart ``Bench`` on ``sb``, added
    the way a merchant does it; returns the environment that points the CLI at it."""
    env = {**os.environ, "SECONNECT_DB": f"sqlite:///{work / 'store.db'}",
           "SECONNECT_KEY_FILE": str(work / "key")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a normal install has its bytecode cache
    cli(env, "carts", "add", "Bench", "--type", "BigCommerce", "--set", f"store_hash={sb.store_hash}",
        "--set", f"api_base={sb.api_base}", "--ca-bundle", sb.ca_file, "--secret-stdin", stdin=sb.password + "\n")
    return env


def cli(env: dict[str, str], *args: str, stdin: str = "") -> str:
    """``seconnect ARGS`` in a subprocess; its stdout (a failure ends the bench with its stderr)."""
    proc = subprocess.run([sys.executable, "-m", "seconnect", *args], env=env, input=stdin, text=True,
                          capture_output=True)
    if proc.returncode:
        raise SystemExit(f"seconnect {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc.stdout


def stored_lines(work: Path) -> dict[int, int]:
    """Lines per order number, read back from the store seconnect filled."""
    with closing(sqlite3.connect(work / "store.db")) as db:
        rows = db.execute("SELECT o.number, count(l.id) FROM orders o LEFT JOIN order_lines l ON l.order_id = o.id "
                          "GROUP BY o.id").fetchall()
    return {int(number): lines for number, lines in rows}


def run_seconnect(sb: Sandbox, work: Path) -> tuple[int, int, dict[int, int]]:
    """Add the cart, ``seconnect run import-orders``, read back (orders, lines, lines per order id)."""
    cli(seconnect_store(sb, work), "run", "import-orders", "--cart", "Bench")
    per_order = stored_lines(work)
    return len(per_order), sum(per_order.values()), per_order


def measure(tool: str, fn: Callable[[Sandbox, Path], tuple[int, int, dict[int, int]]],
            args) -> tuple[Result, int, int]:
    """Run one tool on a fresh store; (its result, live orders, their lines)."""
    with Sandbox("bigcommerce", seed=SEED, orders=args.orders, products=40, customers=60,
                 quota=args.quota or None, window_ms=args.window_ms, warm=True) as sb, \
            tempfile.TemporaryDirectory(prefix=f"bench-{tool}-") as work:
        # what there is to extract: live orders (not archived, not incomplete checkouts)
        expected = {int(o["number"]): len(o["lines"]) for o in sb.orders() if not o["deleted"] and o["status_id"]}
        started = time.perf_counter()
        _, _, per_order = fn(sb, Path(work))
        seconds = time.perf_counter() - started
        got = {oid: n for oid, n in per_order.items() if oid in expected}
        return Result(tool, len(got), sum(got.values()), sum(expected.values()) - sum(got.values()),
                      len(sb.rest_requests()), sb.throttled(), seconds), len(expected), sum(expected.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--quota", type=int, default=150, help="requests per window; 0: no limit")
    parser.add_argument("--window-ms", type=int, default=30_000)
    parser.add_argument("--tools", default="tap,seconnect")
    parser.add_argument("--tap-venv", type=Path, help="keep the tap's venv here (default: a temporary one)")
    args = parser.parse_args()
    quota = f"{args.quota} per {args.window_ms / 1000:g} s" if args.quota else "none"
    print(f"bigcommerce sandbox, {args.orders} orders (seed {SEED}), quota {quota}")
    print(f"{'tool':<10} {'orders':>7} {'lines':>7} {'lost':>5} {'requests':>9} {'429s':>5} {'seconds':>8}")
    with tempfile.TemporaryDirectory(prefix="tap-venv-") as scratch:
        for tool in args.tools.split(","):
            if tool == "tap":
                python = tap_python(args.tap_venv or Path(scratch) / "venv")
                fn = lambda sb, work, python=python: run_tap(sb, python, work)  # noqa: E731
            else:
                fn = run_seconnect
            try:
                r, live, live_lines = measure(tool, fn, args)
            except NotImplementedError as exc:
                print(f"{tool:<10} (not run: {exc})")
                continue
            print(f"{r.tool:<10} {r.orders:>7} {r.lines:>7} {r.lines_lost:>5} {r.requests:>9} {r.throttled:>5} "
                  f"{r.seconds:>8.1f}   (store: {live} live orders, {live_lines} lines)")


if __name__ == "__main__":
    main()
