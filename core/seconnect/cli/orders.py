"""`seconnect orders …` — imported orders."""

from __future__ import annotations

from datetime import UTC

import click

from .. import orders as service
from . import App, cart_option, emit, json_option, pass_app, table
from .listing import limit_of, listing_options, report_cut


@click.group("orders")
def command() -> None:
    """Orders imported from the carts."""


@command.command("list")
@cart_option()
@click.option("--since", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]),
              metavar="DATE", help="Only orders dated DATE or later (YYYY-MM-DD[ HH:MM:SS], UTC).")
@click.option("--status", metavar="LABEL", help="Only orders with this status label (any case).")
@listing_options()
@json_option
@pass_app
def list_(app: App, cart_name, since, status, limit, everything, as_json) -> None:
    """List orders (by cart, oldest number first)."""
    with app.store.begin() as conn:
        rows = service.list_orders(conn, cart_name, limit_of(limit, everything),
                                   since=since.replace(tzinfo=UTC) if since else None, status=status)
    emit(rows, as_json, lambda d: table(
        [[r["cart"], r["number"], (r["date"] or "")[:19], r["status"] or "", r["customer"] or "",
          r["customer_match"] or "", r["lines"], r["grand_total"] or ""] for r in d],
        ["CART", "NUMBER", "DATE", "STATUS", "CUSTOMER", "MATCHED BY", "LINES", "TOTAL"]) if d else "No orders.")
    report_cut(rows, "orders", as_json)


@command.command("show")
@click.argument("number")
@cart_option(required=True)
@json_option
@pass_app
def show(app: App, number, cart_name, as_json) -> None:
    """Show order NUMBER of a cart: addresses, lines, totals, customer link, status history.

    With --json, 'record' follows order.schema.json."""
    with app.store.begin() as conn:
        details = service.order_details(conn, cart_name, number)
    emit(details, as_json, _text)


@command.command("set-status")
@click.argument("number")
@click.argument("label", nargs=-1, required=True)
@cart_option(required=True)
@click.option("--tracking", "tracking", multiple=True, metavar="NUM[,CARRIER[,DATE[,METHOD]]]",
              help="A package's tracking number, optionally with its carrier code, pickup date and ship "
                   "method. Repeat it, one per package.")
@click.option("--carrier", default="", metavar="CODE",
              help="Carrier (UPS, FedEx, USPS…) of every package that names none.")
@click.option("--pickup-date", default="", metavar="DATE",
              help="Pickup date (YYYY-MM-DD or M/D/YYYY) of every package that names none.")
@click.option("--note", default="", help="Kept with the change and sent to the cart (which may show it to the customer).")
@json_option
@pass_app
def set_status(app: App, number, label, cart_name, tracking, carrier, pickup_date, note, as_json) -> None:
    """Set order NUMBER's status to LABEL and queue the change for the cart when SEOM's rules allow.

    LABEL is one of the status labels (quotes optional): Order Received, Payment Received,
    Shipped, Cancelled, or one added to the StatusLabels parameter. The change is sent only if
    the label changed, UseStatusUpdates is TRUE and the cart takes status updates (its type
    supports them, or UseGenericStatusUpdates is TRUE for it); otherwise it is kept locally and
    the reason is printed. `seconnect run realtime` delivers queued changes.

    \b
    Two packages, both UPS:
      seconnect orders set-status 1041 Shipped --cart Shop --tracking 1Z001 --tracking 1Z002 --carrier UPS
    One package with its own carrier and pickup date:
      seconnect orders set-status 1041 Shipped --cart Shop --tracking 9400110,USPS,2024-03-15
    """
    from .. import status

    packages = status.parse_packages(tracking, carrier=carrier, pickup_date=pickup_date)
    with app.store.begin() as conn:
        change = status.set_status(conn, app.plugins, cart_name, number, " ".join(label), packages=packages,
                                   note=note)
    emit(change.as_dict(), as_json, status_text)


def status_text(d: dict) -> str:
    packages = len(d["packages"])
    head = (f"Order {d['order_number']} ({d['cart']}): {d['previous'] or '-'} → {d['label']}"
            + (f", {packages} package{'' if packages == 1 else 's'}" if packages else "") + ".")
    if d["push"] == "queued":
        return f"{head}\nQueued for the cart (outbox row {d['outbox_id']}); `seconnect run realtime` sends it."
    if not d["changed"]:
        return f"{head}\nLabel unchanged: nothing is sent to the cart."
    return f"{head}\nKept in the store file, not sent to the cart: {d['reason']}"


def _address(a: dict | None) -> str:
    if not a:
        return "(none)"
    parts = [a.get("full_name") or " ".join(x for x in (a.get("first_name"), a.get("last_name")) if x),
             a.get("company"), a.get("street1"), a.get("street2"),
             " ".join(x for x in (a.get("city"), a.get("state"), a.get("postal_code")) if x), a.get("country"),
             a.get("email"), a.get("phone")]
    return ", ".join(p for p in parts if p)


def _text(d: dict) -> str:
    r = d["record"]
    totals = r.get("totals", {})
    customer = d["customer"]
    at_cart = f", at the cart {d['cart_status']}" if d["cart_status"] not in (None, r.get("status")) else ""
    lines = [
        f"Order {r['number']} from {d['cart']}  ({r.get('date', 'no date')}, status {r.get('status') or '-'}{at_cart})",
        f"Customer:  {customer['name'] + ' #' + str(customer['id']) if customer else '(none)'}"
        f"  — matched by: {d['customer_match'] or '-'}",
        f"Billing:   {_address(r.get('billing'))}",
        f"Shipping:  {_address(r.get('shipping'))}",
        "Lines:",
    ]
    local = {x["line_no"]: x for x in d["local_skus"]}
    for line in r.get("lines", []):
        info = local.get(line.get("line_no"), {})
        sku = line.get("sku") or ""
        mapped = info.get("local_sku")
        note = f" → {mapped}" if mapped and mapped != sku else ""
        note += "" if info.get("in_store_file") else " (not in store file)"
        opts = "; ".join(f"{o.get('name')}: {o.get('value')}" for o in line.get("options", []))
        lines.append(f"  {line.get('quantity')} × {sku}{note}  {line.get('name') or ''}  @ {line.get('unit_price')}"
                     f" = {line.get('total')}" + (f"\n      {opts}" if opts else ""))
    lines.append("Totals:    " + ", ".join(f"{k} {v}" for k, v in totals.items() if isinstance(v, str)))
    for discount in totals.get("discounts", []):
        lines.append(f"Discount:  {discount.get('amount') or ''}  {discount.get('description') or ''}".rstrip())
    if d["totals_note"]:
        lines.append(f"Totals do not add up: {d['totals_note']}")
    for field in r.get("custom_fields", []):
        lines.append(f"Custom field {field['name']}: {field.get('value')}")
    if d["status_history"]:
        lines.append("Status history:")
        for h in d["status_history"]:
            lines.append(f"  {h['at'][:19]}  {h['previous'] or '-'} → {h['label']}  push: {h['push']}"
                         + (f" ({h['reason']})" if h["reason"] else ""))
    return "\n".join(lines)
