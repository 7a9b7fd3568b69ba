"""The fault matrix: every job against every cart fault, checked against the cart's own state.

For each (job, fault) cell a fresh store file and a fresh sandbox cart are made, the fault is
switched on, the job runs once (outcome: ``completed``, or ``failed`` with the error's message),
the fault is switched off and the job runs again (a merchant's rerun), and then the store is
compared with what the cart holds: ``lost`` counts what should have arrived and did not,
``duplicated`` what arrived more than once. Every cell must end with lost = 0 and
duplicated = 0; the first outcome says whether the fault was ridden out (retries) or reported.

Faults are the sandbox's (``500*2``: the next two requests answer HTTP 500, …), plus
``restart``: the cart's server is restarted while the job runs. ``bench/fault_matrix.py`` prints
the table; ``tests/reliability`` asserts it.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from .. import carts, params
from ..errors import SeconnectError
from ..plugins import Plugins, load_plugins
from ..sandbox import Sandbox
from ..store import Store, open_store, tables

__all__ = ["FAULTS", "JOBS", "Cell", "run_cell", "run_matrix", "format_table"]

# Enough consecutive faults to need retries, few enough for the retry policy to ride out.
FAULTS: dict[str, str | None] = {
    "none": None,
    "500": "500*2",
    "503": "503*2",
    "429": "429*2",
    "reset": "reset*2",
    "truncated": "truncate*1",
    "slow": "slow*1",
    "bad credentials": "badauth",
    "restart": None,  # handled by run_cell: the server restarts mid-job
}


@dataclass
class Cell:
    job: str
    fault: str
    outcome: str
    lost: int
    duplicated: int

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.duplicated == 0


@dataclass
class _World:
    store: Store
    plugins: Plugins
    sb: Sandbox
    cart: Any
    number: str = ""  # the order a status push went to


def _count(store: Store, query) -> int:
    with store.begin() as conn:
        return conn.execute(query).scalar_one()


# -- jobs: each runs once, and checks (lost, duplicated) against the sandbox -------------------

def _test_script(w: _World) -> None:
    w.plugins.call("test_script", w.cart, None, check_credentials=True)


def _test_check(w: _World) -> tuple[int, int]:
    return 0, 0  # reads nothing, writes nothing


def _orders(w: _World) -> None:
    from ..jobs.import_orders import import_orders

    import_orders(w.store, w.plugins, w.cart)


def _orders_check(w: _World) -> tuple[int, int]:
    with w.store.begin() as conn:
        numbers = conn.execute(sa.select(tables.orders.c.number)).scalars().all()
        lines = conn.execute(sa.select(sa.func.count()).select_from(tables.order_lines)).scalar_one()
    expected = set(_order_truth(w.sb))
    want_lines = sum(len(o["lines"]) for o in w.sb.orders() if o["number"] in expected)
    return len(expected - set(numbers)) + max(0, want_lines - lines), \
        len(numbers) - len(set(numbers)) + max(0, lines - want_lines)


def _order_truth(sb: Sandbox) -> list[str]:
    """The orders an import must deliver: the REST type leaves out abandoned checkouts (status 0)
    and delivers archived orders too (as Archived); a SETI script hands out its downloadable ones."""
    if sb.profile_name == "bigcommerce":
        return [o["number"] for o in sb.orders() if o["status_id"] != 0]
    return sb.downloadable_order_numbers()


def _products(w: _World) -> None:
    from ..jobs.import_products import import_products

    import_products(w.store, w.plugins, w.cart, attributes="sub-skus")


def _products_check(w: _World) -> tuple[int, int]:
    expected = {p["code"] for p in w.sb.products() if not p["variations"]}
    expected |= {v["code"] for p in w.sb.products() for v in p["variations"]}
    expected.discard("")  # a product without a SKU (REST) is skipped with a warning
    with w.store.begin() as conn:
        codes = conn.execute(sa.select(tables.product_cart_codes.c.code)).scalars().all()
    return len(expected - set(codes)), len(codes) - len(set(codes))


def _customers(w: _World) -> None:
    from ..jobs.import_customers import import_customers

    import_customers(w.store, w.plugins, w.cart)


def _customers_check(w: _World) -> tuple[int, int]:
    expected = {str(c["id"]) for c in w.sb.customers()}
    with w.store.begin() as conn:
        ids = conn.execute(sa.select(tables.customer_web_ids.c.web_id)).scalars().all()
    return len(expected - set(ids)), len(ids) - len(set(ids))


def _with_products(w: _World) -> None:
    """Inventory cells start from an imported catalogue (done before the fault is switched on)."""
    _products(w)


def _inventory_get(w: _World) -> None:
    from ..jobs.inventory import inventory_get

    inventory_get(w.store, w.plugins, w.cart)


def _qoh_differences(w: _World) -> int:
    with w.store.begin() as conn:
        rows = conn.execute(sa.select(tables.product_cart_codes.c.code, tables.products.c.qoh)
                            .join(tables.products, tables.products.c.id == tables.product_cart_codes.c.product_id)
                            .where(tables.products.c.qoh.is_not(None))).all()
    return sum(1 for code, qoh in rows if w.sb.qoh(code) is not None and w.sb.qoh(code) != qoh)


def _inventory_get_check(w: _World) -> tuple[int, int]:
    return _qoh_differences(w), 0


def _local_changes(w: _World) -> None:
    """Give every tracked product a new local quantity, so a send has something to move."""
    with w.store.begin() as conn:
        conn.execute(sa.update(tables.products).where(tables.products.c.qoh.is_not(None))
                     .values(qoh=tables.products.c.qoh + 7))


def _inventory_send(w: _World) -> None:
    from ..jobs.inventory import inventory_send

    inventory_send(w.store, w.plugins, w.cart)


def _inventory_send_check(w: _World) -> tuple[int, int]:
    return _qoh_differences(w), 0


def _realtime_setup(w: _World) -> None:
    from ..inventory import QuantityChange, apply_changes

    _products(w)
    with w.store.begin() as conn:
        params.set_value(conn, "SynchQOH", "TRUE", w.cart.id)
        w.cart = carts.get_cart(conn, w.cart.name)
        ids = conn.execute(sa.select(tables.products.c.id).where(tables.products.c.qoh >= 5)
                           .order_by(tables.products.c.id).limit(5)).scalars().all()
        apply_changes(conn, w.plugins, [QuantityChange(product_id=i, delta=-1) for i in ids]
                      + [QuantityChange(product_id=i, delta=-2) for i in ids], source="fault matrix")


def _realtime(w: _World) -> None:
    """Worker cycles until nothing is due, as `run realtime --follow` would; retries back off
    for a second at most here so the matrix stays quick."""
    from ..jobs.realtime import run_realtime
    from ..outbox import Policy

    policy = Policy(backoff_base=0.2, backoff_max=1.0)
    for _ in range(8):
        run_realtime(w.store, w.plugins, follow=False, policy=policy)
        if not _count(w.store, sa.select(sa.func.count()).select_from(tables.outbox)
                      .where(tables.outbox.c.state == "pending")):
            return
        time.sleep(1.2)


def _realtime_check(w: _World) -> tuple[int, int]:
    pending = _count(w.store, sa.select(sa.func.count()).select_from(tables.outbox)
                     .where(tables.outbox.c.state != "sent"))
    return pending + _qoh_differences(w), 0


def _status_setup(w: _World) -> None:
    from ..operations import Package
    from ..status import set_status

    _orders(w)
    number = w.number = _status_order(w.sb)
    with w.store.begin() as conn:
        params.set_value(conn, "UseStatusUpdates", "TRUE", None)
        set_status(conn, w.plugins, w.cart.name, number, "Shipped",
                   packages=(Package("1ZFAULT0001", "UPS"), Package("1ZFAULT0002", "UPS")))


def _status_check(w: _World) -> tuple[int, int]:
    """An update is never lost: it reached the cart, or it is parked with its reason for the
    merchant (a cut-off reply leaves it unconfirmed: seconnect does not guess and resend)."""
    number = w.number
    if w.sb.profile_name == "bigcommerce":  # a shipment per tracking number
        at_cart = [s["tracking_number"] for s in w.sb.shipments(number)]
        parked = _count(w.store, sa.select(sa.func.count()).select_from(tables.outbox)
                        .where(tables.outbox.c.state == "parked"))
        lost = 0 if parked or {"1ZFAULT0001", "1ZFAULT0002"} <= set(at_cart) else 1
        return lost, len(at_cart) - len(set(at_cart))
    at_cart = [u for u in w.sb.status_updates() if str(u["order"]) == number]
    parked = _count(w.store, sa.select(sa.func.count()).select_from(tables.outbox)
                    .where(tables.outbox.c.state == "parked"))
    return (0 if at_cart or parked else 1), max(0, len(at_cart) - 1)


def _status_order(sb: Sandbox) -> str:
    """The first order a status can be pushed to (REST: a live one, not yet shipped, with a
    unit for each of the two packages)."""
    if sb.profile_name == "bigcommerce":
        return next(o["number"] for o in sb.orders() if not o["deleted"] and len(o["lines"]) > 1
                    and o["status_id"] not in (0, 2, 3, 4, 5, 6, 10, 14))
    return sb.downloadable_order_numbers()[0]


JOBS: dict[str, tuple[Callable[[_World], None] | None, Callable[[_World], None], Callable[[_World], tuple[int, int]]]] = {
    "test script": (None, _test_script, _test_check),
    "import orders": (None, _orders, _orders_check),
    "import products": (None, _products, _products_check),
    "import customers": (None, _customers, _customers_check),
    "inventory get": (_with_products, _inventory_get, _inventory_get_check),
    "inventory send": (lambda w: (_with_products(w), _local_changes(w)), _inventory_send, _inventory_send_check),
    "realtime inventory": (_realtime_setup, _realtime, _realtime_check),
    "status push": (_status_setup, _realtime, _status_check),
}


def _parked(w: _World) -> str | None:
    """Outbound work does not fail the worker: it is parked with the cart's reason."""
    with w.store.begin() as conn:
        error = conn.execute(sa.select(tables.outbox.c.last_error).where(tables.outbox.c.state == "parked")
                             .limit(1)).scalar()
    return f"parked: {error[:70]}" if error else None


