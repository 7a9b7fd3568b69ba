"""`seconnect outbox …` — queued outbound work (inventory changes, status updates): look, re-queue, discard.

Rows move pending → sending → sent; a row that failed too often, or in a way retrying cannot
fix, is *parked* with its last error and waits for `outbox retry` (see :mod:`seconnect.outbox`).
An *unconfirmed* row (the cart may have applied it) is re-sent only by ID with
`--resend-unconfirmed`, after the merchant checked the cart, or dropped with `outbox discard`.
"""

from __future__ import annotations

from dataclasses import asdict
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
    footer += "".join(f"\nRow {r['id']} is held, {r['held_because']}." for r in rows if r["held_because"])
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


def _rows(n: int) -> str:
    return f"{n} row{'' if n == 1 else 's'}"


@command.command("retry")
@click.argument("ids", nargs=-1, type=ID)
@click.option("--all", "all_parked", is_flag=True,
              help="Every parked row (of --cart, if given) except unconfirmed ones and the rows held behind them.")
@cart_option()
@click.option("--resend-unconfirmed", is_flag=True,
              help="Also send the named rows that are unconfirmed (the cart may have applied them): "
                   "check the cart first.")
@json_option
@pass_app
def retry_cmd(app: App, ids, all_parked, cart_name, resend_unconfirmed, as_json) -> None:
    """Re-queue parked rows (by ID, or --all) with a fresh set of attempts."""
    from .. import outbox

    if bool(ids) == bool(all_parked):
        raise UsageError("name the parked rows to retry (IDs from `seconnect outbox list`), or use --all.")
    if cart_name and not all_parked:
        raise UsageError("--cart goes with --all.")
    if resend_unconfirmed and all_parked:
        raise UsageError("--resend-unconfirmed takes row IDs, not --all: check each row's order at the cart first.",
                         hint="`seconnect outbox list` shows the unconfirmed rows.")
    cart_id = app.cart(cart_name).id if cart_name else None
    with app.store.begin() as conn:
        result = outbox.retry_parked(conn, app.plugins.outbox_kinds, ids=ids, cart_id=cart_id, resend_unconfirmed=resend_unconfirmed)
    data = asdict(result)

    def text(d: dict[str, Any]) -> str:
        n = len(d["retried"])
        lines = [f"{n} parked row{'' if n == 1 else 's'} re-queued" +
                 ("; `seconnect run realtime` delivers them." if n else ".")]
        lines += [f"  {p}" for p in d["problems"]]
        if d["unconfirmed"]:
            held = f", and {_rows(len(d['held']))} of the same orders held behind them" if d["held"] else ""
            lines.append(f"Skipped {_rows(len(d['unconfirmed']))} unconfirmed ({', '.join(map(str, d['unconfirmed']))})"
                         f"{held}: the cart may have applied them; check the cart, then "
                         "`seconnect outbox retry ID --resend-unconfirmed` or `seconnect outbox discard ID`.")
        return "\n".join(lines)

    emit(data, as_json, text)
    if result.problems and not result.retried:
        raise UsageError("nothing was re-queued.", hint="Only parked rows can be retried; see `seconnect outbox list`.")


@command.command("discard")
@click.argument("ids", nargs=-1, type=ID, required=True)
@json_option
@pass_app
def discard_cmd(app: App, ids, as_json) -> None:
    """Drop parked rows: they are never sent (e.g. an unconfirmed update the cart did apply)."""
    from .. import outbox

    with app.store.begin() as conn:
        discarded, problems = outbox.discard_parked(conn, app.plugins.outbox_kinds, ids)
    data = {"discarded": discarded, "problems": problems}

    def text(d: dict[str, Any]) -> str:
        lines = [f"{_rows(len(d['discarded']))} discarded." + (
            " Later rows of the same orders go out with `seconnect outbox retry --all`." if d["discarded"] else "")]
        return "\n".join(lines + [f"  {p}" for p in d["problems"]])

    emit(data, as_json, text)
    if problems and not discarded:
        raise UsageError("nothing was discarded.", hint="Only parked rows can be discarded; see `seconnect outbox list`.")
