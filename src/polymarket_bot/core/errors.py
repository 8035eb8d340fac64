"""Domain error tree, organised by who must react.

PolymarketBotError
 ├── InvalidValueError        bad input value (caller fixes the input)
 ├── IllegalTransitionError   a local bug: our code asked for an impossible order transition
 ├── VenueStateError          the venue reported something impossible: reconcile
 └── StrategyError            a user strategy raised; isolate that strategy
"""

from __future__ import annotations


class PolymarketBotError(Exception):
    """Base of every error this package raises on purpose."""


class InvalidValueError(PolymarketBotError, ValueError):
    """A value (price, size, side, id, ...) is malformed or out of range."""


class IllegalTransitionError(PolymarketBotError):
    """A local command would make an illegal order state transition (a bug: raise loudly)."""


class VenueStateError(PolymarketBotError):
    """The venue reported a state that cannot follow the current one (triggers reconciliation)."""


class StrategyError(PolymarketBotError):
    """A strategy callback raised; the runner counts it and may disable that strategy."""
