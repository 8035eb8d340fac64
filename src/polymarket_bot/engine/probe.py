"""API preflight (`polymarket-launch probe api --limit N`, seed §11): is the venue usable from here?

Checks, each timed and judged ok / warn / fail / skip:

1. `clob_time`: `GET /time`, the clock skew against the local clock (warn above 5 s: L2 request
   signatures carry a timestamp);
2. `clob_markets`: the first `GET /markets` page;
3. `gamma_markets`: Gamma `GET /markets` (active, by 24 h volume), up to N markets;
4. `clob_books`: `POST /books` for the sample markets' tokens -> best bid/ask per market;
5. `ws_market`: a market-channel WebSocket subscribe to the sample tokens that yields a `book`;
6. with credentials: `l2_auth` (`GET /data/orders`) and `balance` (`GET /balance-allowance`);
   with only a private key, `l1_auth` derives the existing API key (read-only, creates nothing).

The proxy (PROXY_ENABLED / PROXY_URL) is used for every connection. The verdict fails when any
check fails; warnings do not fail it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from polymarket_bot.config.model import Settings
from polymarket_bot.core.clock import Clock, LiveClock
from polymarket_bot.core.types import from_base_units
from polymarket_bot.engine.market_data.config import market_channel_url
from polymarket_bot.engine.market_data.shards import initial_frame
from polymarket_bot.protocol.auth import ApiCreds
from polymarket_bot.protocol.codec import MarketDecoder
from polymarket_bot.protocol.eip712 import PrivateKeySigner
from polymarket_bot.protocol.errors import DecodeError
from polymarket_bot.protocol.wire import BookEvent
from polymarket_bot.protocol.wire_rest import OrderBookSummary
from polymarket_bot.transport.errors import TransportError
from polymarket_bot.transport.gamma import GammaClient, GammaFilter
from polymarket_bot.transport.proxy import redact_proxy_url
from polymarket_bot.transport.rest import ClobRestClient
from polymarket_bot.transport.retry import Backoff, RetryPolicy
from polymarket_bot.transport.ws import WsConnection

__all__ = ["ProbeCheck", "ProbeReport", "SampleMarket", "run_probe"]

T = TypeVar("T")

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"
SKEW_WARN_SECONDS = 5.0


@dataclass(slots=True)
class ProbeCheck:
    name: str
    status: str
    detail: str = ""
    latency_ms: float | None = None


@dataclass(slots=True)
class SampleMarket:
    condition_id: str
    question: str
    token_id: str
    outcome: str
    best_bid: str | None = None
    best_ask: str | None = None


@dataclass(slots=True)
class ProbeReport:
    clob_url: str
    ws_url: str
    gamma_url: str
    proxy: str | None
    checks: list[ProbeCheck] = field(default_factory=list)
    markets: list[SampleMarket] = field(default_factory=list)
    server_time: int | None = None
    clock_skew_seconds: float | None = None

    @property
    def ok(self) -> bool:
        return not any(c.status == FAIL for c in self.checks)

    def verdict(self) -> str:
        failed = [c for c in self.checks if c.status == FAIL]
        warned = [c for c in self.checks if c.status == WARN]
        if failed:
            reasons = "; ".join(f"{c.name}: {c.detail}" for c in failed)
            return f"VERDICT: FAIL ({len(failed)} check(s) failed) - {reasons}"
        note = f", {len(warned)} warning(s)" if warned else ""
        quoted = sum(1 for m in self.markets if m.best_bid or m.best_ask)
        return (
            f"VERDICT: OK - CLOB, Gamma and WebSocket reachable; {len(self.markets)} sample "
            f"market(s), {quoted} with quotes{note}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "verdict": self.verdict(),
            "clob_url": self.clob_url,
            "ws_url": self.ws_url,
            "gamma_url": self.gamma_url,
            "proxy": self.proxy,
            "server_time": self.server_time,
            "clock_skew_seconds": self.clock_skew_seconds,
            "checks": [asdict(c) for c in self.checks],
            "markets": [asdict(m) for m in self.markets],
        }


async def _timed(
    report: ProbeReport, name: str, call: Callable[[], Awaitable[T]], timeout: float
) -> tuple[T | None, float]:
    """Run one call; on failure record a failed check and return None."""
    start = time.perf_counter()
    try:
        result = await asyncio.wait_for(call(), timeout)
    except asyncio.TimeoutError:
        report.checks.append(ProbeCheck(name, FAIL, f"no answer within {timeout:g} s"))
        return None, 0.0
    except (TransportError, DecodeError, OSError, ValueError) as exc:
        report.checks.append(ProbeCheck(name, FAIL, _short(exc)))
        return None, 0.0
    return result, (time.perf_counter() - start) * 1000


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 240 else text[:237] + "..."


def _best(summary: OrderBookSummary) -> tuple[str | None, str | None]:
    """Best bid/ask whatever the level order (the venue sends best last)."""
    bid = max(summary.bids, key=lambda lv: Decimal(lv.price), default=None)
    ask = min(summary.asks, key=lambda lv: Decimal(lv.price), default=None)
    return (bid.price if bid else None, ask.price if ask else None)


async def run_probe(
    settings: Settings,
    *,
    limit: int = 5,
    timeout: float = 10.0,
    clock: Clock | None = None,
) -> ProbeReport:
    """Run every check against the configured endpoints; never raises for venue trouble."""
    clock = clock or LiveClock()
    venue, svc = settings.venue, settings.service
    proxy = svc.proxy
    report = ProbeReport(
        clob_url=venue.clob_rest_url,
        ws_url=market_channel_url(venue.clob_ws_url) if venue.clob_ws_url else "",
        gamma_url=venue.gamma_api_url,
        proxy=redact_proxy_url(proxy) if proxy else None,
    )
    if not venue.clob_rest_url:
        report.checks.append(
            ProbeCheck(
                "config",
                FAIL,
                "CLOB_REST_URL is empty (OFFLINE mode starts the built-in simulator; set "
                "CLOB_REST_URL, CLOB_WS_URL and GAMMA_API_URL to probe a venue)",
            )
        )
        return report
    retry = RetryPolicy(max_attempts=1)
    rest = ClobRestClient(
        venue.clob_rest_url, proxy=proxy, timeout=timeout, retry=retry, clock=clock
    )
    gamma = (
        GammaClient(venue.gamma_api_url, proxy=proxy, timeout=timeout, retry=retry, clock=clock)
        if venue.gamma_api_url
        else None
    )
    try:
        await _probe_clob(report, rest, clock, timeout)
        await _probe_markets(report, rest, gamma, limit, timeout)
        await _probe_books(report, rest, timeout)
        await _probe_ws(report, proxy, timeout, clock)
        await _probe_auth(report, rest, settings, timeout)
    finally:
        await rest.aclose()
        if gamma is not None:
            await gamma.aclose()
    return report


async def _probe_clob(
    report: ProbeReport, rest: ClobRestClient, clock: Clock, timeout: float
) -> None:
    before = clock.time()
    server, ms = await _timed(report, "clob_time", rest.get_server_time, timeout)
    if server is None:
        return
    local = (before + clock.time()) / 2
    skew = server + 0.5 - local  # the server's clock is whole seconds: centre it
    report.server_time = server
    report.clock_skew_seconds = round(skew, 3)
    status = WARN if abs(skew) > SKEW_WARN_SECONDS else OK
    detail = f"server time {server}, local clock skew {skew:+.1f} s"
    if status == WARN:
        detail += " (signed requests may be refused: sync the clock)"
    report.checks.append(ProbeCheck("clob_time", status, detail, round(ms, 1)))
    page, ms = await _timed(report, "clob_markets", rest.get_markets, timeout)
    if page is not None:
        report.checks.append(
            ProbeCheck("clob_markets", OK, f"{len(page.data)} markets on the first page", ms)
        )


async def _probe_markets(
    report: ProbeReport,
    rest: ClobRestClient,
    gamma: GammaClient | None,
    limit: int,
    timeout: float,
) -> None:
    if gamma is None:
        report.checks.append(ProbeCheck("gamma_markets", SKIP, "GAMMA_API_URL is empty"))
    else:
        filters = GammaFilter(active=True, closed=False, order="volume24hr", ascending=False)

        async def listing() -> Any:
            return await gamma.list_markets(filters, limit=max(1, min(limit, 100)))

        markets, ms = await _timed(report, "gamma_markets", listing, timeout)
        if markets is not None:
            for g in markets:
                tokens = g.token_ids
                if not tokens or len(report.markets) >= limit:
                    continue
                outcomes = tuple(g.outcomes or ())
                report.markets.append(
                    SampleMarket(
                        g.conditionId, g.question, tokens[0], outcomes[0] if outcomes else ""
                    )
                )
            report.checks.append(
                ProbeCheck("gamma_markets", OK, f"{len(markets)} active markets listed", ms)
            )
    if report.markets or limit <= 0:
        return
    # No Gamma sample: take active markets from the CLOB's first page instead.
    page, _ = await _timed(report, "clob_sample", rest.get_markets, timeout)
    for m in page.data if page is not None else ():
        if m.active and not m.closed and m.tokens and len(report.markets) < limit:
            t = m.tokens[0]
            report.markets.append(SampleMarket(m.condition_id, m.question, t.token_id, t.outcome))


async def _probe_books(report: ProbeReport, rest: ClobRestClient, timeout: float) -> None:
    if not report.markets:
        report.checks.append(ProbeCheck("clob_books", SKIP, "no sample markets"))
        return
    tokens = [m.token_id for m in report.markets]

    async def books() -> list[OrderBookSummary]:
        return await rest.get_books(tokens)

    result, ms = await _timed(report, "clob_books", books, timeout)
    if result is None:
        return
    by_token = {b.asset_id: b for b in result}
    for m in report.markets:
        summary = by_token.get(m.token_id)
        if summary is not None:
            m.best_bid, m.best_ask = _best(summary)
    quoted = sum(1 for m in report.markets if m.best_bid or m.best_ask)
    status = OK if result else WARN
    report.checks.append(
        ProbeCheck("clob_books", status, f"{len(result)} books, {quoted} with quotes", ms)
    )


async def _probe_ws(report: ProbeReport, proxy: str | None, timeout: float, clock: Clock) -> None:
    if not report.ws_url:
        report.checks.append(ProbeCheck("ws_market", FAIL, "CLOB_WS_URL is empty"))
        return
    tokens = [m.token_id for m in report.markets]
    if not tokens:
        report.checks.append(ProbeCheck("ws_market", SKIP, "no sample tokens to subscribe to"))
        return
    decoder = MarketDecoder()
    books: dict[str, BookEvent] = {}
    got = asyncio.Event()

    def on_message(data: bytes | str, recv_ts: float) -> None:
        with contextlib.suppress(DecodeError):
            for ev in decoder.decode(data):
                if isinstance(ev, BookEvent):
                    books[ev.asset_id] = ev
                    got.set()

    conn = WsConnection(
        report.ws_url,
        on_message=on_message,
        subscribe_frames=lambda: [initial_frame(tokens)],
        ping_interval=0,
        silence_timeout=0,
        open_timeout=timeout,
        backoff=Backoff(base=0.5, cap=2.0, min_delay=0.2),
        proxy=proxy,
        clock=clock,
        name="probe",
    )
    start = time.perf_counter()
    await conn.start()
    try:
        await asyncio.wait_for(got.wait(), timeout)
    except asyncio.TimeoutError:
        why = conn.last_error or (
            "connected and subscribed, but no book snapshot"
            if conn.connects
            else "could not connect"
        )
        report.checks.append(
            ProbeCheck("ws_market", FAIL, f"no snapshot within {timeout:g} s: {why}")
        )
        return
    finally:
        await conn.stop()
    ms = (time.perf_counter() - start) * 1000
    report.checks.append(
        ProbeCheck("ws_market", OK, f"book snapshot for {len(books)} of {len(tokens)} tokens", ms)
    )


async def _probe_auth(
    report: ProbeReport, rest: ClobRestClient, settings: Settings, timeout: float
) -> None:
    creds = settings.credentials
    key = creds.private_key
    if key is None:
        report.checks.append(
            ProbeCheck("l2_auth", SKIP, "no POLY_PRIVATE_KEY (public endpoints only)")
        )
        return
    signer = PrivateKeySigner(key.get_secret_value())
    if creds.has_api_credentials:
        assert creds.api_key and creds.api_secret and creds.api_passphrase
        api = ApiCreds(
            creds.api_key.get_secret_value(),
            creds.api_secret.get_secret_value(),
            creds.api_passphrase.get_secret_value(),
        )
    else:

        async def derive() -> ApiCreds:
            return await rest.derive_api_key(signer)

        derived, ms = await _timed(report, "l1_auth", derive, timeout)
        if derived is None:
            last = report.checks[-1]
            if "HTTP 400" in last.detail:
                last.status = WARN
                last.detail = "no API key for this address yet (create one before trading)"
            return
        api = derived
        report.checks.append(ProbeCheck("l1_auth", OK, "derived the existing API key", ms))
    rest.set_credentials(api, signer.address)
    rest.signature_type = creds.signature_type

    orders, ms = await _timed(report, "l2_auth", rest.get_open_orders, timeout)
    if orders is None:
        return
    report.checks.append(
        ProbeCheck(
            "l2_auth",
            OK,
            f"API key accepted for {signer.address} ({len(orders.data)} open orders)",
            ms,
        )
    )
    balance, ms = await _timed(report, "balance", rest.get_balance_allowance, timeout)
    if balance is None:
        return
    amount = from_base_units(int(balance.balance))
    allowances = balance.allowances or {}
    allowance = (
        ", allowances set on " + str(sum(1 for v in allowances.values() if int(v) > 0))
        if allowances
        else ""
    )
    status = OK if amount > 0 else WARN
    detail = f"pUSD balance {amount:f}{allowance}" + ("" if amount > 0 else " (nothing to trade)")
    report.checks.append(ProbeCheck("balance", status, detail, ms))
