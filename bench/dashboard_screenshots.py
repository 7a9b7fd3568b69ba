"""Screenshots of the dashboard's main pages, into docs/screenshots/.

Everything is made afresh in a temporary directory: a generic sandbox cart on 127.0.0.1 with a
few products, customers and orders imported; a parked status update and a quarantined product,
so those pages show something; a user; the dashboard served on a free loopback port; Debian's
headless Chromium (``/usr/bin/chromium`` + ``chromedriver``) logged in. Desktop pages at
1100x800, the carts list and an order also at phone size (390x844).

Run: ``.venv/bin/python bench/dashboard_screenshots.py [--out docs/screenshots]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "screenshots")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SECONNECT_KEY_FILE"] = str(Path(tmp) / "secret.key")  # never the user's own key
        shoot(Path(tmp), args.out)


def shoot(tmp: Path, out: Path) -> None:
    import sqlalchemy as sa

    from seconnect import carts, status, users
    from seconnect.jobs.import_customers import import_customers
    from seconnect.jobs.import_orders import import_orders
    from seconnect.jobs.import_products import import_products
    from seconnect.jobs.realtime import run_realtime
    from seconnect.outbox import Policy
    from seconnect.params import set_value
    from seconnect.plugins import load_plugins
    from seconnect.sandbox import Sandbox
    from seconnect.store import open_store, tables
    from seconnect.testing.web import chromium, serve
    from seconnect.web import create_app

    out.mkdir(parents=True, exist_ok=True)
    plugins = load_plugins()
    store = open_store(f"sqlite:///{tmp / 'store.db'}")
    with Sandbox("generic", state_dir=tmp / "sandbox", orders=12, products=8, customers=6, seed=5) as sb:
        with store.begin() as conn:
            carts.add_cart(conn, plugins, name="Main Street Shop", cart_type="Generic", user=sb.user,
                           password=sb.password, script_url=sb.script_url, ca_bundle=sb.ca_file)
            cart = carts.get_cart(conn, "Main Street Shop")
            set_value(conn, "UseStatusUpdates", "TRUE", None)
            set_value(conn, "SynchQOH", "TRUE", cart.id)
            users.add_user(conn, "alice", "screenshots only")
            cart = carts.get_cart(conn, "Main Street Shop")
        import_products(store, plugins, cart, attributes="sub-skus")
        import_customers(store, plugins, cart)
        import_orders(store, plugins, cart)
        numbers = [o["number"] for o in sb.orders()]
        with store.begin() as conn:
            status.set_status(conn, plugins, cart.name, numbers[0], "Shipped")
            conn.execute(sa.insert(tables.quarantine).values(
                cart_id=cart.id, kind="product", external_id="901", reason="$.price: '12,50' is not a decimal",
                payload='{"code": "LAMP-9", "web_id": "901", "name": "Brass Lamp", "price": "12,50"}'))
        sb.set_faults("500@updatestatus")
        run_realtime(store, plugins, policy=Policy(max_attempts=1, backoff_base=0.0))
        sb.set_faults(None)

        quoted = "Main%20Street%20Shop"
        pages = {"login": "/login", "carts": "/carts", "cart": f"/carts/{quoted}", "wizard": "/carts/new?type=Generic&name=Web",
                 "setup": f"/carts/{quoted}/setup", "runs": "/runs", "outbox": "/outbox", "quarantine": "/quarantine",
                 "orders": "/orders", "order": f"/orders/{quoted}/{numbers[1]}", "products": "/products",
                 "params": f"/params?cart={quoted}"}
        with serve(create_app(store, plugins=plugins)) as url:
            with chromium(tmp / "profile", width=1100, height=800) as driver:
                driver.get(url + "/login")
                driver.save_screenshot(str(out / "login.png"))
                driver.find_element("id", "name").send_keys("alice")
                driver.find_element("id", "password").send_keys("screenshots only")
                driver.find_element("id", "login").click()
                for name, path in pages.items():
                    if name != "login":
                        driver.get(url + path)
                        driver.save_screenshot(str(out / f"{name}.png"))
                driver.set_window_size(390, 844)
                for name in ("carts", "order"):
                    driver.get(url + pages[name])
                    driver.save_screenshot(str(out / f"phone-{name}.png"))
    store.close()
    print(f"screenshots in {out}")


if __name__ == "__main__":
    main()
