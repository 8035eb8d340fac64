"""API key registry of the simulated venue (ref §4): (address, nonce) -> credentials.

`POST /auth/api-key` creates credentials for a (signer address, nonce) pair once; a second create
fails like the venue's (`Could not create api key`). `GET /auth/derive-api-key` returns the
existing credentials for the pair, or fails (`Could not derive api key!`). L2 requests and the
user WebSocket look a key up by its id; the key id is also the order `owner`.

Funders: orders signed with signature type 1/2 name a funder (proxy or Safe) as `maker`. The venue
knows which funder belongs to a key; we learn it from the first accepted order of each signature
type, so `GET /balance-allowance?signature_type=2` reports the funder's balance.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from polymarket_bot.protocol.auth import ApiCreds, generate_api_creds

__all__ = ["ApiKeyRecord", "ApiKeyRegistry"]


@dataclass(slots=True)
class ApiKeyRecord:
    creds: ApiCreds
    address: str
    """Checksummed signer address the key was created for (POLY_ADDRESS must match it)."""
    nonce: int
    funders: dict[int, str] = field(default_factory=dict)
    """signature type -> funder address seen on accepted orders."""

    @property
    def api_key(self) -> str:
        return self.creds.api_key

    def funder(self, signature_type: int) -> str:
        """Account that holds the balance for `signature_type` (the key's address for EOA)."""
        return self.funders.get(signature_type, self.address)


class ApiKeyRegistry:
    """In-memory keys. `rng` draws the credentials: seeded in tests, `SystemRandom` otherwise."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.SystemRandom()
        self._by_pair: dict[tuple[str, int], ApiKeyRecord] = {}
        self._by_key: dict[str, ApiKeyRecord] = {}

    def __len__(self) -> int:
        return len(self._by_key)

    def create(self, address: str, nonce: int) -> ApiKeyRecord | None:
        """New credentials for (address, nonce); None if that pair already has a key."""
        pair = (address.lower(), nonce)
        if pair in self._by_pair:
            return None
        creds = generate_api_creds(self._rng)
        while creds.api_key in self._by_key:  # a UUID clash is astronomically unlikely
            creds = generate_api_creds(self._rng)
        record = ApiKeyRecord(creds, address, nonce)
        self._by_pair[pair] = record
        self._by_key[creds.api_key] = record
        return record

    def derive(self, address: str, nonce: int) -> ApiKeyRecord | None:
        return self._by_pair.get((address.lower(), nonce))

    def lookup(self, api_key: str) -> ApiKeyRecord | None:
        return self._by_key.get(api_key)

    def authenticate(self, api_key: str, secret: str, passphrase: str) -> ApiKeyRecord | None:
        """The user channel sends the raw credentials: all three must match."""
        record = self._by_key.get(api_key)
        if record is None:
            return None
        if record.creds.secret != secret or record.creds.passphrase != passphrase:
            return None
        return record

    def keys_of(self, address: str) -> list[str]:
        """Key ids of `address`, oldest first (`GET /auth/api-keys`)."""
        lowered = address.lower()
        return [r.api_key for r in self._by_key.values() if r.address.lower() == lowered]

    def delete(self, api_key: str) -> bool:
        record = self._by_key.pop(api_key, None)
        if record is None:
            return False
        self._by_pair.pop((record.address.lower(), record.nonce), None)
        return True

    def owner_address(self, api_key: str) -> str | None:
        record = self._by_key.get(api_key)
        return None if record is None else record.address
