"""Personal data protection (UU PDP 27/2022): pseudonymous keys, encryption, redaction.

Phone numbers and Telegram ids never leave the channel layer in clear: the
assistant and the store see `sender_key(channel, id)`, a keyed HMAC-SHA256
pseudonym; the contact needed to notify a reporter is stored encrypted with
Fernet (AES-128-CBC + HMAC). Keys come from the environment through
`bot.settings`:

- PSEUDONYM_KEY: any long random secret. Changing it changes every reporter's
  key (their earlier reports would no longer be found under the new key).
- CONTACT_ENCRYPTION_KEY: a Fernet key (`Fernet.generate_key()`), or several
  separated by commas to rotate keys: the first encrypts, all of them decrypt.

When a key is not set (development checkouts, tests), one is generated once into
`var-secrets/` next to the data folder `var/` (`DEV_SECRETS_DIR`; mode 0600,
never in the repository, never in a backup of var/) and a single WARNING line is
logged per process. In production (`LAPOR_ENV=production`) a missing key is an
error, never a generated one. Never log raw identifiers or pseudonyms.

Connectors that verified who sent a message attest it (`attest_sender`): an HMAC
of the channel and the pseudonymous sender, carried in the message metadata.
The action server trusts a ready pseudonym only with a valid attestation, so a
request that merely claims to come from WhatsApp (REST body, Rasa's HTTP API)
is keyed as what it is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
import stat
import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bot.settings import get_settings

logger = logging.getLogger(__name__)

PSEUDONYM_PREFIX = "psn_"
PSEUDONYM_LENGTH = 24  # base32 characters after the prefix (120 bits of the HMAC)
LEGACY_DEV_SECRETS_DIRNAME = "dev-secrets"  # under var/ before the keys moved out
PSEUDONYM_KEY_FILE = "pseudonym.key"
CONTACT_KEY_FILE = "contact_encryption.key"
MODEL_RELOAD_TOKEN_FILE = "model_reload.token"  # noqa: S105 - a file name
_HMAC_CONTEXT = b"lapor-bawaslu/sender-key/v1"
_ATTEST_CONTEXT = b"lapor-bawaslu/attested-sender/v1"
#: The slot the erasure action sets; the tracker store then deletes the
#: conversation (bot/tracker_stores.py).
ERASURE_SLOT = "erasure_requested"


class MissingSecretError(RuntimeError):
    """A secret that production requires is not configured."""

_lock = threading.Lock()


def dev_secrets_dir() -> Path:
    """The folder of generated development keys (outside var/, ignored by git)."""
    return get_settings().dev_secrets_dir


def _adopt_legacy_secrets(directory: Path, var_dir: Path) -> None:
    """Move keys generated under var/dev-secrets/ by older versions out of var/."""
    legacy = var_dir / LEGACY_DEV_SECRETS_DIRNAME
    if not legacy.is_dir() or directory.exists():
        return
    directory.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(legacy, directory)
        os.chmod(directory, 0o700)
        logger.warning("Moved the development keys from %s to %s", legacy, directory)
    except OSError as exc:
        logger.warning("Could not move the development keys out of %s: %s", legacy, exc)


def _write_new_secret(directory: Path, path: Path, make: Callable[[], str]) -> bool:
    """Atomically create `path` with a new secret (mode 0600); False if it already exists."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = directory / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(make() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        # link() fails if another process created the key first: theirs wins,
        # and nobody ever reads a half-written file.
        os.link(temporary, path)
        return True
    except FileExistsError:
        return False
    finally:
        temporary.unlink(missing_ok=True)


def _dev_secret(var_dir: Path, filename: str, env_name: str, make: Callable[[], str]) -> str:
    """Read or create a development secret in the development keys folder (mode 0600)."""
    settings = get_settings()
    if settings.production:
        raise MissingSecretError(f"{env_name} must be set when LAPOR_ENV=production")
    directory = settings.dev_secrets_dir
    path = directory / filename
    with _lock:
        _adopt_legacy_secrets(directory, var_dir)
        created = False if path.exists() else _write_new_secret(directory, path, make)
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            os.chmod(path, 0o600)
        value = path.read_text(encoding="ascii").strip()
    if not value:
        raise RuntimeError(f"The development key file {path} is empty: delete it to regenerate")
    logger.warning(
        "%s is not set: %s the development key %s. Set %s in production.",
        env_name, "generated" if created else "using", path, env_name,
    )
    return value


@lru_cache(maxsize=8)
def _pseudonym_key(var_dir: Path, configured: str | None, secrets_dir: Path | None = None
                   ) -> bytes:
    if configured:
        return configured.encode("utf-8")
    secret = _dev_secret(var_dir, PSEUDONYM_KEY_FILE, "PSEUDONYM_KEY",
                         lambda: secrets.token_urlsafe(48))
    return secret.encode("utf-8")


