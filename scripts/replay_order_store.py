#!/usr/bin/env python3
"""Replay orders/trades from reports/*.jsonl or the database (seed §8).

    python scripts/replay_order_store.py --trades --last-minutes 30 --side yes --stats
    python scripts/replay_order_store.py --orders --since 2025-10-13T00:00:00Z --market SIM-1 \
        --csv out.csv
    python scripts/replay_order_store.py --orders --trades --last-minutes 60 --csv out.csv

Same flags as `polymarket-launch replay` (see --help). Needs `pip install -e .`.
"""

from polymarket_bot.cli.store_cmd import replay_main

if __name__ == "__main__":
    replay_main()
