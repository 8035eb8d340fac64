"""storage layer: report files (JSONL streams, JSON snapshots) and the SQL store (docs/STORAGE.md).

    from polymarket_bot.storage import ReportSink
    sink = ReportSink(settings.paths.reports_dir, db_url=settings.database.url)
    sink.record_order({...}); sink.flush(); sink.close()

Stands on `core` only: URLs and paths come in as arguments.
"""

from polymarket_bot.storage.db import create_db_engine, default_db_url, init_schema, open_database
from polymarket_bot.storage.jsonl import JsonlTailer, JsonlWriter, ReadStats, iter_jsonl
from polymarket_bot.storage.sink import IO_ERROR_KEYS, STREAMS, EventStore, ReportSink
from polymarket_bot.storage.snapshots import merge_status, read_json, write_json_atomic
from polymarket_bot.storage.writer import SqlWriter, SqlWriterStats

__all__ = [
    "IO_ERROR_KEYS",
    "STREAMS",
    "EventStore",
    "JsonlTailer",
    "JsonlWriter",
    "ReadStats",
    "ReportSink",
    "SqlWriter",
    "SqlWriterStats",
    "create_db_engine",
    "default_db_url",
    "init_schema",
    "iter_jsonl",
    "merge_status",
    "open_database",
    "read_json",
    "write_json_atomic",
]
