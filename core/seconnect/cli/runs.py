"""`seconnect runs` — the run history: what each job did, when, and why it failed.

A run killed without a chance to record its end (``kill -9``, a machine that stopped) shows as
*abandoned*, never as running forever (see :mod:`seconnect.runs`).
"""

from __future__ import annotations

from typing import Any

import click

from .. import runs as history
from . import App, cart_option, emit, json_option, pass_app, table

__all__ = ["command", "duration", "counts_text", "when"]


def when(value) -> str:
    return "" if value is None else f"{value:%Y-%m-%d %H:%M:%S}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    return f"{minutes // 60} h {minutes % 60} min"


def counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items())


def _text(data: dict[str, Any]) -> str:
    rows = data["runs"]
    if not rows:
        return "No runs recorded yet. Jobs are run with `seconnect run …`."
    body = [[str(r["id"]), when(r["started_at"]), r["job"], r["cart"] or "", r["status"],
             duration(r["duration_s"]), counts_text(r["counts"])] for r in rows]
    lines = [table(body, ["ID", "STARTED (UTC)", "JOB", "CART", "OUTCOME", "TOOK", "COUNTS"])]
    problems = [r for r in rows if r["error"]]
    if problems:
        lines.append("")
        for r in problems:
            lines.append(f"Run {r['id']} ({r['job']}{', ' + r['cart'] if r['cart'] else ''}): {r['error']}")
            if r["hint"]:
                lines.append(f"  {r['hint']}")
    if data["total"] > len(rows):
        lines.append(f"\n{len(rows)} of {data['total']} runs shown (--limit N for more).")
    return "\n".join(lines)


@click.command("runs")
@cart_option()
@click.option("--job", metavar="JOB", help="Only runs of this job, e.g. import-orders.")
@click.option("--limit", type=click.IntRange(1, 1_000_000), default=20, show_default=True,
              help="Newest runs shown.")
@json_option
@pass_app
def command(app: App, cart_name, job, limit, as_json) -> None:
    """Run history, newest first: when, job, cart, outcome, counts, error and its hint, duration."""
    cart_id = app.cart(cart_name).id if cart_name else None
    history.reap_quietly(app.store)
    with app.store.begin() as conn:
        rows, total = history.list_runs(conn, cart_id=cart_id, job=job, limit=limit)
    emit({"runs": rows, "total": total}, as_json, _text)
