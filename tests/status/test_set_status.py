"""`orders set-status` end to end: labels, SEOM's push rules, and what reaches the sandbox carts.

Real HTTPS to the sandboxes, both store backends, the CLI in-process as a merchant types it.
"""

from __future__ import annotations

import pytest

from seconnect import status
from seconnect.params import PARAMS, Param

from .helpers import Cli, deliver, history, order_numbers, outbox_rows, shop

SEED_WORDS = ("Order Status Updates are not supported. If the vendor chooses to make this option available in the "
              "future, it will be necessary to set system parameter UseGenericStatusUpdates to TRUE.")


def test_the_worker_finds_the_status_deliverer(plugins):
    registered = plugins.outbox_kinds.get(status.KIND)
    assert registered.deliver is status.deliver and registered.on_requeue is status.requeued
    assert registered.on_discard is status.discarded


def test_generic_cart_gets_two_packages_as_form_then_as_xml(store, plugins, gen, db_url):
    cart = shop(store, plugins, gen, UseStatusUpdates="TRUE")
    first, second = order_numbers(store, cart, not_status="Shipped")[:2]
    cli = Cli(db_url)

    result = cli("orders", "set-status", first, "shipped", "--cart", "Shop", "--tracking", "1Z001,UPS,2024-03-15",
                 "--tracking", "9400", "--carrier", "USPS", "--note", "Shipped complete")
    assert result.exit_code == 0 and "Queued for the cart" in result.output, result.output
    assert "→ Shipped, 2 packages" in result.output
    result = cli("run", "realtime", "--once")
    assert result.exit_code == 0 and "1 sent" in result.output, result.output

    cli("params", "set", "GenericStatusSendXML", "TRUE", "--cart", "Shop")
    change = cli.json("orders", "set-status", second, "Shipped", "--cart", "Shop",
                      "--tracking", "1Z003,FedEx,3/16/2024,Ground", "--tracking", "1Z004,FedEx")
    assert change["push"] == "queued" and change["changed"] and change["outbox_id"]
    assert cli("run", "realtime", "--once").exit_code == 0

    form, xml = gen.status_updates()
    # two packages are numbered tracknum1/2 … (§5.2); the sandbox reads them back only that way
    assert form == {"order": first, "status": "Shipped", "refnumber": "", "notes": "Shipped complete",
                    "variant": "form", "ok": True,
                    "tracking": [{"number": "1Z001", "carrier": "UPS", "pickup_date": "3/15/2024", "method": ""},
                                 {"number": "9400", "carrier": "USPS", "pickup_date": "", "method": ""}]}
    assert xml["variant"] == "xml" and xml["order"] == second and xml["ok"]
    assert xml["tracking"] == [{"number": "1Z003", "carrier": "FedEx", "pickup_date": "3/16/2024", "method": "Ground"},
                               {"number": "1Z004", "carrier": "FedEx", "pickup_date": "", "method": ""}]
    assert {o["number"]: o["status"] for o in gen.orders()}[first] == "Shipped"

    # the same label again (any spelling) is recorded but sends nothing
    again = cli("orders", "set-status", first, "SHIPPED", "--cart", "Shop", "--tracking", "1Z005")
    assert again.exit_code == 0 and "Label unchanged: nothing is sent" in again.output
    assert cli("run", "realtime", "--once").exit_code == 0
    assert len(gen.status_updates()) == 2 and len(outbox_rows(store)) == 2

    shown = cli("orders", "show", first, "--cart", "Shop").output
    assert "→ Shipped  push: sent" in shown and "Shipped → Shipped  push: not-needed (label unchanged)" in shown
    rows = history(store, cart, first)
    assert [(h.label, h.push_state) for h in rows] == [("Shipped", "sent"), ("Shipped", "not-needed")]
    assert rows[0].note == "Shipped complete" and [t["tracking_number"] for t in rows[0].tracking] == ["1Z001", "9400"]
    assert rows[1].previous_label == "Shipped" and rows[1].outbox_id is None


def test_without_use_status_updates_changes_stay_local(store, plugins, gen, db_url):
    cart = shop(store, plugins, gen)  # UseStatusUpdates is FALSE out of the box
    number = order_numbers(store, cart)[0]
    cli = Cli(db_url)
    result = cli("orders", "set-status", number, "payment", "RECEIVED", "--cart", "Shop")
    assert result.exit_code == 0 and "not sent to the cart" in result.output and "UseStatusUpdates" in result.output
    [row] = history(store, cart, number)
    assert (row.label, row.push_state, row.outbox_id) == ("Payment Received", "not-needed", None)
    assert "UseStatusUpdates is FALSE" in row.push_reason
    assert outbox_rows(store) == [] and gen.status_updates() == []
    assert cli.json("orders", "show", number, "--cart", "Shop")["record"]["status"] == "Payment Received"


