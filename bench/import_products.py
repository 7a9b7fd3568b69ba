"""Product import benchmark: does the time per product stay flat as the catalogue grows?

Prints (nothing is asserted; machines are noisy, so compare the two sizes of one run):
for each attribute mode (options, sub-skus), a first `seconnect run import-products` (a
subprocess, fresh SQLite store) from an Interspire sandbox at a small and a large catalogue
(5,000 and 20,000 products; --quick: 2,000 and 8,000): records received, wall and CPU seconds
of the import process, wall and CPU microseconds per product record, and the large/small ratio
of each per-record figure (flat means ratio ~ 1; quadratic growth would make it ~ 4). Beside
each import, its floor: the same downloads (the cart plugin's own paging and parsing, in a
process of its own) with nothing stored, and the import's ratio to it (the sandbox serves
pages from its page cache, so the floor is the client's cost).
--profile generic uses the generic sandbox (parents with OptionLists, one record per
variation, paged in batches) instead; --profile both runs the two.

Usage: python bench/import_products.py [--quick] [--profile interspire|generic|both] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from seconnect.sandbox import Sandbox

CART_TYPES = {"interspire": "Interspire", "generic": "Generic"}
MODES = ("options", "sub-skus")


def run_measured(env: dict, *args: str, stdin: str | None = None) -> tuple[float, float, str]:
    """Run the CLI in a subprocess; returns (wall seconds, the child's own CPU seconds, stdout)."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "seconnect", *args], env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if stdin:
        proc.stdin.write(stdin)
    proc.stdin.close()
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)  # wait4: this child's rusage, not all children's
    wall = time.perf_counter() - started
    if status:
        raise SystemExit(f"seconnect {' '.join(args)} failed:\n{err}")
    return wall, usage.ru_utime + usage.ru_stime, out


def new_store(sb: Sandbox, folder: Path) -> dict:
    folder.mkdir(parents=True)
    env = {**os.environ, "SECONNECT_DB": f"sqlite:///{folder / 'bench.db'}",
           "SECONNECT_KEY_FILE": str(folder / "key")}
    run_measured(env, "carts", "add", "Bench", "--type", CART_TYPES[sb.profile_name], "--user", sb.user,
                 "--script-url", sb.script_url, "--ca-bundle", sb.ca_file, "--password-stdin",
                 stdin=sb.password + "\n")
    return env


_FLOOR = """
import sys, time
from seconnect.capabilities import Capability
from seconnect.cartdef import CartDefinition, Secret
from seconnect.plugins import load_plugins
url, user, password, ca, cart_type = sys.argv[1:6]
cart = CartDefinition(name="floor", type=cart_type, user=user, password=Secret(password), script_url=url, ca_bundle=ca)
started = time.perf_counter()
received = sum(len(list(records)) for records in
               load_plugins().call("import_products", cart, Capability.IMPORT_PRODUCTS, batch_size=50))
print(time.perf_counter() - started, received)
"""


def floor(sb: Sandbox) -> float:
    """Download and parse every product record as the import does (batch 50), storing nothing."""
    out = subprocess.run([sys.executable, "-c", _FLOOR, sb.script_url, sb.user, sb.password, sb.ca_file,
                          CART_TYPES[sb.profile_name]], capture_output=True, text=True, check=True).stdout
    return float(out.split()[0])


def import_once(sb: Sandbox, folder: Path, mode: str) -> tuple[int, float, float]:
    """A first import into a fresh store: (records received, wall s, CPU s)."""
    env = new_store(sb, folder)
    wall, cpu, out = run_measured(env, "run", "import-products", "--cart", "Bench", "--attributes", mode, "--json")
    summary = json.loads(out)
    summary = summary[0] if isinstance(summary, list) else summary
    return summary["received"], wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--profile", choices=["interspire", "generic", "both"], default="interspire")
    parser.add_argument("--repeat", type=int, default=1, help="imports per size and mode; the fastest counts")
    args = parser.parse_args()
    sizes = (2_000, 8_000) if args.quick else (5_000, 20_000)
    profiles = ["interspire", "generic"] if args.profile == "both" else [args.profile]

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for profile in profiles:
            results: dict[tuple[str, int], tuple[int, float, float]] = {}
            for size in sizes:
                started = time.perf_counter()
                with Sandbox(profile, products=size, orders=0, customers=0, seed=1,
                             state_dir=root / f"cart-{profile}-{size}") as sb:
                    print(f"== {profile} sandbox, {size:,} products (generated in "
                          f"{time.perf_counter() - started:.1f} s)")
                    floor(sb)  # the first pass fills the sandbox's page cache
                    floor_s = min(floor(sb) for _ in range(args.repeat))
                    for mode in MODES:
                        runs = [import_once(sb, root / f"s-{profile}-{size}-{mode}-{i}", mode)
                                for i in range(args.repeat)]
                        received, wall, cpu = min(runs, key=lambda r: r[1])
                        results[mode, size] = received, wall, cpu
                        print(f"  {mode:9} {received:7,} records: wall {wall:6.2f} s = {wall / received * 1e6:5.0f} us"
                              f"/record; CPU {cpu:6.2f} s = {cpu / received * 1e6:5.0f} us/record; "
                              f"{wall / floor_s:.2f}x the floor")
                    print(f"  floor (download + parse, store nothing): {floor_s:.2f} s = "
                          f"{received / floor_s:,.0f} records/s")
            small, large = sizes
            print(f"== {profile}: per-record time at {large:,} / at {small:,} products (flat = 1.0)")
            for mode in MODES:
                (n1, w1, c1), (n2, w2, c2) = results[mode, small], results[mode, large]
                print(f"  {mode:9} wall ratio {(w2 / n2) / (w1 / n1):.2f}, CPU ratio {(c2 / n2) / (c1 / n1):.2f}")


if __name__ == "__main__":
    main()
