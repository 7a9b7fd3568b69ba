"""`seconnect run inventory-get | inventory-send | realtime` — added to the `run` group.

``commands`` lists the click commands; the CLI's owner adds them to ``run``.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

import click

from ..errors import UsageError
from . import App, emit, pass_app
from .run import _carts, _each_cart, _plural, _progress, _waiting

__all__ = ["commands"]


def _describe_get(s: dict[str, Any]) -> str:
    head = "dry run, nothing changed: " if s["dry_run"] else ""
    text = (f"{head}{_plural(s['received'], 'cart record')} read, {s['matched']} matched; "
            f"{s['changed']} {'would change' if s['dry_run'] else 'changed'}, {s['unchanged']} already equal")
    if s["not_tracked_at_cart"]:
        text += f", {s['not_tracked_at_cart']} not tracked at the cart"
    if s.get("skipped_no_code"):
        text += f", {_plural(s['skipped_no_code'], 'empty row')} without a code skipped"
    if not s["dry_run"]:
        text += f"; {_plural(s['queued'], 'update')} queued for other carts"
    lines = [text]
    if s["dry_run"] and s["diff"]:
        width = max(len(d["sku"]) for d in s["diff"])
        lines.append(f"  {'SKU'.ljust(width)}  {'local':>7}  {'cart':>7}")
        lines += [f"  {d['sku'].ljust(width)}  {_qty(d['local']):>7}  {d['cart']:>7}" for d in s["diff"]]
        lines += _more(s["changed"], len(s["diff"]))
    if s["unknown_count"]:
        lines.append(f"  {_plural(s['unknown_count'], 'cart code')} not in the store file (not imported; run "
                     "`seconnect run import-products` to add them):")
        lines += [f"    {u['code']}" + (f"  (WebID {u['web_id']})" if u.get("web_id") else "") for u in s["unknown"]]
        lines += _more(s["unknown_count"], len(s["unknown"]))
    return "\n".join(lines)


def _qty(value: int | None) -> str:
    return "-" if value is None else str(value)


def _more(total: int, shown: int) -> list[str]:
    return [f"  … and {total - shown} more (see --json)"] if total > shown else []


def _describe_send(s: dict[str, Any]) -> str:
    counts = s["counts"]
    if s["dry_run"]:
        lines = [f"dry run, nothing sent: {_plural(s['items'], 'SKU')} would be sent"]
        lines += [f"  {p['sku']} → {p['code']}: {p['qoh']}" + (f" (last sent {p['last_sent']})"
                                                               if p["last_sent"] is not None else "")
                  for p in s["plan"]]
        lines += _more(s["items"], len(s["plan"]))
    else:
        order = ("ok", "verified", "mismatched", "not-found", "not-tracked", "error", "skipped", "untracked")
        parts = [f"{counts[k]} {k.replace('-', ' ') if k != 'untracked' else 'not tracked locally'}"
                 for k in order if counts.get(k)]
        lines = [f"{_plural(s['items'], 'SKU')} sent: " + (", ".join(parts) or "nothing to send")]
    for p in s["problems"]:
        lines.append(f"  {p['outcome']}: {p['sku']}" + (f" ({p['code']})" if p.get("code") and p["code"] != p["sku"]
                                                        else "") + (f" — {p['note']}" if p.get("note") else ""))
    return "\n".join(lines)


@click.command("inventory-get")
@click.option("--cart", "cart_name", help="The cart to read quantities from.")
@click.option("--all", "all_carts", is_flag=True, help="Every active cart.")
@click.option("--dry-run", is_flag=True, help="Print the differences (SKU, local, cart); change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the summaries as JSON.")
@pass_app
def inventory_get_cmd(app: App, cart_name, all_carts, dry_run, as_json) -> None:
    """Get quantities on hand from the cart into the store file ("Get QOH from Website").

    Meant to initialise counts; once real-time sync is on, the store file is the master.
    """
    from ..jobs.inventory import inventory_get

    _each_cart(app, _carts(app, cart_name, all_carts), as_json, "inventory-get",
               lambda cart, update: inventory_get(app.store, app.plugins, cart, dry_run=dry_run, progress=update,
                                                  on_wait=_waiting(cart, "inventory-get")),
               _describe_get)


@click.command("inventory-send")
@click.option("--cart", "cart_name", help="The cart to send quantities to.")
@click.option("--all", "all_carts", is_flag=True, help="Every active cart.")
@click.option("--sku", "skus", multiple=True, metavar="SKU", help="Send only this SKU (repeatable).")
@click.option("--dry-run", is_flag=True, help="Print what would be sent; send nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the summaries as JSON.")
@pass_app
def inventory_send_cmd(app: App, cart_name, all_carts, skus, dry_run, as_json) -> None:
    """Send the store file's quantities on hand to the cart ("Send QOH to Website")."""
    from ..jobs.inventory import inventory_send

    _each_cart(app, _carts(app, cart_name, all_carts), as_json, "inventory-send",
               lambda cart, update: inventory_send(app.store, app.plugins, cart, skus=skus, dry_run=dry_run,
                                                   progress=update, on_wait=_waiting(cart, "inventory-send")),
               _describe_send)


