"""Order/trade replay (seed §8): stream records from the JSONL files or the database, filter them
by time, market and side, aggregate statistics and/or write CSV. Everything streams: memory does
not grow with the input (only with the number of market x side groups in the statistics).

Time window: `since <= timestamp < until`. A record whose timestamp cannot be read is excluded
(and counted) when a time bound is given. Side: `yes`/`no` matches the record's `action` (or its
`side` when that holds yes/no, as in fills.jsonl).

Statistics per market x side and in total:
  orders: events by type, submitted count/size/notional (size x price where the price is known),
          average submitted price.
  trades: increments by status, shares, notional, VWAP (notional / shares), fees.
  fill_ratio (both): filled shares (trades) / submitted size (orders' `submit` events) of the same
          market x side and window; the other stream is read for it when only one is asked.
"""

from __future__ import annotations

import csv
import enum
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, TextIO

import msgspec
from sqlalchemy import Engine, select

from polymarket_bot.storage.fields import parse_timestamp, plain_decimal
from polymarket_bot.storage.jsonl import ReadStats, iter_jsonl
from polymarket_bot.storage.models import TABLE_FIELDS, TABLES
from polymarket_bot.storage.records import to_record

# kind -> (JSONL file, table)
KINDS: Final[dict[str, tuple[str, str]]] = {
    "orders": ("orders.jsonl", "order_events"),
    "trades": ("trades.jsonl", "trade_events"),
}
SIDES: Final = ("yes", "no")
ZERO: Final = Decimal(0)
_JSON: Final = msgspec.json.Encoder(decimal_format="number", enc_hook=str)


def parse_when(text: str) -> datetime:
    """An aware UTC datetime from ISO-8601 text (`2025-10-13T00:00:00Z`, a date, an offset)."""
    stamp = parse_timestamp(text)
    if stamp is None:
        raise ValueError(f"not an ISO-8601 time: {text!r} (e.g. 2025-10-13T00:00:00Z)")
    return stamp


@dataclass(frozen=True, slots=True)
class ReplayFilter:
    since: datetime | None = None
    until: datetime | None = None
    market: str | None = None
    side: str | None = None

    def __post_init__(self) -> None:
        if self.side is not None and self.side not in SIDES:
            raise ValueError("side must be 'yes' or 'no'")

    @property
    def has_time(self) -> bool:
        return self.since is not None or self.until is not None


def record_side(record: Mapping[str, Any]) -> str | None:
    """yes/no of a record: its `action`, or its `side` when that is yes/no."""
    for key in ("action", "side"):
        value = record.get(key)
        if isinstance(value, str) and value.lower() in SIDES:
            return value.lower()
    return None


@dataclass(slots=True)
class FilterCounts:
    matched: int = 0
    excluded: int = 0
    bad_timestamp: int = 0


def apply_filter(
    records: Iterable[dict[str, Any]], flt: ReplayFilter, counts: FilterCounts
) -> Iterator[dict[str, Any]]:
    for record in records:
        if flt.market is not None and str(record.get("market_id")) != flt.market:
            counts.excluded += 1
            continue
        if flt.side is not None and record_side(record) != flt.side:
            counts.excluded += 1
            continue
        if flt.has_time:
            stamp = parse_timestamp(record.get("timestamp"))
            if stamp is None:
                counts.bad_timestamp += 1
                continue
            if (flt.since is not None and stamp < flt.since) or (
                flt.until is not None and stamp >= flt.until
            ):
                counts.excluded += 1
                continue
        counts.matched += 1
        yield record


def iter_db(
    engine: Engine, table: str, flt: ReplayFilter, *, batch: int = 2000
) -> Iterator[dict[str, Any]]:
    """Stream a table's records in time order, filtered in SQL (indexed timestamp/market)."""
    tbl = TABLES[table]
    stmt = select(tbl)
    if flt.since is not None:
        stmt = stmt.where(tbl.c.timestamp >= flt.since)
    if flt.until is not None:
        stmt = stmt.where(tbl.c.timestamp < flt.until)
    if flt.market is not None and "market_id" in tbl.c:
        stmt = stmt.where(tbl.c.market_id == flt.market)
    if flt.side is not None:
        side_col = tbl.c.action if "action" in tbl.c else tbl.c.side
        stmt = stmt.where(side_col == flt.side)
    stmt = stmt.order_by(tbl.c.timestamp, tbl.c.event_id)
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=batch).execute(stmt)
        for row in result:
            yield to_record(table, dict(row._mapping))


# -- statistics ----------------------------------------------------------------------------------


def _number(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, (int, str, float)):
        try:
            number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        except ArithmeticError:
            return None
        return number if number.is_finite() else None
    return None


