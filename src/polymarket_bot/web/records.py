"""Typed views of the report lines the monitor aggregates (docs/REPORTS.md), and a tolerant decoder.

Only the fields the monitor uses are declared; msgspec skips the rest without building them, which
keeps the catch-up read of a long history fast. Money fields decode to `Decimal` straight from the
JSON number text (exact sums); fields only displayed stay floats.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Generic, TypeVar

import msgspec


class OrderRecord(msgspec.Struct, kw_only=True):
    timestamp: str = ""
    event: str = ""
    market_id: str = ""
    action: str = ""
    size: float | None = None
    price: float | None = None
    reason: str | None = None
    status: str | None = None
    source: str | None = None
    strategy: str | None = None
    side: str | None = None
    order_id: str | None = None
    runtime_mode: str | None = None


class TradeRecord(msgspec.Struct, kw_only=True):
    timestamp: str = ""
    order_id: str | None = None
    market_id: str = ""
    action: str = ""
    filled_shares: Decimal | None = None
    average_price: Decimal | None = None
    notional: Decimal | None = None
    status: str | None = None
    execution_mode: str | None = None
    side: str | None = None
    fee: Decimal | None = None
    settlement: str | None = None
    external: bool | None = None


class FillRecord(msgspec.Struct, kw_only=True):
    timestamp: str = ""
    event: str = ""
    market_id: str = ""
    side: str = ""
    notional: Decimal | None = None
    fill_price: float | None = None
    reference_price: float | None = None
    slippage: Decimal | None = None
    fees: Decimal | None = None
    execution_mode: str | None = None
    shares: Decimal | None = None


class RiskFactor(msgspec.Struct, kw_only=True):
    approved: bool | None = None


class RiskDetail(msgspec.Struct, kw_only=True):
    approved: bool | None = None
    rejections: list[str] | None = None
    factors: dict[str, RiskFactor] | None = None


class RiskRecord(msgspec.Struct, kw_only=True):
    timestamp: str = ""
    market_id: str = ""
    action: str = ""
    size: float | None = None
    approved: bool | None = None
    risk: RiskDetail | None = None


class ExitRecord(msgspec.Struct, kw_only=True):
    timestamp: str = ""
    market_id: str = ""
    action: str = ""
    shares: Decimal | None = None
    entry_price: float | None = None
    exit_price: float | None = None
    pnl: Decimal | None = None
    fees: Decimal | None = None
    reason: str | None = None


R = TypeVar("R", bound=msgspec.Struct)


class LineDecoder(Generic[R]):
    """Decodes complete JSONL lines into `R`, never raising.

    A batch is first decoded as one JSON array (one C call for a whole catch-up chunk); when that
    fails, line by line, where a line is, in order of preference:
    - valid: decoded;
    - a field of the wrong type: decoded without that field (the rest still counts);
    - a torn line glued to the next record (a writer crashed mid-line, the next one appended):
      the complete record at its end is recovered;
    - anything else: counted in `malformed` and skipped.
    """

    def __init__(self, cls: type[R]) -> None:
        self._cls = cls
        self._one = msgspec.json.Decoder(cls, strict=False)
        self._many = msgspec.json.Decoder(list[cls], strict=False)  # type: ignore[valid-type]
        self._fields = msgspec.structs.fields(cls)
        self.malformed = 0
        self.recovered = 0
        self.lenient = 0

    def decode(self, lines: list[bytes]) -> list[R]:
        if not lines:
            return []
        try:
            decoded: list[R] = self._many.decode(b"[" + b",".join(lines) + b"]")
        except msgspec.DecodeError:
            decoded = []
        # A count mismatch means a line held something like `{..}, {..}`: judge lines one by one.
        if len(decoded) == len(lines):
            return decoded
        out: list[R] = []
        for line in lines:
            record = self._decode_line(line)
            if record is None:
                self.malformed += 1
            else:
                out.append(record)
        return out

    def _decode_line(self, line: bytes) -> R | None:
        try:
            return self._one.decode(line)
        except msgspec.ValidationError:
            return self._lenient(line)
        except msgspec.DecodeError:
            return self._recover_glued(line)

    def _lenient(self, line: bytes) -> R | None:
        try:
            raw = msgspec.json.decode(line)
        except msgspec.DecodeError:
            return None
        if not isinstance(raw, dict):
            return None
        kwargs: dict[str, Any] = {}
        for info in self._fields:
            if info.encode_name not in raw:
                continue
            try:
                kwargs[info.name] = msgspec.convert(raw[info.encode_name], info.type, strict=False)
            except msgspec.ValidationError:
                continue
        self.lenient += 1
        return self._cls(**kwargs)

    def _recover_glued(self, line: bytes) -> R | None:
        start = line.find(b'{"', 1)
        while start > 0:
            try:
                record = self._one.decode(line[start:])
            except msgspec.DecodeError:
                start = line.find(b'{"', start + 1)
                continue
            self.recovered += 1
            return record
        return None