@click.command("realtime")
@click.option("--once", "mode", flag_value="once", default=True, help="Deliver what is due now, then exit (default).")
@click.option("--follow", "mode", flag_value="follow", help="Keep delivering until stopped (SIGTERM or Ctrl-C).")
@click.option("--cart", "cart_names", multiple=True, metavar="NAME", help="Deliver only to this cart (repeatable).")
@click.option("--poll", type=click.FloatRange(0.01, 3600), default=None, metavar="SECONDS",
              help="With --follow: how often to look for new work when idle (default 0.25).")
@click.option("--lease", type=click.FloatRange(1, 86400), default=None, metavar="SECONDS",
              help="Requeue rows a worker has been delivering without a sign of life for this long (default 60).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_app
def realtime_cmd(app: App, mode, cart_names, poll, lease, as_json) -> None:
    """Deliver queued changes (inventory, status updates) to the carts: the outbox worker."""
    from .. import outbox
    from ..jobs.realtime import POLL_S, run_realtime

    follow = mode == "follow"
    if poll is not None and not follow:
        raise UsageError("--poll only applies with --follow.")
    carts = [app.cart(name) for name in cart_names]
    policy = outbox.Policy(lease=lease) if lease else None
    stop = threading.Event()

    def on_signal(signum, _frame) -> None:
        click.echo("Stopping after the batch in hand… (again to abort)", err=True)
        stop.set()
        signal.signal(signum, signal.SIG_DFL)

    previous = {}
    if threading.current_thread() is threading.main_thread():  # signals can only be caught there
        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    update, close = _progress("realtime")

    def on_cycle(counts: dict[str, int]) -> None:
        if update:
            update(counts["claimed"])

    def waiting() -> None:
        click.echo("Another realtime worker is running on this SQLite store; waiting to take over when it stops "
                   "(several workers at once need PostgreSQL).", err=True)

    try:
        summary = run_realtime(app.store, app.plugins, follow=follow, poll=poll or POLL_S, policy=policy,
                               carts=carts, stop=stop, on_wait=waiting if follow else None, on_cycle=on_cycle)
    finally:
        close()
        for s, handler in previous.items():
            signal.signal(s, handler)
    emit(summary, as_json, _describe_realtime)


def _describe_realtime(s: dict[str, Any]) -> str:
    state = s.get("outbox") or {}
    deliveries = f"{s['groups']} deliver{'y' if s['groups'] == 1 else 'ies'}"
    text = (f"{_plural(s['claimed'], 'outbox row')} handled in {deliveries}: "
            f"{s['sent']} sent, {s['retried']} to retry, {s['parked']} parked")
    if s["requeued"]:
        text += f"; {s['requeued']} requeued from a stopped worker"
    text += (f". Outbox now: {state.get('pending', 0)} pending, {state.get('sending', 0)} sending, "
             f"{state.get('parked', 0)} parked")
    if state.get("parked"):
        text += " (see `seconnect outbox list`)"
    return text


commands = [inventory_get_cmd, inventory_send_cmd, realtime_cmd]
