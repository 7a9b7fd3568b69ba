"""`seconnect schedule …` — when `seconnect serve` runs each cart's jobs.

Schedules live in the store; the service picks up changes on its next look (about a second).
``--at`` times are the local time of the machine running the service.
"""

from __future__ import annotations

from typing import Any

import click

from . import App, cart_option, emit, json_option, pass_app, table
from .runs import when
from .types import ID

__all__ = ["command"]


def _text(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "No schedules. Add one with `seconnect schedule add --cart NAME --job import-orders --every 5m`."
    body = [[str(r["id"]), r["cart"], r["job"], r["timing"], "paused" if r["paused"] else "active",
             "now (webhook)" if r["wanted_at"] else when(r["next_due"]), r["running_on"] or ""] for r in rows]
    return table(body, ["ID", "CART", "JOB", "WHEN", "STATE", "NEXT (UTC)", "RUNNING ON"])


@click.group("schedule")
def command() -> None:
    """When `seconnect serve` runs each cart's jobs: add, list, pause, resume, remove."""


@command.command("add")
@cart_option(required=True)
@click.option("--job", required=True, metavar="JOB",
              help="The job: import-orders, import-products, import-customers, inventory-get or inventory-send.")
@click.option("--every", metavar="INTERVAL", help="Run every INTERVAL, start to start: 30s, 5m, 1h, 1h30m.")
@click.option("--at", "at", metavar="HH:MM", help="Run daily at this time (the service machine's local time).")
@json_option
@pass_app
def add_cmd(app: App, cart_name: str, job: str, every: str | None, at: str | None, as_json: bool) -> None:
    """Add a schedule: a job for one cart, --every INTERVAL or daily --at HH:MM.

    A new --every schedule first runs as soon as the service looks; a run missed while the service
    was down runs once when it starts, never as a burst.
    """
    from ..errors import UsageError
    from ..service import schedules

    if (every is None) == (at is None):
        raise UsageError("say when the job runs: --every INTERVAL or --at HH:MM (one of them).",
                         hint="e.g. `--every 5m` or `--at 02:00`.")
    every_s = schedules.parse_every(every) if every is not None else None
    at_time = schedules.parse_at(at) if at is not None else None
    cart = app.cart(cart_name)
    with app.store.begin() as conn:
        added = schedules.add(conn, app.plugins, cart, job.strip(), every_s=every_s, at_time=at_time).as_dict()
    emit(added, as_json, lambda s: f"Schedule {s['id']}: {s['job']} for cart {s['cart']}, {s['timing']}. "
                                   "`seconnect serve` runs it.")


@command.command("list")
@cart_option()
@json_option
@pass_app
def list_cmd(app: App, cart_name: str | None, as_json: bool) -> None:
    """Every schedule: cart, job, when, paused or not, next run, the instance running it now."""
    from ..service import schedules

    cart_id = app.cart(cart_name).id if cart_name else None
    with app.store.begin() as conn:
        rows = [s.as_dict() for s in schedules.list_schedules(conn, cart_id)]
    emit(rows, as_json, _text)


def _change(verb: str, done: str, help_text: str, apply) -> None:
    """Add `schedule VERB ID`; ``apply(schedules_module, conn, id)`` does it."""

    @command.command(verb, help=help_text)
    @click.argument("schedule_id", metavar="ID", type=ID)
    @json_option
    @pass_app
    def change(app: App, schedule_id: int, as_json: bool) -> None:
        from ..service import schedules

        with app.store.begin() as conn:
            changed = apply(schedules, conn, schedule_id).as_dict()
        emit(changed, as_json, lambda s: f"Schedule {s['id']} ({s['job']} for cart {s['cart']}, {s['timing']}): {done}.")


_change("remove", "removed", "Remove a schedule (a run in progress finishes).",
        lambda schedules, conn, i: schedules.remove(conn, i))
_change("pause", "paused", "Pause a schedule: it runs neither on time nor on webhooks until resumed.",
        lambda schedules, conn, i: schedules.set_paused(conn, i, True))
_change("resume", "resumed", "Resume a paused schedule; a run it missed meanwhile runs once, now.",
        lambda schedules, conn, i: schedules.set_paused(conn, i, False))
