"""Who is asking: API tokens for /api/, session cookies for pages, login and logout.

- `/api/...`: `Authorization: Bearer TOKEN` or 401 (JSON).
- Pages: the session cookie (HttpOnly, SameSite=Strict, Secure over HTTPS; see
  console.config) or a redirect to the login page. Every POST must carry the
  session's CSRF token (`console.csrf`), else 403.
- Login: its form carries a CSRF token of its own (a double-submit cookie, since there
  is no session yet); throttling and lockout are `console.accounts.Accounts.login`'s.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web

from console import csrf
from console.context import (
    ACCOUNTS,
    CSRF,
    REVIEWER,
    SESSION_ID,
    SETTINGS,
    client_address,
    is_https,
)
from console.errors import json_error, page_error, redirect
from console.messages import message
from console.render import render

logger = logging.getLogger(__name__)

SESSION_COOKIE = "lapor_console"
LOGIN_CSRF_COOKIE = "lapor_console_login"
#: Paths reachable without logging in.
PUBLIC_PATHS = frozenset({"/login", "/healthz", "/favicon.ico"})
PUBLIC_PREFIXES = ("/static/",)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str,
               max_age: int | None = None) -> None:
    """A cookie with the console's flags: HttpOnly, SameSite=Strict, Path=/, Secure on TLS."""
    response.set_cookie(name, value, httponly=True, samesite="Strict", path="/",
                        secure=is_https(request), max_age=max_age)


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Attach the reviewer (token or session) or refuse; check CSRF on page POSTs."""
    path = request.path
    accounts = request.app[ACCOUNTS]
    if path == "/api" or path.startswith("/api/"):
        token = _bearer(request)
        reviewer = await asyncio.to_thread(accounts.reviewer_for_token, token) if token else None
        if reviewer is None:
            return json_error(401, "unauthorized",
                              headers={"WWW-Authenticate": 'Bearer realm="lapor-console"'})
        request[REVIEWER] = reviewer
        return await handler(request)
    if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
        return await handler(request)
    session_id = request.cookies.get(SESSION_COOKIE)
    info = await asyncio.to_thread(accounts.session, session_id) if session_id else None
    if info is None:
        if request.method in ("GET", "HEAD"):
            response = redirect("/login" + ("?habis=1" if session_id else ""))
        else:
            # A POST without a live session carries no valid CSRF token either.
            response = page_error(request, 403, "csrf_failed" if not session_id
                                  else "session_expired")
        if session_id:
            response.del_cookie(SESSION_COOKIE, path="/")
        return response
    request[REVIEWER] = info.reviewer
    request[CSRF] = info.csrf_token
    request[SESSION_ID] = session_id
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        if not await csrf.valid(request, info.csrf_token):
            logger.warning("Console form refused: missing or wrong CSRF token")
            return page_error(request, 403, "csrf_failed")
    return await handler(request)


def _login_token(request: web.Request) -> str:
    """The login form's token: the browser's current one (several tabs, or a favicon
    request redirected here, must not invalidate an open form), else a new one."""
    current = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if len(current) == 43 and all(c.isalnum() or c in "-_" for c in current):
        return current
    return secrets.token_urlsafe(32)


async def login_page(request: web.Request) -> web.StreamResponse:
    """GET /login: the form, with the login CSRF token in a cookie and in the form."""
    token = _login_token(request)
    notice = message("session_expired") if request.query.get("habis") else None
    response = render(request, "login.html", login_csrf=token, error=None, notice=notice,
                      name="")
    set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


async def login(request: web.Request) -> web.StreamResponse:
    """POST /login: check the login CSRF token, then the password (throttled)."""
    form = await csrf.read_form(request)
    if form is None or not csrf.same(request.cookies.get(LOGIN_CSRF_COOKIE),
                                     form.get("csrf_token")):
        return page_error(request, 403, "csrf_failed")
    name = str(form.get("name") or "").strip()
    password = str(form.get("password") or "")
    accounts = request.app[ACCOUNTS]
    result = await asyncio.to_thread(accounts.login, name, password, client_address(request))
    if result.reviewer is None or result.session_id is None:
        token = _login_token(request)
        status = 429 if result.refused == "throttled" else 401
        response = render(request, "login.html", status=status, login_csrf=token,
                          error=message("login_" + (result.refused or "invalid")),
                          notice=None, name=name[:64])
        set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600)
        return response
    target = "/admin/pengguna" if result.reviewer.is_admin else "/antrian"
    response = redirect(target)
    lifetime = int(request.app[SETTINGS].session_lifetime.total_seconds())
    set_cookie(request, response, SESSION_COOKIE, result.session_id, max_age=lifetime)
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    """POST /logout (CSRF-checked by the middleware): end the session."""
    reviewer = request.get(REVIEWER)
    await asyncio.to_thread(request.app[ACCOUNTS].logout, request.get(SESSION_ID),
                            reviewer.name if reviewer else None)
    response = redirect("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response
