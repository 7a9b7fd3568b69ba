"""`seconnect quarantine …` — records a job could not store, kept with their reason."""

from __future__ import annotations

import click

from ..jobs import quarantine as service
from . import App, emit, json_option, pass_app, printable, table
from .listing import limit_of, listing_options, report_cut
from .run import needs_you
from .types import ID


@click.group("quarantine")
def command() -> None:
    """Records parked by imports (schema failures, unmappable data)."""


@command.command("list")
@listing_options(all_help="Every record: those resolved by a retry too, no --limit.")
@json_option
@pass_app
def list_(app: App, limit, everything, as_json) -> None:
    """Parked records with their reason (oldest first)."""
    with app.store.begin() as conn:
        rows = service.list_quarantined(conn, include_resolved=everything, limit=limit_of(limit, everything))
    emit(rows, as_json, lambda d: table(
        [[r["id"], r["cart"], r["kind"], r["external_id"] or "", r["attempts"],
          "resolved" if r["resolved_at"] else "parked", r["reason"][:80]] for r in d],
        ["ID", "CART", "KIND", "ID AT CART", "RETRIES", "STATE", "REASON"]) if d else "Nothing in quarantine.")
    report_cut(rows, "records", as_json)


@command.command("retry")
@click.argument("ids", nargs=-1, type=ID)
@click.option("--all", "retry_all", is_flag=True, help="Retry every parked record.")
@pass_app
def retry(app: App, ids, retry_all) -> None:
    """Try to store parked records again (after the cause is fixed).

    Orders, products and customers are stored through their import's own code; a record that
    still fails stays parked with the new reason (and the exit code is 7).
    """
    results = service.retry(app.store, app.plugins, ids=None if retry_all else list(ids))
    for r in results:
        click.echo(f"{r['id']}: {'stored' if r['stored'] else 'still parked: ' + printable(r['reason'])}")
    parked = sum(not r["stored"] for r in results)
    if parked:
        needs_you([f"{parked} of {len(results)} records are still parked (reasons above); fix the cause, "
                   "then retry again."])
