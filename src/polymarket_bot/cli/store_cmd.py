"""`replay` and `export` (seed §8, §18): the typer functions behind
`polymarket-launch replay|export` and `scripts/replay_order_store.py`, `scripts/export_db.py`
(same flags).

    app.command("replay")(store_cmd.replay)
    app.command("export")(store_cmd.export)
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from polymarket_bot.cli.common import LogLevelOption, normalise_log_level
from polymarket_bot.config import ConfigError, load_settings
from polymarket_bot.observability.logging import setup_logging
from polymarket_bot.storage.db import create_db_engine, display_url, init_schema
from polymarket_bot.storage.export import DEFAULT_TABLES, FORMATS, export_tables
from polymarket_bot.storage.jsonl import encode_record
from polymarket_bot.storage.models import TABLE_ALIASES, TABLES
from polymarket_bot.storage.replay import KindResult, ReplayFilter, parse_when
from polymarket_bot.storage.replay import replay as run

EXIT_ERROR = 1
EXIT_USAGE = 2
CONFIG_DB = ("config", "default")  # `--db config`: the configured database.url

log = logging.getLogger(__name__)


def _err() -> Console:
    return Console(stderr=True, soft_wrap=True, highlight=False)


def _out() -> Console:
    console = Console(soft_wrap=True, highlight=False)
    if not console.is_terminal:
        console = Console(soft_wrap=True, highlight=False, width=160)
    return console


def _settings_paths() -> tuple[Path, str | None]:
    """(reports_dir, database url) from the configuration; defaults if it cannot be loaded."""
    try:
        settings = load_settings().settings
    except ConfigError as exc:
        _err().print(f"warning: configuration not loaded, using defaults: {exc}", markup=False)
        return Path("reports"), None
    return settings.paths.reports_dir, settings.database.url


def _open_db(url: str) -> Engine:
    """An engine for reading; a missing SQLite file is an error (never created by a reader)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not Path(database).exists():
            raise FileNotFoundError(f"database file not found: {database}")
    engine = create_db_engine(url)
    init_schema(engine)  # an older database gets the tables it lacks
    return engine


def _resolve_db(db: str | None, configured: str | None, reports_dir: Path) -> str | None:
    if db is None:
        return None
    if db.lower() in CONFIG_DB:
        return configured or f"sqlite:///{reports_dir / 'polymarket.db'}"
    return db


def _json_default(value: Any) -> Any:
    return str(value)


_STATS_JSON = msgspec.json.Encoder(decimal_format="number", enc_hook=_json_default)


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


def _print_stats(results: list[KindResult], console: Console) -> None:
    for result in results:
        if result.stats is None:
            continue
        rows = result.stats.rows()
        if result.kind == "orders":
            extra_cols = ("submitted", "size", "notional")
        else:
            extra_cols = ("shares", "notional", "fees")
        table = Table(title=f"{result.kind}: {result.counts.matched} records ({result.source})")
        for name in ("market_id", "side", "count", *extra_cols, "average_price", "fill_ratio"):
            table.add_column(name, justify="left" if name in ("market_id", "side") else "right")
        table.add_column("by type")
        for row in rows:
            by_type = " ".join(f"{k}={v}" for k, v in row["by_type"].items())
            cells = [_fmt(row[c]) for c in ("market_id", "side", "count", *extra_cols)]
            cells += [_fmt(row["average_price"]), _fmt(row["fill_ratio"]), by_type]
            table.add_row(*cells)
        console.print(table)


