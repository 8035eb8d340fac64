"""backtest layer (see docs/ARCHITECTURE.md)."""
