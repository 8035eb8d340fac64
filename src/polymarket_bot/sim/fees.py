"""The simulator charges the venue's fee curve; it lives in `core.fees` (the local fill model and
the ledger use the same arithmetic)."""

from polymarket_bot.core.fees import FEE_QUANTUM_UNITS, FeeSchedule, taker_fee_units

__all__ = ["FEE_QUANTUM_UNITS", "FeeSchedule", "taker_fee_units"]
