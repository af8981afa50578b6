"""The console's configuration, read from the environment when asked (never at import).

- CONSOLE_HOST (127.0.0.1): the interface to bind; open it (e.g. 0.0.0.0) only
  behind a TLS proxy.
- CONSOLE_PORT (5080).
- CONSOLE_SECURE_COOKIES (0): 1 when the console is served over HTTPS; session
  cookies then always carry `Secure`.
- CONSOLE_TRUSTED_PROXIES (none): comma-separated proxy addresses whose
  X-Forwarded-Proto and X-Forwarded-For are believed.
- CONSOLE_IDLE_MINUTES (30): a session unused this long is over.
- CONSOLE_SESSION_HOURS (12): a session ends this long after login, however active.
- CONSOLE_MAX_FAILED_LOGINS (5) wrong passwords in a row lock an account for
  CONSOLE_LOCKOUT_MINUTES (15).
- CONSOLE_CLIENT_FAILURES (20): failed logins from one address within 15 minutes
  before that address is throttled.
- CONSOLE_NOTIFY_WORKER (1): 0 runs no reporter-notification worker in this process.

Cookies get `Secure` when CONSOLE_SECURE_COOKIES=1, or for a request that came in
over TLS, directly or (only from a trusted proxy) as `X-Forwarded-Proto: https`.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from dataclasses import dataclass
from datetime import timedelta

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5080


def _int(environ: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = (environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _flag(environ: dict[str, str], name: str, default: bool) -> bool:
    raw = (environ.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be 0 or 1, got {raw!r}")


def _addresses(environ: dict[str, str], name: str) -> frozenset[str]:
    found = set()
    for item in (environ.get(name) or "").split(","):
        if item.strip():
            try:
                found.add(str(ipaddress.ip_address(item.strip())))
            except ValueError as exc:
                raise ValueError(f"{name} must list IP addresses, got {item.strip()!r}") from exc
    return frozenset(found)


@dataclass(frozen=True)
class ConsoleSettings:
    """Everything configurable about the console (see the module docstring)."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    secure_cookies: bool = False
    trusted_proxies: frozenset[str] = frozenset()
    idle_timeout: timedelta = timedelta(minutes=30)
    session_lifetime: timedelta = timedelta(hours=12)
    max_failed_logins: int = 5
    lockout: timedelta = timedelta(minutes=15)
    client_failures: int = 20
    client_window: timedelta = timedelta(minutes=15)
    notify_worker: bool = True

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> ConsoleSettings:
        """Read the settings; ValueError names a malformed variable."""
        env = dict(os.environ if environ is None else environ)
        return cls(
            host=(env.get("CONSOLE_HOST") or "").strip() or DEFAULT_HOST,
            port=_int(env, "CONSOLE_PORT", DEFAULT_PORT, 1, 65535),
            secure_cookies=_flag(env, "CONSOLE_SECURE_COOKIES", False),
            trusted_proxies=_addresses(env, "CONSOLE_TRUSTED_PROXIES"),
            idle_timeout=timedelta(minutes=_int(env, "CONSOLE_IDLE_MINUTES", 30, 1, 24 * 60)),
            session_lifetime=timedelta(hours=_int(env, "CONSOLE_SESSION_HOURS", 12, 1, 24 * 7)),
            max_failed_logins=_int(env, "CONSOLE_MAX_FAILED_LOGINS", 5, 1, 100),
            lockout=timedelta(minutes=_int(env, "CONSOLE_LOCKOUT_MINUTES", 15, 1, 24 * 60)),
            client_failures=_int(env, "CONSOLE_CLIENT_FAILURES", 20, 1, 10_000),
            notify_worker=_flag(env, "CONSOLE_NOTIFY_WORKER", True),
        )
