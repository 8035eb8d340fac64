"""Book summary hash: every vectors.json case (SDK recipe, served-object rule, live captures)
and the simulator's emit-ten-keys rule, cross-checked with py-clob-client-v2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from py_clob_client_v2.utilities import (
    generate_orderbook_summary_hash,
    parse_raw_orderbook_summary,
)

from polymarket_bot.core.errors import InvalidValueError
from polymarket_bot.protocol.book_hash import (
    BOOK_HASH_KEYS,
    book_hash_payload,
    sdk_book_hash,
    served_book_hash,
    with_book_hash,
)

FIXTURES = Path(__file__).parents[1] / "fixtures/polymarket"
VECTORS: dict[str, Any] = json.loads((FIXTURES / "vectors.json").read_text())
CASES = {v["id"]: v for v in VECTORS["book_hashes"]}


@pytest.mark.parametrize("case_id", ["book_sdk_testsuite", "book_v2_complete"])
def test_sdk_recipe_vectors(case_id: str) -> None:
    case = CASES[case_id]
    book, out = case["inputs"]["book"], case["outputs"]
    assert book_hash_payload(book) == out["hashed_payload"]
    assert sdk_book_hash(book) == out["hash"]
    # With all ten keys present, the served-object rule is the same recipe.
    assert served_book_hash(book) == out["hash"]


@pytest.mark.parametrize("case_id", ["book_fixture_http_responses", "book_fixture_ws_messages"])
def test_captured_2024_books(case_id: str) -> None:
    """Pre-V2 captures hash only market, asset_id, hash, bids, asks (no timestamp)."""
    case = CASES[case_id]
    i, out = case["inputs"], case["outputs"]
    book = json.loads((FIXTURES / i["fixture"]).read_text())
    assert book["hash"] == i["captured_hash"]
    assert [k for k in BOOK_HASH_KEYS if k in book] == i["fields_present"]
    assert sdk_book_hash(book) == out["sdk_hash_absent_fields_as_null"]
    assert served_book_hash(book) == out["hash_fields_as_present"]
    captured = served_book_hash(book, exclude={"timestamp"})
    assert captured == out["hash_fields_as_present_without_timestamp"] == i["captured_hash"]
    assert out["captured_hash_matches"]["hash_fields_as_present_without_timestamp"] is True


def test_live_2025_book_matches_the_served_object_rule() -> None:
    case = CASES["book_evidence_live_2025_10"]
    book, out = case["inputs"]["book"], case["outputs"]
    assert [k for k in BOOK_HASH_KEYS if k in book] == case["inputs"]["fields_present"]
    assert sdk_book_hash(book) == out["sdk_hash_absent_fields_as_null"]
    assert served_book_hash(book) == out["hash_fields_as_present"] == book["hash"]


def test_with_book_hash_emits_ten_keys_every_recipe_agrees() -> None:
    src = CASES["book_v2_complete"]["inputs"]["book"]
    # Served key order and extra level keys must not matter to the output.
    shuffled = {k: src[k] for k in reversed(list(src))}
    shuffled["bids"] = [{"size": lv["size"], "price": lv["price"]} for lv in src["bids"]]
    out = with_book_hash(shuffled)
    assert tuple(out) == BOOK_HASH_KEYS
    assert out["hash"] == CASES["book_v2_complete"]["outputs"]["hash"]
    assert sdk_book_hash(out) == served_book_hash(out) == out["hash"]
    # PCC2 parses and re-hashes it to the same value.
    assert generate_orderbook_summary_hash(parse_raw_orderbook_summary(dict(out))) == out["hash"]
    # No trade yet: last_trade_price is served as "".
    fresh = {k: v for k, v in src.items() if k != "last_trade_price"}
    served = with_book_hash(fresh)
    assert served["last_trade_price"] == ""
    assert served["hash"] != out["hash"]
    assert (
        generate_orderbook_summary_hash(parse_raw_orderbook_summary(dict(served)))
        == (served["hash"])
    )
    with pytest.raises(InvalidValueError, match="tick_size"):
        with_book_hash({k: v for k, v in src.items() if k != "tick_size"})


def test_non_ascii_is_hashed_as_utf8_like_the_sdk() -> None:
    book = dict(CASES["book_v2_complete"]["inputs"]["book"], market="0xé")
    out = with_book_hash(book)
    assert '"0xé"' in book_hash_payload(out)
    assert generate_orderbook_summary_hash(parse_raw_orderbook_summary(dict(out))) == out["hash"]
