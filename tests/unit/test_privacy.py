"""Personal data protection: pseudonymous sender keys, contact encryption, redaction."""

from __future__ import annotations

import logging
import re
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.privacy import (
    CONTACT_KEY_FILE,
    PSEUDONYM_KEY_FILE,
    decrypt_contact,
    dev_secrets_dir,
    encrypt_contact,
    is_sender_key,
    redact,
    sender_key,
)
from bot.settings import PROJECT_ROOT, get_settings

PHONE = "+6281114141414"
TELEGRAM_ID = "123456789"
KEY_FORMAT = re.compile(r"psn_[a-z2-7]{24}")


def use_env(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


# --- sender keys ----------------------------------------------------------------


def test_sender_key_format_and_stability() -> None:
    key = sender_key("whatsapp", PHONE)
    assert KEY_FORMAT.fullmatch(key), key
    assert is_sender_key(key)
    assert key == sender_key("whatsapp", PHONE)
    assert "6281114141414" not in key and "psn_" + "6281" not in key


def test_sender_key_differs_per_channel_and_sender() -> None:
    keys = {
        sender_key("whatsapp", PHONE),
        sender_key("telegram", PHONE),
        sender_key("rest", PHONE),
        sender_key("whatsapp", "+6281114141415"),
        sender_key("telegram", TELEGRAM_ID),
        sender_key("whatsapp", TELEGRAM_ID),
    }
    assert len(keys) == 6


def test_channel_and_sender_cannot_be_shifted_into_each_other() -> None:
    assert sender_key("ab", "c") != sender_key("a", "bc")


def test_integer_sender_ids_are_the_same_as_their_text() -> None:
    assert sender_key("telegram", 123456789) == sender_key("telegram", TELEGRAM_ID)


def test_sender_key_depends_on_the_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    dev = sender_key("whatsapp", PHONE)
    use_env(monkeypatch, PSEUDONYM_KEY="production-secret-1-" + "x" * 20)
    first = sender_key("whatsapp", PHONE)
    assert first == sender_key("whatsapp", PHONE)
    use_env(monkeypatch, PSEUDONYM_KEY="production-secret-2-" + "x" * 20)
    second = sender_key("whatsapp", PHONE)
    assert len({dev, first, second}) == 3


def test_configured_key_writes_no_development_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    use_env(monkeypatch, PSEUDONYM_KEY="production-secret", CONTACT_ENCRYPTION_KEY=Fernet
            .generate_key().decode())
    sender_key("whatsapp", PHONE)
    decrypt_contact(encrypt_contact(PHONE))
    assert not dev_secrets_dir().exists()


@pytest.mark.parametrize(("channel", "sender"), [("", PHONE), ("whatsapp", ""),
                                                 ("whatsapp", "  "), (" ", "x")])
def test_sender_key_needs_a_channel_and_a_sender(channel: str, sender: str) -> None:
    with pytest.raises(ValueError):
        sender_key(channel, sender)


@pytest.mark.parametrize("value", ["psn_abc", "psn_" + "A" * 24, "psn_" + "1" * 24, "abc",
                                   "", None, "psn_" + "a" * 25])
def test_is_sender_key_rejects_other_strings(value: str | None) -> None:
    assert not is_sender_key(value)


# --- development keys -----------------------------------------------------------


def test_development_keys_are_generated_once_privately_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.privacy")
    folder = dev_secrets_dir()
    # Next to the data folder, never inside it (a copy of var/ holds no key).
    var_dir = get_settings().var_dir
    assert folder == var_dir.parent / "var-secrets"
    assert var_dir not in folder.parents
    key = sender_key("whatsapp", PHONE)
    for _ in range(5):
        assert sender_key("whatsapp", PHONE) == key
    token = encrypt_contact(PHONE)
    for _ in range(5):
        assert decrypt_contact(encrypt_contact(PHONE)) == PHONE

    pseudonym_file, contact_file = folder / PSEUDONYM_KEY_FILE, folder / CONTACT_KEY_FILE
    assert sorted(p.name for p in folder.iterdir()) == sorted([PSEUDONYM_KEY_FILE,
                                                               CONTACT_KEY_FILE])
    for path in (pseudonym_file, contact_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_text().strip()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    # Never inside the repository (tests/conftest.py points var/ at a temporary folder).
    assert PROJECT_ROOT not in pseudonym_file.parents
    Fernet(contact_file.read_text().strip().encode())  # a valid Fernet key

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len([r for r in warnings if "PSEUDONYM_KEY" in r.getMessage()]) == 1
    assert len([r for r in warnings if "CONTACT_ENCRYPTION_KEY" in r.getMessage()]) == 1
    for record in warnings:
        assert PHONE not in record.getMessage() and token not in record.getMessage()


def test_development_key_survives_a_restart() -> None:
    key = sender_key("whatsapp", PHONE)
    token = encrypt_contact(PHONE)
    # A new process: nothing cached, the same var/ folder.
    import bot.privacy as privacy

    privacy._pseudonym_key.cache_clear()
    privacy._fernet.cache_clear()
    assert sender_key("whatsapp", PHONE) == key
    assert decrypt_contact(token) == PHONE


def test_a_too_open_development_key_file_is_made_private() -> None:
    sender_key("whatsapp", PHONE)
    path = dev_secrets_dir() / PSEUDONYM_KEY_FILE
    path.chmod(0o644)
    import bot.privacy as privacy

    privacy._pseudonym_key.cache_clear()
    sender_key("whatsapp", PHONE)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_another_var_folder_gets_other_development_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = sender_key("whatsapp", PHONE)
    use_env(monkeypatch, VAR_DIR=str(tmp_path / "other-var"))
    assert sender_key("whatsapp", PHONE) != first


# --- contact encryption ---------------------------------------------------------


@pytest.mark.parametrize("contact", [PHONE, TELEGRAM_ID, "budi@example.id", "Ñandú ☺ 12"])
def test_contact_encryption_round_trip(contact: str) -> None:
    token = encrypt_contact(contact)
    assert contact not in token
    assert decrypt_contact(token) == contact
    assert encrypt_contact(contact) != token  # random IV: equal contacts look different


def test_contact_encrypted_with_another_key_is_not_readable(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    token = encrypt_contact(PHONE)
    use_env(monkeypatch, CONTACT_ENCRYPTION_KEY=Fernet.generate_key().decode())
    caplog.set_level(logging.ERROR, logger="bot.privacy")
    assert decrypt_contact(token) is None
    assert decrypt_contact("not a token") is None
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2 and token not in caplog.text


def test_contact_keys_can_be_rotated(monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    use_env(monkeypatch, CONTACT_ENCRYPTION_KEY=old)
    old_token = encrypt_contact(PHONE)
    use_env(monkeypatch, CONTACT_ENCRYPTION_KEY=f"{new}, {old}")
    assert decrypt_contact(old_token) == PHONE
    new_token = encrypt_contact(PHONE)
    use_env(monkeypatch, CONTACT_ENCRYPTION_KEY=new)
    assert decrypt_contact(new_token) == PHONE
    assert decrypt_contact(old_token) is None


def test_an_invalid_contact_key_fails_without_showing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    use_env(monkeypatch, CONTACT_ENCRYPTION_KEY="not-a-fernet-key-secret")
    with pytest.raises(ValueError) as raised:
        encrypt_contact(PHONE)
    assert "not-a-fernet-key-secret" not in str(raised.value)


@pytest.mark.parametrize("contact", ["", None, 62811])
def test_only_non_empty_text_is_encrypted(contact: object) -> None:
    with pytest.raises(ValueError):
        encrypt_contact(contact)  # type: ignore[arg-type]


# --- redaction ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (PHONE, "+62811****14"),
        ("081114141414", "0811****14"),
        ("6281114141414", "62811****14"),
        (TELEGRAM_ID, "1****89"),
        (123456789, "1****89"),
        ("1234567890", "12****90"),
        ("12345678", "****78"),
        ("1234567", "*******"),
        ("123", "***"),
        ("", "-"),
        (None, "-"),
    ],
)
def test_redact(value: str | int | None, shown: str) -> None:
    assert redact(value) == shown


@pytest.mark.parametrize("value", [PHONE, "081114141414", TELEGRAM_ID, "1234567890123456789"])
def test_redact_hides_most_of_the_identifier(value: str) -> None:
    shown = redact(value).replace("*", "")
    assert len(shown) <= 8 and len(shown) <= len(value) // 2 + 1
    assert value not in redact(value)