@lru_cache(maxsize=8)
def _fernet(var_dir: Path, configured: str | None, secrets_dir: Path | None = None
            ) -> MultiFernet:
    if configured:
        keys = [key.strip() for key in configured.split(",") if key.strip()]
    else:
        keys = [_dev_secret(var_dir, CONTACT_KEY_FILE, "CONTACT_ENCRYPTION_KEY",
                            lambda: Fernet.generate_key().decode("ascii"))]
    try:
        return MultiFernet([Fernet(key.encode("ascii")) for key in keys])
    except (ValueError, UnicodeEncodeError) as exc:
        # Never echo the key itself.
        raise ValueError(
            "CONTACT_ENCRYPTION_KEY must be one or more comma-separated Fernet keys "
            "(32 url-safe base64-encoded bytes each)"
        ) from exc


def _contact_cipher() -> MultiFernet:
    settings = get_settings()
    return _fernet(settings.var_dir, settings.contact_encryption_key, settings.dev_secrets_dir)


def _hmac_key() -> bytes:
    settings = get_settings()
    return _pseudonym_key(settings.var_dir, settings.pseudonym_key, settings.dev_secrets_dir)


def sender_key(channel: str, sender_id: str | int) -> str:
    """A stable pseudonymous id for a channel's sender: "psn_" + 24 base32 characters.

    Keyed HMAC-SHA256 of the channel and the sender id: the same person gets
    different keys on different channels, and without the secret key nobody can
    recompute a key from a phone number.
    """
    channel_name = (channel or "").strip()
    sender = str(sender_id).strip() if sender_id is not None else ""
    if not channel_name or not sender:
        raise ValueError("sender_key needs a channel and a sender id")
    key = _hmac_key()
    message = b"\x00".join(
        (_HMAC_CONTEXT, channel_name.encode("utf-8"), sender.encode("utf-8"))
    )
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return PSEUDONYM_PREFIX + base64.b32encode(digest[:15]).decode("ascii").lower()


def attest_sender(channel: str, sender: str) -> str:
    """The attestation a connector adds for a sender it verified (hex HMAC-SHA256)."""
    if not channel or not sender:
        raise ValueError("attest_sender needs a channel and a sender")
    message = b"\x00".join((_ATTEST_CONTEXT, channel.encode("utf-8"), sender.encode("utf-8")))
    return hmac.new(_hmac_key(), message, hashlib.sha256).hexdigest()


def verify_attestation(channel: str | None, sender: str | None, attestation: object) -> bool:
    """True when `attestation` was made by `attest_sender(channel, sender)`."""
    if not channel or not sender or not isinstance(attestation, str) or len(attestation) != 64:
        return False
    return hmac.compare_digest(attest_sender(channel, sender), attestation)


def is_sender_key(value: str | None) -> bool:
    """True when `value` looks like a key made by `sender_key`."""
    if not value or not value.startswith(PSEUDONYM_PREFIX):
        return False
    body = value[len(PSEUDONYM_PREFIX):]
    return len(body) == PSEUDONYM_LENGTH and all(c in "abcdefghijklmnopqrstuvwxyz234567"
                                                 for c in body)


def encrypt_contact(text: str) -> str:
    """Encrypt a phone number, chat id or other contact for storage (a Fernet token)."""
    if not isinstance(text, str) or not text:
        raise ValueError("encrypt_contact needs a non-empty string")
    return _contact_cipher().encrypt(text.encode("utf-8")).decode("ascii")


def decrypt_contact(token: str) -> str | None:
    """Decrypt a stored contact; None (and an error log) when no configured key fits."""
    try:
        return _contact_cipher().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        logger.error("A stored contact could not be decrypted with the configured key(s)")
        return None


def redact(value: str | int | None) -> str:
    """Mask an identifier for logs, keeping at most the first 6 and last 2 characters.

    "+6281114141414" -> "+62811****14". Shorter values show less: a 9-digit
    Telegram id keeps 1 + 2 digits ("1****89"), 8 characters keep only the last
    2, and anything shorter is fully masked.
    """
    if value is None or value == "":
        return "-"
    text = str(value)
    if len(text) < 8:
        return "*" * len(text)
    head = min(6, len(text) - 8)
    return text[:head] + "****" + text[-2:]


def model_reload_token() -> str:
    """The bearer token of the model reload route (channels/model_reload.py, `make
    reload`): MODEL_RELOAD_TOKEN, or a generated development key; MissingSecretError
    in production without it."""
    configured = get_settings().model_reload_token
    if configured:
        return configured
    return _dev_secret(get_settings().var_dir, MODEL_RELOAD_TOKEN_FILE, "MODEL_RELOAD_TOKEN",
                       lambda: secrets.token_urlsafe(32))
