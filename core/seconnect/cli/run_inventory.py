"""`seconnect run inventory-get | inventory-send | realtime` — added to the `run` group.

``commands`` lists the click commands; the CLI's owner adds them to ``run``.
"""

from __future__ import annotations

import shlex
import signal
import threading
from typing import Any

import click

from ..errors import UsageError
from . import App, cart_option, emit, json_option, pass_app
from .run import Progress, _carts, _each_cart, _plural, _waiting, needs_you

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
    new = s["unknown_count"] - s["unknown_variations"]
    cart = shlex.quote(s["cart"])
    if new:
        lines.append(f"  {_plural(new, 'cart record')} the store file has no product for (added at the cart since "
                     f"the last product import): `seconnect run import-products --cart {cart}` adds them:")
        lines += _unknown(s, "not-imported", new)
    if s["unknown_variations"]:
        lines.append(f"  {_plural(s['unknown_variations'], 'variation record')} not kept: this cart's products are "
                     "imported as options, where a variation has no product of its own to hold its quantity. To keep "
                     f"stock per variation: `seconnect run import-products --cart {cart} --attributes sub-skus "
                     "--rebuild` (try --dry-run first):")
        lines += _unknown(s, "variation", s["unknown_variations"])
    return "\n".join(lines)


def _unknown(s: dict[str, Any], reason: str, total: int) -> list[str]:
    shown = [u for u in s["unknown"] if u.get("reason", "not-imported") == reason]
    return ([f"    {u['code']}" + (f"  (WebID {u['web_id']})" if u.get("web_id") else "") for u in shown]
            + _more(total, len(shown)))


def _qty(value: int | None) -> str:
    return "-" if value is None else str(value)


def _more(total: int, shown: int) -> list[str]:
    return [f"  … and {total - shown} more (see --json)"] if total > shown else []


def _describe_send(s: dict[str, Any]) -> str:
    counts = s["counts"]
    if s["dry_run"]:
        changes = s.get("changes")
        lines = [f"dry run, nothing sent: {_plural(s['items'], 'SKU')} would be sent"
                 + ("" if changes is None else f", {changes} of them would change the cart's quantity")]
        shown = [p for p in s["plan"] if changes is None or p["cart"] != p["qoh"]]
        lines += [f"  {p['sku']} → {p['code']}: " + (f"{_qty(p['cart'])} → " if changes is not None else "")
                  + f"{p['qoh']}" + (f" (last sent {p['last_sent']})" if p["last_sent"] is not None else "")
                  for p in shown]
        lines += _more(s["items"] if changes is None else changes, len(shown))
    else:
        order = ("ok", "verified", "mismatched", "not-found", "not-tracked", "error", "skipped", "untracked")
        parts = [f"{counts[k]} {k.replace('-', ' ') if k != 'untracked' else 'not tracked locally'}"
                 for k in order if counts.get(k)]
        lines = [f"{_plural(s['items'], 'SKU')} sent: " + (", ".join(parts) or "nothing to send")]
    for p in s["problems"]:
        lines.append(f"  {p['outcome']}: {p['sku']}" + (f" ({p['code']})" if p.get("code") and p["code"] != p["sku"]
                                                        else "") + (f" — {p['note']}" if p.get("note") else ""))
    return "\n".join(lines)


def _send_attention(s: dict[str, Any]) -> str | None:
    """Codes whose quantity the cart did not take: exit 7 (see `_each_cart`)."""
    if s["dry_run"]:
        return None
    missed = [p for p in s["problems"] if p["outcome"] in ("not-found", "error")]
    count = s["counts"].get("not-found", 0) + s["counts"].get("error", 0)
    if not count:
        return None
    codes = ", ".join(p.get("code") or p["sku"] for p in missed[:10]) + (", …" if count > 10 else "")
    return (f"the cart did not take the quantity of {_plural(count, 'code')} ({codes}): not found at the cart "
            "or refused (listed above). Check each SKU's code at the cart (`seconnect products show SKU`); "
            "`seconnect run import-products` refreshes the codes.")


@click.command("inventory-get")
@cart_option()
@click.option("--all", "all_carts", is_flag=True, help="Every active cart.")
@click.option("--dry-run", is_flag=True, help="Print the differences (SKU, local, cart); change nothing.")
@json_option
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
@cart_option()
@click.option("--all", "all_carts", is_flag=True, help="Every active cart.")
@click.option("--sku", "skus", multiple=True, metavar="SKU", help="Send only this SKU (repeatable).")
@click.option("--dry-run", is_flag=True, help="Print what would be sent; send nothing.")
@json_option
@pass_app
def inventory_send_cmd(app: App, cart_name, all_carts, skus, dry_run, as_json) -> None:
    """Send the store file's quantities on hand to the cart ("Send QOH to Website").

    Exits 7 (after the summary) when the cart did not take some quantities: codes it does not know.
    """
    from ..jobs.inventory import inventory_send

    _each_cart(app, _carts(app, cart_name, all_carts), as_json, "inventory-send",
               lambda cart, update: inventory_send(app.store, app.plugins, cart, skus=skus, dry_run=dry_run,
                                                   progress=update, on_wait=_waiting(cart, "inventory-send")),
               _describe_send, _send_attention)


@click.command("realtime")
@click.option("--once", "mode", flag_value="once", default=True, help="Deliver what is due now, then exit (default).")
@click.option("--follow", "mode", flag_value="follow", help="Keep delivering until stopped (SIGTERM or Ctrl-C).")
@cart_option(multiple=True)
@click.option("--poll", type=click.FloatRange(0.01, 3600), default=None, metavar="SECONDS",
              help="With --follow: how often to look for new work when idle (default 0.25).")
@click.option("--lease", type=click.FloatRange(1, 86400), default=None, metavar="SECONDS",
              help="Requeue rows a worker has been delivering without a sign of life for this long (default 60).")
@json_option
@pass_app
def realtime_cmd(app: App, mode, cart_names, poll, lease, as_json) -> None:
    """Deliver queued changes (inventory, status updates) to the carts: the outbox worker.

    With --once, exits 7 (after the summary) when this run parked rows: they wait for you.
    """
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
    progress = Progress("realtime")

    def on_cycle(counts: dict[str, int]) -> None:
        progress(counts["claimed"])

    def waiting() -> None:
        click.echo("Another realtime worker is running on this SQLite store; waiting to take over when it stops "
                   "(several workers at once need PostgreSQL).", err=True)

    try:
        summary = run_realtime(app.store, app.plugins, follow=follow, poll=poll or POLL_S, policy=policy,
                               carts=carts, stop=stop, on_wait=waiting if follow else None, on_cycle=on_cycle)
    finally:
        progress.close()
        for s, handler in previous.items():
            signal.signal(s, handler)
    emit(summary, as_json, _describe_realtime)
    if summary["parked"] and not follow:
        needs_you([f"this run parked {_plural(summary['parked'], 'outbox row')}: the cart refused them or they "
                   "failed too often, so they wait for you. See why with `seconnect outbox list --state parked`; "
                   "once the cause is fixed, `seconnect outbox retry --all` sends them again."])


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
