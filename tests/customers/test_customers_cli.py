"""`seconnect customers list|show`, through the real CLI in-process."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import insert

from seconnect.matching import CustomerFacts
from seconnect.store import tables


def _seed(store, make_cart, match):
    shop, outlet = make_cart("Shop"), make_cart("Outlet", script_url="outlet.example.test/seti.php")
    marisol, kai = match(shop, CustomerFacts(first_name="Marisol", last_name="Venter", email="marisol@example.net",
                                             phone="207-482-0142", city="Port Ellery", postal_code="04999",
                                             web_id="10"),
                         CustomerFacts(first_name="Kai", email="kai@example.net", web_id="2"))
    match(shop, CustomerFacts(email="MARISOL@example.net", web_id="8"))  # a second account, same person
    [at_outlet] = match(outlet, CustomerFacts(email="marisol@example.net", web_id="500"))
    assert at_outlet.customer_id == marisol.customer_id
    [guest] = match(outlet, CustomerFacts(company="Dock Office Ltd", phone="0"))
    with store.begin() as conn:
        conn.execute(insert(tables.orders), [
            {"cart_id": shop.id, "number": str(n), "customer_id": marisol.customer_id, "customer_match": "Email",
             "ordered_at": datetime(2024, 5, n, tzinfo=UTC), "imported_at": datetime.now(UTC),
             "updated_at": datetime.now(UTC), "grand_total": Decimal("19.99")} for n in range(1, 13)])
    return marisol.customer_id, kai.customer_id, guest.customer_id


def test_list_json_is_for_scripts(seconnect, store, make_cart, match):
    marisol, kai, guest = _seed(store, make_cart, match)
    result = seconnect("customers", "list", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [d["id"] for d in data] == [marisol, kai, guest]
    first = data[0]
    assert first["name"] == "Marisol Venter"
    assert (first["email"], first["phone"], first["city"], first["postal_code"]) == (
        "marisol@example.net", "207-482-0142", "Port Ellery", "04999")
    assert first["web_ids"] == {"Outlet": ["500"], "Shop": ["8", "10"]}
    assert (first["created_from"], first["source_cart"]) == ("order import", "Shop")
    assert datetime.fromisoformat(first["created_at"]).tzinfo is not None
    assert data[2]["name"] == "Dock Office Ltd" and data[2]["phone"] is None and data[2]["web_ids"] == {}


def test_list_filters_by_cart_and_limits(seconnect, store, make_cart, match):
    marisol, kai, guest = _seed(store, make_cart, match)
    outlet = json.loads(seconnect("customers", "list", "--cart", "outlet", "--json").output)
    assert [d["id"] for d in outlet] == [marisol, guest]  # linked there, or first seen there
    limited = seconnect("customers", "list", "--limit", "1", "--json")
    assert [d["id"] for d in json.loads(limited.stdout)] == [marisol]
    assert json.loads(limited.stderr) == {"shown": 1, "total": 3}  # the cut, outside the JSON data


def test_list_text(seconnect, store, make_cart, match):
    _seed(store, make_cart, match)
    out = seconnect("customers", "list").output
    header, first, *_ = out.splitlines()
    assert header.split()[:3] == ["ID", "NAME", "EMAIL"]
    assert "Marisol Venter" in first and "Port Ellery 04999" in first and "Outlet: 500; Shop: 8, 10" in first


def test_list_empty_and_unknown_cart(seconnect):
    assert "No customers" in seconnect("customers", "list").output
    result = seconnect("customers", "list", "--cart", "Nope")
    assert result.exit_code == 2
    assert "no cart named 'Nope'" in result.output
    assert "Traceback" not in result.output


def test_show_json_counts_orders(seconnect, store, make_cart, match):
    marisol, kai, _ = _seed(store, make_cart, match)
    data = json.loads(seconnect("customers", "show", str(marisol), "--json").output)
    assert data["id"] == marisol and data["orders"] == 12
    assert len(data["recent_orders"]) == 10
    assert data["recent_orders"][0] == {"cart": "Shop", "number": "12", "date": "2024-05-12T00:00:00+00:00",
                                        "matched_by": "Email", "grand_total": "19.99"}
    assert data["web_ids"] == {"Outlet": ["500"], "Shop": ["8", "10"]}
    kai_data = json.loads(seconnect("customers", "show", str(kai), "--json").output)
    assert (kai_data["orders"], kai_data["recent_orders"], kai_data["last_name"]) == (0, [], None)


def test_show_text(seconnect, store, make_cart, match):
    marisol, *_ = _seed(store, make_cart, match)
    out = seconnect("customers", "show", str(marisol)).output
    assert out.startswith(f"Customer {marisol}: Marisol Venter")
    assert "E-mail:      marisol@example.net" in out
    assert "from order import (cart Shop)" in out
    assert "  Shop: 8, 10" in out and "  Outlet: 500" in out
    assert "Orders: 12" in out and "… and 2 more" in out


def test_show_unknown_id(seconnect):
    result = seconnect("customers", "show", "999")
    assert result.exit_code == 2
    assert "no customer with id 999" in result.output and "seconnect customers list" in result.output
