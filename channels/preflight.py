"""Start-up checks: refuse to run production with missing secrets or half a channel.

`python -m channels.preflight [credentials.yml]` prints one line naming every
problem and exits 1 when there is any; `make run` calls it before starting the servers.
In development (`LAPOR_ENV` unset) it only warns about half-configured channels.

Production (`LAPOR_ENV=production`) needs:
- `PSEUDONYM_KEY` and `CONTACT_ENCRYPTION_KEY` set (the second a valid Fernet
  key list): generated development keys are never used in production;
- every channel listed in credentials.yml either fully configured or not at all
  (a WhatsApp app secret without its access token is a mistake, not a choice);
- the reviewers' console (`make run` starts it) served over HTTPS when CONSOLE_HOST
  opens it beyond loopback (CONSOLE_SECURE_COOKIES=1, so session cookies are Secure).
A malformed CONSOLE_* variable, or CONSOLE_PORT equal to RASA_PORT or ACTION_PORT, is
reported in every environment (and stops production).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

import yaml
from cryptography.fernet import Fernet

from bot.settings import PROJECT_ROOT, get_settings
from channels.telegram import ENV_SECRET, ENV_TOKEN
from channels.whatsapp import REQUIRED_ENV as WHATSAPP_ENV
from console.config import ConsoleSettings

WHATSAPP_CHANNEL = "channels.whatsapp.WhatsAppInput"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})

#: Environment variables each configurable channel needs, by credentials.yml key.
CHANNEL_ENV: dict[str, tuple[str, ...]] = {
    WHATSAPP_CHANNEL: WHATSAPP_ENV,
    "channels.telegram.TelegramInput": (ENV_TOKEN, ENV_SECRET),
}


def listed_channels(credentials: Path) -> list[str]:
    """The channel keys of a credentials.yml file."""
    data = yaml.safe_load(credentials.read_text(encoding="utf-8")) if credentials.exists() else {}
    return [str(key) for key in (data or {})]


def half_configured(channels: list[str], environ: Mapping[str, str]) -> list[str]:
    """One line per listed channel that has some but not all of its variables."""
    lines = []
    for channel in channels:
        names = CHANNEL_ENV.get(channel)
        if not names:
            continue
        missing = [name for name in names if not environ.get(name, "").strip()]
        if missing and len(missing) < len(names):
            lines.append(f"{channel} is half-configured: {', '.join(missing)} not set")
    return lines


def missing_secrets(environ: Mapping[str, str]) -> list[str]:
    """One line per production secret that is missing or malformed (never its value)."""
    lines = []
    if not environ.get("PSEUDONYM_KEY", "").strip():
        lines.append("PSEUDONYM_KEY is not set")
    elif len(environ["PSEUDONYM_KEY"].strip()) < 32:
        lines.append("PSEUDONYM_KEY is too short (use at least 32 random characters)")
    contact = environ.get("CONTACT_ENCRYPTION_KEY", "").strip()
    if not contact:
        lines.append("CONTACT_ENCRYPTION_KEY is not set")
    else:
        try:
            for key in (part.strip() for part in contact.split(",") if part.strip()):
                Fernet(key.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            lines.append("CONTACT_ENCRYPTION_KEY is not a comma-separated list of Fernet keys")
    return lines


def console_problems(environ: Mapping[str, str], production: bool) -> list[str]:
    """One line per problem with the reviewers' console's configuration."""
    try:
        settings = ConsoleSettings.from_env(dict(environ))
    except ValueError as error:
        return [f"console: {error}"]
    lines = []
    others = {name: (environ.get(name) or default).strip()
              for name, default in (("RASA_PORT", "5005"), ("ACTION_PORT", "5055"))}
    for name, value in others.items():
        if value == str(settings.port):
            lines.append(f"CONSOLE_PORT {settings.port} is also {name}")
    if production and settings.host not in LOOPBACK_HOSTS and not settings.secure_cookies:
        lines.append("CONSOLE_HOST opens the console beyond loopback: serve it over HTTPS "
                     "and set CONSOLE_SECURE_COOKIES=1")
    return lines


def notice_problems(channels: list[str], environ: Mapping[str, str]) -> list[str]:
    """Reporters on WhatsApp hear of a decision made more than 24 hours after their last
    message only through the approved template (and without Redis the notification worker
    never knows the window, so every notice needs it): WhatsApp on requires it."""
    whatsapp_on = WHATSAPP_CHANNEL in channels and all(
        environ.get(name, "").strip() for name in WHATSAPP_ENV)
    if whatsapp_on and not environ.get("WHATSAPP_NOTIFY_TEMPLATE", "").strip():
        return ["WHATSAPP_NOTIFY_TEMPLATE is not set: reporters on WhatsApp would not hear of "
                "decisions made 24 hours after their last message (docs/notifications.md)"]
    return []


def problems(credentials: Path, environ: Mapping[str, str], production: bool) -> list[str]:
    """What stops a production start (or, in development, what deserves a warning)."""
    channels = listed_channels(credentials)
    lines = half_configured(channels, environ)
    lines += console_problems(environ, production)
    if production:
        lines += missing_secrets(environ)
        lines += notice_problems(channels, environ)
    return lines


def main(argv: list[str] | None = None) -> int:
    """Print the problems; 1 when production must not start."""
    args = sys.argv[1:] if argv is None else argv
    credentials = Path(args[0]) if args else PROJECT_ROOT / "credentials.yml"
    production = get_settings().production
    found = problems(credentials, os.environ, production)
    if found:
        prefix = "refusing to start in production" if production else "warning"
        print(f"preflight: {prefix}: {'; '.join(found)}", file=sys.stderr)
    return 1 if production and found else 0


if __name__ == "__main__":
    sys.exit(main())
