"""Configuration read from environment variables, with safe local defaults.

Values are read when `get_settings()` is called, never at import time, so tests
can change the environment and call `get_settings.cache_clear()`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESOURCES_DIR = Path(__file__).resolve().parent / "resources"


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"Environment variable {name} must be an integer, got {raw!r}") from exc


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"Environment variable {name} must be a number, got {raw!r}") from exc


def _env_bool(name: str, default: bool) -> bool:
    raw = (os.environ.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"Environment variable {name} must be true or false, got {raw!r}")


def _env_text(name: str) -> str | None:
    """A variable's value without surrounding blanks; None when unset or blank."""
    value = (os.environ.get(name) or "").strip()
    return value or None


def _env_positive_int(name: str, default: int) -> int:
    value = _env_int(name, default)
    if value <= 0:
        raise ValueError(f"Environment variable {name} must be a positive integer, got {value}")
    return value


def _env_list(name: str) -> tuple[str, ...]:
    raw = os.environ.get(name) or ""
    return tuple(item.strip() for item in raw.split(",") if item.strip())


@dataclass(frozen=True)
class Settings:
    """All run-time configuration of the assistant in one immutable object."""

    var_dir: Path
    database_url: str
    # Secret used to derive pseudonymous reporter keys (HMAC). Required in
    # production; a per-checkout development key is generated under var/ otherwise.
    pseudonym_key: str | None
    # Fernet key (urlsafe base64, 32 bytes) encrypting reporter contact data.
    contact_encryption_key: str | None
    daily_report_cap: int
    link_check_timeout: float
    link_check_max_redirects: int
    link_check_max_bytes: int
    # Staging and tests only: "host=ip[:port]" entries (like curl --resolve) and
    # networks the checker may contact although they are not public.
    link_check_host_overrides: tuple[str, ...]
    link_check_allowed_networks: tuple[str, ...]
    action_port: int
    rasa_port: int
    # "production" turns on the start-up checks of bot.preflight and turns REST off.
    environment: str
    # Generated development keys live here, outside the data folder: `var-secrets/`
    # next to `var/` unless DEV_SECRETS_DIR says otherwise.
    dev_secrets_dir: Path
    # REST channel: on in development, off in production unless REST_ENABLED=1.
    rest_enabled: bool
    # Longest message text handed to the assistant (WhatsApp's own limit).
    max_message_chars: int
    # Per-sender message rate: a burst of `rate_burst`, then `rate_per_minute`.
    rate_burst: int
    rate_per_minute: float
    # Per-sender link checks per hour; beyond it links are kept unchecked.
    link_check_budget_per_hour: int
    # Web widget uploads per session per hour.
    upload_quota_per_hour: int
    # Evidence files no report refers to are deleted after this many hours.
    orphan_evidence_hours: float
    # Largest evidence file (screenshot, PDF) a channel accepts, in bytes.
    evidence_max_bytes: int
    # Conversations (tracker events: message texts) idle this many days are deleted
    # from the tracker store; 0 keeps them. Reports live on in the reports database.
    tracker_retention_days: int
    # Notices to reporters (bot/notify): attempts before a notice counts as failed,
    # the first retry delay (doubling, with jitter, up to an hour), and the most
    # notices per second per channel (shared by every worker through REDIS_URL).
    notify_max_attempts: int
    notify_retry_seconds: float
    notify_rate_per_second: float
    # Evidence archive (bot/archive): run the worker in the action server, at most
    # this many links fetched at once, each within this many seconds.
    archive_worker: bool
    archive_concurrency: int
    archive_timeout: float
    # Reading screenshots (bot/ocr): on or off, at most this many images read at
    # once per process, each within this many seconds, and no image larger than
    # this many pixels (width x height) is decoded at all.
    ocr_enabled: bool
    ocr_concurrency: int
    ocr_timeout: float
    ocr_max_pixels: int
    # Tesseract language data ("eng", "eng+ind"; see bot/ocr/reader.py for the choice).
    ocr_languages: str
    # Shared ephemeral state (dedup, choices, rate limits, web sessions) when set;
    # in this process's memory otherwise (bot.ephemeral).
    redis_url: str | None = field(repr=False)
    # Channel configuration (channels/*.py); a channel with a required value
    # missing is left off. Secrets are kept out of `repr`.
    whatsapp_verify_token: str | None = field(repr=False)
    whatsapp_app_secret: str | None = field(repr=False)
    whatsapp_access_token: str | None = field(repr=False)
    whatsapp_phone_number_id: str | None = field(repr=False)
    whatsapp_api_base_url: str | None
    # Approved template (name, language) for notices outside WhatsApp's 24-hour window.
    whatsapp_notify_template: str | None
    whatsapp_notify_language: str
    telegram_bot_token: str | None = field(repr=False)
    telegram_secret_token: str | None = field(repr=False)
    telegram_webhook_url: str | None
    telegram_api_base_url: str | None
    # Bearer token of the model reload route (`make reload`); generated under
    # var-secrets/ in development, the route is off in production without it.
    model_reload_token: str | None = field(default=None, repr=False)

    @property
    def production(self) -> bool:
        """True when LAPOR_ENV=production."""
        return self.environment == "production"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the settings built from the current environment (cached)."""
    var_dir = Path(os.environ.get("VAR_DIR", str(PROJECT_ROOT / "var")))
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{var_dir / 'reports.db'}"
    environment = (os.environ.get("LAPOR_ENV") or "development").strip().lower()
    return Settings(
        var_dir=var_dir,
        database_url=database_url,
        pseudonym_key=os.environ.get("PSEUDONYM_KEY") or None,
        contact_encryption_key=os.environ.get("CONTACT_ENCRYPTION_KEY") or None,
        daily_report_cap=_env_int("DAILY_REPORT_CAP", 10),
        link_check_timeout=_env_float("LINK_CHECK_TIMEOUT", 4.0),
        link_check_max_redirects=_env_int("LINK_CHECK_MAX_REDIRECTS", 5),
        link_check_max_bytes=_env_int("LINK_CHECK_MAX_BYTES", 256 * 1024),
        link_check_host_overrides=_env_list("LINK_CHECK_HOST_OVERRIDES"),
        link_check_allowed_networks=_env_list("LINK_CHECK_ALLOWED_NETWORKS"),
        action_port=_env_int("ACTION_PORT", 5055),
        rasa_port=_env_int("RASA_PORT", 5005),
        environment=environment,
        dev_secrets_dir=Path(os.environ.get("DEV_SECRETS_DIR")
                             or str(var_dir.with_name(var_dir.name + "-secrets"))),
        rest_enabled=_env_bool("REST_ENABLED", environment != "production"),
        max_message_chars=_env_int("MAX_MESSAGE_CHARS", 4096),
        rate_burst=_env_int("RATE_LIMIT_BURST", 12),
        rate_per_minute=_env_float("RATE_LIMIT_PER_MINUTE", 30.0),
        link_check_budget_per_hour=_env_int("LINK_CHECK_BUDGET_PER_HOUR", 30),
        upload_quota_per_hour=_env_int("UPLOAD_QUOTA_PER_HOUR", 20),
        orphan_evidence_hours=_env_float("ORPHAN_EVIDENCE_HOURS", 24.0),
        evidence_max_bytes=_env_positive_int("EVIDENCE_MAX_BYTES", 5 * 1024 * 1024),
        tracker_retention_days=_env_int("TRACKER_RETENTION_DAYS", 30),
        notify_max_attempts=_env_positive_int("NOTIFY_MAX_ATTEMPTS", 8),
        notify_retry_seconds=_env_float("NOTIFY_RETRY_SECONDS", 30.0),
        notify_rate_per_second=_env_float("NOTIFY_RATE_PER_SECOND", 20.0),
        archive_worker=_env_bool("ARCHIVE_WORKER", True),
        archive_concurrency=_env_positive_int("ARCHIVE_CONCURRENCY", 2),
        archive_timeout=_env_float("ARCHIVE_TIMEOUT", 20.0),
        ocr_enabled=_env_bool("OCR_ENABLED", True),
        ocr_concurrency=_env_positive_int("OCR_CONCURRENCY", 2),
        ocr_timeout=_env_float("OCR_TIMEOUT", 10.0),
        ocr_max_pixels=_env_positive_int("OCR_MAX_PIXELS", 25_000_000),
        ocr_languages=_env_text("OCR_LANGUAGES") or "eng",
        redis_url=_env_text("REDIS_URL"),
        whatsapp_verify_token=_env_text("WHATSAPP_VERIFY_TOKEN"),
        whatsapp_app_secret=_env_text("WHATSAPP_APP_SECRET"),
        whatsapp_access_token=_env_text("WHATSAPP_ACCESS_TOKEN"),
        whatsapp_phone_number_id=_env_text("WHATSAPP_PHONE_NUMBER_ID"),
        whatsapp_api_base_url=_env_text("WHATSAPP_API_BASE_URL"),
        whatsapp_notify_template=_env_text("WHATSAPP_NOTIFY_TEMPLATE"),
        whatsapp_notify_language=_env_text("WHATSAPP_NOTIFY_LANGUAGE") or "id",
        telegram_bot_token=_env_text("TELEGRAM_BOT_TOKEN"),
        telegram_secret_token=_env_text("TELEGRAM_SECRET_TOKEN"),
        telegram_webhook_url=_env_text("TELEGRAM_WEBHOOK_URL"),
        telegram_api_base_url=_env_text("TELEGRAM_API_BASE_URL"),
        model_reload_token=_env_text("MODEL_RELOAD_TOKEN"),
    )
