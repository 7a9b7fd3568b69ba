"""Cart passwords encrypted at rest.

The store file holds only Fernet tokens (AES-128-CBC + HMAC-SHA256, from ``cryptography``); the key
lives in a separate file, so a copied or backed-up store file alone does not reveal passwords.

Key file: ``$SECONNECT_KEY_FILE``, else ``secret.key`` in the per-user config directory. It is
created on first :func:`encrypt`, atomically (a concurrent process sees no file or the whole key,
never a partial one) with mode 0600 in a 0700 directory; one readable by others is used with a
warning. Losing it means re-entering the cart passwords (:func:`check_key_for` stops a new key
from being made silently beside passwords stored under the old one); neither the key nor a
token is ever printed or put in an error message.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import shlex
import stat
from collections.abc import Sequence
from pathlib import Path

import platformdirs
from cryptography.fernet import Fernet, InvalidToken

from .cartdef import Secret
from .errors import UsageError

__all__ = ["ENV_KEY_FILE", "encrypt", "decrypt", "key_path", "check_key_for", "decryptable", "derived_key"]

log = logging.getLogger(__name__)

ENV_KEY_FILE = "SECONNECT_KEY_FILE"

_FIX = (
    "restore the key file that was used when the cart was saved, or set " + ENV_KEY_FILE + "; "
    "or re-enter the password with `seconnect carts edit {cart} --password-stdin`"
)
_AFRESH = ("To start afresh on purpose (the old key is lost): `seconnect carts forget-passwords`, "
           "then re-enter each cart's password with `seconnect carts edit NAME --password-stdin`.")
_warned: set[Path] = set()


def key_path() -> Path:
    """Where the key file is (whether or not it exists yet)."""
    env = os.environ.get(ENV_KEY_FILE, "").strip()
    if env:
        return Path(env).expanduser()
    return platformdirs.user_config_path("seconnect") / "secret.key"


def encrypt(plaintext: str) -> str:
    """Encrypt a password for storage, creating the key file if there is none yet."""
    return _fernet(create=True).encrypt(plaintext.encode("utf-8")).decode("ascii")


def derived_key(purpose: str) -> bytes:
    """A key for ``purpose`` (e.g. signing dashboard sessions) derived from the key file, which is
    created if missing. One-way (HMAC-SHA256): it never reveals the key file's key."""
    _fernet(create=True)  # the file exists and holds a valid key
    return hmac.new(key_path().read_bytes().strip(), purpose.encode("utf-8"), hashlib.sha256).digest()


def decrypt(token: str, *, cart: str | None = None) -> Secret:
    """Decrypt a stored password (of ``cart``, named in errors). A missing or different key is a
    :class:`UsageError`."""
    path = key_path()
    fix = _FIX.format(cart=shlex.quote(cart) if cart else "NAME")
    try:
        plain = _fernet(create=False, fix=fix).decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeEncodeError):
        whose = f"the stored password of cart {cart!r}" if cart else "a stored cart password"
        raise UsageError(
            f"cannot decrypt {whose} with the key file {path}: "
            "it is not the key the password was encrypted with",
            hint=fix,
        ) from None
    return Secret(plain.decode("utf-8"))


def decryptable(tokens: Sequence[str]) -> list[bool]:
    """Which of ``tokens`` the key file decrypts (none when there is no key file).

    A key file that exists but cannot be read or is not a key is an error, not "none": that is
    a problem to fix, not a reason to give up the stored passwords.
    """
    if not key_path().exists():
        return [False] * len(tokens)
    fernet = _fernet(create=False)
    return [_opens(fernet, token) for token in tokens]


def check_key_for(tokens: Sequence[str]) -> None:
    """Refuse to encrypt a new password while ``tokens`` (the other stored passwords) are under a
    key that is missing or is not the key file's: a new key would leave carts under two keys."""
    if not tokens:
        return
    path = key_path()
    others = f"{len(tokens)} other cart password{'s' if len(tokens) != 1 else ''}"
    two_keys = "nothing was saved (a new key would leave the carts under two keys)."
    if not path.exists():
        raise UsageError(f"the key file {path} is missing, and the store holds {others} encrypted with it; "
                         + two_keys,
                         hint=f"Restore the key file to {path}, or set {ENV_KEY_FILE} to where it is. " + _AFRESH)
    if not any(decryptable(tokens)):
        raise UsageError(f"the key file {path} opens none of the store's {others}; {two_keys}",
                         hint=f"Set {ENV_KEY_FILE} to the key file those passwords were saved with. " + _AFRESH)


def _opens(fernet: Fernet, token: str) -> bool:
    try:
        fernet.decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeEncodeError):
        return False
    return True


def _fernet(*, create: bool, fix: str = _FIX.format(cart="NAME")) -> Fernet:
    path = key_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if not create:
            raise UsageError(f"the key file {path} does not exist, so stored cart passwords cannot be decrypted",
                             hint=fix) from None
        raw = _create_key_file(path)
    except OSError as exc:
        raise UsageError(f"cannot read the key file {path}: {exc.strerror}", hint=fix) from None
    _warn_if_shared(path)
    try:
        return Fernet(raw.strip())
    except ValueError:
        raise UsageError(f"the key file {path} does not hold a valid key", hint=fix) from None


def _warn_if_shared(path: Path) -> None:
    """Warn (once per process) when others may read the key: it opens every cart password."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return
    if mode & 0o077 and path not in _warned:
        _warned.add(path)
        log.warning("the key file %s can be read by other users (mode %04o); restrict it with `chmod 600 %s`",
                    path, mode, path)


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
