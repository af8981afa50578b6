"""The helpers every connector shares: rendering, numbered choices, settings, metadata.

The ephemeral store itself (dedup, buckets, lists; memory and Redis) is tested
in tests/channels/test_ephemeral.py.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.ephemeral import MemoryStore
from bot.evidence import EvidenceFile, max_evidence_bytes
from bot.privacy import decrypt_contact, is_sender_key, verify_attestation
from bot.settings import get_settings
from channels.common import message_metadata, missing_settings, pseudonymous_sender
from channels.rendering import ChoiceMemory, numbered_choices, split_text, truncate
from channels.telegram import TelegramConfig
from channels.whatsapp import WhatsAppConfig

BUTTONS = [{"title": "Lapor pelanggaran", "payload": "/report_violation"},
           {"title": "Tanya aturan", "payload": "/ask_rules"}]


async def test_numbered_choices_and_memory_round_trip() -> None:
    text = numbered_choices("Silakan pilih:", BUTTONS)
    assert text.splitlines()[:4] == ["Silakan pilih:", "", "1. Lapor pelanggaran",
                                     "2. Tanya aturan"]
    assert "angka" in text
    memory = ChoiceMemory(MemoryStore())
    await memory.remember("psn_x", [b["payload"] for b in BUTTONS])
    assert await memory.resolve("psn_x", " 2 ") == "/ask_rules"
    assert await memory.resolve("psn_x", "1.") == "/report_violation"
    assert await memory.resolve("psn_x", "3") is None
    assert await memory.resolve("psn_x", "2 orang") is None
    assert await memory.resolve("psn_other", "1") is None
    await memory.forget("psn_x")
    assert await memory.resolve("psn_x", "1") is None


async def test_choice_memory_expires_and_is_bounded() -> None:
    expired = ChoiceMemory(MemoryStore(), ttl_seconds=-1)
    await expired.remember("a", ["/x"])
    assert await expired.resolve("a", "1") is None
    bounded = ChoiceMemory(MemoryStore(max_keys=2))
    for sender in ("a", "b", "c"):
        await bounded.remember(sender, ["/x"])
    assert await bounded.resolve("a", "1") is None and await bounded.resolve("c", "1") == "/x"


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


def test_missing_settings() -> None:
    assert missing_settings({"X_SET": "v", "X_BLANK": "", "X_UNSET": None}) == [
        "X_BLANK", "X_UNSET"]


def test_channel_configuration_comes_through_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WHATSAPP_VERIFY_TOKEN", "WHATSAPP_APP_SECRET", "WHATSAPP_ACCESS_TOKEN"):
        monkeypatch.setenv(name, f"  value-{name} ")
    monkeypatch.setenv("WHATSAPP_PHONE_NUMBER_ID", "  ")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw")
    monkeypatch.setenv("TELEGRAM_SECRET_TOKEN", "s3cret")
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "http://127.0.0.1:9/")
    get_settings.cache_clear()
    settings = get_settings()
    assert WhatsAppConfig.from_settings(settings) == (None, ["WHATSAPP_PHONE_NUMBER_ID"])
    telegram, missing = TelegramConfig.from_settings(settings)
    assert telegram is not None and not missing
    assert telegram.api_base_url == "http://127.0.0.1:9" and telegram.bot_id == "123456789"
    # Secrets never show in the settings' repr.
    assert "value-WHATSAPP_APP_SECRET" not in repr(settings) and "s3cret" not in repr(settings)


@pytest.mark.parametrize("raw", ["lots", "0", "-5"])
def test_a_bad_evidence_limit_names_the_variable(monkeypatch: pytest.MonkeyPatch,
                                                 raw: str) -> None:
    monkeypatch.setenv("EVIDENCE_MAX_BYTES", raw)
    get_settings.cache_clear()
    with pytest.raises(ValueError, match="EVIDENCE_MAX_BYTES"):
        max_evidence_bytes()
    monkeypatch.setenv("EVIDENCE_MAX_BYTES", "2048")
    get_settings.cache_clear()
    assert max_evidence_bytes() == 2048
