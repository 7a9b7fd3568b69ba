"""`seconnect run …` — the jobs, for people at a terminal and for cron/systemd.

Each job prints a one-line summary per cart (``--json`` prints the summaries for scripts), shows
a progress bar when stderr is a terminal, and records a run row in the audit log. With
``--all`` every active cart is processed; one cart failing does not stop the others, and the
exit code is 6 if any failed. A job that finished but left work for the merchant (parked
outbox rows, codes the cart does not know) exits 7 and says why.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

import click
from tqdm import tqdm

from ..cartdef import CartDefinition
from ..errors import AttentionNeeded, SeconnectError, UsageError
from . import App, cart_option, emit, json_option, pass_app, printable
from .runs import duration

log = logging.getLogger(__name__)


@click.group("run")
def command() -> None:
    """Run a job against one cart (--cart NAME) or every active cart (--all)."""


def _carts(app: App, cart_name: str | None, all_carts: bool) -> list[CartDefinition]:
    from ..carts import get_cart, list_carts

    if bool(cart_name) == bool(all_carts):
        raise UsageError("name one cart with --cart NAME, or use --all for every active cart.")
    with app.store.begin() as conn:
        if cart_name:
            return [get_cart(conn, cart_name)]
        return [get_cart(conn, row.name) for row in list_carts(conn, active_only=True)]


#: Without a terminal, a progress line goes to the log (INFO, shown with -v) this often.
LOG_EVERY_S = 10.0


class Progress:
    """A job's progress on one cart, called with ``(records handled, total or None)`` per batch.

    On a terminal: a tqdm bar on stderr, with the total and an ETA once the cart said how many
    records there are. Otherwise (cron, systemd, a pipe): a log line at most every
    :data:`LOG_EVERY_S` seconds.
    """

    def __init__(self, label: str, stream: TextIO | None = None):
        self.label = label
        self.done = 0
        self.total: int | None = None
        stream = stream or sys.stderr
        self.bar = tqdm(desc=label, unit=" records", file=stream, leave=False) if stream.isatty() else None
        self.started = self.logged = time.monotonic()

    def __call__(self, n: int, total: int | None = None) -> None:
        self.done += n
        if total is not None:
            self.total = max(total, self.done)  # orders that arrived meanwhile come on top
        if self.bar is not None:
            if self.total is not None and self.bar.total != self.total:
                self.bar.total = self.total
            self.bar.update(n)
            if self.total is not None and self.done >= self.total:
                self.bar.refresh()  # tqdm skips redraws within 0.1 s: the finished bar is always shown
            return
        now = time.monotonic()
        if now - self.logged >= LOG_EVERY_S:
            self.logged = now
            log.info("%s: %s", self.label, self._status(now))

    def _status(self, now: float) -> str:
        if not self.total:
            return f"{self.done:,} records so far"
        text = f"{self.done:,} of {self.total:,} records ({100 * self.done // self.total}%)"
        if self.done:
            left = (now - self.started) / self.done * (self.total - self.done)
            text += f", about {duration(left)} left"
        return text

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _waiting(cart: CartDefinition, job: str) -> Callable[[], None]:
    return lambda: click.echo(f"Waiting for another `run {job}` of cart {cart.name!r} to finish…", err=True)


def _error_entry(cart: CartDefinition, exc: SeconnectError) -> dict[str, Any]:
    return {"cart": cart.name, "error": exc.message, "hint": exc.hint, "exit_code": exc.exit_code}


def _each_cart(app: App, carts: list[CartDefinition], as_json: bool, job: str,
               run_one: Callable[[CartDefinition, Callable[[int], None] | None], dict[str, Any]],
               describe: Callable[[dict[str, Any]], str],
               attention: Callable[[dict[str, Any]], str | None] | None = None) -> None:
    """Run a job on each cart, print the summaries, and exit with the documented code.

    One cart: its error's own code (with ``--json`` also printed as ``[{cart, error, hint,
    exit_code}]`` on stdout). ``--all``: the other carts still run; 6 if any failed. Else 7 when
    ``attention`` finds something in a summary that needs the merchant (said on stderr).
    """
    results, failed, notes = [], [], []
    if not carts:
        click.echo("No active carts.", err=True)
    for cart in carts:
        progress = Progress(f"{cart.name}: {job}")
        try:
            summary = run_one(cart, progress)
        except KeyboardInterrupt:
            progress.close()
            _interrupted(app, cart, job)
        except SeconnectError as exc:
            if len(carts) == 1:
                if as_json:
                    emit([_error_entry(cart, exc)], True)
                raise
            failed.append(cart.name)
            summary = _error_entry(cart, exc)
            click.echo(printable(f"{cart.name}: failed: {exc.message}" + (f"\n  {exc.hint}" if exc.hint else ""),
                                 lines=True), err=True)
        finally:
            progress.close()
        results.append(summary)
        if "error" not in summary:
            if not as_json:
                click.echo(printable(f"{cart.name}: {describe(summary)}", lines=True))
            note = attention(summary) if attention else None
            if note:
                notes.append(f"{cart.name}: {note}" if len(carts) > 1 else note)
    if as_json:
        emit(results, True)
    if failed:
        click.echo(f"{len(failed)} of {len(carts)} carts failed ({', '.join(failed)}); "
                   f"{len(carts) - len(failed)} done.", err=True)
        sys.exit(6)
    if notes:
        needs_you(notes)


def _interrupted(app: App, cart: CartDefinition, job: str) -> None:
    """Ctrl-C: say what the run saved (its run row has the summary of the committed batches), exit 1."""
    from .. import runs

    with app.store.begin() as conn:
        last = runs.last_runs(conn, cart.id).get(job)
    summary = (last or {}).get("summary") or {}
    if summary.get("saved") is not None and summary.get("checkpoint"):
        n = summary["saved"]
        saved = f"{n:,} order{'' if n == 1 else 's'} saved up to order {summary['checkpoint']}"
    else:
        saved = "everything stored before the interruption is kept"
    click.echo(f"\nInterrupted: {cart.name}: {saved}; run again to continue.", err=True)
    sys.exit(1)


def needs_you(notes: list[str]) -> None:
    """Say on stderr what the finished job left for the merchant, and exit 7."""
    for note in notes:
        click.echo(f"Attention: {note}", err=True)
    sys.exit(AttentionNeeded.exit_code)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _describe_orders(s: dict[str, Any]) -> str:
    matched = sum(s["customers_matched"].values())
    rules = ", ".join(f"{k} {v}" for k, v in sorted(s["customers_matched"].items()))
    text = (f"{_plural(s['new'] + s['updated'], 'order')} ({s['new']} new, {s['updated']} updated); "
            f"customers: {s['customers_created']} created, {matched} matched" + (f" ({rules})" if rules else "")
            + f"; {s['quarantined']} quarantined")
    if s["unmapped_lines"]:
        text += f"; {_plural(s['unmapped_lines'], 'line')} with SKUs not in the store file"
    if s["custom_fields_kept_raw"]:
        text += (f"; custom order fields are not supported by this cart type: "
                 f"{s['custom_fields_kept_raw']} kept with the orders' raw data")
    return text


@command.command("import-orders")
@cart_option()
@click.option("--all", "all_carts", is_flag=True, help="Every active cart.")
@click.option("--start-after", metavar="NUMBER", help="Import orders after this order number (instead of the checkpoint).")
@json_option
@pass_app
def import_orders_cmd(app: App, cart_name, all_carts, start_after, as_json) -> None:
    """Import new orders ("Import My New Orders via Internet")."""
    from ..jobs.import_orders import check_start_after, import_orders

    carts = _carts(app, cart_name, all_carts)
    if start_after is not None:
        start_after = start_after.strip()
        for cart in carts:  # every cart's, before any is asked: bad input exits 2
            check_start_after(app.plugins, cart, start_after)
    _each_cart(app, carts, as_json, "import-orders",
               lambda cart, update: import_orders(app.store, app.plugins, cart, start_after=start_after,
                                                  progress=update, on_wait=_waiting(cart, "import-orders")),
               _describe_orders)


@command.command("import-customers")
@cart_option()
@click.option("--all", "all_carts", is_flag=True, help="Every active cart.")
@json_option
@pass_app
def import_customers_cmd(app: App, cart_name, all_carts, as_json) -> None:
    """Import customer records, matched to existing customers by CustomerSearchField1..4."""
    from ..jobs.import_customers import import_customers

    def describe(s: dict[str, Any]) -> str:
        matched = sum(s["matched"].values())
        rules = ", ".join(f"{k} {v}" for k, v in sorted(s["matched"].items()))
        return (f"{_plural(s['received'], 'customer record')}: {s['created']} created, {matched} matched"
                + (f" ({rules})" if rules else "") + f"; {s['quarantined']} quarantined")

    _each_cart(app, _carts(app, cart_name, all_carts), as_json, "import-customers",
               lambda cart, update: import_customers(app.store, app.plugins, cart, progress=update), describe)


@command.command("import-products")
@cart_option()
@click.option("--all", "all_carts", is_flag=True, help="Every active cart.")
@click.option("--attributes", type=click.Choice(["options", "sub-skus"]),
              help="Keep product attributes as options on order lines, or build sub-SKUs per variant. "
                   "Chosen once per cart (default: the BuildSubSKUs parameter).")
@click.option("--rebuild", is_flag=True, help="Allow changing the attribute choice; rebuilds the cart's mapping.")
@click.option("--dry-run", is_flag=True, help="Print the SKUs that would be created; change nothing.")
@json_option
@pass_app
def import_products_cmd(app: App, cart_name, all_carts, attributes, rebuild, dry_run, as_json) -> None:
    """Import product records (attributes as options or as sub-SKUs)."""
    from ..jobs.import_products import import_products
    from .products import planned_text

    def describe(s: dict[str, Any]) -> str:
        if dry_run:
            return (f"dry run ({s['attributes']}), nothing changed:\n"
                    + planned_text(s.get("planned") or []))
        return (f"{_plural(s['received'], 'product record')} ({s['attributes']}): {s['created']} created, "
                f"{s['updated']} updated, {s['sub_skus']} sub-SKUs; {s['quarantined']} quarantined")

    _each_cart(app, _carts(app, cart_name, all_carts), as_json, "import-products",
               lambda cart, update: import_products(app.store, app.plugins, cart, attributes=attributes,
                                                    rebuild=rebuild, dry_run=dry_run, progress=update),
               describe)
