"""Download batches fetched and parsed in helper processes (seconnect.seti.pool), against the
sandbox over HTTPS: order kept, errors carried back whole, helper logs reach our loggers, and
helpers never outlive the job — not even a job killed with SIGKILL."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seconnect.cartdef import CartDefinition, Secret
from seconnect.errors import CartAuthError
from seconnect.sandbox import Sandbox
from seconnect.seti import SetiClient
from seconnect.seti.pool import downloads_in_order


def _cart(sb: Sandbox, password: str | None = None) -> CartDefinition:
    return CartDefinition(name="Shop", type="Generic", user=sb.user, password=Secret(password or sb.password),
                          script_url=sb.script_url, ca_bundle=sb.ca_file)


def _pages(total: int, size: int) -> list[dict]:
    return [{"lastorder": "All", "startnum": s, "batchsize": size} for s in range(1, total + 1, size)]


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Sandbox:
    with Sandbox("generic", orders=60, products=8, customers=10, seed=21,
                 state_dir=tmp_path_factory.mktemp("shop")) as sb:
        yield sb


@pytest.mark.parametrize("workers", [1, 3, 8])
def test_batches_come_back_in_order_and_equal_to_sequential_paging(shop, workers):
    cart = _cart(shop)
    with SetiClient.for_cart(cart) as client:
        total = client.order_count("All")
        pages = _pages(total, 7)
        expected = [client.download_orders(**page) for page in pages]
    got = list(downloads_in_order(cart, "download_orders", pages, workers=workers))
    assert len(pages) > workers  # more pages than helpers: refilling is exercised
    assert got == expected
    assert [r["number"] for batch in got for r in batch] == shop.downloadable_order_numbers()
    assert multiprocessing.active_children() == []


def test_pages_already_downloaded_are_joined_for_a_slow_caller(shop):
    """Helpers keep downloading while the caller works; what is ready when it asks comes as one
    batch (in order, never over merge_up_to records)."""
    cart = _cart(shop)
    with SetiClient.for_cart(cart) as client:
        pages = _pages(client.order_count("All"), 5)
        expected = [r["number"] for page in pages for r in client.download_orders(**page)]
    got = []
    for batch in downloads_in_order(cart, "download_orders", pages, workers=2, merge_up_to=12):
        got.append([r["number"] for r in batch])
        time.sleep(0.3)  # storing takes a while: the helpers run ahead
    assert [n for batch in got for n in batch] == expected
    assert max(len(batch) for batch in got) == 10, got  # two pages joined; a third would pass 12
    assert len(got) < len(pages)


def test_a_cart_error_in_a_helper_is_raised_here_whole(shop):
    with pytest.raises(CartAuthError) as caught:
        list(downloads_in_order(_cart(shop, password="wrong"), "download_orders", _pages(20, 5), workers=2))
    assert caught.value.exit_code == CartAuthError.exit_code
    assert caught.value.hint and "wrong" not in str(caught.value)
    assert multiprocessing.active_children() == []


def test_helper_log_records_reach_our_loggers(tmp_path, caplog):
    """The first download of a helper fails once (HTTP 503) and is retried: the retry warning
    the helper logs arrives through the logger it was logged on."""
    with Sandbox("generic", orders=12, products=4, customers=4, seed=22, faults="503*1@downloadorders",
                 state_dir=tmp_path / "c") as sb:
        with caplog.at_level(logging.WARNING):
            batches = list(downloads_in_order(_cart(sb), "download_orders", _pages(12, 4), workers=1))
    assert sum(len(b) for b in batches) == 12
    retried = [r for r in caplog.records if r.name == "seconnect.http" and "try 2 of" in r.getMessage()]
    assert retried and retried[0].levelno == logging.WARNING
    assert retried[0].process != os.getpid(), "logged in the helper, handled here"


def test_closing_early_stops_the_helpers(shop):
    batches = downloads_in_order(_cart(shop), "download_orders", _pages(60, 5), workers=2)
    first = next(batches)
    assert len(first) == 5
    batches.close()
    assert multiprocessing.active_children() == []


def test_only_downloads_run_in_helpers(shop):
    with pytest.raises(ValueError, match="not a download"):
        list(downloads_in_order(_cart(shop), "qoh_replace", [{}], workers=1))


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid``: the helpers are children of the server they fork from."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        try:
            tasks = list(Path(f"/proc/{todo.pop()}/task").iterdir())
        except FileNotFoundError:  # it has exited meanwhile
            continue
        for task in tasks:
            try:
                kids = {int(k) for k in (task / "children").read_text().split()}
            except FileNotFoundError:  # a thread that ended after the listing
                continue
            todo.extend(kids - found)
            found |= kids
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc to find the helpers")
def test_helpers_exit_when_the_job_is_killed(tmp_path):
    """kill -9 of `run import-orders` mid-download: every process it started notices and exits."""
    env = {**os.environ, "SECONNECT_DB": f"sqlite:///{tmp_path / 's.db'}", "SECONNECT_KEY_FILE": str(tmp_path / "k")}

    def cli(*args: str, stdin: str | None = None) -> None:
        subprocess.run([sys.executable, "-m", "seconnect", *args], env=env, input=stdin, text=True,
                       check=True, capture_output=True, timeout=60)

    with Sandbox("generic", orders=400, products=8, customers=10, seed=23, latency_ms=150,
                 state_dir=tmp_path / "c") as sb:
        cli("carts", "add", "Shop", "--type", "Generic", "--user", sb.user, "--script-url", sb.script_url,
            "--ca-bundle", sb.ca_file, "--password-stdin", stdin=sb.password + "\n")
        cli("params", "set", "DownloadBatchSize", "10", "--cart", "Shop")
        cli("params", "set", "MaxConcurrentRequests", "3", "--cart", "Shop")
        job = subprocess.Popen([sys.executable, "-m", "seconnect", "run", "import-orders", "--cart", "Shop"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        helpers: set[int] = set()
        deadline = time.monotonic() + 60
        # three helpers, the server they fork from and multiprocessing's resource tracker
        while len(helpers) < 5 and time.monotonic() < deadline and job.poll() is None:
            helpers |= {pid for pid in _descendants(job.pid) if _alive(pid)}
            time.sleep(0.05)
        assert len(helpers) >= 5, "the import should be running three download helpers"
        os.kill(job.pid, signal.SIGKILL)
        job.wait(timeout=10)
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in helpers) and time.monotonic() < deadline:
            time.sleep(0.1)
        survivors = [pid for pid in helpers if _alive(pid)]
        for pid in survivors:  # do not leave them behind even when failing
            os.kill(pid, signal.SIGKILL)
        assert survivors == []


def test_the_callers_client_takes_the_first_page_and_two_pages_need_one_helper(shop, monkeypatch):
    from concurrent.futures import ProcessPoolExecutor

    started: list[int] = []
    real_init = ProcessPoolExecutor.__init__

    def counting_init(self, max_workers=None, *args, **kwargs):
        started.append(max_workers)
        real_init(self, max_workers, *args, **kwargs)

    monkeypatch.setattr(ProcessPoolExecutor, "__init__", counting_init)
    cart = _cart(shop)
    pages = _pages(10, 5)
    with SetiClient.for_cart(cart) as client:
        expected = [client.download_orders(**page) for page in pages]
        got = list(downloads_in_order(cart, "download_orders", pages, workers=4, client=client))
        alone = list(downloads_in_order(cart, "download_orders", pages[:1], workers=4, client=client))
    assert got == expected and alone == expected[:1]
    assert started == [1], "one helper for the second page, none for a single page"
