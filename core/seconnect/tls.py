"""Which certificate authorities a connection to a cart trusts: a cart's ``--ca-bundle`` file, or
the process-wide ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``, else the built-in store (certifi, httpx's
default). Verification is never turned off.

:func:`trust_context` reads one PEM file and says in plain words why it cannot be used; each
caller turns that into its own error (bad input when a cart is added, a certificate problem
when ``SSL_CERT_FILE`` is unusable at connection time).
"""

from __future__ import annotations

import os
import ssl

__all__ = ["ENV_CERT_FILE", "ENV_CERT_DIR", "UnusableTrust", "trust_context", "default_trust"]

ENV_CERT_FILE = "SSL_CERT_FILE"
ENV_CERT_DIR = "SSL_CERT_DIR"


class UnusableTrust(ValueError):
    """A CA file that cannot be used; the message says why (no path, no secret)."""


def trust_context(cafile: str) -> ssl.SSLContext:
    """A verifying client context trusting exactly the PEM certificates in ``cafile``."""
    try:
        context = ssl.create_default_context(cafile=os.path.expanduser(cafile))
    except ssl.SSLError:  # before OSError, its base class; OpenSSL's own words ("PEM lib") help nobody
        raise UnusableTrust("it is not a PEM certificate file") from None
    except FileNotFoundError:
        raise UnusableTrust("the file does not exist") from None
    except IsADirectoryError:
        raise UnusableTrust("it is a folder, not a file") from None
    except PermissionError:
        raise UnusableTrust("it cannot be read (permission denied)") from None
    except OSError as exc:
        raise UnusableTrust(f"it cannot be read ({exc.strerror or exc})") from None
    if not context.get_ca_certs():
        raise UnusableTrust("it is not a PEM certificate file (it holds no certificate)")
    return context


def default_trust() -> ssl.SSLContext | None:
    """The context ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` ask for, or None for the built-in store.

    Raises :class:`UnusableTrust` (naming the variable) when ``SSL_CERT_FILE`` cannot be used.
    """
    cafile = os.environ.get(ENV_CERT_FILE, "")
    if cafile:
        try:
            return trust_context(cafile)
        except UnusableTrust as exc:
            raise UnusableTrust(f"{ENV_CERT_FILE}={cafile!r} cannot be used: {exc}") from None
    capath = os.environ.get(ENV_CERT_DIR, "")
    if capath:
        return ssl.create_default_context(capath=capath)
    return None
