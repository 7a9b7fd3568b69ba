"""Print the fault matrix: every job against every sandbox fault, with lost and duplicated counts.

Usage: python bench/fault_matrix.py [--job NAME]... [--fault NAME]...
Every cell must show lost = 0 and duplicated = 0 (tests/reliability asserts the same table).
"""

from __future__ import annotations

import argparse
import sys
import time

from seconnect.testing.fault_matrix import FAULTS, JOBS, format_table, run_matrix


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--job", action="append", choices=list(JOBS))
    parser.add_argument("--fault", action="append", choices=list(FAULTS))
    args = parser.parse_args()
    started = time.perf_counter()
    cells = run_matrix(args.job, args.fault,
                       progress=lambda c: print(f"  {c.job} / {c.fault}: {c.outcome}", file=sys.stderr))
    print(format_table(cells))
    print(f"({time.perf_counter() - started:.0f} s)")
    sys.exit(0 if all(c.ok for c in cells) else 1)


if __name__ == "__main__":
    main()
