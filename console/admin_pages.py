"""Admin pages: accounts (create, disable, enable, unlock) and the audit log (read only)."""

from __future__ import annotations

import asyncio
import logging
import re

from aiohttp import web

from console import audit
from console.accounts import AccountError
from console.context import ACCOUNTS, STORE, reviewer_of
from console.errors import redirect
from console.messages import message
from console.pages import form_of
from console.render import render
from console.scope import Reviewer
from console.store import NotAllowed

logger = logging.getLogger(__name__)

_ACTION = re.compile(r"^[a-z.]{1,40}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")
USER_NOTICES = frozenset({"user_created", "user_updated"})
#: The account actions of the user page, by the word in the URL.
USER_ACTIONS = ("nonaktifkan", "aktifkan", "buka-kunci")
PAGE_SIZE = 50


def _admin(request: web.Request) -> Reviewer:
    reviewer = reviewer_of(request)
    if not reviewer.is_admin:
        raise NotAllowed("admin only")
    return reviewer


async def users_page(request: web.Request, status: int = 200,
                     error: str | None = None) -> web.Response:
    """GET /admin/pengguna: every account, and a form for a new one."""
    _admin(request)
    users = await asyncio.to_thread(request.app[ACCOUNTS].list_users)
    notice = request.query.get("pesan")
    return render(request, "users.html", status=status, users=users, error=error,
                  notice=message(notice) if notice in USER_NOTICES else None)


async def create_user(request: web.Request) -> web.StreamResponse:
    """POST /admin/pengguna: a new account."""
    admin = _admin(request)
    form = await form_of(request)
    values = {name: form.get(name) for name in ("name", "role", "regions", "password")}
    if not all(isinstance(value, str) for value in values.values()):
        return await users_page(request, 400, message("bad_request"))
    regions = str(values["regions"]).replace(",", " ").split()
    try:
        await asyncio.to_thread(request.app[ACCOUNTS].create_user, str(values["name"]),
                                str(values["role"]), regions, str(values["password"]),
                                admin.name)
    except AccountError as error:
        return await users_page(request, 400, message(error.code))
    return redirect("/admin/pengguna?pesan=user_created")


async def user_action(request: web.Request) -> web.StreamResponse:
    """POST /admin/pengguna/{name}/{action}: disable, enable or unlock an account."""
    admin = _admin(request)
    name, action = request.match_info["name"], request.match_info["action"]
    accounts = request.app[ACCOUNTS]
    if not _NAME.match(name) or action not in USER_ACTIONS:
        raise web.HTTPNotFound()
    try:
        if action == "buka-kunci":
            await asyncio.to_thread(accounts.unlock, name, admin.name)
        else:
            if name == admin.name:
                return await users_page(request, 400, message("forbidden"))
            await asyncio.to_thread(accounts.set_disabled, name, action == "nonaktifkan",
                                    admin.name)
    except AccountError as error:
        return await users_page(request, 400, message(error.code))
    return redirect("/admin/pengguna?pesan=user_updated")


async def audit_page(request: web.Request) -> web.StreamResponse:
    """GET /admin/audit: the audit log, newest first, filterable by actor and action."""
    _admin(request)
    before = request.query.get("sebelum", "")
    actor = request.query.get("aktor") or None
    action = request.query.get("aksi") or None
    bad = (bool(before) and not (before.isdigit() and int(before) < 2**31)) or (
        actor is not None and not _NAME.match(actor)) or (
        action is not None and not _ACTION.match(action))
    store = request.app[STORE]

    def read() -> list[audit.Entry]:
        with store.read() as session:
            return audit.entries(session, PAGE_SIZE + 1,
                                 int(before) if before.isdigit() and not bad else None,
                                 None if bad else actor, None if bad else action)

    found = await asyncio.to_thread(read)
    entries, more = found[:PAGE_SIZE], len(found) > PAGE_SIZE
    return render(request, "audit.html", status=400 if bad else 200, entries=entries,
                  more=more, actor=actor if not bad else None,
                  action=action if not bad else None,
                  error=message("bad_filter") if bad else None)


def add_routes(app: web.Application) -> None:
    """Register the admin pages."""
    app.router.add_get("/admin/pengguna", users_page)
    app.router.add_post("/admin/pengguna", create_user)
    app.router.add_post("/admin/pengguna/{name}/{action}", user_action)
    app.router.add_get("/admin/audit", audit_page)