def _retry_parked(w: _World) -> None:
    """A merchant's rerun after a failure: parked outbound work is re-queued first."""
    from ..outbox import retry_parked

    with w.store.begin() as conn:
        retry_parked(conn, w.plugins.outbox_kinds)


def run_cell(job: str, fault: str, folder: Path, *, profile: str = "generic") -> Cell:
    setup, run, check = JOBS[job]
    with Sandbox(profile, orders=40, products=8, customers=15, seed=21,
                 state_dir=folder / "cart", latency_ms=20 if fault == "restart" else 0) as sb:
        store = open_store(f"sqlite:///{folder / 'store.db'}")
        try:
            plugins = load_plugins()
            with store.begin() as conn:
                if profile == "bigcommerce":
                    carts.add_cart(conn, plugins, name="Shop", cart_type="BigCommerce", ca_bundle=sb.ca_file,
                                   settings={"store_hash": sb.store_hash, "api_base": sb.api_base},
                                   secrets={"access_token": sb.password})
                else:
                    carts.add_cart(conn, plugins, name="Shop", cart_type="Generic", user=sb.user,
                                   password=sb.password, script_url=sb.script_url, ca_bundle=sb.ca_file)
                params.set_value(conn, "DownloadBatchSize", "5", carts.get_cart(conn, "Shop").id)
                cart = carts.get_cart(conn, "Shop")
            world = _World(store, plugins, sb, cart)
            if setup:
                setup(world)
            timer = threading.Timer(0.15, sb.restart) if fault == "restart" else None
            sb.set_faults(FAULTS[fault])
            if timer:
                timer.start()
            try:
                run(world)
                outcome = _parked(world) or "completed"
            except SeconnectError as exc:
                outcome = f"failed: {exc.message[:70]}"
            finally:
                if timer:
                    timer.join()
                sb.set_faults(None)
            if job == "realtime inventory":
                _retry_parked(world)
            run(world)  # the rerun, with the cart healthy again
            lost, duplicated = check(world)
            return Cell(job, fault, outcome, lost, duplicated)
        finally:
            store.close()


def run_matrix(jobs: list[str] | None = None, faults: list[str] | None = None,
               progress: Callable[[Cell], None] | None = None) -> list[Cell]:
    cells = []
    for job in jobs or list(JOBS):
        for fault in faults or list(FAULTS):
            with tempfile.TemporaryDirectory(prefix="seconnect-faults-") as tmp:
                cell = run_cell(job, fault, Path(tmp))
            cells.append(cell)
            if progress:
                progress(cell)
    return cells


def format_table(cells: list[Cell]) -> str:
    width = max(len(c.outcome) for c in cells)
    lines = [f"{'job':<20} {'fault':<16} {'first run':<{width}}  lost  duplicated"]
    for c in cells:
        lines.append(f"{c.job:<20} {c.fault:<16} {c.outcome:<{width}}  {c.lost:>4}  {c.duplicated:>10}")
    bad = [c for c in cells if not c.ok]
    lines.append(f"{len(cells)} cells, {len(bad)} with lost or duplicated records")
    return "\n".join(lines)
