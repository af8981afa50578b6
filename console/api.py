"""The JSON API (`Authorization: Bearer TOKEN`; tokens from `lapor-admin token create`).

    GET  /api/reports?status=&region=&q=   -> {"reports": [{ticket_code, status, category,
                                               region_code, case_id, created_at}, ...]}
    GET  /api/reports/{ticket}             -> the report, its links, history, notifications
    POST /api/reports/{ticket}/status      {"status", "note"[, "destination", "outcome"]}
    GET  /api/cases/{id}                   -> {id, canonical_url, status, reports, links, ...}
    POST /api/cases/{id}/status            same body, every report of the case
    POST /api/cases/{id}/recheck           re-checks the links now, returns the case
    GET  /api/referrals/{platform}.csv     (and .json) a referral batch (?batch=ID) or the
                                           platform's open unreferred cases

Statuses: 401 without a valid token; 404 for a report or case outside a pengawas's
regions (as for one that does not exist); 403 for what the role may not do (an admin
reads no report; only a koordinator exports); 409 for a transition the workflow does
not allow (or "konten diturunkan" without a re-check finding the content gone); 400
with `{"error", "message"}` for a malformed body or query. Every view of a report or
case, every decision and export is in the audit log.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
from datetime import date, datetime
from typing import Any

from aiohttp import web

from bot.decisions import DecisionError
from bot.store.types import (
    STATUSES,
    CaseNotFound,
    InvalidTransition,
    NotificationState,
    ReportNotFound,
)
from console import casework, queries, referrals, signals
from console.context import CHECKER_FACTORY, STORE, reviewer_of
from console.errors import BadRequest, json_error
from console.scope import Reviewer
from console.store import ConsoleStore, NoTakedownEvidence, NotAllowed

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024
DECISION_FIELDS = frozenset({"status", "note", "destination", "outcome"})
_REGION = re.compile(r"^\d{2}(?:\.\d{2})?$")
MAX_QUERY_CHARS = 200
MAX_CASE_ID = 2**31 - 1


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_response(body: Any, status: int = 200) -> web.Response:
    """A JSON answer (datetimes as ISO 8601)."""
    return web.Response(status=status, content_type="application/json",
                        text=json.dumps(body, default=_default, ensure_ascii=False))


def _reader(request: web.Request) -> Reviewer:
    reviewer = reviewer_of(request)
    if not reviewer.reads_reports:
        raise NotAllowed("admins read no reports")
    return reviewer


def _case_id(request: web.Request) -> int:
    case_id = int(request.match_info["case_id"])
    if not 0 < case_id <= MAX_CASE_ID:
        raise CaseNotFound(case_id)
    return case_id


def notification_states(store: ConsoleStore, tickets: list[str]) -> dict[str, list[Any]]:
    """Per ticket, whether the reporter heard of each status change (the outbox), as
    JSON-ready dicts: new_status, state, attempts, last_error, created_at, sent_at."""
    if not tickets:
        return {}
    return {code: [_state_json(state) for state in states]
            for code, states in store.notification_states(tickets).items()}


def _state_json(state: NotificationState) -> dict[str, Any]:
    return {"new_status": state.new_status, "state": state.state, "attempts": state.attempts,
            "last_error": state.last_error, "created_at": state.created_at.isoformat(),
            "sent_at": state.sent_at.isoformat() if state.sent_at else None}


def report_for(store: ConsoleStore, reviewer: Reviewer, ticket: str, audit_view: bool
               ) -> dict[str, Any]:
    """The report as the API shows it (ReportNotFound when invisible); audits the view."""
    with store.read() as session:
        body = queries.report_detail(session, reviewer, ticket)
    if body is None:
        raise ReportNotFound(ticket)
    body["notifications"] = notification_states(store, [body["ticket_code"]]).get(
        body["ticket_code"], [])
    if audit_view:
        store.audit(reviewer.name, "report.view", body["ticket_code"])
    return body


def case_for(store: ConsoleStore, reviewer: Reviewer, case_id: int, audit_view: bool
             ) -> dict[str, Any]:
    """The case as the API shows it (CaseNotFound when invisible); audits the view."""
    with store.read() as session:
        body = queries.case_detail(session, reviewer, case_id)
        # Coordinated-report signals, over all the case's reports (console/signals.py).
        found = signals.for_case(session, case_id) if body is not None else None
    if body is None:
        raise CaseNotFound(case_id)
    body["signals"] = found.as_json() if found is not None else None
    states = notification_states(store, [r["ticket_code"] for r in body["reports"]])
    for report in body["reports"]:
        report["notifications"] = states.get(report["ticket_code"], [])
    if audit_view:
        store.audit(reviewer.name, "case.view", f"case:{case_id}",
                    tickets=[r["ticket_code"] for r in body["reports"]])
    return body


async def _decision(request: web.Request) -> dict[str, str | None]:
    """The decision body, checked for shape (the store checks the meaning)."""
    if request.content_type != "application/json":
        raise BadRequest("expected application/json")
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise BadRequest("body too large")
    raw = await request.read()
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest("body too large")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("malformed JSON") from exc
    if not isinstance(body, dict):
        raise BadRequest("expected a JSON object")
    unknown = set(body) - DECISION_FIELDS
    if unknown:
        raise BadRequest("unknown field")
    status = body.get("status")
    if not isinstance(status, str) or status not in STATUSES:
        raise BadRequest("status must be one of " + ", ".join(STATUSES))
    decision: dict[str, str | None] = {"status": status}
    for name in ("note", "destination", "outcome"):
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            raise BadRequest(f"{name} must be a string")
        decision[name] = value if value else None
    return decision


@web.middleware
async def api_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """Turn the console's exceptions into the API's JSON errors (pages have their own)."""
    if not request.path.startswith("/api/"):
        return await handler(request)
    try:
        return await handler(request)
    except (ReportNotFound, CaseNotFound):
        return json_error(404, "not_found")
    except NotAllowed as exc:
        code = "case_outside_regions" if "outside" in str(exc) else "forbidden"
        return json_error(403, code)
    except NoTakedownEvidence as exc:
        return json_error(409, exc.code, field=exc.field)
    except InvalidTransition as exc:
        return json_error(409, "transition_not_allowed", **{"from": exc.old_status,
                                                           "to": exc.new_status})
    except DecisionError as exc:
        return json_error(400, exc.code, field=exc.field)
    except referrals.AlreadyDone as exc:
        return json_error(409, exc.code)
    except referrals.ReferralError as exc:
        return json_error(404 if exc.code in ("unknown_platform", "unknown_batch") else 400,
                          exc.code)
    except BadRequest as exc:
        return json_error(400, "bad_request", detail=str(exc))
    except web.HTTPNotFound:
        return json_error(404, "not_found")
    except web.HTTPMethodNotAllowed:
        return json_error(405, "bad_request", detail="method not allowed")


async def list_reports(request: web.Request) -> web.Response:
    """GET /api/reports?status=&region=&q=."""
    reviewer = _reader(request)
    status = request.query.get("status") or None
    region = request.query.get("region") or None
    q = request.query.get("q") or None
    if status is not None and status not in STATUSES:
        raise BadRequest("unknown status")
    if region is not None and not _REGION.match(region):
        raise BadRequest("region must be a code like 33 or 33.75")
    if q is not None and len(q) > MAX_QUERY_CHARS:
        raise BadRequest("q is too long")
    store = request.app[STORE]

    def read() -> list[dict[str, Any]]:
        with store.read() as session:
            return queries.list_reports(session, reviewer, status, region, q)

    return json_response({"reports": await asyncio.to_thread(read)})


async def get_report(request: web.Request) -> web.Response:
    """GET /api/reports/{ticket}."""
    reviewer = _reader(request)
    body = await asyncio.to_thread(report_for, request.app[STORE], reviewer,
                                   request.match_info["ticket"], True)
    return json_response(body)


async def report_status(request: web.Request) -> web.Response:
    """POST /api/reports/{ticket}/status."""
    reviewer = _reader(request)
    decision = await _decision(request)
    store = request.app[STORE]
    ticket = request.match_info["ticket"]
    update = await asyncio.to_thread(
        store.decide_report, reviewer, ticket, decision["status"] or "", decision["note"],
        decision["destination"], decision["outcome"])
    body = await asyncio.to_thread(report_for, store, reviewer, update.ticket_code, False)
    return json_response(body)


async def get_case(request: web.Request) -> web.Response:
    """GET /api/cases/{id}."""
    reviewer = _reader(request)
    body = await asyncio.to_thread(case_for, request.app[STORE], reviewer, _case_id(request),
                                   True)
    return json_response(body)


async def case_status(request: web.Request) -> web.Response:
    """POST /api/cases/{id}/status."""
    reviewer = _reader(request)
    case_id = _case_id(request)
    decision = await _decision(request)
    store = request.app[STORE]
    await asyncio.to_thread(store.decide_case, reviewer, case_id, decision["status"] or "",
                            decision["note"], decision["destination"], decision["outcome"])
    return json_response(await asyncio.to_thread(case_for, store, reviewer, case_id, False))


async def case_recheck(request: web.Request) -> web.Response:
    """POST /api/cases/{id}/recheck."""
    reviewer = _reader(request)
    case_id = _case_id(request)
    store = request.app[STORE]
    await casework.recheck_case(store, reviewer, case_id, request.app[CHECKER_FACTORY])
    return json_response(await asyncio.to_thread(case_for, store, reviewer, case_id, False))


async def referral_export(request: web.Request) -> web.Response:
    """GET /api/referrals/{platform}.csv or .json (?batch=ID)."""
    reviewer = _reader(request)
    if not reviewer.is_koordinator:
        raise NotAllowed("only a koordinator exports")
    batch = request.query.get("batch")
    if batch is not None and (not batch.isdigit() or not 0 < int(batch) <= MAX_CASE_ID):
        raise BadRequest("batch must be a batch id")
    referral = await asyncio.to_thread(referrals.load_referral, request.app[STORE], reviewer,
                                       request.match_info["platform"],
                                       int(batch) if batch else None)
    name = f"rujukan-{referral.platform}-{referral.batch_id or 'draf'}"
    if request.match_info["format"] == "csv":
        return web.Response(text=referral.to_csv(), content_type="text/csv", charset="utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    return web.Response(text=referral.to_json(), content_type="application/json",
                        headers={"Content-Disposition": f'attachment; filename="{name}.json"'})


def add_routes(app: web.Application) -> None:
    """Register the API's routes."""
    app.router.add_get("/api/reports", list_reports)
    app.router.add_get("/api/reports/{ticket}", get_report)
    app.router.add_post("/api/reports/{ticket}/status", report_status)
    app.router.add_get(r"/api/cases/{case_id:\d{1,10}}", get_case)
    app.router.add_post(r"/api/cases/{case_id:\d{1,10}}/status", case_status)
    app.router.add_post(r"/api/cases/{case_id:\d{1,10}}/recheck", case_recheck)
    app.router.add_get(r"/api/referrals/{platform:[a-z0-9_]{1,40}}.{format:csv|json}",
                       referral_export)
