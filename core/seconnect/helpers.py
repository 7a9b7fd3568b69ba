"""Work in helper processes, for a plugin (or core) whose reading and parsing is as costly as storing.

Threads cannot overlap pure-Python work with the job storing what came before: they share one
interpreter lock (measured on the BigCommerce import: a reading thread made it *slower*, 42 s
against 35 s one after the other). A helper process can. :func:`stream` runs one generator
function in a helper and hands its items to the job, in order, while the job works on the
previous ones; :func:`streams` runs several at once; ``seti.pool`` runs many paged SETI
downloads at once on the same kind of helper.

Helpers are not forked from the job: they inherit no threads, locks, database connections or
file locks of it (a killed job's lock is free at once, and its helpers exit as soon as they see
it gone); they fork from a clean server process (:func:`helper_context`). They run nicer than
the job (what they bring waits for it anyway), ignore Ctrl-C (the job reports it and closes
them), and their log records go through the job's loggers, so ``-v`` shows them and nothing
bypasses its handlers. A helper imports the caller's main module, as a spawned process does: a
script running seconnect jobs itself keeps its work under ``if __name__ == "__main__":`` (the
CLI does).
"""

from __future__ import annotations

import logging
import logging.handlers
import multiprocessing
import multiprocessing.forkserver
import os
import pickle
import queue
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, Generic, TypeVar

from .errors import PluginError
from .heap import settle_heap

__all__ = ["stream", "streams", "start_server_early", "Stream", "HELPER_NICENESS", "HELPER_DIED_HINT"]

T = TypeVar("T")

#: Helpers run this much nicer than the job: they are ahead of it anyway, and the CPU they
#: leave goes to storing (measured: about 7% off a 20,000-order SETI import on two cores).
HELPER_NICENESS = 10

HELPER_DIED_HINT = ("Rerun the job: every batch stored before is kept. Calling seconnect from your own script? "
                    "Run it under `if __name__ == \"__main__\":` (helpers re-import the script's main module).")

_POLL = 0.5  # seconds between checks that the other side is still there


def helper_context(*preload: str) -> Any:
    """The multiprocessing context helpers start in: forked from a clean server process
    (``forkserver``: itself spawned, so no thread, lock or connection of the job reaches it) that
    imported seconnect and ``preload`` once, at the first helper; each further helper starts in
    milliseconds instead of importing them again (~0.5 s of CPU each). Where there is no
    forkserver (Windows), spawned."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # "__main__": the caller's main script (e.g. the `seconnect` command), imported by the server
    # once instead of by every helper. No effect once the server runs.
    context.set_forkserver_preload(["__main__", "seconnect.helpers", *preload])
    return context


def start_helper(log_queue: Any, level: int) -> None:
    """In a new helper, before its work: Ctrl-C ignored, exit with the parent, logs to the
    parent, nicer than the job, heap settled."""
    # Ctrl-C reaches the whole process group: the job reports it; helpers end with the job.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, name="exit-with-parent", daemon=True).start()
    root = logging.getLogger()
    root.handlers[:] = [logging.handlers.QueueHandler(log_queue)]
    root.setLevel(level)
    if hasattr(os, "nice"):  # the job storing what helpers bring is the critical path: it goes first
        os.nice(HELPER_NICENESS)
    settle_heap()


def start_server_early(*preload: str) -> None:
    """Start the server helpers fork from now (it imports seconnect and ``preload`` in the
    background), for a caller that will likely want helpers soon, e.g. a first import: the first
    helper then starts without waiting for those imports. If none follows, the server idles
    until the process exits."""
    context = helper_context(*preload)
    if context.get_start_method() == "forkserver":
        with ctrl_c_ignored_by_new_helpers():
            multiprocessing.forkserver.ensure_running()


@contextmanager
def ctrl_c_ignored_by_new_helpers() -> Iterator[None]:
    """Helpers started inside are born ignoring Ctrl-C (an ignored signal stays ignored across
    exec, and Python then leaves it so): one arriving while a helper still imports seconnect
    would otherwise print that helper's traceback. The job ignores it too meanwhile, for the
    milliseconds a start takes. Only the main thread may change signal handling; elsewhere the
    helper ignores Ctrl-C once started (:func:`start_helper`)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _exit_with_parent() -> None:
    # A job killed with SIGKILL cannot stop its helpers, and they would wait on their work
    # queue forever (each holds that pipe's write end too): they watch the parent instead.
    parent = multiprocessing.parent_process()
    if parent is not None:
        parent.join()
        os._exit(1)


class _ToParentLoggers:
    """QueueListener target: a helper's record goes through the parent's logger of that name."""

    level = logging.NOTSET

    def handle(self, record: logging.LogRecord) -> None:
        logging.getLogger(record.name).handle(record)


