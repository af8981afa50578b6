"""Server-rendered pages: one Jinja2 environment (autoescaped), Indonesian formatting.

Templates live in console/templates/; every page gets the reviewer, their CSRF
token (`csrf_field()` inside every form) and the curated labels. Nothing is
loaded at import time: the environment is built on first use.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from markupsafe import Markup

from bot.categories import categories, label_for
from bot.dates import MONTHS_ID, WIB
from bot.decisions import decision_lists
from bot.regions import get_region
from bot.status_labels import status_label
from bot.store.types import ALLOWED_TRANSITIONS, STATUSES
from console.context import CSRF, REVIEWER

logger = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
#: The words reviewers use for statuses (the stored values are already Indonesian).
STATUS_NAMES = {"baru": "Baru", "diproses": "Diproses", "diteruskan": "Diteruskan",
                "selesai": "Selesai", "ditolak": "Ditolak"}
CHECK_NAMES = {"ok": "dapat diakses", "not_found": "sudah tidak ada", "unreachable":
               "tidak dapat dihubungi", "timeout": "waktu habis", "blocked": "diblokir (alamat "
               "tidak aman)", "invalid": "tautan tidak sah", "too_many_redirects":
               "terlalu banyak pengalihan", "unchecked": "belum dicek",
               "no_link": "tanpa tautan (hanya tangkapan layar)",
               "screenshot_match": "bergabung karena tangkapan layar yang sama"}
#: Notification states (bot.store.types.NotificationState.state), for reviewers.
NOTIFICATION_NAMES = {"pending": "menunggu dikirim", "queued": "dalam antrean",
                      "sent": "terkirim", "failed": "gagal",
                      "impossible": "tidak dapat dikirim (kontak dihapus atau tanpa izin)"}


def wib(value: datetime | None) -> str:
    """"1 Desember 2026 14.05 WIB"."""
    if value is None:
        return "-"
    local = value.astimezone(WIB)
    return f"{local.day} {MONTHS_ID[local.month - 1]} {local.year} {local:%H.%M} WIB"


def tanggal(value: date | None) -> str:
    """"1 Desember 2026"."""
    if value is None:
        return "-"
    return f"{value.day} {MONTHS_ID[value.month - 1]} {value.year}"


def region_name(code: str | None) -> str:
    """The region's display name for a code (the code itself when unknown)."""
    if not code:
        return "Tanpa wilayah"
    region = get_region(code)
    return region.display_name if region else code


def destination_label(value: str | None) -> str:
    """The label of a destination value."""
    choice = decision_lists().destination(value)
    return choice.label if choice else (value or "-")


def outcome_label(value: str | None) -> str:
    """The label of an outcome value."""
    choice = decision_lists().outcome(value)
    return choice.label if choice else (value or "-")


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The template environment (built once)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=jinja2.select_autoescape(["html"], default=True),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(wib=wib, tanggal=tanggal, status=lambda s: STATUS_NAMES.get(s, s),
                       citizen_status=status_label, category=label_for, region=region_name,
                       destination=destination_label, outcome=outcome_label,
                       check=lambda s: CHECK_NAMES.get(s or "unchecked", s),
                       notification=lambda s: NOTIFICATION_NAMES.get(s, s))
    env.globals.update(STATUSES=STATUSES, STATUS_NAMES=STATUS_NAMES,
                       ALLOWED_TRANSITIONS=ALLOWED_TRANSITIONS)
    return env


def render(request: web.Request, template: str, status: int = 200,
           **context: Any) -> web.Response:
    """A rendered page (HTML, UTF-8); security headers are added by the middleware."""
    csrf = request.get(CSRF) or ""

    def csrf_field() -> Markup:
        return Markup('<input type="hidden" name="csrf_token" value="{}">').format(csrf)

    lists = decision_lists()
    body = environment().get_template(template).render(
        reviewer=request.get(REVIEWER), csrf_field=csrf_field, csrf_token=csrf,
        destinations=lists.destinations, outcomes=lists.outcomes,
        categories=categories(), request_path=request.path, **context)
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
