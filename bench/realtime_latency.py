"""Real-time inventory: change → cart latency and coalescing under a steady stream of local changes.

Two sandbox carts (generic and interspire by default, each in its own process; both synced,
products imported as sub-SKUs: a few thousand SKUs) on a PostgreSQL store (a throwaway cluster unless ``--db`` is
given). ``--workers`` worker processes run the real outbox worker (``run_realtime --follow``)
while this process makes ``--rate`` local quantity changes per second for ``--seconds``
seconds, in one transaction every 100 ms, on random SKUs (``--hot-share 0.5`` sends half of
them to ``--hot-skus`` best sellers, where coalescing shows). Afterwards:

* latency per outbox row = ``sent_at - created_at``: from the change's transaction to the
  cart's reply confirming the send. p50 / p99 / max, per cart. Interspire's replies prove
  nothing, so its sends are also checked by batched read-backs (reported separately);
* coalescing ratio = outbox rows delivered / sends made (one per SKU and cart and delivery),
  and rows per ``qohreplace`` request the sandbox actually served;
* every cart quantity is compared with the store file.

Run: ``.venv/bin/python bench/realtime_latency.py [--rate 500] [--seconds 20] [--products 1500]
[--workers 2] [--carts generic,interspire] [--poll 0.05] [--hot-share 0] [--db URL]``. Traffic: 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from inventory_send import cart_stock  # same directory: one way to read a sandbox's stock

from seconnect import carts
from seconnect.inventory import QuantityChange, apply_changes
from seconnect.jobs.import_products import import_products
from seconnect.jobs.inventory import VERIFY_DELAY_S
from seconnect.params import set_value
from seconnect.plugins import load_plugins
from seconnect.sandbox import Sandbox
from seconnect.store import open_store, tables


def _worker(url: str, key_file: str, poll: float, stop, results) -> None:
    os.environ["SECONNECT_KEY_FILE"] = key_file
    from seconnect.jobs.realtime import run_realtime

    store = open_store(url)
    try:
        results.put(run_realtime(store, load_plugins(), follow=True, poll=poll, stop=stop))
    finally:
        store.close()


def _serve(profile: str, products: int, state_dir: str, pipe) -> None:
    """A sandbox cart in its own process, so that its HTTPS serving never competes with the
    producer for one interpreter lock. Answers "info", "stock" and "requests"; "stop" ends it."""
    with Sandbox(profile, products=products, orders=0, customers=0, seed=11, state_dir=state_dir) as sb:
        pipe.send({"script_url": sb.script_url, "user": sb.user, "password": sb.password, "ca_file": sb.ca_file})
        while True:
            command = pipe.recv()
            if command == "stock":
                pipe.send(cart_stock(sb))
            elif command == "requests":
                pipe.send([f for f, _ in sb.requests()])
            else:
                return


class _RemoteCart:
    """The parent's handle on a sandbox process."""

    def __init__(self, ctx, profile: str, products: int, state_dir: Path):
        self.pipe, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(profile, products, str(state_dir), child), daemon=True)
        self.process.start()
        self.info = self.pipe.recv()

    def ask(self, command: str):
        self.pipe.send(command)
        return self.pipe.recv()

    def stop(self) -> None:
        self.pipe.send("stop")
        self.process.join(timeout=30)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _drained(store) -> bool:
    o = tables.outbox
    with store.begin() as conn:
        return not conn.execute(sa.select(o.c.id).where(o.c.state.in_(["pending", "sending"])).limit(1)).first()


