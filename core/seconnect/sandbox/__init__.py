"""The sandbox cart: a real HTTPS server on loopback that plays a web store speaking SETI
(or, in the ``bigcommerce`` profile, BigCommerce's REST API).

Tests, ``seconnect demo``, the benchmarks and the plugin conformance kit talk to it instead of
a live store (nothing on these machines reaches the internet, and merchants need a safe place
to try things)::

    from seconnect.sandbox import Sandbox

    with Sandbox("interspire", orders=200, faults="503*1") as sb:
        httpx.post(sb.url, data={...}, verify=sb.ca_file)

Modules: ``generator`` (seeded data), ``state`` (SQLite), ``interspire`` / ``generic`` (the SETI
profiles, with the Interspire bug switches documented in ``interspire``), ``bigcommerce`` (the
REST profile), ``faults`` (fault
spec grammar), ``server`` (TLS/HTTP), ``certs`` (the sandbox CA), ``runtime`` (``Sandbox``).
See docs/sandbox.md.
"""

from __future__ import annotations

from .faults import KINDS as FAULT_KINDS
from .faults import FaultPlan
from .interspire import BUGS
from .runtime import PROFILES, Sandbox, sandbox_fixture

__all__ = ["Sandbox", "FaultPlan", "BUGS", "FAULT_KINDS", "PROFILES", "sandbox_fixture"]
