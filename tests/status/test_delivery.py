"""The status deliverer when things go wrong: declined updates hold later ones, retriable failures
back off, and an update that may have reached the cart is never sent again without the merchant."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from seconnect import outbox
from seconnect.store import tables, utcnow

from .helpers import Cli, deliver, history, order_numbers, outbox_rows, shop


def _set(cli: Cli, number: str, *args: str) -> int:
    change = cli.json("orders", "set-status", number, *args, "--cart", "Shop")
    assert change["push"] == "queued", change
    return change["outbox_id"]


def _unknown_at_the_cart(store, cart, number: str) -> None:
    """An order the store file has and the cart does not (deleted there since the import)."""
    with store.begin() as conn:
        conn.execute(sa.insert(tables.orders).values(cart_id=cart.id, number=number, number_sort=int(number),
                                                     status="Order Received", imported_at=utcnow()))


def test_a_declined_update_holds_the_later_ones_of_its_order_until_retried(store, plugins, gen, db_url):
    cart = shop(store, plugins, gen, UseStatusUpdates="TRUE")
    _unknown_at_the_cart(store, cart, "990001")
    good = order_numbers(store, cart, not_status="Shipped")[0]
    cli = Cli(db_url)
    first = _set(cli, "990001", "Shipped", "--tracking", "1Z9")
    second = _set(cli, "990001", "Cancelled")
    _set(cli, good, "Shipped")

    summary = deliver(store, plugins)
    assert summary["sent"] == 1 and summary["parked"] == 2  # the other order is not held up
    assert [(u["order"], u["ok"]) for u in gen.status_updates()] == [("990001", False), (good, True)]
    rows = {r.id: r for r in outbox_rows(store)}
    assert rows[first].state == rows[second].state == "parked"
    assert rows[first].last_error.startswith("the cart declined: Order 990001 could not be found")
    assert "1 later update of this order held behind it" in rows[first].last_error
    declined, held = history(store, cart, "990001")
    assert declined.push_state == held.push_state == "rejected"
    assert declined.push_reason.startswith("the cart declined: Order 990001 could not be found")
    assert held.push_reason.startswith(f"held behind outbox row {first}")

    # a newer change waits behind the parked ones instead of overtaking them
    _set(cli, "990001", "Payment", "Received")
    assert deliver(store, plugins)["parked"] == 1 and len(gen.status_updates()) == 2
    assert history(store, cart, "990001")[-1].push_reason.startswith(f"held behind outbox row {first}")

    # retrying all sends them again oldest first: the first is declined again, the rest wait again
    assert cli("outbox", "retry", "--all").exit_code == 0
    assert deliver(store, plugins)["parked"] == 3
    assert [u["status"] for u in gen.status_updates() if u["order"] == "990001"] == ["Shipped", "Shipped"]
    assert [r.state for r in outbox_rows(store) if r.key == "990001"] == ["parked"] * 3


def test_failures_before_the_request_left_are_retried(store, plugins, gen, db_url):
    cart = shop(store, plugins, gen, UseStatusUpdates="TRUE")
    number = order_numbers(store, cart, not_status="Shipped")[0]
    cli = Cli(db_url)
    gen.set_faults("503*2@updatestatus")  # both of the client's own tries meet a 503
    row_id = _set(cli, number, "Shipped")
    summary = deliver(store, plugins, outbox.Policy(max_attempts=3, backoff_base=60.0))
    assert summary["retried"] == 1 and gen.status_updates() == []
    [row] = outbox_rows(store)
    assert row.state == "pending" and row.attempts == 1 and row.next_attempt_at > utcnow() + timedelta(seconds=30)
    [hist] = history(store, cart, number)
    assert hist.push_state == "queued" and hist.push_reason.startswith("retrying:") and "503" in hist.push_reason

    with store.begin() as conn:  # the backoff has passed
        conn.execute(sa.update(tables.outbox).values(next_attempt_at=utcnow()))
    assert deliver(store, plugins)["sent"] == 1
    assert [u["status"] for u in gen.status_updates()] == ["Shipped"]
    assert history(store, cart, number)[0].push_state == "sent" and outbox_rows(store)[0].id == row_id


def test_an_answer_lost_on_the_way_back_is_not_sent_again(store, plugins, gen, db_url):
    cart = shop(store, plugins, gen, UseStatusUpdates="TRUE")
    number = order_numbers(store, cart, not_status="Shipped")[0]
    cli = Cli(db_url)
    gen.set_faults("truncate*1@updatestatus")  # the cart applies it, the answer is cut off
    _set(cli, number, "Shipped")
    _set(cli, number, "Cancelled")
    assert deliver(store, plugins)["parked"] == 2
    assert [u["status"] for u in gen.status_updates()] == ["Shipped"]  # asked once, never again
    sent, held = history(store, cart, number)
    assert sent.push_state == "rejected" and sent.push_reason.startswith("unconfirmed:")
    assert "check the order there" in sent.push_reason and held.push_reason.startswith("held behind")

    first, second = (r.id for r in outbox_rows(store))
    rows = outbox_rows(store)
    assert rows[0].last_error.startswith("unconfirmed:")
    assert rows[1].last_error.startswith(f"held behind outbox row {first}")  # only the first is in doubt

    # `retry --all` does not send it again (nor the update held behind it), and says why
    cli = Cli(db_url)
    result = cli("outbox", "retry", "--all")
    assert result.exit_code == 0 and "0 parked rows re-queued." in result.output
    assert (f"Skipped 1 row unconfirmed ({first}), and 1 row of the same orders held behind them: the cart may "
            "have applied them; check the cart, then `seconnect outbox retry ID --resend-unconfirmed` or "
            "`seconnect outbox discard ID`.") in result.output
    assert cli.json("outbox", "retry", "--all") == {"retried": [], "problems": [], "unconfirmed": [first],
                                                    "held": [second]}
    assert deliver(store, plugins)["sent"] == 0 and len(gen.status_updates()) == 1
    # the list says why it is held; by ID it needs the explicit flag
    assert (f"Row {first} is held, unconfirmed: the cart may have applied it; check the cart, then "
            f"`seconnect outbox retry {first} --resend-unconfirmed` or `seconnect outbox discard {first}`."
            ) in cli("outbox", "list").output
    assert [r["held_because"] is not None for r in cli.json("outbox", "list")["rows"]] == [False, True]
    refused = cli("outbox", "retry", str(first))
    assert refused.exit_code == 2 and f"row {first} is unconfirmed" in refused.output
    assert cli("outbox", "retry", "--all", "--resend-unconfirmed").exit_code == 2

    # the merchant checked and decides to send it again: then it is sent, and the held one after it
    assert cli("outbox", "retry", str(first), "--resend-unconfirmed").exit_code == 0
    assert deliver(store, plugins)["sent"] == 1
    assert cli("outbox", "retry", "--all").exit_code == 0
    assert deliver(store, plugins)["sent"] == 1
    assert [u["status"] for u in gen.status_updates()] == ["Shipped", "Shipped", "Cancelled"]
    assert [h.push_state for h in history(store, cart, number)] == ["sent", "sent"]


def test_an_unconfirmed_update_the_cart_did_apply_is_discarded(store, plugins, gen, db_url):
    cart = shop(store, plugins, gen, UseStatusUpdates="TRUE")
    number = order_numbers(store, cart, not_status="Shipped")[0]
    cli = Cli(db_url)
    gen.set_faults("truncate*1@updatestatus")
    first = _set(cli, number, "Shipped", "--tracking", "1Z1,UPS")
    _set(cli, number, "Cancelled")
    assert deliver(store, plugins)["parked"] == 2
    # the merchant sees the tracking number at the cart: drop the row instead of sending it twice
    result = cli("outbox", "discard", str(first))
    assert result.exit_code == 0 and "1 row discarded." in result.output
    assert cli("outbox", "discard", str(first)).exit_code == 2  # gone
    dropped, _ = history(store, cart, number)
    assert dropped.push_state == "not-needed" and dropped.outbox_id is None
    assert dropped.push_reason.startswith("discarded with `seconnect outbox discard`, not sent; it had been "
                                          "parked: unconfirmed:")
    assert cli("outbox", "retry", "--all").exit_code == 0
    assert deliver(store, plugins)["sent"] == 1
    updates = gen.status_updates()
    assert [u["status"] for u in updates] == ["Shipped", "Cancelled"] and len(updates[0]["tracking"]) == 1
    assert [h.push_state for h in history(store, cart, number)] == ["not-needed", "sent"]


def test_a_dead_workers_update_in_flight_is_parked_and_the_untouched_ones_go_out(store, plugins, gen, db_url):
    cart = shop(store, plugins, gen, UseStatusUpdates="TRUE")
    in_flight, untouched = order_numbers(store, cart, not_status="Shipped")[:2]
    cli = Cli(db_url)
    asked = _set(cli, in_flight, "Shipped")
    _set(cli, in_flight, "Cancelled")
    _set(cli, untouched, "Shipped")
    # a worker claimed everything, marked the first update as being sent, and died
    groups = outbox.claim_groups(store, "host:1:dead", outbox.Policy(), ["status"])
    assert len(groups) == 2
    h = tables.order_status_history
    with store.begin() as conn:
        conn.execute(sa.update(h).where(h.c.outbox_id == asked).values(
            push_reason="sending since 2024-03-15 10:00:00 UTC"))
        conn.execute(sa.update(tables.outbox).values(claimed_at=utcnow() - timedelta(minutes=5)))

    summary = deliver(store, plugins, outbox.Policy(lease=60))
    assert summary["requeued"] == 3 and summary["sent"] == 1 and summary["parked"] == 2
    assert [(u["order"], u["status"]) for u in gen.status_updates()] == [(untouched, "Shipped")]
    first, second = history(store, cart, in_flight)
    assert first.push_state == "rejected" and first.push_reason.startswith("unconfirmed: the cart was asked")
    assert second.push_reason.startswith(f"held behind outbox row {asked}")
    assert history(store, cart, untouched)[0].push_state == "sent"
