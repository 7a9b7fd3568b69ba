"""The SETI cart protocol, client side, shared by every cart plugin.

* :mod:`.client` — :class:`SetiClient`, one method per ``setifunction``, over :mod:`seconnect.http`
  (whose :class:`RetryPolicy` and helpers are re-exported here for SETI code).
* :mod:`.encoders` — inventory and status payloads (:class:`StatusUpdate`, :class:`Package`).
* :mod:`.replies` — tolerant parsing of ``SETIResponse`` / ``SETIError`` text replies.
* :mod:`.documents` — streaming, safe parsing of SETI XML documents into records.
* :mod:`.records` / :mod:`.values` — element-to-record mapping and scalar normalisers.
* :mod:`.reader` — tells text, XML, HTML and empty replies apart.
* :mod:`.plugin` — :class:`SetiPlugin` and :class:`SetiDialect`, the base of every SETI cart type
  (with :func:`split_variation_name` for carts that name a variation "Parent (Value, Value)",
  :func:`variation_web_id`, SETI's default inventory level of a code, and :data:`SETI_PARAMS`,
  the system parameters of every SETI type).
"""

from ..http import RetryPolicy, certainly_unprocessed, parse_retry_after
from ..subskus import split_variation_name
from .client import SetiClient
from .documents import iter_document
from .encoders import Package, StatusUpdate, encode_inventory, encode_inventory_xml, status_form, status_xml
from .plugin import (
    SETI_ORDER_NUMBER,
    SETI_PARAMS,
    SetiDialect,
    SetiPlugin,
    echoes_omversion,
    variation_web_id,
)
from .reader import read_records, read_text
from .replies import InvUpdateResult, StatusResult, TextReply, parse_text_reply

__all__ = [
    "SetiClient",
    "RetryPolicy",
    "StatusUpdate",
    "Package",
    "InvUpdateResult",
    "StatusResult",
    "TextReply",
    "parse_text_reply",
    "parse_retry_after",
    "read_text",
    "read_records",
    "iter_document",
    "encode_inventory",
    "encode_inventory_xml",
    "status_form",
    "status_xml",
    "certainly_unprocessed",
    "SetiPlugin",
    "SetiDialect",
    "SETI_ORDER_NUMBER",
    "SETI_PARAMS",
    "variation_web_id",
    "echoes_omversion",
    "split_variation_name",
]
