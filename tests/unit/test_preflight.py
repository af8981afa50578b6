"""Production mode: no generated keys, no half-configured channel, REST off."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.privacy import MissingSecretError, sender_key
from bot.settings import PROJECT_ROOT, get_settings
from channels.preflight import main, problems

CREDENTIALS = PROJECT_ROOT / "credentials.yml"
GOOD = {"PSEUDONYM_KEY": "k" * 48, "CONTACT_ENCRYPTION_KEY": Fernet.generate_key().decode()}
WHATSAPP = {"WHATSAPP_VERIFY_TOKEN": "v", "WHATSAPP_APP_SECRET": "s",
            "WHATSAPP_ACCESS_TOKEN": "a", "WHATSAPP_PHONE_NUMBER_ID": "1",
            "WHATSAPP_NOTIFY_TEMPLATE": "lapor_pemberitahuan"}


def test_production_needs_both_keys() -> None:
    found = problems(CREDENTIALS, {}, production=True)
    assert "PSEUDONYM_KEY is not set" in found
    assert "CONTACT_ENCRYPTION_KEY is not set" in found
    assert problems(CREDENTIALS, GOOD, production=True) == []
    bad = {**GOOD, "CONTACT_ENCRYPTION_KEY": "not-a-key"}
    assert any("Fernet" in line for line in problems(CREDENTIALS, bad, production=True))
    short = {**GOOD, "PSEUDONYM_KEY": "short"}
    assert any("too short" in line for line in problems(CREDENTIALS, short, production=True))


def test_a_half_configured_channel_is_named() -> None:
    half = {**GOOD, "WHATSAPP_APP_SECRET": "s"}
    found = problems(CREDENTIALS, half, production=True)
    assert found == ["channels.whatsapp.WhatsAppInput is half-configured: WHATSAPP_VERIFY_TOKEN, "
                     "WHATSAPP_ACCESS_TOKEN, WHATSAPP_PHONE_NUMBER_ID not set"]
    assert problems(CREDENTIALS, {**GOOD, **WHATSAPP}, production=True) == []
    # A channel that is not listed in credentials.yml is not checked.
    only_rest = Path(__file__).parent / "rest_only.yml"
    assert problems(only_rest, half, production=True) == []


def test_production_whatsapp_needs_the_notice_template() -> None:
    without = {**GOOD, **WHATSAPP}
    del without["WHATSAPP_NOTIFY_TEMPLATE"]
    found = problems(CREDENTIALS, without, production=True)
    assert len(found) == 1 and found[0].startswith("WHATSAPP_NOTIFY_TEMPLATE is not set")
    # Redis does not replace it (decisions usually come after the 24-hour window).
    assert problems(CREDENTIALS, {**without, "REDIS_URL": "redis://r:6379/0"},
                    production=True) == found
    # Development only warns about half-configured channels, not this.
    assert problems(CREDENTIALS, without, production=False) == []
    # WhatsApp off: nothing to say.
    assert problems(CREDENTIALS, GOOD, production=True) == []


def test_main_refuses_production_in_one_line(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    for name in (*GOOD, *WHATSAPP):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LAPOR_ENV", "production")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    get_settings.cache_clear()
    assert main([str(CREDENTIALS)]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("preflight: refusing to start in production")
    assert "TELEGRAM_SECRET_TOKEN" in lines[0] and "PSEUDONYM_KEY" in lines[0]
    assert "123:abc" not in lines[0]  # never a value
    monkeypatch.setenv("LAPOR_ENV", "development")
    get_settings.cache_clear()
    assert main([str(CREDENTIALS)]) == 0  # a warning only


def test_production_never_generates_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAPOR_ENV", "production")
    monkeypatch.delenv("PSEUDONYM_KEY", raising=False)
    get_settings.cache_clear()
    import bot.privacy as privacy

    privacy._pseudonym_key.cache_clear()
    with pytest.raises(MissingSecretError):
        sender_key("whatsapp", "6281234567890")
    assert not get_settings().dev_secrets_dir.exists()
    assert not get_settings().rest_enabled
    monkeypatch.setenv("REST_ENABLED", "1")
    get_settings.cache_clear()
    assert get_settings().rest_enabled


def test_keys_made_under_var_by_older_versions_move_out(monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.privacy as privacy

    legacy = get_settings().var_dir / "dev-secrets"
    legacy.mkdir(parents=True)
    (legacy / privacy.PSEUDONYM_KEY_FILE).write_text("an-old-development-key\n")
    privacy._pseudonym_key.cache_clear()
    key = sender_key("whatsapp", "6281234567890")
    assert not legacy.exists()
    moved = get_settings().dev_secrets_dir / privacy.PSEUDONYM_KEY_FILE
    assert moved.read_text().strip() == "an-old-development-key"
    monkeypatch.setenv("PSEUDONYM_KEY", "an-old-development-key")
    get_settings.cache_clear()
    assert sender_key("whatsapp", "6281234567890") == key  # the same key, so reports are found


def test_the_console_must_be_served_over_https_when_opened_beyond_loopback() -> None:
    opened = {**GOOD, "CONSOLE_HOST": "0.0.0.0"}
    found = problems(CREDENTIALS, opened, production=True)
    assert any("CONSOLE_SECURE_COOKIES=1" in line for line in found)
    assert problems(CREDENTIALS, {**opened, "CONSOLE_SECURE_COOKIES": "1"},
                    production=True) == []
    assert problems(CREDENTIALS, opened, production=False) == []  # only production refuses
    clash = problems(CREDENTIALS, {**GOOD, "CONSOLE_PORT": "5005"}, production=True)
    assert clash == ["CONSOLE_PORT 5005 is also RASA_PORT"]
    malformed = problems(CREDENTIALS, {**GOOD, "CONSOLE_PORT": "web"}, production=False)
    assert malformed == ["console: CONSOLE_PORT must be an integer, got 'web'"]
