"""seconnect.helpers.stream: a generator run in a spawned helper process, its items handed over in order."""

from __future__ import annotations

import itertools
import logging
import os
import signal
import time
from pathlib import Path

import pytest

from seconnect.errors import CartProtocolError, PluginError
from seconnect.helpers import start_server_early, stream, streams


def pages_then_error(n: int):
    for i in range(n):
        yield {"page": i, "pid": os.getpid()}
    raise CartProtocolError("GET /v2/orders: the answer is not a list of orders", hint="Check api_base.")


def endless(marker: str):
    """Counts forever; writes each number it produced to ``marker`` (the test reads how far it got)."""
    n = 0
    while True:
        Path(marker).write_text(str(n))
        yield n
        n += 1


def numbered(prefix: str, n: int, fail: bool = False):
    for i in range(n):
        time.sleep(0.01)
        yield f"{prefix}{i}", os.getpid()
    if fail:
        raise CartProtocolError(f"{prefix}: the answer is not a list of orders")


def parent_pid():
    yield os.getppid()


def logging_then_done():
    logging.getLogger("seconnect.test-helper").warning("from the helper, pid %s", os.getpid())
    yield "done"


def dies():
    os._exit(7)  # killed, e.g. by the kernel's OOM killer
    yield "never"


def test_items_come_in_order_from_another_process_then_the_error_where_it_happened():
    got = []
    with pytest.raises(CartProtocolError, match="not a list of orders") as raised:
        for item in stream(pages_then_error, 5):
            got.append(item)
    assert [item["page"] for item in got] == [0, 1, 2, 3, 4]
    assert {item["pid"] for item in got} != {os.getpid()}  # produced elsewhere
    assert raised.value.hint == "Check api_base."  # the fix it names crosses with it


def test_closing_stops_the_helper_within_its_look_ahead(tmp_path):
    marker = tmp_path / "produced"
    items = stream(endless, str(marker), ahead=2)
    assert next(items) == 0
    items.close()  # what the job does when it is interrupted
    assert not items._processes[0].is_alive()
    # it stopped within its look-ahead (2 waiting + 1 in hand + the pipe's), not after thousands
    assert int(marker.read_text()) < 50
    with pytest.raises(StopIteration):
        next(items)


def test_the_helpers_log_records_go_through_this_process_loggers(caplog):
    with caplog.at_level(logging.WARNING, logger="seconnect.test-helper"):
        assert list(stream(logging_then_done)) == ["done"]
        deadline = time.monotonic() + 5  # the listener thread replays records as they arrive
        while not any("from the helper" in r.getMessage() for r in caplog.records) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert any(r.name == "seconnect.test-helper" and "from the helper" in r.getMessage() for r in caplog.records)


def test_a_helper_that_dies_is_a_plugin_error_naming_the_fix():
    with pytest.raises(PluginError, match=r"died \(exit code 7\)") as raised:
        next(stream(dies))
    assert "Rerun the job" in raised.value.hint


def test_a_helper_is_born_ignoring_ctrl_c(capfd):
    # Ctrl-C goes to the whole process group; one arriving while the helper still starts up
    # (importing seconnect) must neither kill it nor print its traceback: the job reports it.
    items = stream(pages_then_error, 2)
    os.kill(items._processes[0].pid, signal.SIGINT)  # the helper is still starting: spawning takes far longer
    assert [item["page"] for item in itertools.islice(items, 2)] == [0, 1]
    items.close()
    assert "KeyboardInterrupt" not in capfd.readouterr().err


def test_streams_runs_one_helper_per_arguments_and_tags_each_item_with_its_index():
    got = list(streams(numbered, [("a", 6), ("b", 4)], name="pair"))
    by_index = {i: [item for j, (item, _pid) in got if j == i] for i in (0, 1)}
    assert by_index == {0: [f"a{i}" for i in range(6)], 1: [f"b{i}" for i in range(4)]}  # each in its order
    pids = {i: {pid for j, (_item, pid) in got if j == i} for i in (0, 1)}
    assert len(pids[0]) == len(pids[1]) == 1 and pids[0] != pids[1] and os.getpid() not in pids[0] | pids[1]


def test_an_error_in_one_of_the_helpers_stops_them_all_and_is_raised():
    items = streams(numbered, [("a", 1, True), ("b", 10_000)])
    with pytest.raises(CartProtocolError, match="a: the answer"):
        for _ in items:
            pass
    assert not any(p.is_alive() for p in items._processes)


def _children() -> set[int]:
    return {int(pid) for task in Path("/proc/self/task").iterdir() for pid in (task / "children").read_text().split()}


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc to find the server")
def test_helpers_fork_from_a_server_started_early_not_from_the_job():
    start_server_early(__name__)  # what a first import does before its first page
    start_server_early(__name__)  # twice: still the one server
    before_any_helper = _children()
    (first,) = stream(parent_pid)
    (second,) = stream(parent_pid)
    assert first == second != os.getpid()  # both forked by the same server, none by the job
    assert first in before_any_helper  # the server ran before the first helper was asked for
