"""Reviewers' pages: the queue, a case, decisions, notes, assignment, re-checks,
evidence files and the audited contact reveal.

Forms post back and are answered with a redirect (303) to the case page and a
confirmation, or with the page again, an Indonesian message and an error status.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import date
from pathlib import Path
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy
from sqlalchemy import select

from bot.archive.warc import ARCHIVE_DIRNAME
from bot.categories import category_values
from bot.decisions import DecisionError
from bot.evidence import ALLOWED_TYPES, EVIDENCE_DIRNAME
from bot.settings import get_settings
from bot.store.models import ConsoleUser, Evidence, LinkArchive, Report, ReportLink
from bot.store.types import STATUSES, CaseNotFound, InvalidTransition, ReportNotFound
from bot.urls import PLATFORM_HOSTS
from console import casework, queries, signals
from console.api import case_for
from console.context import CHECKER_FACTORY, STORE, TODAY, reviewer_of
from console.csrf import read_form
from console.errors import page_error, redirect
from console.messages import message
from console.render import render
from console.scope import KOORDINATOR, PENGAWAS, Reviewer
from console.store import NoTakedownEvidence, NotAllowed

logger = logging.getLogger(__name__)

PLATFORMS = tuple(name for name, _ in PLATFORM_HOSTS) + ("web",)
_REGION = re.compile(r"^\d{2}(?:\.\d{2})?$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")
MAX_FIELD_CHARS = 4000
#: Confirmations the case page shows after a redirect (`?pesan=`).
CASE_NOTICES = frozenset({"saved_status", "saved_note", "saved_assignment", "rechecked"})


@web.middleware
async def page_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """Polite Indonesian pages for what the page handlers refuse."""
    if request.path.startswith("/api/"):
        return await handler(request)
    try:
        return await handler(request)
    except (ReportNotFound, CaseNotFound):
        return page_error(request, 404, "not_found")
    except NotAllowed:
        return page_error(request, 403, "forbidden")
    except web.HTTPNotFound:
        return page_error(request, 404, "not_found")


def reader(request: web.Request) -> Reviewer:
    """The reviewer, who must be a pengawas or koordinator."""
    reviewer = reviewer_of(request)
    if not reviewer.reads_reports:
        raise NotAllowed("admins read no reports")
    return reviewer


def field(form: MultiDictProxy, name: str) -> str | None:
    """A form field as trimmed text (None when empty); overlong input is refused."""
    value = form.get(name)
    if not isinstance(value, str):
        return None
    value = value.strip()
    if len(value) > MAX_FIELD_CHARS:
        raise DecisionError("note_too_long", name)
    return value or None


async def form_of(request: web.Request) -> MultiDictProxy:
    """The posted form (the CSRF middleware already read and checked it)."""
    form = await read_form(request)
    if form is None:
        raise web.HTTPBadRequest()
    return form


def _date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


# --- queue ------------------------------------------------------------------------


def queue_filters(query: Any, reviewer: Reviewer) -> tuple[queries.QueueFilters, bool]:
    """The queue's filters from the query string, and whether some were invalid (ignored)."""
    bad = False

    def pick(name: str, allowed: Any) -> str | None:
        nonlocal bad
        value = (query.get(name) or "").strip()
        if not value:
            return None
        if not allowed(value):
            bad = True
            return None
        return value

    status = pick("status", lambda v: v in STATUSES or v in ("terbuka", "semua"))
    assignee = pick("petugas", lambda v: v in ("-", "saya") or bool(_NAME.match(v)))
    if assignee == "saya":
        assignee = reviewer.name
    date_from, date_to = _date(query.get("dari")), _date(query.get("sampai"))
    bad = bad or (bool(query.get("dari")) and date_from is None) or (
        bool(query.get("sampai")) and date_to is None)
    q = (query.get("q") or "").strip()
    if len(q) > queries.MAX_SEARCH_CHARS:
        bad, q = True, ""
    filters = queries.QueueFilters(
        status=None if status == "semua" else (status or "terbuka"),
        category=pick("kategori", lambda v: v in category_values()),
        platform=pick("platform", lambda v: v in PLATFORMS),
        region=pick("wilayah", lambda v: bool(_REGION.match(v))),
        date_from=date_from, date_to=date_to, assignee=assignee, q=q or None,
        volunteer=pick("relawan", lambda v: v == "1") == "1")
    return filters, bad


