"""Order book summary hash (ref §5.4): SHA-1 hex of compact JSON with `hash` blanked.

Three views of the same recipe, all with the venue's key order and `{price, size}` levels:

* `sdk_book_hash` - py-clob-client-v2's `generate_orderbook_summary_hash`: all ten keys, absent
  ones as `null`.
* `served_book_hash` - the served-object rule that reproduces captured live hashes: only the
  known keys the server actually sent (optionally minus some: 2024 captures omit `timestamp`).
* `with_book_hash` - for the simulator: emit exactly the ten keys and hash that object, so the
  SDK recipe, the TS client and the served-object rule all agree.

Clients must never reject a book on a hash mismatch (how today's WS books are hashed is unsure).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Final

from polymarket_bot.core.errors import InvalidValueError

__all__ = [
    "BOOK_HASH_KEYS",
    "book_hash_payload",
    "sdk_book_hash",
    "served_book_hash",
    "with_book_hash",
]

BOOK_HASH_KEYS: Final = (
    "market",
    "asset_id",
    "timestamp",
    "hash",
    "bids",
    "asks",
    "min_order_size",
    "tick_size",
    "neg_risk",
    "last_trade_price",
)
_LEVEL_KEYS: Final = frozenset({"bids", "asks"})


def _levels(levels: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    return [{"price": lv["price"], "size": lv["size"]} for lv in (levels or ())]


def book_hash_payload(book: Mapping[str, Any], keys: Sequence[str] = BOOK_HASH_KEYS) -> str:
    """Compact JSON (non-ASCII kept) of `keys` in the given order, `hash` as "" and absent
    keys as null; levels are rebuilt as `{price, size}`."""
    payload: dict[str, Any] = {}
    for key in keys:
        if key == "hash":
            payload[key] = ""
        elif key in _LEVEL_KEYS:
            payload[key] = _levels(book.get(key))
        else:
            payload[key] = book.get(key)
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def sdk_book_hash(book: Mapping[str, Any]) -> str:
    """PCC2's hash: all ten keys in order, whatever the book carries."""
    return _sha1(book_hash_payload(book))


def served_book_hash(book: Mapping[str, Any], *, exclude: Collection[str] = ()) -> str:
    """Hash of the known keys present in `book` (in the venue's order, not the served order),
    minus `exclude`. Extra keys such as `event_type` never take part."""
    keys = [k for k in BOOK_HASH_KEYS if k in book and k not in exclude]
    return _sha1(book_hash_payload(book, keys))


def with_book_hash(book: Mapping[str, Any]) -> dict[str, Any]:
    """A new dict with exactly the ten keys in the venue's order and `hash` filled in.

    Missing values default to what the simulator should serve: `last_trade_price` "",
    the other keys must be present.
    """
    missing = [k for k in BOOK_HASH_KEYS if k not in book and k not in ("hash", "last_trade_price")]
    if missing:
        raise InvalidValueError(f"book lacks {missing}")
    out: dict[str, Any] = {}
    for key in BOOK_HASH_KEYS:
        if key in _LEVEL_KEYS:
            out[key] = _levels(book[key])
        elif key == "hash":
            out[key] = ""
        elif key == "last_trade_price":
            out[key] = book.get(key, "")
        else:
            out[key] = book[key]
    out["hash"] = _sha1(json.dumps(out, separators=(",", ":"), ensure_ascii=False))
    return out
