"""HTTP client cost on the trading path: httpx vs the lean http1 client, in one run.

A minimal HTTP/1.1 server runs in a child process on loopback (so the client's process does only
client work) and answers every request with a fixed ~190-byte JSON body, by Content-Length (or
chunked with --chunked). The client sends `POST /order` with a ~1.2 kB JSON body and the five L2
headers (fixed values: signing is not part of the send), through four variants, interleaved round
by round:

    httpx        httpx.AsyncClient.request (configured as HttpCore configures it)
    http1        Http1Client.request
    core[httpx]  HttpCore(engine="httpx").request   (limiter, stats, error mapping on top)
    core[http1]  HttpCore(engine="http1").request

Two figures per variant, p50 and p99 in microseconds:

    round trip    call -> response returned
    sent          call -> the last `transport.write` of the request returned (the bytes are in
                  the kernel: on loopback that includes the kernel delivering them to the server
                  process and waking it, ~10-15 us here)
    write         call -> that last `transport.write` was called (the client's own work before
                  the final syscall; httpx's first write, the head, is inside it)
    writes        transport writes per request

    python bench/http_client.py [--rounds 3000] [--chunked] [--only http1 core[http1]]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import multiprocessing
import secrets
import statistics
import time
import uuid
from asyncio import selector_events
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from typing import Any

import httpx

from polymarket_bot.transport.http import HttpCore
from polymarket_bot.transport.http1 import Http1Client

RESPONSE_BODY = json.dumps(
    {
        "success": True,
        "errorMsg": "",
        "orderID": "0x" + "ab" * 32,
        "status": "live",
        "makingAmount": "",
        "takingAmount": "",
        "transactionsHashes": [],
        "tradeIDs": [],
    },
    separators=(",", ":"),
).encode()
# Throwaway values of the real sizes, made per run (never a real key or secret): the request
# carries the same bytes as an L2-signed order.
_ADDRESS = "0x" + secrets.token_hex(20)
_API_KEY = str(uuid.uuid4())
L2_HEADERS = {
    "POLY_ADDRESS": _ADDRESS,
    "POLY_SIGNATURE": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    "POLY_TIMESTAMP": "1767225600",
    "POLY_API_KEY": _API_KEY,
    "POLY_PASSPHRASE": secrets.token_hex(32),
}
TOKEN_ID = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
ORDER_BODY = json.dumps(
    {
        "order": {
            "salt": 123456789,
            "maker": _ADDRESS,
            "signer": _ADDRESS,
            "tokenId": TOKEN_ID,
            "makerAmount": "5000000",
            "takerAmount": "10000000",
            "side": "BUY",
            "signatureType": 0,
            "timestamp": "1767225600000",
            "metadata": "0x" + "00" * 32,
            "builder": "0x" + "00" * 32,
            "expiration": "0",
            "signature": "0x" + "5f" * 65,
        },
        "owner": _API_KEY,
        "orderType": "GTC",
        "postOnly": True,
        "deferExec": False,
    },
    separators=(",", ":"),
)


# --- the server (child process) -----------------------------------------------------------------


class _ServerProtocol(asyncio.Protocol):
    def __init__(self, chunked: bool) -> None:
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        if chunked:
            self.reply = (
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
                + f"{len(RESPONSE_BODY):x}\r\n".encode()
                + RESPONSE_BODY
                + b"\r\n0\r\n\r\n"
            )
        else:
            self.reply = (
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(RESPONSE_BODY)}\r\n\r\n".encode()
                + RESPONSE_BODY
            )

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            length = 0
            for line in self.buf[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            total = end + 4 + length
            if len(self.buf) < total:
                return
            self.buf = self.buf[total:]
            assert self.transport is not None
            self.transport.write(self.reply)


def _serve(conn: Connection, chunked: bool) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _ServerProtocol(chunked), "127.0.0.1", 0)
        conn.send(server.sockets[0].getsockname()[1])
        await loop.run_in_executor(None, conn.recv)  # the parent says stop
        server.close()

    asyncio.run(main())


# --- the client ---------------------------------------------------------------------------------

WRITES: list[tuple[float, float]] = []


def _stamp_writes() -> None:
    """Record when every socket-transport write of this process is called and returns (all of
    them are client requests: the server lives in another process)."""
    original = selector_events._SelectorSocketTransport.write  # type: ignore[attr-defined]

    def write(self: Any, data: Any) -> None:
        called = time.perf_counter()
        original(self, data)
        WRITES.append((called, time.perf_counter()))

    selector_events._SelectorSocketTransport.write = write  # type: ignore[attr-defined]


Call = Callable[[], Awaitable[Any]]
VARIANTS = ("httpx", "http1", "core[httpx]", "core[http1]")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e6


async def run(rounds: int, warmup: int, port: int, only: list[str] | None) -> None:
    url = f"http://127.0.0.1:{port}"
    body = ORDER_BODY.encode()
    headers = {"Content-Type": "application/json", **L2_HEADERS}
    hx = httpx.AsyncClient(
        timeout=httpx.Timeout(10.0),
        trust_env=False,
        headers={"User-Agent": "polymarket-bot", "Accept": "*/*"},
    )
    h1 = Http1Client(url, headers={"User-Agent": "polymarket-bot", "Accept": "*/*"})
    core_hx = HttpCore(url, engine="httpx")
    core_h1 = HttpCore(url, engine="http1")

    def l2() -> dict[str, str]:
        return L2_HEADERS

    variants: dict[str, Call] = {
        "httpx": lambda: hx.request("POST", url + "/order", content=body, headers=headers),
        "http1": lambda: h1.request("POST", "/order", headers=headers, body=body),
        "core[httpx]": lambda: core_hx.request(
            "POST", "/order", endpoint="POST /order", body=ORDER_BODY, headers=l2, idempotent=False
        ),
        "core[http1]": lambda: core_h1.request(
            "POST", "/order", endpoint="POST /order", body=ORDER_BODY, headers=l2, idempotent=False
        ),
    }
    if only:
        variants = {name: variants[name] for name in only}
    rtt: dict[str, list[float]] = {name: [] for name in variants}
    sent: dict[str, list[float]] = {name: [] for name in variants}
    call: dict[str, list[float]] = {name: [] for name in variants}
    writes: dict[str, list[int]] = {name: [] for name in variants}
    names = list(variants)
    for i in range(warmup + rounds):
        order = names[i % len(names) :] + names[: i % len(names)]
        for name in order:
            send = variants[name]
            WRITES.clear()
            t0 = time.perf_counter()
            response = await send()
            t1 = time.perf_counter()
            assert response.status_code == 200 and response.content == RESPONSE_BODY
            if i >= warmup:
                rtt[name].append(t1 - t0)
                call[name].append(WRITES[-1][0] - t0)
                sent[name].append(WRITES[-1][1] - t0)
                writes[name].append(len(WRITES))
    await hx.aclose()
    await h1.aclose()
    await core_hx.aclose()
    await core_h1.aclose()

    print(f"{rounds} rounds per variant, interleaved; microseconds")
    print(
        f"{'variant':<12} {'rtt p50':>8} {'rtt p99':>8} {'sent p50':>9} {'sent p99':>9}"
        f" {'write p50':>10} {'write p99':>10} writes"
    )
    for name in names:
        print(
            f"{name:<12} {_pct(rtt[name], 0.5):8.1f} {_pct(rtt[name], 0.99):8.1f} "
            f"{_pct(sent[name], 0.5):9.1f} {_pct(sent[name], 0.99):9.1f} "
            f"{_pct(call[name], 0.5):10.1f} {_pct(call[name], 0.99):10.1f} "
            f"{statistics.mean(writes[name]):6.1f}"
        )
    if len(names) < len(VARIANTS):
        return
    print(
        "http1/httpx p50: round trip "
        f"{_pct(rtt['http1'], 0.5) / _pct(rtt['httpx'], 0.5):.2f} (raw), "
        f"{_pct(rtt['core[http1]'], 0.5) / _pct(rtt['core[httpx]'], 0.5):.2f} (HttpCore); "
        f"ready->sent {_pct(sent['http1'], 0.5) / _pct(sent['httpx'], 0.5):.2f} (raw), "
        f"{_pct(sent['core[http1]'], 0.5) / _pct(sent['core[httpx]'], 0.5):.2f} (HttpCore)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--chunked", action="store_true", help="answer with chunked bodies")
    parser.add_argument("--only", nargs="+", choices=VARIANTS, help="run only these variants")
    args = parser.parse_args()
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=_serve, args=(child, args.chunked), daemon=True)
    server.start()
    try:
        port = parent.recv()
        _stamp_writes()
        gc.collect()
        asyncio.run(run(args.rounds, args.warmup, port, args.only))
    finally:
        parent.send("stop")
        server.join(5)


if __name__ == "__main__":
    main()
