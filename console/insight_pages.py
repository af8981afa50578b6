"""Koordinator and overview pages: takedown referrals and the dashboard (with CSV export)."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import timedelta

from aiohttp import web

from bot.categories import category_values
from console import dashboard, referrals
from console.context import STORE, TODAY
from console.errors import page_error, redirect
from console.messages import message
from console.pages import PLATFORMS, _date, form_of, reader
from console.render import render
from console.scope import Reviewer
from console.store import NotAllowed

logger = logging.getLogger(__name__)

_REGION = re.compile(r"^\d{2}(?:\.\d{2})?$")
DEFAULT_DAYS = 30
REFERRAL_NOTICES = frozenset({"referral_created", "referral_sent"})


def _koordinator(request: web.Request) -> Reviewer:
    reviewer = reader(request)
    if not reviewer.is_koordinator:
        raise NotAllowed("koordinator only")
    return reviewer


# --- referrals ----------------------------------------------------------------------


async def referrals_page(request: web.Request, status: int = 200,
                         error: str | None = None) -> web.Response:
    """GET /rujukan: open cases per platform to select, and the batches made so far."""
    reviewer = _koordinator(request)
    store = request.app[STORE]
    candidates = await asyncio.to_thread(referrals.candidates, store, reviewer)
    batches = await asyncio.to_thread(referrals.batches, store, reviewer)
    notice = request.query.get("pesan")
    platforms = {c.value: c.label for c in referrals.decision_lists().referral_platforms()}
    return render(request, "referrals.html", status=status, candidates=candidates,
                  batches=batches, platforms=platforms, error=error,
                  notice=message(notice) if notice in REFERRAL_NOTICES else None)


async def create_referral(request: web.Request) -> web.StreamResponse:
    """POST /rujukan: a batch of the selected cases for one platform."""
    reviewer = _koordinator(request)
    form = await form_of(request)
    platform = form.get("platform")
    ids = [int(v) for v in form.getall("case_id", []) if isinstance(v, str) and v.isdigit()
           and 0 < int(v) < 2**31]
    try:
        await asyncio.to_thread(referrals.create_batch, request.app[STORE], reviewer,
                                platform if isinstance(platform, str) else "", ids)
    except referrals.ReferralError as error:
        code = 409 if isinstance(error, referrals.AlreadyDone) else 400
        return await referrals_page(request, code, message(error.code))
    return redirect("/rujukan?pesan=referral_created")


async def referral_sent(request: web.Request) -> web.StreamResponse:
    """POST /rujukan/{id}/terkirim: record sending and the platform's reference."""
    reviewer = _koordinator(request)
    form = await form_of(request)
    reference = form.get("reference")
    try:
        await asyncio.to_thread(referrals.mark_sent, request.app[STORE], reviewer,
                                int(request.match_info["batch_id"]),
                                reference if isinstance(reference, str) else "")
    except referrals.ReferralError as error:
        code = 409 if isinstance(error, referrals.AlreadyDone) else 400
        return await referrals_page(request, code, message(error.code))
    return redirect("/rujukan?pesan=referral_sent")


async def referral_download(request: web.Request) -> web.StreamResponse:
    """GET /rujukan/{platform}/{id}.csv|json: a batch file (audited export)."""
    reviewer = _koordinator(request)
    try:
        referral = await asyncio.to_thread(
            referrals.load_referral, request.app[STORE], reviewer,
            request.match_info["platform"], int(request.match_info["batch_id"]))
    except referrals.ReferralError:
        return page_error(request, 404, "unknown_batch")
    name = f"rujukan-{referral.platform}-{referral.batch_id}"
    if request.match_info["format"] == "csv":
        return web.Response(text=referral.to_csv(), content_type="text/csv", charset="utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    return web.Response(text=referral.to_json(), content_type="application/json",
                        headers={"Content-Disposition": f'attachment; filename="{name}.json"'})


# --- dashboard ----------------------------------------------------------------------


def dashboard_filters(request: web.Request) -> tuple[dashboard.DashboardFilters, bool]:
    """The dashboard's view from the query string, and whether some of it was invalid."""
    query = request.query
    today = request.app[TODAY]()
    date_to = _date(query.get("sampai")) or today
    date_from = _date(query.get("dari")) or date_to - timedelta(days=DEFAULT_DAYS - 1)
    bad = (bool(query.get("dari")) and _date(query.get("dari")) is None) or (
        bool(query.get("sampai")) and _date(query.get("sampai")) is None)
    if date_from > date_to or (date_to - date_from).days >= dashboard.MAX_DAYS:
        bad, date_from = True, date_to - timedelta(days=DEFAULT_DAYS - 1)
    category = query.get("kategori") or None
    platform = query.get("platform") or None
    region = query.get("wilayah") or None
    if category and category not in category_values():
        bad, category = True, None
    if platform and platform not in PLATFORMS:
        bad, platform = True, None
    if region and not _REGION.match(region):
        bad, region = True, None
    return dashboard.DashboardFilters(date_from, date_to, category, platform, region), bad


async def dashboard_page(request: web.Request) -> web.StreamResponse:
    """GET /dasbor: figures and charts of the filtered view."""
    reviewer = reader(request)
    filters, bad = dashboard_filters(request)
    store = request.app[STORE]

    def read() -> dashboard.Figures:
        with store.read() as session:
            return dashboard.figures(session, reviewer, filters)

    figures = await asyncio.to_thread(read)
    charts = {
        "per_day": dashboard.column_chart(figures.per_day, "Laporan per hari"),
        "category": dashboard.bar_chart(figures.by_category, "Laporan per kategori"),
        "platform": dashboard.bar_chart(figures.by_platform, "Laporan per platform"),
        "province": dashboard.bar_chart(figures.by_province, "Laporan per provinsi"),
    }
    return render(request, "dashboard.html", status=400 if bad else 200, figures=figures,
                  charts=charts, filters=filters, platforms=PLATFORMS,
                  query_string=request.query_string,
                  error=message("bad_filter") if bad else None)


async def dashboard_export(request: web.Request) -> web.StreamResponse:
    """GET /dasbor.csv: the filtered view, one line per report, no reporter data (audited;
    exports are a koordinator's)."""
    reviewer = _koordinator(request)
    filters, bad = dashboard_filters(request)
    if bad:
        return page_error(request, 400, "bad_filter")
    store = request.app[STORE]

    def export() -> str:
        with store.read() as session:
            text, count = dashboard.export_csv(session, reviewer, filters)
        store.audit(reviewer.name, "dashboard.export", None, rows=count,
                    date_from=filters.date_from.isoformat(), date_to=filters.date_to.isoformat(),
                    category=filters.category, platform=filters.platform, region=filters.region)
        return text

    text = await asyncio.to_thread(export)
    name = f"laporan-{filters.date_from.isoformat()}-{filters.date_to.isoformat()}.csv"
    return web.Response(text=text, content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})


def add_routes(app: web.Application) -> None:
    """Register the referral and dashboard pages."""
    app.router.add_get("/rujukan", referrals_page)
    app.router.add_post("/rujukan", create_referral)
    app.router.add_post(r"/rujukan/{batch_id:\d{1,10}}/terkirim", referral_sent)
    app.router.add_get(r"/rujukan/{platform:[a-z0-9_]{1,40}}/{batch_id:\d{1,10}}.{format:csv|json}",
                       referral_download)
    app.router.add_get("/dasbor", dashboard_page)
    app.router.add_get("/dasbor.csv", dashboard_export)