def _stats_document(results: list[KindResult]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for result in results:
        document[result.kind] = {
            "source": result.source,
            "matched": result.counts.matched,
            "skipped_malformed": result.read.malformed,
            "skipped_bad_timestamp": result.counts.bad_timestamp,
            "groups": result.stats.rows() if result.stats is not None else [],
        }
    return document


def replay(
    orders: Annotated[bool, typer.Option("--orders", help="Replay orders.jsonl.")] = False,
    trades: Annotated[bool, typer.Option("--trades", help="Replay trades.jsonl.")] = False,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help="From this ISO-8601 time (inclusive), e.g. 2025-10-13T00:00:00Z."
        ),
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Up to this ISO-8601 time (exclusive).")
    ] = None,
    last_minutes: Annotated[
        float | None, typer.Option("--last-minutes", min=0.0, help="Only the last N minutes.")
    ] = None,
    market: Annotated[str | None, typer.Option("--market", help="Only this market_id.")] = None,
    side: Annotated[
        str | None, typer.Option("--side", help="Only this side: yes or no.", case_sensitive=False)
    ] = None,
    stats: Annotated[
        bool,
        typer.Option(
            "--stats", help="Print counts, notional, average price, fill ratio by market and side."
        ),
    ] = False,
    csv_file: Annotated[
        Path | None,
        typer.Option(
            "--csv", help="Write CSV here (both kinds: FILE_orders.csv and FILE_trades.csv)."
        ),
    ] = None,
    reports_dir: Annotated[
        Path | None,
        typer.Option(
            "--reports-dir", help="Where the JSONL files are (default: paths.reports_dir)."
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Read from this database URL instead of JSONL (`config`: the configured one).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Statistics as JSON.")] = False,
    log_level: LogLevelOption = "INFO",
) -> None:
    """Replay orders/trades: filter by time, market and side; statistics; CSV export."""
    setup_logging(normalise_log_level(log_level), log_file=None)
    kinds = [k for k, wanted in (("orders", orders), ("trades", trades)) if wanted]
    if not kinds:
        kinds = ["orders", "trades"]
    try:
        side_value = side.lower() if side is not None else None
        since_at = parse_when(since) if since else None
        if last_minutes is not None:
            start = datetime.now(timezone.utc) - timedelta(minutes=last_minutes)
            since_at = start if since_at is None else max(since_at, start)
        flt = ReplayFilter(
            since=since_at,
            until=parse_when(until) if until else None,
            market=market,
            side=side_value,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    wants_config = reports_dir is None or (db is not None and db.lower() in CONFIG_DB)
    configured_reports, configured_db = _settings_paths() if wants_config else (Path(), None)
    reports = reports_dir if reports_dir is not None else configured_reports
    url = _resolve_db(db, configured_db, reports)
    err = _err()
    engine: Engine | None = None
    stdout = sys.stdout.buffer

    def emit(_kind: str, record: dict[str, Any]) -> None:
        stdout.write(encode_record(record))

    printing = not stats and csv_file is None
    try:
        if url is not None:
            engine = _open_db(url)
        results = run(
            kinds,
            flt,
            reports_dir=reports,
            engine=engine,
            csv_base=csv_file,
            stats=stats,
            emit=emit if printing else None,
        )
        if printing:
            stdout.flush()
    except BrokenPipeError:  # `... | head`: the reader is gone, that is fine
        sys.stderr.close()
        raise typer.Exit(0) from None
    except (OSError, SQLAlchemyError) as exc:
        where = display_url(url) if url is not None else str(reports)
        err.print(f"error: cannot read {where}: {exc}", markup=False)
        raise typer.Exit(EXIT_ERROR) from None
    finally:
        if engine is not None:
            engine.dispose()
    for result in results:
        if result.read.missing:
            err.print(f"warning: {result.source} does not exist", markup=False)
        skipped = result.read.malformed
        note = f", skipped {skipped} malformed/torn line(s)" if skipped else ""
        if result.counts.bad_timestamp:
            note += f", skipped {result.counts.bad_timestamp} without a readable timestamp"
        err.print(
            f"{result.kind}: {result.counts.matched} matched ({result.source}){note}", markup=False
        )
        if result.csv_path is not None:
            err.print(f"wrote {result.csv_rows} rows to {result.csv_path}", markup=False)
    if stats:
        if as_json:
            sys.stdout.write(_STATS_JSON.encode(_stats_document(results)).decode() + "\n")
        else:
            _print_stats(results, _out())


def export(
    tables: Annotated[
        list[str] | None,
        typer.Option(
            "--tables",
            help="Tables: orders trades positions realized (also fills risk accounts backtests).",
            show_default=False,
        ),
    ] = None,
    more_tables: Annotated[
        list[str] | None,
        typer.Argument(help="More table names (`--tables orders trades`).", show_default=False),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="csv or parquet (CSV when pyarrow is missing).")
    ] = "csv",
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Output directory.")] = Path("exports"),
    db: Annotated[
        str | None,
        typer.Option("--db", help="Database URL (default: the configured database.url)."),
    ] = None,
    log_level: LogLevelOption = "INFO",
) -> None:
    """Export database tables to CSV or Parquet."""
    setup_logging(normalise_log_level(log_level), log_file=None)
    names = [*(tables or []), *(more_tables or [])]
    names = [part for name in names for part in name.replace(",", " ").split()]
    if not names:
        names = list(DEFAULT_TABLES)
    unknown = [n for n in names if n.lower() not in TABLES and n.lower() not in TABLE_ALIASES]
    if unknown:
        choices = ", ".join([*TABLE_ALIASES, *TABLES])
        raise typer.BadParameter(f"unknown table(s) {', '.join(unknown)}; choose from {choices}")
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise typer.BadParameter("--format must be csv or parquet")
    wants_config = db is None or db.lower() in CONFIG_DB
    reports, configured_db = _settings_paths() if wants_config else (Path(), None)
    url = _resolve_db(db or "config", configured_db, reports) or ""
    err = _err()
    try:
        engine = _open_db(url)
    except (OSError, SQLAlchemyError) as exc:
        err.print(f"error: cannot open {display_url(url)}: {exc}", markup=False)
        raise typer.Exit(EXIT_ERROR) from None
    use_bar = err.is_terminal
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=not use_bar,
    )
    task_ids: dict[str, Any] = {}

    def on_progress(table: str, done: int, total: int) -> None:
        if table not in task_ids:
            task_ids[table] = progress.add_task(table, total=total or None)
        progress.update(task_ids[table], completed=done, total=max(total, done) or None)

    try:
        with progress:
            results = export_tables(
                engine,
                names,
                out_dir,
                "parquet" if fmt == "parquet" else "csv",
                progress=on_progress,
            )
    except (OSError, SQLAlchemyError) as exc:
        err.print(f"error: export failed: {exc}", markup=False)
        raise typer.Exit(EXIT_ERROR) from None
    finally:
        engine.dispose()
    notes = {r.note for r in results if r.note}
    for note in notes:
        err.print(f"warning: {note}; wrote CSV instead of Parquet", markup=False)
    out = _out()
    for result in results:
        out.print(f"{result.table}: {result.rows} rows -> {result.path}", markup=False)


def _single(command: Any) -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(command)
    return app


def replay_main() -> None:
    """Entry point of scripts/replay_order_store.py."""
    _single(replay)()


def export_main() -> None:
    """Entry point of scripts/export_db.py."""
    _single(export)()