@dataclass(slots=True)
class GroupStats:
    count: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    # orders
    submitted: int = 0
    submitted_size: Decimal = ZERO
    priced_size: Decimal = ZERO
    submitted_notional: Decimal = ZERO
    # trades
    shares: Decimal = ZERO
    notional: Decimal = ZERO
    fees: Decimal = ZERO

    def add_order(self, record: Mapping[str, Any]) -> None:
        self.count += 1
        kind = str(record.get("event") or record.get("status") or "unknown")
        self.by_type[kind] = self.by_type.get(kind, 0) + 1
        if kind == "submit":
            self.add_submit(record)

    def add_submit(self, record: Mapping[str, Any]) -> None:
        self.submitted += 1
        size = _number(record.get("size"))
        if size is None:
            return
        self.submitted_size += size
        price = _number(record.get("price"))
        if price is not None:
            self.priced_size += size
            self.submitted_notional += size * price

    def add_trade(self, record: Mapping[str, Any]) -> None:
        self.count += 1
        status = str(record.get("status") or "unknown")
        self.by_type[status] = self.by_type.get(status, 0) + 1
        self.add_fill(record)
        fee = _number(record.get("fee"))
        if fee is not None:
            self.fees += fee

    def add_fill(self, record: Mapping[str, Any]) -> None:
        shares = _number(record.get("filled_shares"))
        if shares is None:
            return
        self.shares += shares
        notional = _number(record.get("notional"))
        if notional is None:
            price = _number(record.get("average_price"))
            notional = shares * price if price is not None else None
        if notional is not None:
            self.notional += notional

    def merge(self, other: GroupStats) -> None:
        self.count += other.count
        for key, value in other.by_type.items():
            self.by_type[key] = self.by_type.get(key, 0) + value
        self.submitted += other.submitted
        self.submitted_size += other.submitted_size
        self.priced_size += other.priced_size
        self.submitted_notional += other.submitted_notional
        self.shares += other.shares
        self.notional += other.notional
        self.fees += other.fees

    @property
    def average_price(self) -> Decimal | None:
        if self.shares:
            return self.notional / self.shares
        if self.priced_size:
            return self.submitted_notional / self.priced_size
        return None


GroupKey = tuple[str, str]  # (market_id, side)


@dataclass(slots=True)
class StreamStats:
    """Statistics of one stream; `fill` holds the other stream's contribution to fill_ratio."""

    kind: str
    groups: dict[GroupKey, GroupStats] = field(default_factory=dict)
    fill: dict[GroupKey, GroupStats] = field(default_factory=dict)

    @staticmethod
    def key(record: Mapping[str, Any]) -> GroupKey:
        market = record.get("market_id")
        return (str(market) if market is not None else "?", record_side(record) or "?")

    def add(self, record: Mapping[str, Any]) -> None:
        group = self.groups.setdefault(self.key(record), GroupStats())
        if self.kind == "orders":
            group.add_order(record)
        else:
            group.add_trade(record)

    def add_other(self, record: Mapping[str, Any]) -> None:
        """A record of the other stream, for the fill ratio only."""
        group = self.fill.setdefault(self.key(record), GroupStats())
        if self.kind == "orders":
            group.add_fill(record)  # trades: filled shares
        elif record.get("event") == "submit":
            group.add_submit(record)  # orders: submitted size

    def fill_ratio(self, key: GroupKey | None) -> Decimal | None:
        own = self.total() if key is None else self.groups.get(key, GroupStats())
        other = _sum(self.fill.values()) if key is None else self.fill.get(key, GroupStats())
        orders, trades = (own, other) if self.kind == "orders" else (other, own)
        if not orders.submitted_size:
            return None
        return trades.shares / orders.submitted_size

    def total(self) -> GroupStats:
        return _sum(self.groups.values())

    def rows(self) -> list[dict[str, Any]]:
        """One dict per market x side (sorted), then the total (`market_id` = `*`)."""
        out = [self._row(key, self.groups[key]) for key in sorted(self.groups)]
        out.append(self._row(None, self.total()))
        return out

    def _row(self, key: GroupKey | None, group: GroupStats) -> dict[str, Any]:
        row: dict[str, Any] = {
            "market_id": "*" if key is None else key[0],
            "side": "*" if key is None else key[1],
            "count": group.count,
            "by_type": dict(sorted(group.by_type.items())),
        }
        if self.kind == "orders":
            row["submitted"] = group.submitted
            row["size"] = plain_decimal(group.submitted_size)
            row["notional"] = plain_decimal(group.submitted_notional)
        else:
            row["shares"] = plain_decimal(group.shares)
            row["notional"] = plain_decimal(group.notional)
            row["fees"] = plain_decimal(group.fees)
        average = group.average_price
        row["average_price"] = None if average is None else _round(average)
        ratio = self.fill_ratio(key)
        row["fill_ratio"] = None if ratio is None else _round(ratio)
        return row


