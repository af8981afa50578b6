"""The taskforce page (koordinators): issue and revoke volunteer codes, see the figures."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from console import taskforce
from console.context import STORE
from console.errors import redirect
from console.messages import message
from console.pages import form_of, reader
from console.render import render
from console.scope import Reviewer
from console.store import NotAllowed

logger = logging.getLogger(__name__)

TASKFORCE_NOTICES = frozenset({"codes_issued", "code_revoked"})
MAX_COUNT = 100


def _koordinator(request: web.Request) -> Reviewer:
    reviewer = reader(request)
    if not reviewer.is_koordinator:
        raise NotAllowed("koordinator only")
    return reviewer


async def taskforce_page(request: web.Request, status: int = 200, error: str | None = None,
                         issued: list[taskforce.VolunteerCodeInfo] | None = None
                         ) -> web.Response:
    """GET /gugus-tugas: codes, members, reports and takedowns per volunteer."""
    reviewer = _koordinator(request)
    rows = await asyncio.to_thread(taskforce.figures, request.app[STORE], reviewer)
    notice = request.query.get("pesan")
    return render(request, "taskforce.html", status=status, rows=rows, error=error,
                  issued=issued or [],
                  notice=message(notice) if notice in TASKFORCE_NOTICES else None)


async def issue_codes(request: web.Request) -> web.StreamResponse:
    """POST /gugus-tugas/kode: new codes for a region's taskforce (shown on the answer)."""
    reviewer = _koordinator(request)
    form = await form_of(request)
    region, name, count = form.get("region"), form.get("taskforce"), form.get("count") or "1"
    if not all(isinstance(v, str) for v in (region, name, count)) or not str(count).isdigit() \
            or not 1 <= int(str(count)) <= MAX_COUNT:
        return await taskforce_page(request, 400, message("bad_request"))
    try:
        issued = await asyncio.to_thread(taskforce.issue_codes, request.app[STORE], reviewer,
                                         str(region).strip(), str(name), int(str(count)))
    except taskforce.TaskforceError as error:
        return await taskforce_page(request, 400, message(error.code))
    return await taskforce_page(request, 200, issued=issued)


async def revoke_code(request: web.Request) -> web.StreamResponse:
    """POST /gugus-tugas/kode/{id}/cabut: revoke a code."""
    reviewer = _koordinator(request)
    code_id = int(request.match_info["code_id"])
    try:
        await asyncio.to_thread(taskforce.revoke_code, request.app[STORE], reviewer, code_id)
    except taskforce.TaskforceError:
        raise web.HTTPNotFound() from None
    return redirect("/gugus-tugas?pesan=code_revoked")


def add_routes(app: web.Application) -> None:
    """Register the taskforce pages."""
    app.router.add_get("/gugus-tugas", taskforce_page)
    app.router.add_post("/gugus-tugas/kode", issue_codes)
    app.router.add_post(r"/gugus-tugas/kode/{code_id:\d{1,9}}/cabut", revoke_code)
