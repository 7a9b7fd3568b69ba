"""Injected faults: what a flaky web host does to SETI traffic.

A :class:`FaultPlan` is parsed from a spec string, comma-separated terms::

    KIND[:RATE][@FUNCTION]     with probability RATE (0 < RATE <= 1; omitted = every time)
    KIND*N[@FUNCTION]          on the next N matching requests, then never again

``@FUNCTION`` limits a term to one ``setifunction`` (case-insensitive). Kinds:

========== ============================================================== ==============
kind       what the client gets                                           request run?
========== ============================================================== ==============
``500``    HTTP 500, short text body                                      no
``503``    HTTP 503 with ``Retry-After: 1``                               no
``429``    HTTP 429 with ``Retry-After: 1``                               no
``reset``  the request is read, then the TCP connection is reset (RST)    no
           without any reply
``badauth`` the profile's own bad-credentials reply (``sendversion``,     no (rejected)
           which needs no credentials, is never affected)
``truncate`` ``Content-Length`` of the whole reply, half of it sent, then yes
           the connection closed
``slow``   the reply dribbled out in about 20 pieces over ~2 s (bounded)  yes
========== ============================================================== ==============

So a fault never changes state except ``truncate`` and ``slow``, which run the request (an
inventory update *is* applied) and then mangle or delay the reply: the case where a client
cannot know whether its write landed.

Terms are tried in the order written; the first that fires decides the request. Rates draw
from ``random.Random(seed)``, so a given sequence of requests meets the same faults every
run. Examples: ``500:0.2``, ``503*2``, ``reset:0.1@downloadorders``, ``truncate*1,slow*1``,
``badauth``. Faults apply to SETI calls (and the bigcommerce profile's REST calls, where
``@FUNCTION`` is the resource and ``429`` is load shedding), never to ``/__sandbox/`` admin calls.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass

KINDS = ("500", "503", "429", "reset", "truncate", "slow", "badauth")
_TERM = re.compile(r"^(?P<kind>[a-z0-9]+)(?::(?P<rate>[0-9.]+)|\*(?P<count>\d+))?(?:@(?P<function>[a-z_]+))?$",
                   re.IGNORECASE)


@dataclass
class FaultRule:
    kind: str
    rate: float = 1.0
    remaining: int | None = None  # None: rate-based; else how many more requests it hits
    function: str | None = None

    def describe(self) -> str:
        amount = f"*{self.remaining}" if self.remaining is not None else (f":{self.rate:g}" if self.rate < 1 else "")
        return f"{self.kind}{amount}{'@' + self.function if self.function else ''}"


class FaultPlan:
    """A parsed, stateful fault schedule (thread-safe); see the module docstring."""

    def __init__(self, rules: list[FaultRule], seed: int = 1, spec: str = ""):
        self.rules = rules
        self.spec = spec
        self._random = random.Random(f"faults:{seed}").random
        self._lock = threading.Lock()

    @classmethod
    def parse(cls, spec: str, seed: int = 1) -> FaultPlan:
        """Parse a spec string; ``ValueError`` names the bad term and the grammar."""
        rules = []
        for raw in spec.split(","):
            term = raw.strip()
            if not term:
                continue
            match = _TERM.match(term)
            if not match or match.group("kind").lower() not in KINDS:
                raise ValueError(f"bad fault term {term!r}: expected KIND[:RATE][@FUNCTION] or "
                                 f"KIND*N[@FUNCTION] with KIND one of {', '.join(KINDS)}")
            rate, count = 1.0, None
            if match.group("rate") is not None:
                try:
                    rate = float(match.group("rate"))
                except ValueError:
                    rate = -1.0
                if not 0 < rate <= 1:
                    raise ValueError(f"bad fault rate in {term!r}: expected a number in (0, 1]")
            if match.group("count") is not None:
                count = int(match.group("count"))
                if count < 1:
                    raise ValueError(f"bad fault count in {term!r}: expected N >= 1")
            function = match.group("function")
            rules.append(FaultRule(match.group("kind").lower(), rate, count, function.lower() if function else None))
        return cls(rules, seed, spec)

    def decide(self, function: str) -> str | None:
        """The fault for one SETI request (``None``: serve it normally)."""
        name = function.strip().lower()
        with self._lock:
            for rule in self.rules:
                if rule.function is not None and rule.function != name:
                    continue
                if rule.kind == "badauth" and name == "sendversion":
                    continue
                if rule.remaining is not None:
                    if rule.remaining <= 0:
                        continue
                    rule.remaining -= 1
                    return rule.kind
                if rule.rate >= 1 or self._random() < rule.rate:
                    return rule.kind
        return None

    def __repr__(self) -> str:
        return f"FaultPlan({', '.join(r.describe() for r in self.rules)!r})"