@contextmanager
def log_forwarding(context: Any) -> Iterator[Any]:
    """A queue helpers send their log records to, replayed through this process's loggers."""
    log_queue = context.Queue()
    listener = logging.handlers.QueueListener(log_queue, _ToParentLoggers())
    listener.start()
    try:
        yield log_queue
    finally:
        listener.stop()


_ITEM, _END, _ERROR = "item", "end", "error"


def _produce(function: Callable[..., Iterable[Any]], args: tuple, index: int, items: Any, stop: Any,
             log_queue: Any, level: int) -> None:
    """The helper's main: ``function(*args)``'s items into ``items`` (tagged with the helper's
    ``index``) until done or stopped."""
    start_helper(log_queue, level)

    def put(kind: str, value: Any) -> bool:
        while not stop.is_set():
            try:
                items.put((index, kind, value), timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    produced = function(*args)
    try:
        for item in produced:
            if not put(_ITEM, item):
                items.cancel_join_thread()  # stopped: what waits in the pipe is dropped, not flushed
                return
        put(_END, None)
    except BaseException as exc:  # handed to the job, which raises it where the item would be
        put(_ERROR, _picklable(exc))
    finally:
        close = getattr(produced, "close", None)
        if close is not None:
            close()


def _picklable(exc: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return PluginError(f"a helper process failed: {type(exc).__name__}: {exc}")


class Stream(Generic[T]):
    """The items of ``function(*args)`` for each ``args`` in ``arguments``, each produced in its
    own helper process: see :func:`stream` and :func:`streams` (``tagged``: items come as
    ``(index of args, item)``)."""

    def __init__(self, function: Callable[..., Iterable[T]], arguments: list[tuple], ahead: int, name: str,
                 tagged: bool = False):
        self._tagged = tagged
        context = helper_context(function.__module__)
        with ExitStack() as started:
            log_queue = started.enter_context(log_forwarding(context))
            self._items, self._stop = context.Queue(max(1, ahead) * len(arguments)), context.Event()
            level = logging.getLogger().getEffectiveLevel()
            self._processes = [
                context.Process(target=_produce, name=name if len(arguments) == 1 else f"{name}-{index + 1}",
                                daemon=True, args=(function, args, index, self._items, self._stop, log_queue, level))
                for index, args in enumerate(arguments)]
            started.callback(self._stop_helpers)
            with ctrl_c_ignored_by_new_helpers():
                for process in self._processes:
                    process.start()
            self._resources = started.pop_all()  # undone by close(); here at once if a start failed
        self._running = set(range(len(arguments)))
        self._done = False

    def __iter__(self) -> Stream[T]:
        return self

    def __next__(self) -> Any:
        while self._running and not self._done:
            try:
                index, kind, value = self._items.get(timeout=_POLL)
            except queue.Empty:
                dead = [i for i in self._running if not self._processes[i].is_alive()]
                if dead and self._items.empty():
                    process = self._processes[dead[0]]
                    self.close()
                    raise PluginError(f"the helper process {process.name!r} died (exit code "
                                      f"{process.exitcode})", hint=HELPER_DIED_HINT) from None
                continue
            if kind == _ITEM:
                return (index, value) if self._tagged else value
            self._running.discard(index)
            if kind == _ERROR:
                self.close()
                raise value
        self.close()
        raise StopIteration

    def _stop_helpers(self) -> None:
        self._stop.set()
        for process in self._processes:
            if process.pid is None:  # never started
                continue
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
                process.join()

    def close(self) -> None:
        """Stop the helpers (each finishes the item in hand, e.g. a request, up to a few seconds)."""
        if self._done:
            return
        self._done = True
        self._resources.close()  # the helpers stopped, then their log forwarding
        self._items.close()
        self._items.cancel_join_thread()

    def __enter__(self) -> Stream[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_done", True):
            self.close()


def stream(function: Callable[..., Iterable[T]], *args: Any, ahead: int = 2, name: str = "seconnect-helper"
           ) -> Stream[T]:
    """Run ``function(*args)`` (an iterable, typically a generator) in a helper process, started
    at once; iterating the result yields its items in order, up to ``ahead`` of them produced
    and waiting. An exception in the helper is raised where its item would have come; a helper
    that dies is a PluginError. Close it (or use it as a context manager) to stop the helper early.

    ``function`` must be importable by name (a module-level function) and its arguments and
    items picklable: they cross to the other process.
    """
    return Stream(function, [args], ahead, name)


def streams(function: Callable[..., Iterable[T]], arguments: list[tuple], *, ahead: int = 2,
            name: str = "seconnect-helper") -> Stream[T]:
    """As :func:`stream`, with one helper per tuple of ``arguments``, all at once: iterating
    yields ``(index of its arguments, item)`` as items come, each helper's in its order, until
    every helper is done. An exception in any helper stops them all and is raised."""
    return Stream(function, list(arguments), ahead, name, tagged=True)
