"""PROXY_ENABLED / PROXY_URL -> the proxy URL handed to httpx (`proxy=`) and websockets (`proxy=`).

Only this switch decides: the clients ignore ambient `HTTP(S)_PROXY` variables so a trader never
routes through a proxy nobody configured. HTTP(S) proxies work out of the box (CONNECT for
`https://` and `wss://`); SOCKS needs the optional `socksio` (httpx) and `python-socks`
(websockets) packages, which are not installed by default.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

__all__ = ["PROXY_SCHEMES", "redact_proxy_url", "resolve_proxy"]

PROXY_SCHEMES = frozenset({"http", "https", "socks5", "socks5h", "socks4", "socks4a"})


def resolve_proxy(enabled: bool, url: str | None) -> str | None:
    """The proxy URL to use, or None. Raises ValueError for an enabled proxy without a usable
    URL (a silent direct connection would defeat the operator's intent)."""
    if not enabled:
        return None
    text = (url or "").strip()
    if not text:
        raise ValueError("PROXY_ENABLED is true but PROXY_URL is empty")
    parts = urlsplit(text)
    if parts.scheme.lower() not in PROXY_SCHEMES or not parts.hostname:
        raise ValueError(
            f"PROXY_URL must look like scheme://host:port with scheme in "
            f"{sorted(PROXY_SCHEMES)}, got {redact_proxy_url(text)!r}"
        )
    try:
        parts.port  # noqa: B018 - validates the port range
    except ValueError as exc:
        raise ValueError(f"PROXY_URL has an invalid port: {exc}") from None
    return text


def redact_proxy_url(url: str) -> str:
    """`http://user:secret@host:3128` -> `http://***@host:3128` (for logs and status)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "<unparseable proxy url>"
    if parts.username is None and parts.password is None:
        return url
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = "***@" + (host or "") + (f":{port}" if port is not None else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