def _sum(groups: Iterable[GroupStats]) -> GroupStats:
    total = GroupStats()
    for group in groups:
        total.merge(group)
    return total


def _round(value: Decimal) -> Decimal:
    return plain_decimal(value.quantize(Decimal("0.000001")))


# -- CSV -----------------------------------------------------------------------------------------


def csv_columns(kind: str) -> tuple[str, ...]:
    """Fixed CSV columns of a kind: the table's fields, `event_id`, then `extra` (JSON of any
    other fields), so the header never depends on the data (streaming)."""
    names = [f.name for f in TABLE_FIELDS[KINDS[kind][1]] if f.name != "extra"]
    return (*names, "event_id", "extra")


def csv_paths(base: Path, kinds: Sequence[str]) -> dict[str, Path]:
    """out.csv for one kind; out_orders.csv, out_trades.csv for several (seed §8)."""
    if len(kinds) == 1:
        return {kinds[0]: base}
    return {kind: base.with_name(f"{base.stem}_{kind}{base.suffix or '.csv'}") for kind in kinds}


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, (dict, list)):
        return _JSON.encode(value).decode()
    return str(value)


class CsvSink:
    """Writes records of one kind to a CSV file, row by row."""

    def __init__(self, path: Path, kind: str) -> None:
        self.path = path
        self.columns = csv_columns(kind)
        self._known = frozenset(self.columns)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle: TextIO = open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self._writer = csv.writer(self._handle)
        self._writer.writerow(self.columns)
        self.rows = 0

    def write(self, record: Mapping[str, Any]) -> None:
        extra = {k: v for k, v in record.items() if k not in self._known}
        if record.get("extra") is not None:
            extra["extra"] = record["extra"]
        cells = [csv_cell(record.get(c)) for c in self.columns[:-1]]
        cells.append(csv_cell(extra) if extra else "")
        self._writer.writerow(cells)
        self.rows += 1

    def close(self) -> None:
        self._handle.close()


# -- the replay ----------------------------------------------------------------------------------


@dataclass(slots=True)
class KindResult:
    kind: str
    source: str
    read: ReadStats = field(default_factory=ReadStats)
    counts: FilterCounts = field(default_factory=FilterCounts)
    csv_path: Path | None = None
    csv_rows: int = 0
    stats: StreamStats | None = None


def _source(
    kind: str, flt: ReplayFilter, reports_dir: Path | None, engine: Engine | None, read: ReadStats
) -> tuple[str, Iterator[dict[str, Any]]]:
    file, table = KINDS[kind]
    if engine is not None:
        return f"table {table}", iter_db(engine, table, flt)
    if reports_dir is None:
        raise ValueError("need reports_dir or engine")
    path = reports_dir / file
    return str(path), iter_jsonl(path, read)


def replay(
    kinds: Sequence[str],
    flt: ReplayFilter,
    *,
    reports_dir: Path | None = None,
    engine: Engine | None = None,
    csv_base: Path | None = None,
    stats: bool = False,
    emit: Callable[[str, dict[str, Any]], None] | None = None,
) -> list[KindResult]:
    """Replay each kind once (a single streaming pass per source). `emit(kind, record)` gets each
    matching record (e.g. to print it). With `stats`, a kind asked alone also reads the other
    stream (same filter) for its fill ratio. The database is filtered in SQL, so `counts.excluded`
    stays 0 there."""
    for kind in kinds:
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; use {', '.join(KINDS)}")
    paths = csv_paths(csv_base, kinds) if csv_base is not None else {}
    results: list[KindResult] = []
    for kind in kinds:
        result = KindResult(kind=kind, source="")
        result.source, records = _source(kind, flt, reports_dir, engine, result.read)
        sink = CsvSink(paths[kind], kind) if kind in paths else None
        result.stats = StreamStats(kind) if stats else None
        try:
            for record in apply_filter(records, flt, result.counts):
                if sink is not None:
                    sink.write(record)
                if result.stats is not None:
                    result.stats.add(record)
                if emit is not None:
                    emit(kind, record)
        finally:
            if sink is not None:
                sink.close()
                result.csv_path, result.csv_rows = sink.path, sink.rows
        results.append(result)
    if stats:
        by_kind = {r.kind: r for r in results}
        for result in results:
            other = "trades" if result.kind == "orders" else "orders"
            assert result.stats is not None
            if other in by_kind:
                other_stats = by_kind[other].stats
                assert other_stats is not None
                result.stats.fill = dict(other_stats.groups)
                continue
            _, records = _source(other, flt, reports_dir, engine, ReadStats())
            for record in apply_filter(records, flt, FilterCounts()):
                result.stats.add_other(record)
    return results