async def home(request: web.Request) -> web.StreamResponse:
    """GET /: the queue (or the accounts page for an admin)."""
    reviewer = reviewer_of(request)
    return redirect("/admin/pengguna" if reviewer.is_admin else "/antrian")


async def queue_page(request: web.Request) -> web.StreamResponse:
    """GET /antrian: cases, most urgent first, with filters and search."""
    reviewer = reader(request)
    filters, bad = queue_filters(request.query, reviewer)
    store = request.app[STORE]
    today = request.app[TODAY]()

    def read() -> tuple[list[queries.QueueItem], list[str], dict[int, signals.CaseSignals]]:
        with store.read() as session:
            items = queries.queue(session, reviewer, filters, today)
            # Coordinated-report signals of the listed cases, a fixed number of queries.
            flags = signals.for_cases(session, [item.case_id for item in items])
            names = list(session.scalars(
                select(ConsoleUser.name).where(ConsoleUser.role.in_((PENGAWAS, KOORDINATOR)),
                                               ConsoleUser.disabled_at.is_(None))
                .order_by(ConsoleUser.name)).all())
        return items, names, flags

    items, names, flags = await asyncio.to_thread(read)
    return render(request, "queue.html", status=400 if bad else 200, items=items,
                  filters=filters, query=request.query, platforms=PLATFORMS, reviewers=names,
                  signals=flags,
                  error=message("bad_filter") if bad else None, today=today)


# --- case -------------------------------------------------------------------------


async def _case_page(request: web.Request, case_id: int, status: int = 200,
                     error: str | None = None, audit_view: bool = True) -> web.Response:
    reviewer = reader(request)
    store = request.app[STORE]
    body = await asyncio.to_thread(case_for, store, reviewer, case_id, audit_view)

    def users() -> list[str]:
        with store.read() as session:
            return list(session.scalars(
                select(ConsoleUser.name).where(ConsoleUser.role.in_((PENGAWAS, KOORDINATOR)),
                                               ConsoleUser.disabled_at.is_(None))
                .order_by(ConsoleUser.name)).all())

    names = await asyncio.to_thread(users) if reviewer.is_koordinator else []
    notice = request.query.get("pesan")
    return render(request, "case.html", status=status, case=body, error=error,
                  notice=message(notice) if notice in CASE_NOTICES else None,
                  reviewers=names, today=request.app[TODAY]())


def _case_id(request: web.Request) -> int:
    case_id = int(request.match_info["case_id"])
    if not 0 < case_id < 2**31:
        raise CaseNotFound(case_id)
    return case_id


async def case_page(request: web.Request) -> web.StreamResponse:
    """GET /kasus/{id}: the case (audited view)."""
    return await _case_page(request, _case_id(request))


def _decision_status(error: Exception) -> tuple[int, str]:
    if isinstance(error, NoTakedownEvidence):
        return 409, error.code
    if isinstance(error, DecisionError):
        return 400, error.code
    if isinstance(error, InvalidTransition):
        return 409, "transition_not_allowed"
    if isinstance(error, NotAllowed) and "outside" in str(error):
        return 403, "case_outside_regions"
    raise error


