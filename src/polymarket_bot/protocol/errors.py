"""Protocol-layer errors.

`DecodeError` is the ONLY exception the decoders (`protocol.codec`) and the wire -> core mapping
(`protocol.mapping`) raise on bad input: malformed JSON, a frame of the wrong shape, a missing or
mistyped field, an invalid number. Callers catch it, count it and drop the frame.
"""

from __future__ import annotations

from polymarket_bot.core.errors import PolymarketBotError

_SNIPPET = 120


class DecodeError(PolymarketBotError, ValueError):
    """Venue bytes (or a decoded wire struct) could not be turned into a typed message."""

    def __init__(self, message: str, data: bytes | str | None = None) -> None:
        snippet = ""
        if data is not None:
            head = data[:_SNIPPET]
            raw = head.encode("utf-8", "replace") if isinstance(head, str) else bytes(head)
            snippet = raw.decode("utf-8", "replace")
        super().__init__(f"{message} | data: {snippet!r}" if data is not None else message)
        self.reason = message
        self.snippet = snippet
