"""The dashboard in a real browser (Debian's headless Chromium through Selenium): log in, see a
cart's capabilities, retry a parked outbox row and a quarantined record, set an order's status
and a quantity — and see each effect at the sandbox cart once the worker has run."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from seconnect import hookimpl, status
from seconnect.jobs.import_products import import_products
from seconnect.jobs.realtime import run_realtime
from seconnect.outbox import Policy
from seconnect.plugins import load_plugins
from seconnect.store import tables
from seconnect.testing.web import CHROMEDRIVER, CHROMIUM, chromium

from .helpers import PASSWORD, USER

pytestmark = pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
                                reason="needs Debian's chromium and chromium-driver (.ci/run installs them: "
                                       "apt-get install chromium chromium-driver)")

#: One try, no waiting: a failing delivery parks at once.
ONCE = Policy(max_attempts=1, backoff_base=0.0, lease=30)
BAD_PRICE = {"code": "LAMP-9", "web_id": "901", "name": "Brass Lamp", "price": "12,50"}


class _Slipped:
    """The cart's script slips a record with a malformed price into the first product batch."""

    @hookimpl(wrapper=True)
    def import_products(self, cart, batch_size):
        batches = yield
        return ([*batch, BAD_PRICE] if n == 0 else batch for n, batch in enumerate(batches))


@pytest.fixture
def browser(tmp_path):
    with chromium(tmp_path / "chromium-profile") as driver:
        driver.implicitly_wait(10)  # find_element(s) waits for what the next page shows
        yield driver


def _submit(driver, button) -> None:
    """Click a form's button and wait for the page the POST redirects to."""
    page = driver.find_element("tag name", "html")
    button.click()
    WebDriverWait(driver, 30).until(lambda _: _gone(page))


def _gone(element) -> bool:
    """The element's page was replaced. (Chromedriver reports a node of a replaced document as
    stale, or at times as a node that "does not belong to the document".)"""
    try:
        element.is_enabled()
    except WebDriverException:  # StaleElementReferenceException is one
        return True
    return False


def _flash(driver) -> str:
    return " ".join(e.text for e in driver.find_elements("css selector", ".flash"))


def _deliver(served) -> dict:
    """What the worker in `seconnect serve` does: deliver due outbox rows."""
    return run_realtime(served.store, served.plugins)


def test_a_merchant_fixes_things_from_the_dashboard(served, shop, gen, browser):
    store, plugins = served.store, served.plugins
    numbers = [o["number"] for o in gen.orders()]
    parked_order, status_order = numbers[0], numbers[1]
    # a status update the cart failed to take: parked after its one try
    with store.begin() as conn:
        queued = status.set_status(conn, plugins, "Shop", parked_order, "Cancelled")
    gen.set_faults("500@updatestatus")
    assert run_realtime(store, plugins, policy=ONCE)["parked"] == 1
    gen.set_faults(None)
    # a product record the import parked (its price "12,50"), then corrected at its source
    import_products(store, load_plugins(extra=[("slipped", _Slipped())]), shop)
    with store.begin() as conn:
        record_id = conn.execute(sa.select(tables.quarantine.c.id)).scalar_one()
        conn.execute(sa.update(tables.quarantine).values(payload=json.dumps({**BAD_PRICE, "price": "12.50"})))

    b = browser
    b.get(served.url + "/carts/Shop")
    assert "/login" in b.current_url
    b.find_element("id", "name").send_keys(USER)
    b.find_element("id", "password").send_keys(PASSWORD)
    _submit(b, b.find_element("id", "login"))
    assert b.current_url.endswith("/carts/Shop")
    caps = {row.find_elements("tag name", "td")[0].text: row.find_elements("tag name", "td")[1].text
            for row in b.find_elements("css selector", "#capabilities tr")[1:]}
    assert caps["status-updates"] == "supported" and caps["import-orders"] == "supported"

    # the parked outbox row, retried
    b.get(served.url + "/outbox")
    row = b.find_element("id", f"outbox-{queued.outbox_id}")
    assert "parked" in row.text
    _submit(b, row.find_element("tag name", "button"))
    assert "1 parked row re-queued" in _flash(b)
    assert _deliver(served)["sent"] == 1
    assert [(u["order"], u["status"], u["ok"]) for u in gen.status_updates()] == [(parked_order, "Cancelled", True)]

    # the quarantined record, retried
    b.get(served.url + "/quarantine")
    _submit(b, b.find_element("id", f"quarantine-{record_id}").find_element("tag name", "button"))
    assert f"Record {record_id}: stored." in _flash(b)
    with store.begin() as conn:
        assert conn.execute(sa.select(tables.products.c.price).where(tables.products.c.sku == "LAMP-9")).scalar() == 12.5

    # an order's status, set
    b.get(served.url + "/orders")
    _submit(b, b.find_element("link text", status_order))
    Select(b.find_element("id", "label")).select_by_visible_text("Shipped")
    b.find_element("id", "tracking").send_keys("1Z999")
    _submit(b, b.find_element("id", "set-status"))
    assert "Queued for the cart" in _flash(b)
    assert "Shipped" in b.find_element("id", "order-status").text
    _deliver(served)
    last = gen.status_updates()[-1]
    assert (last["order"], last["status"], last["ok"]) == (status_order, "Shipped", True)
    assert [t["number"] for t in last["tracking"]] == ["1Z999"]

    # a quantity on hand, set, and sent to the cart
    sku = gen.products()[0]["sku"]
    b.get(served.url + "/products")
    _submit(b, b.find_element("link text", sku))
    b.find_element("id", "amount").send_keys("42")
    _submit(b, b.find_element("id", "save-qoh"))
    assert "→ 42; queued for Shop" in _flash(b)
    _deliver(served)
    assert gen.qoh(sku) == 42
