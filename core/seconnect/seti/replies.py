"""Plain-text SETI replies: ``SETIResponse…`` / ``SETIError…`` (protocol sections 2.1, 4.3, 5.4).

Real scripts vary the prefix case (``SetiResponse`` from Interspire, ``SETIRESPONSE`` from others),
use either ``SETIResponse: k=v;k=v`` or ``SETIResponse=OK;k=v``, and write multi-line blocks of
``SKU=RESULT`` lines ending in ``SETIEndOfData`` with CR/LF and trailing spaces. One tolerant
parser reads them all into a :class:`TextReply`; small interpreters turn that into the value
each function returns. A ``SETIError`` becomes :class:`~seconnect.errors.CartRejected` (or
:class:`~seconnect.errors.CartAuthError` when it is about credentials).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from ..errors import CartAuthError, CartProtocolError, CartRejected
from ..operations import StatusResult
from . import values

__all__ = [
    "TextReply",
    "InvUpdateResult",
    "StatusResult",
    "parse_text_reply",
    "parse_count",
    "parse_qoh_results",
    "parse_inv_update",
    "parse_status",
    "rejection",
    "snippet",
    "hiding",
]

_PREFIX = re.compile(r"\s*(SETIResponse|SETIError)\s*([:=]?)\s*", re.IGNORECASE)
_END = "setiendofdata"
_LINE_BREAK = re.compile(r"\r\n|[\r\n]")  # only real line breaks: a SKU may hold any other character
# How scripts word a rejected login: "Invalid username, password, or store code." (spec style),
# "Error: Either the username or password was invalid." (Interspire), "User does not have access
# to store." (Stone Edge's Magento script), plus the usual access-denied phrasings.
_AUTH_WORDS = re.compile(
    r"user\s*name|password|passwd|store\s*code|credential|authenticat|authori[sz]|log\s*in\b|login"
    r"|\baccess\s+(?:to\s+(?:the\s+)?store|denied)|\bno\s+access\b|\bpermission\s+denied"
    r"|\b(?:invalid|unknown|bad)\s+(?:user|store|api\s*key|token)\b",
    re.IGNORECASE)
# "SETIError:" / "Error:" in front of the text (some scripts write both, or the prefix twice).
_ERROR_PREFIX = re.compile(r"\s*(?:seti\s*error|error)\s*:\s*", re.IGNORECASE)


_HIDDEN: ContextVar[tuple[str, ...]] = ContextVar("seti_hidden", default=())


@contextmanager
def hiding(*secrets: str) -> Iterator[None]:
    """While active, :func:`snippet` masks these strings in the excerpts it makes.

    The client wraps each exchange in it with the password's forms: a broken script may echo the
    request, and an excerpt cut mid-password would escape masking done later on whole strings.
    """
    token = _HIDDEN.set(tuple(s for s in secrets if s))
    try:
        yield
    finally:
        _HIDDEN.reset(token)


def snippet(data: bytes | str, limit: int = 80) -> str:
    """The first bytes of a reply for an error message, escaped so control characters cannot
    reach a terminal or log as-is, with hidden strings masked (also a start of one at the cut)."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    secrets = _HIDDEN.get()
    for secret in secrets:
        text = text.replace(secret, "********")
    shown = text[:limit]
    for secret in secrets:
        for size in range(min(len(secret) - 1, len(shown)), 1, -1):
            if shown.endswith(secret[:size]):
                shown = shown[:-size] + "********"
                break
    return repr(shown) + ("…" if len(text) > limit else "")


def _plain(message: str) -> str:
    """The cart's message said once: ``SETIError:`` / ``Error:`` prefixes dropped (our own
    message already says the cart rejected the call), repeated lines kept once."""
    lines: list[str] = []
    for line in _LINE_BREAK.split(message):
        while (m := _ERROR_PREFIX.match(line)) is not None:
            line = line[m.end():]
        line = " ".join(line.split())
        if line and line not in lines:
            lines.append(line)
    return " ".join(lines)


def rejection(message: str, *, function: str) -> CartRejected:
    """The error for a cart that answered with a SETI error: auth-related texts get CartAuthError."""
    message = _plain(message) or "(no message)"
    text = f"{function}: the cart rejected the call: {message}"
    if _AUTH_WORDS.search(message):
        return CartAuthError(text, hint="Check the user name, password and store code of this cart definition "
                                        "(`seconnect carts show NAME`); change them with "
                                        "`seconnect carts edit NAME --user USER --password`.")
    lowered = message.lower()
    if "insecure" in lowered or "https" in lowered:
        return CartRejected(text, hint="The script only accepts HTTPS: use an https:// Script URL.")
    if ("error in the transmission" in lowered or "no support for function" in lowered
            or ("was not found" in lowered and "function" in lowered)):
        return CartRejected(text, hint=f"The cart's script does not understand '{function}'; it may not offer "
                                       "it at all. `seconnect carts types` shows what each cart type supports.")
    return CartRejected(text)


@dataclass(frozen=True)
class TextReply:
    """One parsed ``SETIResponse`` reply.

    ``status`` is a bare token after the prefix (``OK`` in ``SETIResponse=OK;SKU=…``), ``fields``
    the ``key=value`` pairs with lower-cased keys, ``lines`` the ``SKU=RESULT`` lines of a
    multi-line block (result stripped, SKU as sent) and ``ended`` whether ``SETIEndOfData`` came.
    """

    text: str
    status: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    lines: tuple[tuple[str, str], ...] = ()
    ended: bool = False

    def get(self, key: str) -> str | None:
        return self.fields.get(key.lower())


