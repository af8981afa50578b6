"""What the console's handlers share: application keys and request helpers."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from datetime import date

from aiohttp import web

from bot.link_checker import LinkChecker
from console.accounts import Accounts
from console.config import ConsoleSettings
from console.scope import Reviewer
from console.store import ConsoleStore

logger = logging.getLogger(__name__)

STORE = web.AppKey("store", ConsoleStore)
ACCOUNTS = web.AppKey("accounts", Accounts)
SETTINGS = web.AppKey("settings", ConsoleSettings)
CHECKER_FACTORY = web.AppKey("checker_factory", Callable[[], LinkChecker])
TODAY = web.AppKey("today", Callable[[], date])

#: Request keys set by the authentication middleware.
REVIEWER = "console_reviewer"
CSRF = "console_csrf"
SESSION_ID = "console_session_id"


def reviewer_of(request: web.Request) -> Reviewer:
    """The authenticated reviewer (the middleware guarantees one on protected routes)."""
    reviewer = request.get(REVIEWER)
    if not isinstance(reviewer, Reviewer):
        raise web.HTTPUnauthorized()
    return reviewer


def _trusted(request: web.Request) -> bool:
    return (request.remote or "") in request.app[SETTINGS].trusted_proxies


def client_address(request: web.Request) -> str:
    """The client's address: the peer, or (from a trusted proxy) X-Forwarded-For's
    right-most address that is not itself a trusted proxy."""
    remote = request.remote or "-"
    if not _trusted(request):
        return remote
    trusted = request.app[SETTINGS].trusted_proxies
    for item in reversed(request.headers.get("X-Forwarded-For", "").split(",")):
        candidate = item.strip()
        try:
            address = str(ipaddress.ip_address(candidate))
        except ValueError:
            break
        if address not in trusted:
            return address
    return remote


def is_https(request: web.Request) -> bool:
    """True when the browser reached the console over TLS (cookies get `Secure`)."""
    if request.app[SETTINGS].secure_cookies or request.secure:
        return True
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return _trusted(request) and forwarded == "https"
