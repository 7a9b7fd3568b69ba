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
from seconnect.helpers import stream


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
    assert not items._process.is_alive()
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
    os.kill(items._process.pid, signal.SIGINT)  # the helper is still starting: spawning takes far longer
    assert [item["page"] for item in itertools.islice(items, 2)] == [0, 1]
    items.close()
    assert "KeyboardInterrupt" not in capfd.readouterr().err
