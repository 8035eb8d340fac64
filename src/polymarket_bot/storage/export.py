"""Table export (seed §18): CSV, or Parquet through pyarrow with exact types (money as
decimal128(20, 6), timestamps as timestamp[us, UTC], booleans, int64), falling back to CSV when
pyarrow is not installed. Rows stream from the database in batches (SQLite or MySQL), so memory
stays flat whatever the table size. Files: `<out_dir>/<table>.csv` or `<out_dir>/<table>.parquet`.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Literal

from sqlalchemy import Engine, RowMapping, Table, func, select

from polymarket_bot.storage.fields import iso_from_datetime, plain_decimal
from polymarket_bot.storage.models import TABLE_FIELDS, TABLES, Field, resolve_table
from polymarket_bot.storage.replay import csv_cell

Format = Literal["csv", "parquet"]
FORMATS: Final = ("csv", "parquet")
DEFAULT_TABLES: Final = ("orders", "trades", "positions", "realized")
Progress = Callable[[str, int, int], None]
"""progress(table, rows_done, rows_total)."""


@dataclass(frozen=True, slots=True)
class ExportResult:
    table: str
    path: Path
    format: Format
    rows: int
    note: str | None = None
    """Why the format differs from the one asked (pyarrow missing)."""


def pyarrow_missing_reason() -> str | None:
    """None when pyarrow can be imported, else why not."""
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError as exc:
        return f"pyarrow is not installed ({exc}); install it with `pip install pyarrow`"
    return None


def columns_of(table: str) -> tuple[tuple[str, Field | None], ...]:
    """(column, field) in table order; `event_id` has no Field."""
    return (("event_id", None), *((f.name, f) for f in TABLE_FIELDS[table]))


def _rows(engine: Engine, tbl: Table, batch: int) -> Iterator[RowMapping]:
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=batch).execute(
            select(tbl).order_by(tbl.c.event_id)
        )
        for row in result:
            yield row._mapping


def count_rows(engine: Engine, table: str) -> int:
    tbl = TABLES[table]
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(tbl)).scalar_one())


def _csv_value(value: Any) -> str:
    if isinstance(value, datetime):
        return iso_from_datetime(value)
    return csv_cell(plain_decimal(value) if isinstance(value, Decimal) else value)


def export_csv(
    engine: Engine, table: str, path: Path, *, batch: int = 5000, progress: Progress | None = None
) -> int:
    tbl = TABLES[table]
    names = [name for name, _ in columns_of(table)]
    total = count_rows(engine, table) if progress is not None else 0
    rows = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        for row in _rows(engine, tbl, batch):
            writer.writerow([_csv_value(row[name]) for name in names])
            rows += 1
            if progress is not None and rows % batch == 0:
                progress(table, rows, total)
    if progress is not None:
        progress(table, rows, max(total, rows))
    return rows


def arrow_schema(table: str) -> Any:
    """The pyarrow schema of a table's Parquet export."""
    import pyarrow as pa

    def arrow_type(field: Field | None) -> Any:
        if field is None or field.kind in ("str", "json"):
            return pa.string()
        if field.kind == "money":
            return pa.decimal128(20, 6)
        if field.kind == "ts":
            return pa.timestamp("us", tz="UTC")
        if field.kind == "bool":
            return pa.bool_()
        return pa.int64()

    return pa.schema(
        [pa.field(name, arrow_type(f), nullable=f is not None) for name, f in columns_of(table)]
    )


def export_parquet(
    engine: Engine, table: str, path: Path, *, batch: int = 5000, progress: Progress | None = None
) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    tbl = TABLES[table]
    schema = arrow_schema(table)
    names = [name for name, _ in columns_of(table)]
    total = count_rows(engine, table) if progress is not None else 0
    rows = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    with pq.ParquetWriter(temp, schema, compression="zstd") as writer:
        columns: list[list[Any]] = [[] for _ in names]

        def write_batch() -> None:
            arrays = [pa.array(col, type=schema.field(i).type) for i, col in enumerate(columns)]
            writer.write_batch(pa.record_batch(arrays, schema=schema))
            for col in columns:
                col.clear()

        for row in _rows(engine, tbl, batch):
            for index, name in enumerate(names):
                columns[index].append(row[name])
            rows += 1
            if rows % batch == 0:
                write_batch()
                if progress is not None:
                    progress(table, rows, total)
        if columns[0] or rows == 0:
            write_batch()
    temp.replace(path)  # a reader never sees a half-written Parquet file
    if progress is not None:
        progress(table, rows, max(total, rows))
    return rows


def export_tables(
    engine: Engine,
    tables: Sequence[str],
    out_dir: Path,
    fmt: Format = "csv",
    *,
    batch: int = 5000,
    progress: Progress | None = None,
) -> list[ExportResult]:
    """Export each table (short names `orders trades positions realized` or table names).
    Parquet without pyarrow falls back to CSV; the result's `note` says so."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be csv or parquet, not {fmt!r}")
    resolved = [resolve_table(name) for name in tables]
    note = pyarrow_missing_reason() if fmt == "parquet" else None
    actual: Format = "csv" if note is not None else fmt
    results: list[ExportResult] = []
    for table in dict.fromkeys(resolved):
        path = out_dir / f"{table}.{actual}"
        if actual == "parquet":
            rows = export_parquet(engine, table, path, batch=batch, progress=progress)
        else:
            rows = export_csv(engine, table, path, batch=batch, progress=progress)
        results.append(ExportResult(table, path, actual, rows, note))
    return results
