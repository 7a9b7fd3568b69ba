"""The sandbox's own certificate authority and its loopback server certificate.

Clients are meant to trust the sandbox the way a merchant trusts a real store: by a CA file
(``--ca-bundle``), never by turning verification off. A CA is made once per process and
reused by every sandbox (key generation is the slow part of a start); a sandbox with a
persistent ``state_dir`` keeps its CA there, so a merchant's ``--ca-bundle`` stays valid
across runs of ``seconnect sandbox --state DIR``.
"""

from __future__ import annotations

import os
import ssl
import threading
from pathlib import Path

import trustme

CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")

_lock = threading.Lock()
_process_ca: trustme.CA | None = None
_contexts: dict[tuple[bytes, tuple[str, ...]], ssl.SSLContext] = {}


def _ca_for(state_dir: Path) -> trustme.CA:
    """The CA stored in ``state_dir`` if there is one, else this process's CA (written there)."""
    global _process_ca
    cert_path, key_path = state_dir / CA_FILE, state_dir / CA_KEY_FILE
    if cert_path.exists() and key_path.exists():
        return trustme.CA.from_pem(cert_path.read_bytes(), key_path.read_bytes())
    with _lock:
        if _process_ca is None:
            _process_ca = trustme.CA(organization_name="seconnect sandbox")
        ca = _process_ca
    ca.cert_pem.write_to_path(str(cert_path))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(ca.private_key_pem.bytes())
    return ca


def server_context(state_dir: Path, host: str) -> tuple[ssl.SSLContext, Path]:
    """A TLS server context for the loopback names (plus ``host`` if it is another name) and
    the path of the CA file clients should trust."""
    ca = _ca_for(state_dir)
    names = tuple(dict.fromkeys((*LOOPBACK_NAMES, *([host] if host not in ("", "0.0.0.0", "::") else []))))
    key = (ca.cert_pem.bytes(), names)
    with _lock:
        context = _contexts.get(key)
        if context is None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            ca.issue_cert(*names).configure_cert(context)
            _contexts[key] = context
    return context, state_dir / CA_FILE


def loopback_cert_files(state_dir: Path, out_dir: Path) -> tuple[str, str]:
    """A certificate and key for 127.0.0.1 issued by the sandbox's CA, written to ``out_dir``: a
    service using them is trusted by the sandbox's webhook deliveries (which verify TLS)."""
    cert = _ca_for(state_dir).issue_cert(*LOOPBACK_NAMES)
    out_dir.mkdir(parents=True, exist_ok=True)
    cert.cert_chain_pems[0].write_to_path(str(out_dir / "service-cert.pem"))
    cert.private_key_pem.write_to_path(str(out_dir / "service-key.pem"))
    return str(out_dir / "service-cert.pem"), str(out_dir / "service-key.pem")
