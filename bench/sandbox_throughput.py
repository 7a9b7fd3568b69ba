"""How fast the sandbox cart generates and serves orders (it must never be a benchmark's bottleneck).

For each profile: generate a 20,000-order cart, then download every downloadable order with
``downloadorders`` in batches of 500 over HTTPS on loopback (bigcommerce: ``GET /v2/orders``
pages of 250 with their lines embedded, no quota):

* sequential, first pass ("cold": each order is rendered from SQLite on first request),
* sequential, second pass ("warm": served from the per-order XML cache),
* 4 concurrent clients splitting the pages between them (warm).

Run: ``.venv/bin/python bench/sandbox_throughput.py [--orders N] [--batch N] [--generate N]``
(``--generate 100000`` also times generating and storing a cart that size). Figures are
wall-clock on this machine with the client in the same process; they include the client's
own HTTPS and reading cost, so they are a lower bound for the server alone.
"""

from __future__ import annotations

import argparse
import ssl
import threading
import time

import httpx

from seconnect.sandbox import Sandbox


def _pages(count: int, batch: int) -> list[int]:
    return list(range(1, count + 1, batch))


def _download(sb: Sandbox, starts: list[int], batch: int, context: ssl.SSLContext) -> int:
    if sb.profile_name == "bigcommerce":
        return _download_rest(sb, starts, batch, context)
    fields = {"setifunction": "downloadorders", "setiuser": sb.user, "password": sb.password, "code": "",
              "lastorder": "All", "lastdate": "All", "batchsize": str(batch), "omversion": "6.000"}
    received = 0
    with httpx.Client(verify=context, timeout=60) as http:
        for start in starts:
            reply = http.post(sb.url, data={**fields, "startnum": str(start)})
            reply.raise_for_status()
            received += reply.content.count(b"<Order>")
    return received


def _download_rest(sb: Sandbox, starts: list[int], batch: int, context: ssl.SSLContext) -> int:
    params = {"limit": str(batch), "include": "consignments.line_items", "consignment_structure": "object"}
    received = 0
    with httpx.Client(verify=context, timeout=60, headers={"X-Auth-Token": sb.password},
                      base_url=f"https://{sb.api_base}/stores/{sb.store_hash}") as http:
        for start in starts:
            reply = http.get("/v2/orders", params={**params, "page": str(start // batch + 1)})
            reply.raise_for_status()
            received += len(reply.json())
    return received


def _timed(fn) -> tuple[float, int]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def run(profile: str, orders: int, batch: int) -> dict[str, float]:
    started = time.perf_counter()
    if profile == "bigcommerce":
        batch = min(batch, 250)
    sb = Sandbox(profile, orders=orders, **({"quota": None} if profile == "bigcommerce" else {})).start()
    generated = time.perf_counter() - started
    try:
        context = ssl.create_default_context(cafile=sb.ca_file)
        count = len(sb.downloadable_order_numbers())
        pages = _pages(count, batch)
        cold, n_cold = _timed(lambda: _download(sb, pages, batch, context))
        warm, n_warm = _timed(lambda: _download(sb, pages, batch, context))
        assert n_cold == n_warm == count, (n_cold, n_warm, count)

        totals: list[int] = []

        def concurrent() -> int:
            threads = [threading.Thread(target=lambda part=pages[i::4]: totals.append(
                _download(sb, part, batch, context))) for i in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return sum(totals)
        parallel, n_parallel = _timed(concurrent)
        assert n_parallel == count
    finally:
        sb.stop()
    return {"generate_s": generated, "orders": count, "cold": count / cold, "warm": count / warm,
            "concurrent4": count / parallel}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--generate", type=int, default=0, metavar="N",
                        help="also time generating (and storing) a cart of N orders")
    args = parser.parse_args()
    if args.generate:
        started = time.perf_counter()
        with Sandbox("generic", orders=args.generate):
            print(f"generating and storing {args.generate} orders: {time.perf_counter() - started:.1f} s")
    print(f"sandbox throughput: {args.orders} orders generated, downloadorders in batches of {args.batch}")
    print(f"{'profile':<11} {'generate':>9} {'served':>7} {'cold seq':>12} {'warm seq':>12} {'4 clients':>12}")
    for profile in ("generic", "interspire", "bigcommerce"):
        r = run(profile, args.orders, args.batch)
        print(f"{profile:<11} {r['generate_s']:>8.2f}s {r['orders']:>7} {r['cold']:>8.0f} o/s {r['warm']:>8.0f} o/s "
              f"{r['concurrent4']:>8.0f} o/s")


if __name__ == "__main__":
    main()
