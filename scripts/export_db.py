#!/usr/bin/env python3
"""Export database tables to CSV or Parquet (seed §18).

    python scripts/export_db.py --tables orders trades --format csv --out-dir exports
    python scripts/export_db.py --tables positions realized --format parquet --out-dir exports

Same flags as `polymarket-launch export` (see --help). Needs `pip install -e .`.
"""

from polymarket_bot.cli.store_cmd import export_main

if __name__ == "__main__":
    export_main()
