"""Where the trader's venue is and who it trades as, per run mode.

- OFFLINE: the built-in simulator (started in-process on loopback unless `CLOB_REST_URL` names a
  running one) and a throwaway key made at start; API credentials are derived over L1 exactly as
  with Polymarket, so OFFLINE runs the code that trades real money.
- DRY-RUN: the configured venue's public data; no key, no credentials (orders never leave).
- LIVE: the configured venue with the configured key and API credentials.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from polymarket_bot.config.model import Settings
from polymarket_bot.core.clock import Clock
from polymarket_bot.core.modes import RunMode
from polymarket_bot.protocol.auth import ApiCreds
from polymarket_bot.protocol.eip712 import PrivateKeySigner
from polymarket_bot.sim.server import SimServer
from polymarket_bot.transport.rest import ClobRestClient

__all__ = ["Identity", "VenueEndpoints", "resolve_endpoints", "resolve_identity"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class VenueEndpoints:
    rest_url: str
    ws_url: str
    gamma_url: str
    sim: SimServer | None = None
    """The in-process simulator, when the trader started one (stop it on exit)."""


@dataclass(frozen=True, slots=True)
class Identity:
    signer: PrivateKeySigner
    creds: ApiCreds
    funder: str | None
    signature_type: int


async def resolve_endpoints(
    settings: Settings,
    *,
    clock: Clock,
    sim_markets: int = 8,
    sim_seed: int = 7,
    sim_port: int = 0,
) -> VenueEndpoints:
    venue = settings.venue
    if settings.run_mode is RunMode.OFFLINE and venue.uses_simulator:
        sim = SimServer(n_markets=sim_markets, seed=sim_seed, port=sim_port, clock=clock)
        await sim.start()
        _log.info("OFFLINE: built-in simulator on %s (%d markets)", sim.rest_url, sim_markets)
        return VenueEndpoints(sim.rest_url, sim.ws_url, sim.gamma_url, sim)
    return VenueEndpoints(venue.clob_rest_url, venue.clob_ws_url, venue.gamma_api_url)


async def resolve_identity(settings: Settings, rest: ClobRestClient) -> Identity | None:
    """The signing key and API credentials for the mode (None in DRY-RUN: nothing is signed)."""
    mode = settings.run_mode
    if mode is RunMode.DRY_RUN:
        return None
    if mode is RunMode.OFFLINE:
        # POLY_PRIVATE_KEY when given (a restarted trader is the same simulator account), else a
        # throwaway key for this run only; the simulator funds an address on first sight.
        key = settings.credentials.private_key
        signer = PrivateKeySigner(
            key.get_secret_value() if key is not None else secrets.token_bytes(32)
        )
        creds = await rest.create_or_derive_api_key(signer)
        rest.set_credentials(creds, signer.address)
        return Identity(signer, creds, None, 0)
    cred = settings.credentials
    if cred.private_key is None or not cred.has_api_credentials:
        raise RuntimeError("LIVE needs POLY_PRIVATE_KEY and POLYMARKET_API_KEY/SECRET/PASSPHRASE")
    signer = PrivateKeySigner(cred.private_key.get_secret_value())
    assert cred.api_key is not None and cred.api_secret is not None
    assert cred.api_passphrase is not None
    creds = ApiCreds(
        cred.api_key.get_secret_value(),
        cred.api_secret.get_secret_value(),
        cred.api_passphrase.get_secret_value(),
    )
    rest.set_credentials(creds, signer.address)
    funder = cred.funder or None
    return Identity(signer, creds, funder, cred.signature_type)
