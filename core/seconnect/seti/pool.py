"""Download batches fetched *and parsed* in helper processes, handed back strictly in order.

Turning a reply into records is pure-Python work (about as costly as storing them), so threads
cannot overlap it with the job storing the previous batch: they share one interpreter lock.
Helper processes can. :func:`downloads_in_order` runs up to ``workers`` downloads at once (the
cart's ``MaxConcurrentRequests``, which bounds what the cart sees), each helper keeping one
connection alive, and yields the parsed batches in the order asked for.

The helpers are those of :mod:`seconnect.helpers` (not forked from the job, nicer than it, gone with it,
logging through it). Each builds its client from the cart definition, so it uses the cart's own
settings (timeouts, CA bundle, the default retry policy).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ..cartdef import CartDefinition
from ..errors import PluginError
from ..helpers import (
    HELPER_DIED_HINT,
    ctrl_c_ignored_by_new_helpers,
    helper_context,
    log_forwarding,
    start_helper,
)
from .client import SetiClient

__all__ = ["downloads_in_order", "DOWNLOADS"]

#: The client functions a helper may run: the paged downloads, which read and change nothing.
DOWNLOADS = frozenset({"download_orders", "download_products", "download_customers", "download_qoh"})

_client: SetiClient | None = None  # the helper process's one client, kept alive between batches


def _start_helper(cart: CartDefinition, log_queue: Any, level: int) -> None:
    """Pool initializer, in the helper: the common helper set-up, then its client."""
    global _client
    start_helper(log_queue, level)
    _client = SetiClient.for_cart(cart)


def _download(function: str, fields: dict[str, Any]) -> list[dict[str, Any]]:
    assert _client is not None and function in DOWNLOADS
    return getattr(_client, function)(**fields)


def _start() -> None:
    """A task that does nothing: submitting it makes the pool start a helper."""


class _Downloads:
    """The pages in order, downloaded by the pool: a finished download starts the next one at
    once (from the pool's own thread), so helpers keep ``workers`` requests going while the job
    stores; at most ``ahead`` finished pages wait to be taken."""

    def __init__(self, pool: ProcessPoolExecutor, function: str, pages: Iterator[dict[str, Any]],
                 workers: int, ahead: int):
        self._pool, self._function, self._pages = pool, function, pages
        self._workers, self._ahead = workers, ahead
        self._lock = threading.RLock()  # a callback may run inside submit(), on this thread
        self._queue: deque[Future] = deque()
        self._running = 0
        self._closed = False

    def top_up(self) -> None:
        with self._lock:
            while (not self._closed and self._running < self._workers
                   and len(self._queue) < self._workers + self._ahead):
                page = next(self._pages, None)
                if page is None:
                    return
                self._running += 1
                future = self._pool.submit(_download, self._function, page)
                self._queue.append(future)
                future.add_done_callback(self._finished)

    def _finished(self, _future: Future) -> None:
        with self._lock:
            self._running -= 1
        self.top_up()

    def take(self, merge_up_to: int) -> list[dict[str, Any]] | None:
        """The next page (None after the last); with ``merge_up_to``, the pages already finished
        right behind it are joined on, up to that many records."""
        with self._lock:
            if not self._queue:
                return None
            future = self._queue.popleft()
        records = future.result()
        while records and merge_up_to:
            with self._lock:
                following = self._queue[0] if self._queue else None
                if following is None or not following.done() or following.exception() is not None:
                    break
                more = following.result()
                if not more or len(records) + len(more) > merge_up_to:
                    break
                self._queue.popleft()
            records = records + more
        self.top_up()
        return records

    def close(self) -> None:
        with self._lock:
            self._closed = True


def downloads_in_order(cart: CartDefinition, function: str, pages: Sequence[dict[str, Any]],
                       workers: int, *, client: SetiClient | None = None,
                       merge_up_to: int = 0) -> Iterator[list[dict[str, Any]]]:
    """Yield ``SetiClient.<function>(**page)`` for each page, in order, fetched by helper processes.

    At most ``workers`` requests are in flight, and they keep going while the caller works on
    what it was given (up to ``2 * workers`` finished pages wait for it). Given the caller's
    ``client``, the first page is fetched with it while the helpers start (a helper needs a
    moment to load). ``merge_up_to``: pages already downloaded when the caller asks are handed
    over joined, up to that many records, so a caller slower than the downloads takes fewer,
    larger batches (records stay in order; an empty page is never joined).

    Closing the iterator early cancels the pages not yet started and waits for those in flight
    (each bounded by the cart's request timeout). Errors raised in a helper (cart errors after
    the retry policy gave up) are re-raised here.
    """
    if function not in DOWNLOADS:
        raise ValueError(f"{function!r} is not a download")
    if not pages:
        return
    if client is not None and len(pages) == 1:
        yield getattr(client, function)(**pages[0])
        return
    # never more helpers than pages left for them (the caller's client takes the first)
    workers = max(1, min(workers, len(pages) - (client is not None)))
    context = helper_context(__name__)
    with log_forwarding(context) as log_queue:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_helper,
                                   initargs=(cart, log_queue, logging.getLogger().getEffectiveLevel()))
        waiting = iter(pages)
        downloads = _Downloads(pool, function, waiting, workers, ahead=workers)
        try:
            with ctrl_c_ignored_by_new_helpers():
                for _ in range(workers):  # each submit starts a helper: all of them, here, now
                    pool.submit(_start)
            if client is not None:
                yield getattr(client, function)(**next(waiting))
            downloads.top_up()
            while True:
                try:
                    records = downloads.take(merge_up_to)
                except BrokenProcessPool as exc:
                    raise PluginError(f"a download helper process for cart {cart.name!r} died: {exc}",
                                      hint=HELPER_DIED_HINT) from None
                if records is None:
                    return
                yield records
        finally:
            downloads.close()
            pool.shutdown(wait=True, cancel_futures=True)
