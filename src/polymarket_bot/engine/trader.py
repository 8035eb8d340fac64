"""The trader: the composition root that runs one engine in the configured mode.

    market data (WS first, REST fallback) -> books -> strategies -> rate limits -> risk
      -> execution (venue or local fill model) -> order manager -> ledger -> reports

One asyncio process. Market updates arrive synchronously from the feed (`_on_market_update`);
they only mark assets dirty and wake the decision task, so the feed is never blocked by a strategy,
a risk evaluation or an order round trip. The decision task turns the dirty assets into
`BestBidAsk` / `LastTrade` events (what strategies consume), runs the chain and submits what was
approved. A one-second timer drives strategy timers, the local fill model, operator controls and
the status file; every `--interval` seconds the housekeeping cycle snapshots the ledger.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from polymarket_bot.config.model import Settings
from polymarket_bot.config.reload import ConfigReloader
from polymarket_bot.core.book import PRICE_SCALE, OrderBook
from polymarket_bot.core.clock import Clock, LiveClock
from polymarket_bot.core.decisions import DecisionBatch, DecisionChain, DecisionContext
from polymarket_bot.core.events import BestBidAsk, LastTrade
from polymarket_bot.core.fees import FeeSchedule
from polymarket_bot.core.fill_model import LocalFillModel
from polymarket_bot.core.intents import CancelIntent, Intent, MarketInfo, OrderIntent, iso_ms
from polymarket_bot.core.ledger import Ledger, PositionKey
from polymarket_bot.core.modes import RunMode
from polymarket_bot.core.portfolio import Portfolio
from polymarket_bot.core.ratelimit import OrderRateLimiter, RateLimitConfig
from polymarket_bot.core.risk import RiskEngine
from polymarket_bot.core.risk_config import RiskConfig
from polymarket_bot.core.types import Side, from_base_units
from polymarket_bot.engine.eager import start_eagerly
from polymarket_bot.engine.execution.dry_run import DryRunExecution
from polymarket_bot.engine.execution.manager import OrderManager
from polymarket_bot.engine.execution.port import ExecutionPort
from polymarket_bot.engine.execution.venue import VenueExecution
from polymarket_bot.engine.execution.venue_reports import Identity as VenueIdentity
from polymarket_bot.engine.market_data.books import UpdateKind
from polymarket_bot.engine.market_data.catalogue import CatalogueMarket
from polymarket_bot.engine.market_data.config import MarketDataConfig
from polymarket_bot.engine.market_data.service import MarketDataService
from polymarket_bot.engine.reporting import (
    EquityCurve,
    positions_document,
    rate_limit_section,
    summary_document,
)
from polymarket_bot.engine.tracking import (
    OrderTracker,
    TrackerConfig,
    load_inventory,
    prior_order_ids,
)
from polymarket_bot.engine.trader_views import (
    LedgerPositions,
    OrdersByClient,
    ServiceBooks,
    market_label,
)
from polymarket_bot.engine.venue_setup import (
    Identity,
    VenueEndpoints,
    resolve_endpoints,
    resolve_identity,
)
from polymarket_bot.observability.alerts import AlertService
from polymarket_bot.observability.controls import ControlState, read_control_state
from polymarket_bot.storage.sink import ReportSink
from polymarket_bot.strategies.registry import create_strategies
from polymarket_bot.strategies.runner import StrategyRunner
from polymarket_bot.strategies.view import StrategyView
from polymarket_bot.transport.gamma import GammaClient
from polymarket_bot.transport.ratelimit import RestLimiter
from polymarket_bot.transport.rest import ClobRestClient

__all__ = ["Trader", "TraderOptions"]

_log = logging.getLogger(__name__)
_MID_DIVISOR: Final = 2 * PRICE_SCALE
"""Best bid + best ask in book units -> mid price."""
_TIMER_S = 1.0
_STATUS_MIN_S = 2.0


@dataclass(frozen=True, slots=True)
class TraderOptions:
    interval: float = 60.0
    """Housekeeping cycle in seconds (`trade --interval`)."""
    record_dir: Path | None = None
    """Capture every raw market frame here (`--record`)."""
    max_markets: int = 20
    """Markets tracked when no strategy names its markets (the most liquid first)."""
    sim_markets: int = 8
    sim_seed: int = 7
    sim_port: int = 0
    status_interval: float = 5.0
    market_data: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    """Overrides of the market-data timings (`MarketDataConfig` fields), e.g. for fault drills."""
    freeze_gc: bool = False
    """After start-up, move every object made so far out of the garbage collector's sight
    (`gc.freeze()`): later collections scan only what trading creates, which keeps their pauses
    out of the tick-to-order tail. For the process that runs one trader (`trade`), not tests."""


class Trader:
    def __init__(
        self,
        settings: Settings,
        *,
        options: TraderOptions | None = None,
        clock: Clock | None = None,
        reloader: ConfigReloader | None = None,
    ) -> None:
        self.settings = settings
        self.options = options or TraderOptions()
        self.clock = clock or LiveClock()
        self.reloader = reloader
        self.mode: RunMode = settings.run_mode
        self.endpoints: VenueEndpoints | None = None
        self.identity: Identity | None = None
        self.sink: ReportSink | None = None
        self.rest: ClobRestClient | None = None
        self.market_rest: ClobRestClient | None = None
        self.gamma: GammaClient | None = None
        self.market_data: MarketDataService | None = None
        self.execution: ExecutionPort | None = None
        self.alerts: AlertService | None = None
        self.dry_run: DryRunExecution | None = None
        self.manager: OrderManager | None = None
        self.ledger: Ledger | None = None
        self.tracker: OrderTracker | None = None
        self.ledger_start = Decimal(0)
        self.runner: StrategyRunner | None = None
        self.chain: DecisionChain | None = None
        self.markets: dict[str, MarketInfo] = {}
        self.token_market: dict[str, MarketInfo] = {}
        self.labels: dict[str, str] = {}
        self._dirty: dict[str, None] = {}
        self._trades: dict[str, None] = {}
        self._wake = asyncio.Event()
        self._deciding = False
        """A decision pass is running (one at a time)."""
        self._eager = False
        """Decision passes start from the feed itself (set while `run` trades)."""
        self._passes: set[asyncio.Task[None]] = set()
        self._tops: dict[str, tuple[int | None, int | None]] = {}
        self._portfolio: tuple[tuple[int, int, int], Portfolio] | None = None
        """The last portfolio built, keyed by (ledger version, exposure version, markets)."""
        self._curve = EquityCurve()
        self._controls = ControlState()
        self._cancel_all_seq_done: int | None = None
        self._paused = False
        self._tasks: list[asyncio.Task[None]] = []
        self._last_status = 0.0
        self._last_housekeeping = 0.0
        self.decisions = 0
        self.intents = 0
        self.loop_errors = 0
        self.started_epoch: float | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        s = self.settings
        self.started_epoch = self.clock.time()
        self.endpoints = await resolve_endpoints(
            s,
            clock=self.clock,
            sim_markets=self.options.sim_markets,
            sim_seed=self.options.sim_seed,
            sim_port=self.options.sim_port,
        )
        ep = self.endpoints
        self.sink = ReportSink(
            s.paths.reports_dir,
            db_url=s.database.url,
            clock=self.clock,
            runtime_mode=self.mode.value,
        )
        proxy = s.service.proxy
        # Two clients: trading calls (orders, cancels, heartbeats, account reads) must never queue
        # behind the market-data REST budget (SERVICE_REST_MAX_CONCURRENCY /
        # SERVICE_REST_RATE_LIMIT_PER_SEC), which paces book polling only.
        # The trading client speaks through the lean HTTP/1.1 client (issue #6); with a proxy
        # configured it keeps httpx (http1 has no proxy support).
        self.rest = ClobRestClient(
            ep.rest_url,
            proxy=proxy,
            clock=self.clock,
            chain_id=s.venue.chain_id,
            timeout=s.service.request_timeout_seconds,
            engine="httpx" if proxy else "http1",
        )
        self.market_rest = ClobRestClient(
            ep.rest_url,
            limiter=RestLimiter(
                max_concurrency=s.service.rest_max_concurrency,
                rate_per_sec=s.service.rest_rate_limit_per_sec,
            ),
            proxy=proxy,
            clock=self.clock,
            chain_id=s.venue.chain_id,
            timeout=s.service.request_timeout_seconds,
        )
        self.gamma = GammaClient(ep.gamma_url, proxy=proxy, clock=self.clock)
        try:  # L1/L2 timestamps follow the venue clock (the auth window is about a minute)
            await self.rest.sync_server_time()
        except Exception as exc:
            _log.warning("could not read the venue time (%s); using the local clock", exc)
        self.identity = await resolve_identity(s, self.rest)

        md_config = MarketDataConfig.from_settings(
            s,
            record_dir=self.options.record_dir,
            clob_ws_url=ep.ws_url,
            **self.options.market_data,
        )
        self.market_data = MarketDataService(
            md_config,
            clock=self.clock,
            rest=self.market_rest,
            gamma=self.gamma,
            on_update=self._on_market_update,
        )
        await self.market_data.start()
        await self.market_data.refresh_catalogue()
        self._select_markets()

        inventory = None
        if self.mode is RunMode.DRY_RUN:
            self.ledger = Ledger(await self._starting_cash())
        else:  # start-up reconciliation: cash and positions as the venue has them
            ident = self.identity
            assert ident is not None
            inventory = await load_inventory(
                self.rest,
                identity=VenueIdentity.of(
                    ident.creds.api_key, (ident.signer.address, ident.funder or "")
                ),
                markets=self.token_market.get,
                tokens=self.token_market,
                clock=self.clock,
            )
            self.ledger = inventory.seed_ledger()
        self.ledger_start = self.ledger.starting_cash
        execution_mode = {
            RunMode.OFFLINE: "simulation",
            RunMode.DRY_RUN: "dry-run",
            RunMode.LIVE: "live",
        }[self.mode]
        books = ServiceBooks(self.market_data, self.token_market)
        self.manager = OrderManager(
            self.ledger,
            self.sink,
            clock=self.clock,
            runtime_mode=self.mode.value,
            execution_mode=execution_mode,
            markets=self.token_market.get,
            books=books.get,
        )
        if self.mode is RunMode.DRY_RUN:
            model = LocalFillModel(
                fees_for=self._fees_for,
                min_size_for=self._min_size_for,
            )
            self.dry_run = DryRunExecution(self.manager, model, clock=self.clock, books=books)
            self.execution = self.dry_run
        else:
            ident = self.identity
            assert ident is not None
            self.execution = VenueExecution(
                self.manager,
                self.rest,
                ident.signer,
                ident.creds,
                chain_id=s.venue.chain_id,
                signature_type=ident.signature_type,
                funder=ident.funder,
                clock=self.clock,
                user_ws_url=ep.ws_url + "/user" if s.service.use_order_ws else None,
                on_tick_size=self.market_data.catalogue.set_tick,
            )
        await self.execution.start()
        if isinstance(self.execution, VenueExecution):
            ident = self.identity
            assert ident is not None
            self.tracker = OrderTracker(
                self.manager,
                self.rest,
                ident.creds,
                clock=self.clock,
                config=TrackerConfig.from_settings(s),
                sink=self.sink,
                user_stream=self.execution.user_stream,
                query=self.execution.query,
                prior_ids=prior_order_ids(s.paths.reports_dir / "orders.jsonl"),
                tokens=lambda: self.token_market,
                proxy=proxy,
            )
            await self.tracker.start(inventory)
        self._build_decisions(books)
        if self.reloader is not None:
            self.reloader.subscribe(self._on_reload)
        _log.info(
            "trader started: mode=%s venue=%s markets=%d strategies=%s",
            self.mode.value,
            ep.rest_url,
            len(self.markets),
            [st.name for st in self.runner.strategies] if self.runner else [],
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Start, trade until `stop` is set, then stop cleanly."""
        await self.start()
        try:
            self._tasks = [
                asyncio.create_task(self._decision_loop(), name="decisions"),
                asyncio.create_task(self._timer_loop(), name="timer"),
            ]
            if self.reloader is not None:
                self._tasks.append(
                    asyncio.create_task(self.reloader.run(stop), name="config-reload")
                )
            self.alerts = AlertService(
                self.settings.alert, self.status_sections, interval=10.0, clock=self.clock
            )
            self._tasks.append(asyncio.create_task(self.alerts.run(stop), name="alerts"))
            if self.market_data is not None:
                self.market_data.after_frame = self._after_feed_frame
            self._eager = True
            if self.options.freeze_gc:
                gc.collect()
                gc.freeze()
            await stop.wait()
        finally:
            await self.stop()

    async def stop(self) -> None:
        self._eager = False
        if self.market_data is not None:
            self.market_data.after_frame = None
        tasks = [*self._tasks, *self._passes]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if self.alerts is not None:
            self.alerts.close()
        if self.tracker is not None:
            with contextlib.suppress(Exception):
                await self.tracker.stop()
        cancel_open = self.settings.trading.cancel_on_stop
        if self.execution is not None:
            with contextlib.suppress(Exception):
                await self.execution.stop(cancel_open=cancel_open)
        if self.manager is not None:
            self.manager.flush_exits()
        self._write_status(force=True)
        self._housekeeping()
        if self.market_data is not None:
            await self.market_data.stop()
        for client in (self.rest, self.market_rest, self.gamma):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.aclose()
        if self.sink is not None:
            self.sink.close()
        if self.endpoints is not None and self.endpoints.sim is not None:
            await self.endpoints.sim.stop()
        _log.info("trader stopped")

    # -- set-up ----------------------------------------------------------------------------------

    def _select_markets(self) -> None:
        assert self.market_data is not None
        tradeable = self.market_data.catalogue.tradeable()
        wanted = self._strategy_market_filter(tradeable)
        if wanted is None:
            tradeable.sort(key=lambda m: (-m.liquidity, -m.volume_24h, m.condition_id))
            chosen = tradeable[: self.options.max_markets]
        else:
            chosen = [m for m in tradeable if m.condition_id in wanted]
        # Outcomes per neg-risk event, as the catalogue lists them (arbitrage needs them all).
        siblings: dict[str, int] = {}
        for m in tradeable:
            if m.neg_risk and m.event_id:
                siblings[m.event_id] = siblings.get(m.event_id, 0) + 1
        for m in chosen:
            label = market_label(m)
            info = m.to_market_info(label)
            if info is None:
                continue
            if info.neg_risk and info.event_id and info.event_market_count is None:
                info = dataclasses.replace(info, event_market_count=siblings.get(info.event_id))
            self.markets[info.condition_id] = info
            self.token_market[info.yes_token] = info
            self.token_market[info.no_token] = info
            self.labels[info.condition_id] = label
        self.market_data.track(self.token_market)

    def _strategy_market_filter(self, tradeable: list[CatalogueMarket]) -> set[str] | None:
        """Condition ids named by enabled strategies (by id, token id, slug or `SIM-n`), or None
        when some enabled strategy takes every market."""
        index: dict[str, str] = {}
        for m in tradeable:
            for key in (m.condition_id, m.slug, market_label(m), *m.token_ids):
                index[key.lower()] = m.condition_id
        wanted: set[str] = set()
        for entry in self.settings.strategies.values():
            if not entry.enabled:
                continue
            if not entry.markets:
                return None
            wanted.update(index[k.lower()] for k in entry.markets if k.lower() in index)
        return wanted

    def _resolved_strategy_config(self) -> dict[str, dict[str, Any]]:
        """The `strategies` section with market filters turned into condition ids."""
        names = {label.lower(): cid for cid, label in self.labels.items()}
        for token, info in self.token_market.items():
            names[token.lower()] = info.condition_id
        for cid in self.markets:
            names[cid.lower()] = cid
        out: dict[str, dict[str, Any]] = {}
        for name, entry in self.settings.strategies.items():
            markets = [names.get(k.lower(), k) for k in entry.markets]
            out[name] = {
                "kind": entry.kind_for(name),
                "enabled": entry.enabled,
                "markets": markets,
                "params": dict(entry.params),
            }
        return out

    def _build_decisions(self, books: ServiceBooks) -> None:
        assert self.ledger is not None and self.manager is not None
        strategies = create_strategies(self._resolved_strategy_config())
        positions = LedgerPositions(self.ledger)
        orders = OrdersByClient(self.manager)
        views = {
            st.name: StrategyView(
                st.name,
                books=books,
                markets=self.markets,
                clock=self.clock,
                positions=positions,
                orders=orders,
            )
            for st in strategies
        }
        self.runner = StrategyRunner(strategies, views)
        s = self.settings
        limiter = OrderRateLimiter(
            RateLimitConfig.from_trading(s.trading.model_dump(mode="json", by_alias=True))
        )
        risk = RiskEngine(RiskConfig.from_dict(s.risk.model_dump(mode="json")))
        self.chain = DecisionChain(
            limiter,
            risk,
            runtime_mode=self.mode.value,
            max_intent_notional=s.trading.max_order_notional,
        )

    async def _starting_cash(self) -> Decimal:
        if self.mode is RunMode.DRY_RUN:
            return Decimal(self.settings.trading.paper_balance)
        assert self.rest is not None
        balance = await self.rest.get_balance_allowance("COLLATERAL")
        return from_base_units(int(balance.balance))

    def _fees_for(self, token: str) -> FeeSchedule:
        info = self.token_market.get(token)
        return FeeSchedule(rate=info.fee_rate if info is not None else Decimal(0))

    def _min_size_for(self, token: str) -> Decimal:
        info = self.token_market.get(token)
        return info.min_order_size if info is not None else Decimal(5)

    # -- the feed --------------------------------------------------------------------------------

    def _on_market_update(self, asset_id: str, kind: UpdateKind) -> None:
        """Runs inside the feed for every change: keep it to bookkeeping."""
        if asset_id not in self.token_market:
            return
        self._dirty[asset_id] = None
        if kind is UpdateKind.LAST_TRADE:
            self._trades[asset_id] = None
        elif kind is UpdateKind.PRICE_CHANGE and self._eager:
            return  # only WS frames carry these, and `_after_feed_frame` follows every frame
        self._wake.set()

    def _after_feed_frame(self) -> None:
        """A WS frame was applied: decide right now, inside this call, if something changed and
        no pass is running (a running pass picks the change up when it is done). The pass runs
        synchronously until its first wait, so the orders it sends leave without a loop turn."""
        if self._dirty and self._eager and not self._deciding:
            task = start_eagerly(self._decision_pass(), name="decision-pass")
            if task is not None:
                self._passes.add(task)
                task.add_done_callback(self._passes.discard)

    async def _decision_loop(self) -> None:
        """Passes woken by `_wake` (REST updates, trades): WS frames start theirs directly."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self._deciding:
                await self._decision_pass()

    async def _decision_pass(self) -> None:
        """Decide on everything dirty, again and again until nothing is (what changed while a
        pass waited on the venue is decided next). One pass at a time."""
        self._deciding = True
        try:
            while self._dirty or self._trades:
                try:
                    await self._process_dirty()
                except Exception:  # a bug here must not stop trading silently: log and go on
                    self.loop_errors += 1
                    _log.exception("decision loop error")
        finally:
            self._deciding = False

    async def _process_dirty(self) -> None:
        assert self.runner is not None and self.market_data is not None
        dirty, self._dirty = self._dirty, {}
        trades, self._trades = self._trades, {}
        now = self.clock.time()
        now_ms = int(now * 1000)
        intents: list[Intent] = []
        for asset in dirty:
            book = self.market_data.book(asset)
            info = self.token_market.get(asset)
            if book is None or info is None:
                continue
            if self.dry_run is not None:
                await self._dry_run_fills(book, asset in trades, now_ms)
            if asset in trades and book.last_trade is not None:
                lt = book.last_trade
                event_lt = LastTrade(
                    asset,
                    info.condition_id,
                    lt.price,
                    lt.size,
                    lt.side,
                    None,
                    lt.ts_ms,
                )
                intents.extend(self.runner.on_event(event_lt))
            top = (bid_units, ask_units) = (book.best_bid_units(), book.best_ask_units())
            if self._tops.get(asset) == top:
                continue
            self._tops[asset] = top
            bid, ask = book.best_bid(), book.best_ask()
            if bid_units is not None and ask_units is not None and self.chain is not None:
                # the risk statistics are floats: the mid straight from the integer units is
                # the same float as float(book.mid()), without the Decimal arithmetic
                self.chain.risk.observe_mid(asset, (bid_units + ask_units) / _MID_DIVISOR, now)
            event = BestBidAsk(
                asset,
                info.condition_id,
                bid,
                ask,
                (ask - bid) if bid is not None and ask is not None else None,
                book.last_update_ms,
            )
            intents.extend(self.runner.on_event(event))
        if intents:
            await self._decide_and_execute(intents, now)

    async def _dry_run_fills(self, book: OrderBook, traded: bool, now_ms: int) -> None:
        assert self.dry_run is not None
        self.dry_run.on_book(book, now_ms)
        lt = book.last_trade
        if traded and lt is not None and lt.size is not None:
            self.dry_run.on_trade(book.asset_id, lt.price, lt.size, lt.side, now_ms)

    async def _decide_and_execute(self, intents: list[Intent], now: float) -> None:
        assert self.chain is not None and self.runner is not None and self.sink is not None
        assert self.execution is not None
        self.intents += len(intents)
        if self._paused or self._controls.kill_switch:
            # Paused / killed: only cancels and position-reducing orders pass (risk enforces the
            # reduce-only rule); new entries are dropped before the chain.
            intents = [i for i in intents if isinstance(i, CancelIntent) or self._reduces(i)]
            if not intents:
                return
        batch = self.chain.decide(intents, self._context(), now)
        self.decisions += len(batch.decisions)
        orders = [i for i in batch.approved if isinstance(i, OrderIntent)]
        try:
            for intent in batch.approved:
                if isinstance(intent, CancelIntent):
                    await self._cancel(intent)
            if orders:
                # The orders leave first (each `submit` record follows its request onto the
                # socket); the strategies hear of the decisions and the audit trail is written
                # after, off the tick-to-order path (still before this pass decides again).
                await self.execution.submit_many(orders)
        finally:
            self.runner.notify(batch.decisions, now)
            self._write_decision_records(batch)
            for intent in orders:  # (the chain already recorded them in the rate limiter)
                self.market_data_hit(intent.token_id)

    def market_data_hit(self, token: str) -> None:
        if self.market_data is not None:
            self.market_data.hit(token)

    def _reduces(self, intent: Intent) -> bool:
        if not isinstance(intent, OrderIntent) or intent.side is not Side.SELL:
            return False
        assert self.ledger is not None
        p = self.ledger.position(intent.market, intent.outcome)
        return p is not None and p.shares > 0

    def _write_decision_records(self, batch: DecisionBatch) -> None:
        assert self.sink is not None
        for record in batch.order_records:
            record.setdefault("market_id", self.labels.get(record.get("market_id", ""), ""))
            self.sink.record_order(self._labelled(record))
        for record in batch.audit_records:
            self.sink.record_risk(self._labelled(record))

    def _labelled(self, record: dict[str, Any]) -> dict[str, Any]:
        market = record.get("market_id")
        if isinstance(market, str) and market in self.labels:
            record["market_id"] = self.labels[market]
        return record

    async def _cancel(self, intent: CancelIntent) -> None:
        assert self.execution is not None
        if intent.order_id is not None:
            await self.execution.cancel(intent.order_id)
            return
        for order in self.execution.open_orders():
            if order.market == intent.market and (
                intent.token_id is None or order.asset_id == intent.token_id
            ):
                await self.execution.cancel(order.client_id)

    def _context(self) -> DecisionContext:
        assert self.ledger is not None and self.execution is not None
        assert self.market_data is not None and self.manager is not None
        # Rebuilt only after a fill or an order change, from the manager's running sums of the
        # open orders (O(positions + keys), not O(open orders)); a pass gets its own copy.
        exposure = self.manager.exposure
        key = (self.ledger.version, exposure.version, len(self.markets))
        cached = self._portfolio
        if cached is None or cached[0] != key:
            base = Portfolio.from_exposure(self.ledger, markets=self.markets, exposure=exposure)
            cached = self._portfolio = (key, base)
        portfolio = cached[1].copy()
        return DecisionContext(
            books=ServiceBooks(self.market_data, self.token_market),
            markets=self.markets,
            portfolio=portfolio,
            feed_age_seconds=self.market_data.feed_age_seconds,
        )

    def marks(self) -> dict[PositionKey, Decimal]:
        assert self.ledger is not None and self.market_data is not None
        marks: dict[PositionKey, Decimal] = {}
        for key in self.ledger.positions:
            info = self.markets.get(key[0])
            if info is None:
                continue
            token = info.yes_token if key[1] == "yes" else info.no_token
            book = self.market_data.book(token)
            mid = book.mid() if book is not None else None
            if mid is not None:
                marks[key] = mid
        return marks

    # -- timers ----------------------------------------------------------------------------------

    async def _timer_loop(self) -> None:
        while True:
            await asyncio.sleep(_TIMER_S)
            try:
                await self._tick()
            except Exception:
                self.loop_errors += 1
                _log.exception("timer loop error")

    async def _tick(self) -> None:
        assert self.runner is not None and self.chain is not None and self.ledger is not None
        now = self.clock.time()
        self._apply_controls()
        if self.dry_run is not None:
            self.dry_run.poll(int(now * 1000))
        assert self.manager is not None
        self.manager.flush_exits()
        self.chain.risk.update_equity(self.ledger.equity(self.marks()), now)
        if self.market_data is not None:
            healthy = self.market_data.is_healthy
            self.chain.risk.set_venue_health(healthy, "market data feed degraded")
        intents = self.runner.on_timer(now)
        if intents:
            await self._decide_and_execute(intents, now)
        self._write_status()
        if now - self._last_housekeeping >= self.options.interval:
            self._last_housekeeping = now
            self._housekeeping()

    def _apply_controls(self) -> None:
        state = read_control_state(self.settings.paths.run_dir)
        self._controls = state
        self._paused = state.paused
        assert self.chain is not None
        kill_file = self.settings.risk.kill_switch_file
        killed = state.kill_switch or kill_file.exists()
        self.chain.risk.set_kill_switch(killed, "operator kill switch" if killed else "")
        seq = state.cancel_all.seq
        if self._cancel_all_seq_done is None:
            self._cancel_all_seq_done = seq  # requests before this start are history
        elif seq != self._cancel_all_seq_done or (killed and self._has_open_orders()):
            self._cancel_all_seq_done = seq
            asyncio.get_running_loop().create_task(self._cancel_everything())

    def _has_open_orders(self) -> bool:
        return self.execution is not None and bool(self.execution.open_orders())

    async def _cancel_everything(self) -> None:
        if self.execution is not None:
            await self.execution.cancel_all()

    def _housekeeping(self) -> None:
        if self.ledger is None or self.sink is None:
            return
        stamp = iso_ms(self.clock.time())
        marks = self.marks()

        def token_of(market: str, outcome: str) -> str | None:
            info = self.markets.get(market)
            if info is None:
                return None
            return info.yes_token if outcome == "yes" else info.no_token

        self.sink.snapshot_positions(
            positions_document(
                self.ledger,
                marks,
                label=lambda cid: self.labels.get(cid, cid),
                token_of=token_of,
                updated_at=stamp,
            )
        )
        self._curve.observe(self.ledger.realized_pnl, stamp)
        self.sink.write_realized_summary(
            summary_document(self.ledger, self._curve, updated_at=stamp)
        )
        self.sink.retry_pending()

    def _write_status(self, *, force: bool = False) -> None:
        now = self.clock.time()
        interval = max(_STATUS_MIN_S, min(self.options.status_interval, self.options.interval))
        if not force and now - self._last_status < interval:
            return
        self._last_status = now
        if self.sink is None:
            return
        self.sink.update_status(self.status_sections())

    def status_sections(self) -> dict[str, Any]:
        sections: dict[str, Any] = {"runtime_mode": self.mode.value}
        if self.market_data is not None:
            # Key by key: `orders-ws` may own `fetch_info.orders_ws` / `orders_rest` (merge, never
            # clobber another process's part of the section).
            for key, value in self.market_data.status().items():
                sections[f"fetch_info.{key}"] = value
        if self.tracker is not None:  # orders_ws, orders_rest, external fills, reconcile
            sections.update(self.tracker.status_sections())
        elif isinstance(self.execution, VenueExecution):
            sections["fetch_info.orders_ws"] = self.execution.orders_ws_status()
        if self.chain is not None:
            now = self.clock.time()
            sections["risk_audit"] = self.chain.risk.counters.as_dict()
            sections["rate_limits"] = rate_limit_section(
                self.chain.limiter.snapshot(now), lambda cid: self.labels.get(cid, cid)
            )
        if self.execution is not None:
            sections["execution"] = self.execution.status()
        if self.ledger is not None and self.tracker is None:
            ext = self.ledger.external
            sections["external_fills"] = {
                "processed": ext.processed,
                "opened": ext.opened,
                "applied_same_side": ext.applied_same_side,
                "reduced_opposite": ext.reduced_opposite,
                "closed": ext.closed,
                "last_seen": ext.last_seen_ms / 1000 if ext.last_seen_ms else None,
            }
        if self.sink is not None:
            sections.update(self.sink.status_sections())
        sections["controls"] = {
            "paused": self._paused,
            "kill_switch": self._controls.kill_switch,
            "risk_state": self.chain.risk.state.mode.value if self.chain is not None else None,
            "control_revision": self._controls.revision,
            "cancel_all_seq": self._cancel_all_seq_done,
        }
        if self.runner is not None:
            sections["strategies"] = self.runner.status()
        if self.alerts is not None:
            sections["alerts"] = self.alerts.stats()
        sections["trader"] = {
            "started_epoch": self.started_epoch,
            "decisions": self.decisions,
            "intents": self.intents,
            "loop_errors": self.loop_errors,
            "markets": len(self.markets),
        }
        return sections

    def _on_reload(self, settings: Settings, result: Any) -> None:
        """Hot-reloadable keys: trading limits, risk thresholds (strategies keep their params
        until restart in this version)."""
        self.settings = settings
        if self.alerts is not None:
            self.alerts.update_settings(settings.alert)
        if self.chain is not None:
            self.chain.limiter.update_config(
                RateLimitConfig.from_trading(
                    settings.trading.model_dump(mode="json", by_alias=True)
                )
            )
            self.chain.risk.update_config(
                RiskConfig.from_dict(settings.risk.model_dump(mode="json"))
            )
            self.chain.max_intent_notional = settings.trading.max_order_notional
