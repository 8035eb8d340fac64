"""Py-Polymarket: a trading system for Polymarket's CLOB V2 order book."""

__version__ = "0.1.0"
__all__ = ["__version__"]
