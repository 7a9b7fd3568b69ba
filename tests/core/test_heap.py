"""settle_heap(): module-level objects frozen out of collection, young collections rarer,
cycles still collected."""

from __future__ import annotations

import subprocess
import sys


def test_settle_heap_freezes_startup_objects_and_still_collects_cycles():
    code = """
import gc, weakref
from seconnect.heap import settle_heap, YOUNG_THRESHOLD
settle_heap()
assert gc.get_freeze_count() > 1000, gc.get_freeze_count()
assert gc.get_threshold()[0] == YOUNG_THRESHOLD
class Node: pass
a, b = Node(), Node()
a.other, b.other = b, a
probe = weakref.ref(a)
del a, b
gc.collect()
assert probe() is None, "a reference cycle created after settling is still collected"
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "ok"