def run(url: str, work: Path, args: argparse.Namespace) -> None:
    store = open_store(url)
    plugins = load_plugins()
    profiles = [p.strip() for p in args.carts.split(",") if p.strip()]
    ctx = mp.get_context("spawn")
    with contextlib.ExitStack() as stack:
        sandboxes: dict[int, tuple[str, _RemoteCart]] = {}
        for i, profile in enumerate(profiles):
            sb = _RemoteCart(ctx, profile, args.products, work / profile)
            stack.callback(sb.stop)
            name = f"{profile}-{i}"
            with store.begin() as conn:
                carts.add_cart(conn, plugins, name=name, cart_type="Interspire" if profile == "interspire" else "Generic",
                               user=sb.info["user"], password=sb.info["password"], script_url=sb.info["script_url"],
                               ca_bundle=sb.info["ca_file"])
                cart = carts.get_cart(conn, name)
                set_value(conn, "SynchQOH", "TRUE", cart.id)
                cart = carts.get_cart(conn, name)
            import_products(store, plugins, cart, attributes="sub-skus")
            sandboxes[cart.id] = (name, sb)
        p, c = tables.products, tables.product_cart_codes
        with store.begin() as conn:
            pids = list(conn.execute(sa.select(p.c.id).where(p.c.qoh.is_not(None), sa.exists().where(
                c.c.product_id == p.c.id))).scalars())
        print(f"carts: {', '.join(n for n, _ in sandboxes.values())}; {len(pids)} SKUs with stock; "
              f"{args.workers} workers; {args.rate} changes/s for {args.seconds} s"
              + (f", {args.hot_share:.0%} of them on {args.hot_skus} best sellers" if args.hot_share else ""))

        stop, results = ctx.Event(), ctx.Queue()
        workers = [ctx.Process(target=_worker, args=(url, os.environ["SECONNECT_KEY_FILE"], args.poll, stop, results))
                   for _ in range(args.workers)]
        for w in workers:
            w.start()
        time.sleep(3)  # let the workers import and connect before the clock starts
        requests_before = {cid: len(sb.ask("requests")) for cid, (_, sb) in sandboxes.items()}

        rng = random.Random(3)
        hot = rng.sample(pids, min(args.hot_skus, len(pids)))
        tick, per_tick = 0.1, max(1, round(args.rate * 0.1))
        started = time.perf_counter()
        made, behind = 0, 0.0
        for n in range(int(args.seconds / tick)):
            due = started + n * tick
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            else:
                behind = max(behind, -delay)
            changes = [QuantityChange(rng.choice(hot if rng.random() < args.hot_share else pids),
                                      delta=rng.choice([-2, -1, 1, 3])) for _ in range(per_tick)]
            with store.begin() as conn:
                apply_changes(conn, plugins, changes, source="bench", reason="bench")
            made += len(changes)
        produced = time.perf_counter() - started
        while not _drained(store):
            time.sleep(0.05)
        drained = time.perf_counter() - started - produced
        stop.set()
        summaries = [results.get(timeout=60) for _ in workers]
        for w in workers:
            w.join(timeout=30)

        print(f"produced {made} changes in {produced:.1f} s = {made / produced:.0f}/s "
              f"(producer at most {behind * 1000:.0f} ms behind schedule); outbox drained {drained:.2f} s later")
        o = tables.outbox
        with store.begin() as conn:
            rows = conn.execute(sa.select(o.c.cart_id, o.c.kind, o.c.created_at, o.c.sent_at, o.c.state)).all()
        states = {r.state for r in rows}
        every = []
        for cart_id, (name, sb) in sandboxes.items():
            lat = [(r.sent_at - r.created_at).total_seconds() for r in rows
                   if r.cart_id == cart_id and r.sent_at and r.kind == "inventory"]
            checks = [(r.sent_at - r.created_at).total_seconds() for r in rows
                      if r.cart_id == cart_id and r.sent_at and r.kind == "inventory-check"]
            every += lat
            served = sb.ask("requests")[requests_before[cart_id]:]
            sends, reads = served.count("qohreplace"), served.count("downloadqoh")
            print(f"  {name:<14} {len(lat)} rows: latency p50 {statistics.median(lat) * 1000:.0f} ms, "
                  f"p99 {_percentile(lat, 0.99) * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms; "
                  f"{sends} qohreplace requests ({len(lat) / max(sends, 1):.1f} rows each)")
            if checks:
                print(f"  {'':<14} {len(checks)} sends checked by {reads} read-backs, "
                      f"p50 {statistics.median(checks) * 1000:.0f} ms after their send was queued (checks wait "
                      f"{VERIFY_DELAY_S:g} s by design)")
        groups = sum(s["by_kind"].get("inventory", {}).get("groups", 0) for s in summaries)
        print(f"all carts: p50 {statistics.median(every) * 1000:.0f} ms, p99 {_percentile(every, 0.99) * 1000:.0f} ms; "
              f"coalescing {len(every)} rows / {groups} sends = {len(every) / max(groups, 1):.2f}; "
              f"per worker rows sent {[s['sent'] for s in summaries]}, parked {sum(s['parked'] for s in summaries)}, "
              f"states {sorted(states)}")
        with store.begin() as conn:
            pairs = conn.execute(sa.select(c.c.cart_id, c.c.web_id, p.c.sku, p.c.qoh).join(p, p.c.id == c.c.product_id)
                                 .where(p.c.qoh.is_not(None))).all()
            parked = set(conn.execute(sa.select(o.c.cart_id, o.c.key).where(o.c.state == "parked")).all())
        checked = [r for r in pairs if (r.cart_id, r.sku) not in parked]
        held = {cid: sb.ask("stock") for cid, (_, sb) in sandboxes.items()}
        wrong = sum(1 for r in checked if held[r.cart_id][r.web_id] != max(r.qoh, 0))
        print(f"read back: {wrong} of {len(checked)} cart quantities differ from the store file "
              f"({len(pairs) - len(checked)} SKUs parked, e.g. not tracked at the cart)")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--products", type=int, default=1500, help="sandbox products per cart (~2 SKUs each)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--carts", default="generic,interspire")
    parser.add_argument("--poll", type=float, default=0.05)
    parser.add_argument("--hot-share", type=float, default=0.0,
                        help="share of changes that hit a few best sellers (0: every SKU equally likely)")
    parser.add_argument("--hot-skus", type=int, default=50, help="how many best sellers")
    parser.add_argument("--db", help="PostgreSQL store URL (default: a throwaway cluster)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="seconnect-bench-"))
    os.environ.setdefault("SECONNECT_KEY_FILE", str(work / "secret.key"))
    if args.db:
        run(args.db, work, args)
        return
    from seconnect.testing.postgres import create_database, throwaway_postgres

    with throwaway_postgres() as server:
        run(create_database(server), work, args)


if __name__ == "__main__":
    main()
