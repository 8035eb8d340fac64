"""`polymarket-launch orders-ws`: order tracking as its own process.

It needs a venue it can reach (`CLOB_REST_URL` / `CLOB_WS_URL`; in OFFLINE a running simulator,
e.g. `polymarket-launch sim`) and the account's key (POLY_PRIVATE_KEY, API credentials derived
over L1, or POLYMARKET_API_KEY/SECRET/PASSPHRASE in LIVE). Without credentials the user channel
is `disabled` with the reason and REST polling cannot run (it needs L2 auth); the sections are
still written so the dashboard says why.

No double counting with a trader running at the same time:
* it keeps its own mirror ledger of the account (seeded from the venue) and never touches the
  trader's; the trader's ledger is fed only by the trader's in-process tracker;
* its records go to their own streams, `reports/orders_ws/orders.jsonl` and `trades.jsonl`
  (source-tagged `order_ws` / `rest_poll` / `reconcile`), never to the trader's files;
* of `pipeline_status.json` it writes only `fetch_info.orders_ws`, `fetch_info.orders_rest`,
  `external_fills` and `external_fills_trend` (merged atomically, other sections kept);
* a fill is external only if the trader did not place its order either: the trader's order ids
  are read from the write-ahead `submit` records of `reports/orders.jsonl` (`SubmitJournal`),
  so both processes count the same external fills;
* it never cancels anything (`may_cancel=False`): orphan handling belongs to the trader.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Final

from polymarket_bot.config.model import Settings
from polymarket_bot.core.clock import Clock, LiveClock
from polymarket_bot.core.intents import iso_ms
from polymarket_bot.core.ledger import Ledger
from polymarket_bot.core.modes import RunMode
from polymarket_bot.engine.execution.manager import OrderManager
from polymarket_bot.engine.execution.venue_reports import Identity as VenueIdentity
from polymarket_bot.engine.tracking.reconcile import SubmitJournal, load_inventory
from polymarket_bot.engine.tracking.tracker import OrderTracker, TrackerConfig
from polymarket_bot.engine.venue_setup import Identity, resolve_identity
from polymarket_bot.storage.sink import STATUS_FILE, ReportSink
from polymarket_bot.storage.snapshots import merge_status
from polymarket_bot.transport.rest import ClobRestClient

__all__ = ["STANDALONE_SECTIONS", "StandaloneTracker", "run_standalone"]

log = logging.getLogger(__name__)

STANDALONE_SECTIONS: Final = (
    "fetch_info.orders_ws",
    "fetch_info.orders_rest",
    "external_fills",
    "external_fills_trend",
)
RECORD_SUBDIR: Final = "orders_ws"


class StandaloneTracker:
    """The pieces of the `orders-ws` process (see the module docstring)."""

    def __init__(self, settings: Settings, *, limit: int, clock: Clock | None = None) -> None:
        self.settings = settings
        self.limit = limit
        self.clock = clock or LiveClock()
        self.rest: ClobRestClient | None = None
        self.identity: Identity | None = None
        self.sink: ReportSink | None = None
        self.manager: OrderManager | None = None
        self.tracker: OrderTracker | None = None
        self.journal = SubmitJournal(settings.paths.reports_dir / "orders.jsonl")
        self.disabled_reason: str | None = None

    async def start(self) -> None:
        s = self.settings
        venue = s.venue
        if s.run_mode is RunMode.OFFLINE and venue.uses_simulator:
            raise RuntimeError(
                "orders-ws needs a running venue: set CLOB_REST_URL/CLOB_WS_URL (OFFLINE: the "
                "simulator's, e.g. from `polymarket-launch sim`)"
            )
        self.rest = ClobRestClient(
            venue.clob_rest_url,
            proxy=s.service.proxy,
            clock=self.clock,
            chain_id=venue.chain_id,
            timeout=s.service.request_timeout_seconds,
        )
        with contextlib.suppress(Exception):
            await self.rest.sync_server_time()
        self.identity = await self._identity()
        self.sink = ReportSink(
            s.paths.reports_dir / RECORD_SUBDIR,
            sql=False,
            clock=self.clock,
            runtime_mode=s.run_mode.value,
        )
        ident = self.identity
        ledger = Ledger()
        inventory = None
        if ident is not None:
            inventory = await load_inventory(
                self.rest,
                identity=VenueIdentity.of(
                    ident.creds.api_key, (ident.signer.address, ident.funder or "")
                ),
                markets=lambda _token: None,
                clock=self.clock,
            )
            ledger = inventory.seed_ledger()
        self.manager = OrderManager(
            ledger,
            self.sink,
            clock=self.clock,
            runtime_mode=s.run_mode.value,
            execution_mode=s.run_mode.value,
            markets=lambda _token: None,
        )
        if ident is not None:
            self.manager.set_identity(
                owner=ident.creds.api_key, addresses=(ident.signer.address, ident.funder or "")
            )
        self.manager.is_own_order = self.journal.__contains__
        config = TrackerConfig.from_settings(
            s,
            poll_limit=self.limit,
            use_rest_fallback=(s.service.use_order_rest_fallback and ident is not None),
        )
        self.tracker = OrderTracker(
            self.manager,
            self.rest,
            ident.creds if ident is not None else None,
            clock=self.clock,
            config=config,
            sink=self.sink,
            ws_url=venue.clob_ws_url.rstrip("/") + "/user",
            may_cancel=False,
            proxy=s.service.proxy,
        )
        if ident is None and self.disabled_reason and self.tracker.stream is None:
            self.tracker.ws_disabled_reason = self.disabled_reason
        await self.tracker.start(inventory)

    async def _identity(self) -> Identity | None:
        assert self.rest is not None
        s = self.settings
        cred = s.credentials
        if s.run_mode is RunMode.DRY_RUN:
            self.disabled_reason = "DRY-RUN: no account to track"
            return None
        if s.run_mode is RunMode.OFFLINE and cred.private_key is None:
            self.disabled_reason = "OFFLINE needs POLY_PRIVATE_KEY (the trader's key) to track"
            return None
        try:
            return await resolve_identity(s, self.rest)
        except RuntimeError as exc:
            self.disabled_reason = str(exc)
            return None

    def sections(self) -> dict[str, Any]:
        assert self.tracker is not None
        all_sections = self.tracker.status_sections()
        return {k: all_sections[k] for k in STANDALONE_SECTIONS}

    def write_status(self) -> None:
        path = self.settings.paths.reports_dir / STATUS_FILE
        try:
            merge_status(path, self.sections(), updated_at=iso_ms(self.clock.time()))
        except OSError as exc:
            log.warning("orders-ws: status write failed: %s", exc)

    async def stop(self) -> None:
        if self.tracker is not None:
            await self.tracker.stop()
            self.write_status()
        if self.rest is not None:
            with contextlib.suppress(Exception):
                await self.rest.aclose()
        if self.sink is not None:
            self.sink.close()


async def run_standalone(
    settings: Settings,
    *,
    limit: int,
    stop: asyncio.Event,
    status_interval: float = 2.0,
    clock: Clock | None = None,
) -> StandaloneTracker:
    """Run until `stop` is set, writing the sections every `status_interval` seconds."""
    proc = StandaloneTracker(settings, limit=limit, clock=clock)
    try:
        await proc.start()
        while not stop.is_set():
            proc.write_status()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), status_interval)
    finally:
        await proc.stop()
    return proc
