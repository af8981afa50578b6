"""Error answers: JSON for the API, a polite Indonesian page for people."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from console.messages import message
from console.render import render

logger = logging.getLogger(__name__)


class BadRequest(ValueError):
    """Malformed input (400); the text says what, in English, without echoing the input."""


def json_error(status: int, code: str, headers: dict[str, str] | None = None,
               **extra: Any) -> web.Response:
    """`{"error": code, "message": ...}` with the status."""
    body = {"error": code, "message": message(code), **extra}
    return web.Response(status=status, text=json.dumps(body, ensure_ascii=False),
                        content_type="application/json", headers=headers)


def page_error(request: web.Request, status: int, code: str) -> web.Response:
    """The error page with the message for `code`."""
    return render(request, "error.html", status=status, error=message(code), status_code=status)


def redirect(location: str) -> web.Response:
    """A 303 See Other to a local path."""
    if not location.startswith("/") or location.startswith("//"):
        location = "/"
    return web.Response(status=303, headers={"Location": location})