def test_labels_and_tracking_input_are_checked(store, plugins, gen, db_url, monkeypatch):
    cart = shop(store, plugins, gen, UseStatusUpdates="TRUE")
    number = order_numbers(store, cart)[0]
    cli = Cli(db_url)
    typo = cli("orders", "set-status", number, "Shiped", "--cart", "Shop")
    assert typo.exit_code == 2 and "unknown status label 'Shiped'" in typo.output
    assert "Order Received, Payment Received, Shipped, Cancelled" in typo.output and status.LABELS_PARAM in typo.output
    for bad in (["--carrier", "UPS"], ["--tracking", "1Z,UPS,yesterday"], ["--tracking", ",UPS"],
                ["--tracking", "1Z", "--note", "two\nlines"], ["--tracking", "a,b,2024-01-01,d,e"]):
        result = cli("orders", "set-status", number, "Shipped", "--cart", "Shop", *bad)
        assert result.exit_code == 2, (bad, result.output)
    missing = cli("orders", "set-status", "999999", "Shipped", "--cart", "Shop")
    assert missing.exit_code == 2 and "has no order '999999'" in missing.output
    assert history(store, cart, number) == [] and outbox_rows(store) == []

    # the merchant's own labels (the StatusLabels parameter, once params.py defines it)
    if status.LABELS_PARAM not in PARAMS:
        monkeypatch.setitem(PARAMS, status.LABELS_PARAM, Param(
            status.LABELS_PARAM, "text", "", "global", "Extra order status labels, separated by ';'."))
    assert cli("params", "set", status.LABELS_PARAM, "Backordered;  On   Hold ; ").exit_code == 0
    change = cli.json("orders", "set-status", number, "on hold", "--cart", "Shop")
    assert change["label"] == "On Hold" and change["push"] == "queued"


def test_updates_of_one_order_arrive_in_the_order_they_were_made(store, plugins, gen, db_url):
    cart = shop(store, plugins, gen, UseStatusUpdates="TRUE")
    number = order_numbers(store, cart, not_status="Payment Received")[0]
    cli = Cli(db_url)
    for args in (["Payment", "Received"], ["Shipped", "--tracking", "1Z1,UPS"], ["Cancelled", "--note", "lost"]):
        assert cli("orders", "set-status", number, *args, "--cart", "Shop").exit_code == 0
    summary = deliver(store, plugins)
    assert summary["groups"] == 1 and summary["sent"] == 3
    assert [(u["status"], u["notes"]) for u in gen.status_updates()] == [
        ("Payment Received", ""), ("Shipped", ""), ("Cancelled", "lost")]
    assert [h.push_state for h in history(store, cart, number)] == ["sent"] * 3
    assert {r.state for r in outbox_rows(store)} == {"sent"}


def test_interspire_refuses_then_parks_the_generic_call_with_the_carts_answer(store, plugins, isc, db_url):
    cart = shop(store, plugins, isc, UseStatusUpdates="TRUE")
    number = order_numbers(store, cart)[0]
    cli = Cli(db_url)
    refused = cli("orders", "set-status", number, "Shipped", "--cart", "Shop", "--tracking", "1Z1")
    assert refused.exit_code == 0 and SEED_WORDS in refused.output
    assert outbox_rows(store) == [] and history(store, cart, number)[0].push_reason == SEED_WORDS

    cli("params", "set", "UseGenericStatusUpdates", "TRUE", "--cart", "Shop")
    change = cli.json("orders", "set-status", number, "Cancelled", "--cart", "Shop")
    assert change["push"] == "queued"
    assert cli("run", "realtime", "--once").exit_code == 7  # parked: it needs the merchant
    assert ("updatestatus", 200) in isc.requests()
    [row] = outbox_rows(store)
    assert row.state == "parked" and row.kind == "status" and row.key == number
    assert "There was an error in the transmission sent from Stone Edge Order Manager" in row.last_error
    listing = cli.json("outbox", "list")
    assert [(r["id"], r["kind"], r["state"]) for r in listing["rows"]] == [(row.id, "status", "parked")]
    last = history(store, cart, number)[-1]
    assert last.push_state == "rejected" and "error in the transmission" in last.push_reason
    assert f"seconnect outbox retry {row.id}" in last.push_reason
    assert "push: rejected (updatestatus: the cart rejected the call" in cli("orders", "show", number, "--cart", "Shop").output

    # `outbox retry` re-queues it; the cart is asked again and answers the same
    assert cli("outbox", "retry", str(row.id)).exit_code == 0
    with store.begin() as conn:
        status.requeued(conn, [row.id])  # what outbox.retry_parked is to call for kind "status"
    assert history(store, cart, number)[-1].push_state == "queued"
    assert deliver(store, plugins)["parked"] == 1
    assert [f for f, _ in isc.requests()].count("updatestatus") == 2
    assert outbox_rows(store)[0].state == "parked" and history(store, cart, number)[-1].push_state == "rejected"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_cart_turned_off_after_queueing_parks_instead_of_sending(store, plugins, gen, db_url):
    cart = shop(store, plugins, gen, UseStatusUpdates="TRUE")
    number = order_numbers(store, cart)[0]
    cli = Cli(db_url)
    cli("orders", "set-status", number, "Cancelled", "--cart", "Shop")
    cli("params", "set", "UseStatusUpdates", "FALSE")
    assert deliver(store, plugins)["parked"] == 1 and gen.status_updates() == []
    assert "UseStatusUpdates is FALSE" in history(store, cart, number)[-1].push_reason
