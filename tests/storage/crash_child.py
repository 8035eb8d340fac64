"""Child of the crash test: writes report records in a loop and prints what is acknowledged.

    python crash_child.py <reports_dir> <db_url> <tag>

After each burst it calls `flush()`; when that returns True every record so far is durable in
its JSONL file and in the database, and the child prints `ACK <tag> <last index>`. The parent
SIGKILLs it at a random moment.
"""

from __future__ import annotations

import random
import sys
from decimal import Decimal

from polymarket_bot.storage.sink import ReportSink


def main() -> None:
    reports, url, tag = sys.argv[1:4]
    rng = random.Random(tag)
    sink = ReportSink(reports, db_url=url, batch_size=150, flush_interval=0.02)
    print("READY", flush=True)
    record = (
        sink.record_order,
        sink.record_trade,
        sink.record_fill,
        sink.record_risk,
        sink.record_exit,
    )
    n = 0
    while True:
        for _ in range(rng.randint(20, 400)):
            payload = {
                "event_id": f"{tag}-{n:07d}",
                "market_id": f"SIM-{n % 3}",
                "action": "yes" if n % 2 else "no",
                "size": Decimal(n % 1000) / 4,
                "pad": "x" * rng.randint(0, 3000),  # long lines: more chances to tear one
            }
            record[n % len(record)](payload)
            n += 1
        sink.snapshot_positions({"cash": Decimal(n), "positions": [{"market_id": "SIM-1"}]})
        sink.update_status({"io_errors": sink.io_errors, "crash_child": {"n": n}})
        if sink.flush(timeout=30):
            print(f"ACK {tag} {n - 1}", flush=True)


if __name__ == "__main__":
    main()
