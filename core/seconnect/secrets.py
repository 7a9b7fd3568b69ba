"""Cart passwords encrypted at rest.

The store file holds only Fernet tokens (AES-128-CBC + HMAC-SHA256, from ``cryptography``); the key
lives in a separate file, so a copied or backed-up store file alone does not reveal passwords.

Key file: ``$SECONNECT_KEY_FILE``, else ``secret.key`` in the per-user config directory. It is
created on first :func:`encrypt`, atomically (a concurrent process sees no file or the whole key,
never a partial one) with mode 0600 in a 0700 directory. Losing it means re-entering the cart
passwords; neither the key nor a token is ever printed or put in an error message.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
from cryptography.fernet import Fernet, InvalidToken

from .cartdef import Secret
from .errors import UsageError

__all__ = ["ENV_KEY_FILE", "encrypt", "decrypt", "key_path"]

ENV_KEY_FILE = "SECONNECT_KEY_FILE"

_FIX = (
    "restore the key file that was used when the cart was saved, or set " + ENV_KEY_FILE + "; "
    "or re-enter the password with `seconnect carts edit NAME --password-stdin`"
)


def key_path() -> Path:
    """Where the key file is (whether or not it exists yet)."""
    env = os.environ.get(ENV_KEY_FILE, "").strip()
    if env:
        return Path(env).expanduser()
    return platformdirs.user_config_path("seconnect") / "secret.key"


def encrypt(plaintext: str) -> str:
    """Encrypt a password for storage, creating the key file if there is none yet."""
    return _fernet(create=True).encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> Secret:
    """Decrypt a stored password. A missing or different key is a :class:`UsageError`."""
    path = key_path()
    try:
        plain = _fernet(create=False).decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeEncodeError):
        raise UsageError(
            f"cannot decrypt a stored cart password with the key file {path}: "
            "it is not the key the password was encrypted with",
            hint=_FIX,
        ) from None
    return Secret(plain.decode("utf-8"))


def _fernet(*, create: bool) -> Fernet:
    path = key_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if not create:
            raise UsageError(f"the key file {path} does not exist, so stored cart passwords cannot be decrypted",
                             hint=_FIX) from None
        raw = _create_key_file(path)
    except OSError as exc:
        raise UsageError(f"cannot read the key file {path}: {exc.strerror}", hint=_FIX) from None
    try:
        return Fernet(raw.strip())
    except ValueError:
        raise UsageError(f"the key file {path} does not hold a valid key", hint=_FIX) from None


def _create_key_file(path: Path) -> bytes:
    """Write a new key next to its final name, then link it into place.

    ``os.link`` fails if the name exists, so when two processes race the loser reads the
    winner's key instead of overwriting it (which would orphan passwords already encrypted).
    """
    key = Fernet.generate_key()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(key + b"\n")
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                return path.read_bytes()
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the key file {path}: {exc.strerror}",
                         hint=f"set {ENV_KEY_FILE} to a writable location") from None
    return key