async def case_decision(request: web.Request) -> web.StreamResponse:
    """POST /kasus/{id}/status: a decision for every report of the case."""
    reviewer = reader(request)
    case_id = _case_id(request)
    form = await form_of(request)
    try:
        status = field(form, "status") or ""
        await asyncio.to_thread(request.app[STORE].decide_case, reviewer, case_id, status,
                                field(form, "note"), field(form, "destination"),
                                field(form, "outcome"))
    except (DecisionError, InvalidTransition, NotAllowed) as error:
        code, key = _decision_status(error)
        return await _case_page(request, case_id, code, message(key), audit_view=False)
    return redirect(f"/kasus/{case_id}?pesan=saved_status")


async def report_decision(request: web.Request) -> web.StreamResponse:
    """POST /laporan/{ticket}/status: a decision for one report (back to its case)."""
    reviewer = reader(request)
    form = await form_of(request)
    back = field(form, "case_id") or ""
    case_id = int(back) if back.isdigit() and 0 < int(back) < 2**31 else None
    try:
        update = await asyncio.to_thread(
            request.app[STORE].decide_report, reviewer, request.match_info["ticket"],
            field(form, "status") or "", field(form, "note"), field(form, "destination"),
            field(form, "outcome"))
    except (DecisionError, InvalidTransition) as error:
        code, key = _decision_status(error)
        if case_id is None:
            return page_error(request, code, key)
        return await _case_page(request, case_id, code, message(key), audit_view=False)
    target = f"/kasus/{case_id}" if case_id else "/antrian"
    logger.info("Report %s decided through the form", update.ticket_code)
    return redirect(target + "?pesan=saved_status")


async def case_note(request: web.Request) -> web.StreamResponse:
    """POST /kasus/{id}/catatan: a working note."""
    reviewer = reader(request)
    case_id = _case_id(request)
    form = await form_of(request)
    text = form.get("text")
    try:
        await asyncio.to_thread(casework.add_note, request.app[STORE], reviewer, case_id,
                                text if isinstance(text, str) else "")
    except casework.CaseworkError as error:
        return await _case_page(request, case_id, 400, message(error.code), audit_view=False)
    return redirect(f"/kasus/{case_id}?pesan=saved_note")


async def case_assign(request: web.Request) -> web.StreamResponse:
    """POST /kasus/{id}/penugasan: a koordinator assigns the case."""
    reviewer = reader(request)
    case_id = _case_id(request)
    form = await form_of(request)
    name = field(form, "assignee")
    try:
        await asyncio.to_thread(casework.assign, request.app[STORE], reviewer, case_id, name)
    except casework.CaseworkError as error:
        return await _case_page(request, case_id, 400, message(error.code), audit_view=False)
    return redirect(f"/kasus/{case_id}?pesan=saved_assignment")


async def case_recheck(request: web.Request) -> web.StreamResponse:
    """POST /kasus/{id}/cek-ulang: re-check the links now."""
    reviewer = reader(request)
    case_id = _case_id(request)
    await casework.recheck_case(request.app[STORE], reviewer, case_id,
                                request.app[CHECKER_FACTORY])
    return redirect(f"/kasus/{case_id}?pesan=rechecked")


async def reveal_contact(request: web.Request) -> web.StreamResponse:
    """POST /laporan/{ticket}/kontak: a koordinator's audited look at the contact."""
    reviewer = reader(request)
    form = await form_of(request)
    ticket = request.match_info["ticket"]
    reason = form.get("reason")
    try:
        contact = await asyncio.to_thread(casework.reveal_contact, request.app[STORE], reviewer,
                                          ticket, reason if isinstance(reason, str) else "")
    except casework.CaseworkError as error:
        return page_error(request, 400, error.code)
    return render(request, "contact.html", ticket=ticket.upper(), contact=contact)


