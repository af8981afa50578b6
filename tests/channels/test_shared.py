"""The helpers every connector shares: rendering, numbered choices, dedup, metadata."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.evidence import EvidenceFile
from bot.privacy import decrypt_contact, is_sender_key, verify_attestation
from channels.common import env_values, message_metadata, pseudonymous_sender
from channels.dedup import MemoryDeduplicator, RedisDeduplicator, make_deduplicator
from channels.rendering import ChoiceMemory, numbered_choices, split_text, truncate
from tests.channels.redis_server import running_redis

BUTTONS = [{"title": "Lapor pelanggaran", "payload": "/report_violation"},
           {"title": "Tanya aturan", "payload": "/ask_rules"}]


def test_numbered_choices_and_memory_round_trip() -> None:
    text = numbered_choices("Silakan pilih:", BUTTONS)
    assert text.splitlines()[:4] == ["Silakan pilih:", "", "1. Lapor pelanggaran",
                                     "2. Tanya aturan"]
    assert "angka" in text
    memory = ChoiceMemory()
    memory.remember("psn_x", [b["payload"] for b in BUTTONS])
    assert memory.resolve("psn_x", " 2 ") == "/ask_rules"
    assert memory.resolve("psn_x", "1.") == "/report_violation"
    assert memory.resolve("psn_x", "3") is None
    assert memory.resolve("psn_x", "2 orang") is None
    assert memory.resolve("psn_other", "1") is None
    memory.forget("psn_x")
    assert memory.resolve("psn_x", "1") is None


def test_choice_memory_expires_and_is_bounded() -> None:
    expired = ChoiceMemory(ttl_seconds=-1)
    expired.remember("a", ["/x"])
    assert expired.resolve("a", "1") is None
    bounded = ChoiceMemory(max_senders=2)
    for sender in ("a", "b", "c"):
        bounded.remember(sender, ["/x"])
    assert bounded.resolve("a", "1") is None and bounded.resolve("c", "1") == "/x"


@given(st.text(min_size=1, max_size=3000), st.integers(min_value=5, max_value=500))
def test_split_text_keeps_every_word_within_the_limit(text: str, limit: int) -> None:
    parts = split_text(text, limit)
    assert all(0 < len(part) <= limit for part in parts) or not text.strip()
    # Only whitespace at the cut points may go.
    assert "".join("".join(parts).split()) == "".join(text.split())


def test_truncate() -> None:
    assert truncate("Cek status laporan", 20) == "Cek status laporan"
    assert truncate("Kampanye di luar jadwal resmi", 20) == "Kampanye di luar ja…"
    assert len(truncate("x" * 50, 24)) == 24


def test_metadata_never_carries_a_clear_contact() -> None:
    item = EvidenceFile("image", "image/png", 10, "a" * 64, "evidence/aa/x.png")
    key = pseudonymous_sender("whatsapp", "6281234567890")
    metadata = message_metadata("whatsapp", key, raw_contact="6281234567890", evidence=[item],
                                location=(-6.9, 109.6))
    assert "6281234567890" not in repr(metadata)
    assert decrypt_contact(metadata["contact_token"]) == "6281234567890"
    assert metadata["evidence"] == [item.to_metadata()]
    assert metadata["location"] == {"latitude": -6.9, "longitude": 109.6}
    assert verify_attestation("whatsapp", key, metadata["attestation"])
    assert message_metadata("whatsapp", key).keys() == {"attestation"}
    assert is_sender_key(key) and key != pseudonymous_sender("telegram", "6281234567890")


def test_env_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_SET", "v")
    monkeypatch.setenv("X_BLANK", "  ")
    monkeypatch.delenv("X_UNSET", raising=False)
    assert env_values(["X_SET", "X_BLANK", "X_UNSET"]) == ({"X_SET": "v"},
                                                           ["X_BLANK", "X_UNSET"])


async def test_memory_deduplicator() -> None:
    dedup = MemoryDeduplicator(max_keys=2)
    assert await dedup.first_time("wamid.1")
    assert not await dedup.first_time("wamid.1")
    assert await dedup.first_time("wamid.2") and await dedup.first_time("wamid.3")
    assert await dedup.first_time("wamid.1")  # evicted by the bound


async def test_redis_deduplicator_is_shared_between_instances(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_redis() as url:
        monkeypatch.setenv("REDIS_URL", url)
        first, second = make_deduplicator(), make_deduplicator()
        assert isinstance(first, RedisDeduplicator)
        assert await first.first_time("update-42")
        assert not await second.first_time("update-42")
        assert await second.first_time("update-43")
        await first.close()
        await second.close()


async def test_redis_deduplicator_degrades_to_processing_when_redis_is_down() -> None:
    with running_redis() as url:
        pass  # stopped: nothing listens on that port any more
    dedup = RedisDeduplicator(url)
    assert await dedup.first_time("k") and await dedup.first_time("k")
    await dedup.close()
