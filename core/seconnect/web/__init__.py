"""The dashboard, its login and its JSON API (served by `seconnect serve`).

:func:`create_app` builds the Starlette app over a store; see :mod:`seconnect.web.app`.
"""

from .app import create_app

__all__ = ["create_app"]
