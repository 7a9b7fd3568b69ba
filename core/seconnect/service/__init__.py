"""`seconnect serve`: the always-on service — schedules, the outbox worker, webhooks, health and metrics.

:mod:`.schedules` (the store side of schedules), :mod:`.scheduler` (the loop that runs them),
:mod:`.webhooks` (``POST /hooks/<cart>``), :mod:`.metrics`, :mod:`.core` (:class:`Service`, the
threads of one process) and :mod:`.app` (the ASGI routes). See docs/service.md.
"""

__all__ = ["Service", "service_routes", "build_app"]


def __getattr__(name: str):
    # The web stack loads only for `serve`: `schedule list` needs none of it.
    if name == "Service":
        from .core import Service

        return Service
    if name in ("service_routes", "build_app"):
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
