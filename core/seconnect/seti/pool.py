"""Download batches fetched *and parsed* in helper processes, handed back strictly in order.

Turning a reply into records is pure-Python work (about as costly as storing them), so threads
cannot overlap it with the job storing the previous batch: they share one interpreter lock.
Helper processes can. :func:`downloads_in_order` runs up to ``workers`` downloads at once (the
cart's ``MaxConcurrentRequests``, which bounds what the cart sees), each helper keeping one
connection alive, and yields the parsed batches in the order asked for.

Helpers are *spawned*, not forked: they inherit no threads, locks, database connections or
file locks of the job (a killed job's lock is free at once, and its helpers exit as soon as
they see it gone). They build their client from the cart definition, so they use the cart's
own settings (timeouts, CA bundle, the default retry policy). Their log records are handed to
the parent's loggers, so ``-v`` shows them like any other and nothing bypasses its handlers.

Like any spawned process, a helper imports the caller's main module: a script that runs seconnect
jobs itself must keep its work under ``if __name__ == "__main__":`` (the CLI does).
"""

from __future__ import annotations

import logging
import logging.handlers
import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any

from ..cartdef import CartDefinition
from ..errors import PluginError
from ..heap import settle_heap
from .client import SetiClient

__all__ = ["downloads_in_order", "DOWNLOADS"]

#: The client functions a helper may run: the paged downloads, which read and change nothing.
DOWNLOADS = frozenset({"download_orders", "download_products", "download_customers", "download_qoh"})

#: Helpers run this much nicer than the job: they are ahead of it anyway, and the CPU they
#: leave goes to storing (measured: about 7% off a 20,000-order import on two cores).
HELPER_NICENESS = 10

_client: SetiClient | None = None  # the helper process's one client, kept alive between batches


def _start_helper(cart: CartDefinition, log_queue: Any, level: int) -> None:
    """Pool initializer, in the helper: its client, its log records sent to the parent, and
    its exit as soon as the parent is gone."""
    global _client
    # Ctrl-C reaches the whole process group: the job reports it; helpers end with the job.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, name="exit-with-parent", daemon=True).start()
    root = logging.getLogger()
    root.handlers[:] = [logging.handlers.QueueHandler(log_queue)]
    root.setLevel(level)
    _client = SetiClient.for_cart(cart)
    if hasattr(os, "nice"):  # the job storing what helpers bring is the critical path: it goes first
        os.nice(HELPER_NICENESS)
    settle_heap()


def _exit_with_parent() -> None:
    # A job killed with SIGKILL cannot stop its helpers, and they would wait on their work
    # queue forever (each holds that pipe's write end too): they watch the parent instead.
    parent = multiprocessing.parent_process()
    if parent is not None:
        parent.join()
        os._exit(1)


def _download(function: str, fields: dict[str, Any]) -> list[dict[str, Any]]:
    assert _client is not None and function in DOWNLOADS
    return getattr(_client, function)(**fields)


class _ToParentLoggers:
    """QueueListener target: a helper's record goes through the parent's logger of that name."""

    level = logging.NOTSET

    def handle(self, record: logging.LogRecord) -> None:
        logging.getLogger(record.name).handle(record)


@contextmanager
def _log_forwarding(context: Any) -> Iterator[Any]:
    queue = context.Queue()
    listener = logging.handlers.QueueListener(queue, _ToParentLoggers())
    listener.start()
    try:
        yield queue
    finally:
        listener.stop()


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
    context = multiprocessing.get_context("spawn")
    with _log_forwarding(context) as log_queue:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_helper,
                                   initargs=(cart, log_queue, logging.getLogger().getEffectiveLevel()))
        waiting = iter(pages)
        downloads = _Downloads(pool, function, waiting, workers, ahead=workers)
        try:
            if client is not None:
                for _ in range(workers):
                    pool.submit(_start)
                yield getattr(client, function)(**next(waiting))
            downloads.top_up()
            while True:
                try:
                    records = downloads.take(merge_up_to)
                except BrokenProcessPool as exc:
                    raise PluginError(f"a download helper process for cart {cart.name!r} died: {exc}",
                                      hint="Rerun the job: every batch stored before is kept. Calling "
                                           "seconnect from your own script? Run it under "
                                           "`if __name__ == \"__main__\":` (helpers re-import the "
                                           "script's main module).") from None
                if records is None:
                    return
                yield records
        finally:
            downloads.close()
            pool.shutdown(wait=True, cancel_futures=True)