def _pairs(body: str) -> tuple[str | None, dict[str, str]]:
    """``OK;SKU=A;NOTE=x`` → ("OK", {...}). A ``;`` inside a value (free-text notes) is kept:
    a segment without ``=`` is glued back onto the previous value."""
    status: str | None = None
    fields: dict[str, str] = {}
    last: str | None = None
    for i, segment in enumerate(body.split(";")):
        key, eq, value = segment.partition("=")
        if eq and key.strip():
            last = key.strip().lower()
            fields[last] = value.strip()
        elif i == 0:
            status = segment.strip() or None
        elif last is not None and segment:
            fields[last] = f"{fields[last]};{segment.rstrip()}"
    return status, fields


def parse_text_reply(text: str, *, function: str = "reply") -> TextReply:
    """Parse a plain-text reply; raise CartRejected/CartAuthError for ``SETIError``."""
    lines = _LINE_BREAK.split(text.lstrip("\ufeff \t\r\n"))
    m = _PREFIX.match(lines[0]) if lines else None
    if m is None:
        raise CartProtocolError(f"{function}: the reply is not a SETI reply: {snippet(text)}",
                                hint="The Script URL may not point at the cart's SETI integration script.")
    first = lines[0][m.end():].rstrip()
    if m.group(1).lower() == "setierror":
        raise rejection("\n".join([first, *lines[1:]]), function=function)
    status, fields = _pairs(first) if first else (None, {})
    results: list[tuple[str, str]] = []
    ended = False
    for line in lines[1:]:
        line = line.rstrip()
        if not line:
            continue
        if line.strip().lower() == _END:
            ended = True
            break
        sku, eq, result = line.rpartition("=")
        if not eq:
            raise CartProtocolError(f"{function}: unexpected line in a SETIResponse block: {snippet(line)}")
        results.append((sku, result.strip()))
    return TextReply(text=text, status=status, fields=fields, lines=tuple(results), ended=ended)


def parse_count(reply: TextReply, key: str, *, function: str) -> int:
    raw = reply.get(key)
    try:
        if raw is None:
            raise ValueError
        count = values.integer(raw)
        if count < 0:
            raise ValueError
    except ValueError:
        raise CartProtocolError(f"{function}: expected '{key}=<number>' in the reply: {snippet(reply.text)}") \
            from None
    return count


_RESULT_CODES = {"OK": "OK", "NF": "NF", "NA": "NA", "ERR": "ERR"}


def parse_qoh_results(reply: TextReply, *, function: str = "qohreplace") -> dict[str, str]:
    """``SKU=RESULT`` lines → {sku: "OK"|"NF"|"NA"|"ERR"|text as sent, e.g. "Update Error"}.

    Lines with an empty SKU are dropped: Interspire answers one for the empty segment a trailing
    ``|`` leaves (section 6.6-13); it names no item.
    """
    if not reply.ended:
        raise CartProtocolError(f"{function}: the reply ended without SETIEndOfData, so results may be "
                                f"missing: {snippet(reply.text)}")
    return {sku: _RESULT_CODES.get(result.upper(), result) for sku, result in reply.lines if sku}


@dataclass(frozen=True)
class InvUpdateResult:
    """Outcome of one ``invupdate``. ``qoh`` is the quantity the cart reports, ``None`` when it
    reported none or NF/NA. Interspire's is unreliable (section 6.6-6): callers for that cart type
    must not store it."""

    ok: bool
    sku: str
    qoh: int | None
    code: str  # "OK" | "NF" | "NA" | "ERR"
    note: str = ""


_NOT_FOUND = re.compile(r"not\s*found", re.IGNORECASE)
_NOT_TRACKED = re.compile(r"not\s*track", re.IGNORECASE)


def parse_inv_update(reply: TextReply, sku: str) -> InvUpdateResult:
    """Read ``SETIResponse=OK;SKU=A;QOH=36;NOTE=`` and its variants (section 4.3).

    Stone Edge's Magento script reports not-found / not-tracked as ``OK`` with a note; the note
    decides the code then, so callers see one meaning per code whatever the cart. ``sku`` is the
    one sent: Interspire HTML-escapes the SKU it echoes (section 6.4).
    """
    status = (reply.status or reply.get("update") or "").strip()
    ok = status.upper() == "OK"
    note = reply.get("note") or reply.get("notes") or ""
    raw_qoh = (reply.get("qoh") or "").strip()
    qty: int | None = None
    if raw_qoh.upper() in ("NF", "NA"):
        code = raw_qoh.upper()
    else:
        try:
            qty = values.integer(raw_qoh) if raw_qoh else None
        except ValueError:
            qty = None
        code = "OK" if ok else "ERR"
        if _NOT_FOUND.search(note):
            code = "NF"
        elif _NOT_TRACKED.search(note):
            code = "NA"
    return InvUpdateResult(ok=ok and code == "OK", sku=sku, qoh=qty, code=code, note=note)


def parse_status(reply: TextReply, *, function: str = "updatestatus") -> StatusResult:
    """``SETIResponse: update=OK;Notes=`` or Magento's ``SETIResponse=OK;`` (section 5.4)."""
    status = reply.get("update") or reply.status
    if status is None:
        raise CartProtocolError(f"{function}: expected 'update=OK|False' in the reply: {snippet(reply.text)}")
    notes = reply.get("notes") or reply.get("note") or ""
    return StatusResult(accepted=status.strip().upper() == "OK", notes=notes)
