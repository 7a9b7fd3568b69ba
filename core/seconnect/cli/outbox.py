"""`seconnect outbox …` — queued outbound work (inventory changes, status updates): look and re-queue.

Rows move pending → sending → sent; a row that failed too often, or in a way retrying cannot
fix, is *parked* with its last error and waits for `outbox retry` (see :mod:`seconnect.outbox`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from ..errors import UsageError
from ..store import tables
from . import App, cart_option, emit, json_option, pass_app, table
from .listing import limit_of, listing_options, report_cut
from .types import ID

__all__ = ["command"]


@click.group("outbox")
def command() -> None:
    """Changes waiting to be delivered to carts, and parked ones."""


def _when(value: datetime | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%d %H:%M:%S}"


def _text(data: dict[str, Any]) -> str:
    counts = data["counts"]
    head = ", ".join(f"{counts[s]} {s}" for s in tables.OUTBOX_STATES)
    rows = data["rows"]
    if not rows:
        return f"Outbox: {head}. Nothing to show."
    body = [[str(r["id"]), r["cart"], r["kind"], r["key"], r["state"], str(r["attempts"]),
             _when(r["next_attempt_at"]) if r["state"] == "pending" else _when(r["sent_at"] or r["claimed_at"]),
             (r["last_error"] or "")[:100]] for r in rows]
    footer = ""
    if counts["parked"]:
        footer = "\nParked rows wait for you: fix the cause, then `seconnect outbox retry ID` or `--all`."
    return (f"Outbox: {head}.\n" + table(body, ["ID", "CART", "KIND", "KEY", "STATE", "TRIES", "WHEN (UTC)",
                                                  "LAST ERROR"]) + footer)


@command.command("list")
@click.option("--state", "states", multiple=True, type=click.Choice(tables.OUTBOX_STATES),
              help="Only rows in this state (repeatable). Default: everything not yet sent.")
@cart_option()
@click.option("--kind", help="Only this kind of work (inventory, status).")
@listing_options(all_help="Every row: sent ones too (unless --state says otherwise), no --limit.")
@json_option
@pass_app
def list_cmd(app: App, states, cart_name, kind, limit, everything, as_json) -> None:
    """Queued, in-flight and parked work, newest first, with the last error of each row."""
    from .. import outbox

    cart_id = app.cart(cart_name).id if cart_name else None
    if not states and not everything:
        states = ("pending", "sending", "parked")
    with app.store.begin() as conn:
        data = {"counts": outbox.state_counts(conn, cart_id),
                "rows": outbox.list_rows(conn, states=states, cart_id=cart_id, kind=kind,
                                         limit=limit_of(limit, everything))}
    emit(data, as_json, _text)
    report_cut(data["rows"], "rows", as_json)


@command.command("retry")
@click.argument("ids", nargs=-1, type=ID)
@click.option("--all", "all_parked", is_flag=True, help="Every parked row (of --cart, if given).")
@cart_option()
@json_option
@pass_app
def retry_cmd(app: App, ids, all_parked, cart_name, as_json) -> None:
    """Re-queue parked rows (by ID, or --all) with a fresh set of attempts."""
    from .. import outbox

    if bool(ids) == bool(all_parked):
        raise UsageError("name the parked rows to retry (IDs from `seconnect outbox list`), or use --all.")
    if cart_name and not all_parked:
        raise UsageError("--cart goes with --all.")
    cart_id = app.cart(cart_name).id if cart_name else None
    with app.store.begin() as conn:
        retried, problems = outbox.retry_parked(conn, ids=ids, cart_id=cart_id)
    data = {"retried": retried, "problems": problems}

    def text(d: dict[str, Any]) -> str:
        n = len(d["retried"])
        lines = [f"{n} parked row{'' if n == 1 else 's'} re-queued" +
                 ("; `seconnect run realtime` delivers them." if n else ".")]
        lines += [f"  {p}" for p in d["problems"]]
        return "\n".join(lines)

    emit(data, as_json, text)
    if problems and not retried:
        raise UsageError("nothing was re-queued.", hint="Only parked rows can be retried; see `seconnect outbox list`.")