async def evidence_file(request: web.Request) -> web.StreamResponse:
    """GET /bukti/{id}: an evidence file, only for reviewers who may see its report."""
    reviewer = reader(request)
    evidence_id = int(request.match_info["evidence_id"])
    store = request.app[STORE]

    def find() -> tuple[str, str, str] | None:
        with store.read() as session:
            found = session.execute(
                select(Evidence, Report.region_code, Report.ticket_code)
                .join(Report, Report.id == Evidence.report_id)
                .where(Evidence.id == evidence_id)).first()
        if found is None or not reviewer.can_see_region(found[1]):
            return None
        store.audit(reviewer.name, "evidence.view", found[2], evidence=evidence_id)
        return found[0].storage_path, found[0].mime_type, found[2]

    located = await asyncio.to_thread(find) if 0 < evidence_id < 2**31 else None
    if located is None:
        raise ReportNotFound(str(evidence_id))
    storage_path, mime_type, _ticket = located
    root = (get_settings().var_dir / EVIDENCE_DIRNAME).resolve()
    path = (get_settings().var_dir / storage_path).resolve()
    if root not in path.parents or not path.is_file():
        logger.warning("An evidence file is missing or outside the evidence folder")
        raise ReportNotFound(str(evidence_id))
    content_type = mime_type if mime_type in ALLOWED_TYPES else "application/octet-stream"
    inline = content_type.startswith("image/")
    data = await asyncio.to_thread(Path.read_bytes, path)
    return web.Response(body=data, content_type=content_type, headers={
        "Content-Disposition": ("inline" if inline else "attachment")
        + f'; filename="bukti-{evidence_id}{path.suffix}"'})


async def archive_file(request: web.Request) -> web.StreamResponse:
    """GET /arsip/{id}: a link's WARC archive, only for reviewers who may see its report
    (404 otherwise, as for one that does not exist); each download is audited."""
    reviewer = reader(request)
    archive_id = int(request.match_info["archive_id"])
    store = request.app[STORE]

    def find() -> str | None:
        with store.read() as session:
            found = session.execute(
                select(LinkArchive.path, Report.region_code, Report.ticket_code,
                       LinkArchive.sha256)
                .join(ReportLink, ReportLink.id == LinkArchive.report_link_id)
                .join(Report, Report.id == ReportLink.report_id)
                .where(LinkArchive.id == archive_id, LinkArchive.state == "done")).first()
        if found is None or found.path is None or not reviewer.can_see_region(found.region_code):
            return None
        store.audit(reviewer.name, "archive.download", found.ticket_code, archive=archive_id,
                    sha256=found.sha256)
        return found.path

    located = await asyncio.to_thread(find) if 0 < archive_id < 2**31 else None
    if located is None:
        raise ReportNotFound(str(archive_id))
    root = (get_settings().var_dir / ARCHIVE_DIRNAME).resolve()
    path = (get_settings().var_dir / located).resolve()
    if root not in path.parents or not path.is_file():
        logger.warning("An archive file is missing or outside the archive folder")
        raise ReportNotFound(str(archive_id))
    data = await asyncio.to_thread(Path.read_bytes, path)
    return web.Response(body=data, content_type="application/warc", headers={
        "Content-Disposition": f'attachment; filename="arsip-{archive_id}.warc.gz"'})


def add_routes(app: web.Application) -> None:
    """Register the reviewers' pages."""
    app.router.add_get("/", home)
    app.router.add_get("/antrian", queue_page)
    app.router.add_get(r"/kasus/{case_id:\d{1,10}}", case_page)
    app.router.add_post(r"/kasus/{case_id:\d{1,10}}/status", case_decision)
    app.router.add_post(r"/kasus/{case_id:\d{1,10}}/catatan", case_note)
    app.router.add_post(r"/kasus/{case_id:\d{1,10}}/penugasan", case_assign)
    app.router.add_post(r"/kasus/{case_id:\d{1,10}}/cek-ulang", case_recheck)
    app.router.add_post("/laporan/{ticket}/status", report_decision)
    app.router.add_post("/laporan/{ticket}/kontak", reveal_contact)
    app.router.add_get(r"/bukti/{evidence_id:\d{1,10}}", evidence_file)
    app.router.add_get(r"/arsip/{archive_id:\d{1,10}}", archive_file)
