"""Which assets ride the market WebSocket: the hot-asset subscription manager (pure, clock-free).

The venue caps subscriptions per connection and a bot watches many more markets than it trades,
so only a *hot set* of assets is streamed over WebSocket; the rest are served by REST polling.

Semantics of the seed's knobs (`SERVICE_WS_*`):

- `asset_limit`  (`SERVICE_WS_ASSET_LIMIT`): at most this many assets are hot. Static assets count
  toward it but are never evicted, even if they alone exceed it.
- `static_assets` (`SERVICE_WS_STATIC_ASSETS`): always hot.
- `min_score` (`SERVICE_WS_MIN_SCORE`): an asset enters the hot set only with `score >= min_score`.
- `sticky_seconds` (`SERVICE_WS_HOT_STICKY_SECONDS`): once hot, an asset stays at least this long,
  whatever its rank, so the set does not flap on every re-rank.
- `ttl_seconds` (`SERVICE_WS_HOT_TTL_SECONDS`): an asset with no activity (no market update and no
  hit) for this long is not eligible; after its sticky period it is evicted. 0 disables idling.
- `hit_boost` (`SERVICE_WS_HIT_BOOST`): score added each time a strategy or an order touches the
  asset; boosts decay exponentially with time constant `ttl_seconds` (or never, when it is 0).

`score = base + decayed boosts`, where `base` comes from volume, liquidity and spread
(`base_score`). Ranking is by score, then by current membership (ties keep the incumbent), then by
asset id, so a re-rank is deterministic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class HotSetConfig:
    asset_limit: int = 200
    static_assets: frozenset[str] = frozenset()
    min_score: float = 0.0
    sticky_seconds: float = 60.0
    ttl_seconds: float = 600.0
    hit_boost: float = 5.0


def base_score(volume: float, liquidity: float, spread: float | None) -> float:
    """A market's standing interest: log-scaled volume and liquidity, plus up to 2 points for a
    tight spread (a spread of 0.10 or more, or no two-sided book, earns nothing)."""
    score = math.log10(1.0 + max(volume, 0.0)) + math.log10(1.0 + max(liquidity, 0.0))
    if spread is not None and spread >= 0:
        score += 2.0 * max(0.0, 1.0 - spread / 0.10)
    return score


@dataclass(slots=True)
class _Asset:
    base: float
    boost: float = 0.0
    boost_at: float = 0.0
    last_active: float = 0.0
    joined_at: float | None = None


@dataclass(frozen=True, slots=True)
class HotSetChange:
    added: tuple[str, ...]
    removed: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)


@dataclass(slots=True)
class HotSetManager:
    config: HotSetConfig
    _assets: dict[str, _Asset] = field(default_factory=dict)
    _hot: set[str] = field(default_factory=set)

    # -- inputs ---------------------------------------------------------------------------
    def register(self, asset_id: str, now: float, *, base: float = 0.0) -> None:
        """Make an asset known (a new market); it gets a TTL's grace before it counts as idle."""
        if asset_id in self._assets:
            self._assets[asset_id].base = base
        else:
            self._assets[asset_id] = _Asset(base=base, boost_at=now, last_active=now)

    def forget(self, asset_id: str) -> None:
        """Drop an asset (market closed); it leaves the hot set at the next re-rank."""
        self._assets.pop(asset_id, None)

    def set_base(self, asset_id: str, base: float) -> None:
        a = self._assets.get(asset_id)
        if a is not None:
            a.base = base

    def touch(self, asset_id: str, now: float) -> None:
        """Market activity (an update arrived): the asset is not idle."""
        a = self._assets.get(asset_id)
        if a is not None and now > a.last_active:
            a.last_active = now

    def hit(self, asset_id: str, now: float) -> None:
        """A strategy or an order touched the asset: boost its score and mark it active."""
        a = self._assets.get(asset_id)
        if a is None:
            return
        a.boost = self._decayed(a, now) + self.config.hit_boost
        a.boost_at = now
        a.last_active = max(a.last_active, now)

    # -- queries --------------------------------------------------------------------------
    @property
    def hot(self) -> frozenset[str]:
        return frozenset(self._hot)

    def is_hot(self, asset_id: str) -> bool:
        return asset_id in self._hot

    def known(self) -> int:
        return len(self._assets)

    def score(self, asset_id: str, now: float) -> float:
        a = self._assets.get(asset_id)
        return float("-inf") if a is None else a.base + self._decayed(a, now)

    # -- the re-rank ----------------------------------------------------------------------
    def rerank(self, now: float) -> HotSetChange:
        cfg = self.config
        # Static assets are always hot; incumbents inside their sticky period keep their slot.
        keep: set[str] = set(cfg.static_assets)
        for asset_id in self._hot:
            a = self._assets.get(asset_id)
            if a is not None and a.joined_at is not None and now - a.joined_at < cfg.sticky_seconds:
                keep.add(asset_id)
        slots = cfg.asset_limit - len(keep)
        candidates = [
            (self._assets[aid].base + self._decayed(self._assets[aid], now), aid)
            for aid in self._assets
            if aid not in keep and self._eligible(aid, now)
        ]
        candidates.sort(key=lambda c: (-c[0], c[1] not in self._hot, c[1]))
        new_hot = keep | {aid for _, aid in candidates[: max(slots, 0)]}
        added = tuple(sorted(new_hot - self._hot))
        removed = tuple(sorted(self._hot - new_hot))
        for aid in added:
            a = self._assets.get(aid)
            if a is not None:
                a.joined_at = now
        for aid in removed:
            a = self._assets.get(aid)
            if a is not None:
                a.joined_at = None
        self._hot = new_hot
        return HotSetChange(added, removed)

    # -- internals ------------------------------------------------------------------------
    def _eligible(self, asset_id: str, now: float) -> bool:
        a = self._assets[asset_id]
        if a.base + self._decayed(a, now) < self.config.min_score:
            return False
        ttl = self.config.ttl_seconds
        return ttl <= 0 or now - a.last_active <= ttl

    def _decayed(self, a: _Asset, now: float) -> float:
        ttl = self.config.ttl_seconds
        if a.boost == 0.0 or ttl <= 0:
            return a.boost
        return a.boost * math.exp(-max(now - a.boost_at, 0.0) / ttl)
