"""CSRF protection of the console's forms.

Each session has a random CSRF token (stored with the session, `console_sessions`);
every form carries it in a hidden `csrf_token` field and the authentication
middleware refuses (403) any page POST whose field does not match, in constant
time. The login form, before any session exists, uses a double-submit token: a
random value in an HttpOnly, SameSite=Strict cookie and in the form. Together with
SameSite=Strict session cookies this stops cross-site form posts.
"""

from __future__ import annotations

import hmac
import logging

from aiohttp import web
from multidict import MultiDictProxy

logger = logging.getLogger(__name__)

FIELD = "csrf_token"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def same(expected: str | None, given: object) -> bool:
    """True when both tokens are present and equal (constant-time)."""
    if not expected or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


async def read_form(request: web.Request) -> MultiDictProxy | None:
    """The posted form (cached by aiohttp), or None when the body is not a form."""
    if request.content_type not in FORM_TYPES:
        return None
    try:
        return await request.post()
    except (ValueError, UnicodeDecodeError):
        return None


async def valid(request: web.Request, expected: str) -> bool:
    """True when the request's form carries the session's CSRF token."""
    form = await read_form(request)
    return form is not None and same(expected, form.get(FIELD))
