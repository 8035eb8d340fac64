"""Order signing throughput: our `protocol.signing` vs py-clob-client-v2 1.2.1, in the same run.

Two workloads, each on the same pre-drawn limit orders (random tick, side, grid price, size,
standard or neg-risk exchange):

* sign  - amounts + EIP-712 order + signature (PCC2 `OrderBuilder.build_order`).
* post  - the above + compact POST /order body + L2 HMAC headers (what an order costs to send).

Ours runs twice: as the SDK signs (RFC 6979 nonces, the memo of limit amounts cleared before
every run), and as the trader signs (`presigned`: nonces stocked by `PrivateKeySigner.presign`
before the run, outside the timing; amounts memo still cleared).

Before timing, two orders are built by both with the same salt and timestamp and must be
byte-identical (signature, order hash, body and L2 headers). PCC2's eth-account uses coincurve
when it is installed, as it is here, so this compares against its fast path.

Run: .venv/bin/python bench/sign.py [--orders N] [--repeat R]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from py_clob_client_v2.clob_types import ApiCreds as Pcc2Creds
from py_clob_client_v2.clob_types import CreateOrderOptions, OrderArgsV2, RequestArgs
from py_clob_client_v2.headers.headers import create_level_2_headers
from py_clob_client_v2.order_builder import builder as pcc2_builder
from py_clob_client_v2.order_utils.exchange_order_builder_v2 import ExchangeOrderBuilderV2
from py_clob_client_v2.order_utils.model.order_data_v2 import order_to_json_v2
from py_clob_client_v2.signer import Signer as Pcc2Signer

from polymarket_bot.core.types import OrderType, Side, TickSize
from polymarket_bot.protocol.auth import ApiCreds, build_l2_headers, generate_api_creds
from polymarket_bot.protocol.eip712 import PrivateKeySigner
from polymarket_bot.protocol.signing import (
    _limit_units,
    create_limit_order,
    encode_post_order_body,
    exchange_domain,
)

TOKENS = [
    ("71321045679252212594626385532706912750332728571942532289631379312455583992563", False),
    ("52114319501245915516055106046884209969926127482827954674443846427813813222426", True),
]
Case = tuple[str, bool, Side, Decimal, Decimal, TickSize, int]


def make_cases(n: int, seed: int = 11) -> list[Case]:
    rng = random.Random(seed)
    cases: list[Case] = []
    for _ in range(n):
        tick = rng.choice([TickSize.T0_01, TickSize.T0_001, TickSize.T0_1, TickSize.T0_0001])
        price = tick.decimal * rng.randint(1, int(1 / tick.decimal) - 1)
        size = Decimal(rng.randint(500, 100_000)) / 100
        token, neg_risk = rng.choice(TOKENS)
        side = rng.choice([Side.BUY, Side.SELL])
        cases.append((token, neg_risk, side, price, size, tick, rng.randrange(1, 2**41)))
    return cases


def _time(fn: Callable[[], None], repeat: int, before: Callable[[], object] | None = None) -> float:
    """Best-of-`repeat` wall time of one call of `fn` (GC off, as timeit does); `before` runs
    untimed before each call."""
    best = float("inf")
    for _ in range(repeat):
        _limit_units.cache_clear()  # every run computes its amounts
        if before is not None:
            before()
        gc.disable()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        gc.enable()
    return best


def check_identical(key: bytes, creds: ApiCreds) -> None:
    """Same inputs, same salt and clock: both must produce the same bytes (signature, order
    hash, POST body and L2 headers), on both exchanges and both sides."""
    salt, ts_ms, ts_s = 123456789, 1767225600123, 1767225600

    class PinnedSalt(ExchangeOrderBuilderV2):  # type: ignore[misc]
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, generate_salt=lambda: str(salt), **kw)

    class _Clock:
        @staticmethod
        def time_ns() -> int:
            return ts_ms * 1_000_000

    pcc2_signer = Pcc2Signer("0x" + key.hex(), 137)
    pcc2_creds = Pcc2Creds(creds.api_key, creds.secret, creds.passphrase)
    ours_signer = PrivateKeySigner(key)
    cases = [
        (TOKENS[1], Side.BUY, "0.57", "21.78", TickSize.T0_01),
        (TOKENS[0], Side.SELL, "0.123", "1234.5", TickSize.T0_001),
    ]
    for (token, neg_risk), side, price, size, tick in cases:
        real_builder, real_time = pcc2_builder.ExchangeOrderBuilderV2, pcc2_builder.time
        pcc2_builder.ExchangeOrderBuilderV2, pcc2_builder.time = PinnedSalt, _Clock
        try:
            theirs = pcc2_builder.OrderBuilder(pcc2_signer).build_order(
                OrderArgsV2(token_id=token, price=float(price), size=float(size), side=side.value),
                CreateOrderOptions(tick_size=tick.value, neg_risk=neg_risk),
            )
        finally:
            pcc2_builder.ExchangeOrderBuilderV2, pcc2_builder.time = real_builder, real_time
        ours = create_limit_order(
            ours_signer,
            token_id=token,
            side=side,
            price=Decimal(price),
            size=Decimal(size),
            tick_size=tick,
            neg_risk=neg_risk,
            salt=salt,
            timestamp_ms=ts_ms,
        )
        assert ours.signature == theirs.signature, "signatures differ"
        domain = exchange_domain(137, neg_risk=neg_risk)
        their_hasher = ExchangeOrderBuilderV2(domain.verifying_contract, 137, pcc2_signer)
        their_hash = their_hasher.build_order_hash(their_hasher.build_order_typed_data(theirs))
        assert ours.order_hash == their_hash, "order hashes differ"
        body = encode_post_order_body(ours, creds.api_key, OrderType.GTC)
        their_body = json.dumps(
            order_to_json_v2(theirs, creds.api_key, "GTC"),
            separators=(",", ":"),
            ensure_ascii=False,
        )
        assert body == their_body, "bodies differ"
        headers = build_l2_headers(creds, ours_signer.address, "POST", "/order", body, ts_s)
        their_headers = create_level_2_headers(
            pcc2_signer,
            pcc2_creds,
            RequestArgs(method="POST", request_path="/order", serialized_body=their_body),
            timestamp=ts_s,
        )
        assert headers == their_headers, "L2 headers differ"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    rng = random.Random(3)
    key = rng.randbytes(32)
    creds = generate_api_creds(rng)
    check_identical(key, creds)

    cases = make_cases(args.orders)
    ours_signer = PrivateKeySigner(key)
    pcc2_signer = Pcc2Signer("0x" + key.hex(), 137)
    pcc2_ob = pcc2_builder.OrderBuilder(pcc2_signer)
    pcc2_creds = Pcc2Creds(creds.api_key, creds.secret, creds.passphrase)
    pcc2_args = [
        (
            OrderArgsV2(token_id=t, price=float(p), size=float(s), side=side.value),
            CreateOrderOptions(tick_size=tick.value, neg_risk=nr),
        )
        for t, nr, side, p, s, tick, _ in cases
    ]
    ts_ms, ts_s = 1767225600000, 1767225600

    def ours_sign() -> None:
        for t, nr, side, p, s, tick, salt in cases:
            create_limit_order(
                ours_signer,
                token_id=t,
                side=side,
                price=p,
                size=s,
                tick_size=tick,
                neg_risk=nr,
                salt=salt,
                timestamp_ms=ts_ms,
            )

    def ours_post() -> None:
        for t, nr, side, p, s, tick, salt in cases:
            signed = create_limit_order(
                ours_signer,
                token_id=t,
                side=side,
                price=p,
                size=s,
                tick_size=tick,
                neg_risk=nr,
                salt=salt,
                timestamp_ms=ts_ms,
            )
            body = encode_post_order_body(signed, creds.api_key, OrderType.GTC)
            build_l2_headers(creds, ours_signer.address, "POST", "/order", body, ts_s)

    def pcc2_sign() -> None:
        for order_args, opts in pcc2_args:
            pcc2_ob.build_order(order_args, opts)

    def pcc2_post() -> None:
        for order_args, opts in pcc2_args:
            order = pcc2_ob.build_order(order_args, opts)
            body = json.dumps(
                order_to_json_v2(order, creds.api_key, "GTC"),
                separators=(",", ":"),
                ensure_ascii=False,
            )
            create_level_2_headers(
                pcc2_signer,
                pcc2_creds,
                RequestArgs(method="POST", request_path="/order", serialized_body=body),
                timestamp=ts_s,
            )

    n = len(cases)
    print(f"{n} limit orders, best of {args.repeat}")
    print(
        f"{'workload':<8} {'ours/s':>10} {'pcc2/s':>10} {'ours µs':>9} {'pcc2 µs':>9} {'ratio':>7}"
    )
    results: dict[str, list[float]] = {}
    for name, ours_fn, pcc2_fn in (("sign", ours_sign, pcc2_sign), ("post", ours_post, pcc2_post)):
        t_ours = _time(ours_fn, args.repeat)
        t_pcc2 = _time(pcc2_fn, args.repeat)
        results[name] = [t_ours, t_pcc2]
        print(
            f"{name:<8} {n / t_ours:>10,.0f} {n / t_pcc2:>10,.0f} "
            f"{t_ours / n * 1e6:>9.1f} {t_pcc2 / n * 1e6:>9.1f} {t_pcc2 / t_ours:>6.1f}x"
        )
    ratio = statistics.mean(r[1] / r[0] for r in results.values())
    print(f"mean speed-up over py-clob-client-v2: {ratio:.1f}x (RFC 6979 nonces, as the SDK)")
    for name, ours_fn in (("sign", ours_sign), ("post", ours_post)):
        t_fast = _time(ours_fn, args.repeat, before=lambda: ours_signer.presign(n))
        t_ours, t_pcc2 = results[name]
        print(
            f"{name + ', presigned':<18} ours {t_fast / n * 1e6:.1f} µs/order: "
            f"{t_ours / t_fast:.1f}x ours with RFC 6979, {t_pcc2 / t_fast:.1f}x pcc2"
        )


if __name__ == "__main__":
    main()
