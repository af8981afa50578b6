"""Personal data protection (UU PDP 27/2022): pseudonymous keys, encryption, redaction.

Phone numbers and Telegram ids never leave the channel layer in clear: the
assistant sees `sender_key(channel, id)`, a keyed hash; the contact needed to
notify a reporter is stored encrypted with Fernet. Keys come from the
environment (PSEUDONYM_KEY, CONTACT_ENCRYPTION_KEY); a development checkout
generates its own under var/dev-secrets/ (mode 0600) with one warning.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from bot.settings import get_settings

logger = logging.getLogger(__name__)

PSEUDONYM_PREFIX = "psn_"
_lock = threading.Lock()


def _dev_secret(name: str, make: Callable[[], str]) -> str:
    """Read or create a development secret under var/dev-secrets/ (mode 0600)."""
    directory = get_settings().var_dir / "dev-secrets"
    path: Path = directory / name
    with _lock:
        if not path.exists():
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(make())
            logger.warning(
                "%s is not set: generated a development key in %s. Set it in production.",
                name.upper(), path,
            )
        return path.read_text().strip()


@lru_cache(maxsize=4)
def _pseudonym_key(var_dir: str, configured: str | None) -> bytes:
    if configured:
        return configured.encode("utf-8")
    return _dev_secret("pseudonym_key", lambda: secrets.token_urlsafe(32)).encode("utf-8")


@lru_cache(maxsize=4)
def _fernet(var_dir: str, configured: str | None) -> Fernet:
    key = configured or _dev_secret(
        "contact_encryption_key", lambda: Fernet.generate_key().decode("ascii")
    )
    return Fernet(key.encode("ascii"))


def sender_key(channel: str, sender_id: str) -> str:
    """A stable pseudonymous id for a channel's sender (different per channel)."""
    settings = get_settings()
    key = _pseudonym_key(str(settings.var_dir), settings.pseudonym_key)
    digest = hmac.new(key, f"{channel}\x00{sender_id}".encode(), hashlib.sha256).digest()
    return PSEUDONYM_PREFIX + base64.b32encode(digest[:15]).decode("ascii").lower()


def encrypt_contact(contact: str) -> str:
    """Encrypt a phone number, chat id or other contact for storage."""
    settings = get_settings()
    token = _fernet(str(settings.var_dir), settings.contact_encryption_key)
    return token.encrypt(contact.encode("utf-8")).decode("ascii")


def decrypt_contact(token: str) -> str | None:
    """Decrypt a stored contact; None when the key does not match."""
    settings = get_settings()
    fernet = _fernet(str(settings.var_dir), settings.contact_encryption_key)
    try:
        return fernet.decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken:
        logger.error("A stored contact could not be decrypted with the configured key")
        return None


def redact(value: str | None) -> str:
    """Mask an identifier for logs: "+6281114141414" -> "+62811****14"."""
    if not value:
        return "-"
    if len(value) <= 6:
        return "*" * len(value)
    return value[:6] + "****" + value[-2:]
