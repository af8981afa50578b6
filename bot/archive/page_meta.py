"""A page's own description of itself: title, description, author, publish time.

Read from `<title>`, `<meta name=...>`, OpenGraph (`og:*`, `article:*`) and
JSON-LD (`application/ld+json`) where present, with selectolax (a C parser that
stays linear on hostile markup). CPU work on untrusted input: call `page_meta`
in a thread (`asyncio.to_thread`) on a bounded body, as the archive worker does.
"""

from __future__ import annotations

import codecs
import json
import logging
from typing import Any

from selectolax.lexbor import LexborHTMLParser

logger = logging.getLogger(__name__)

#: Longest value kept per field (characters), and JSON-LD blocks read per page.
MAX_VALUE_CHARS = 500
MAX_JSON_LD_BLOCKS = 5
MAX_JSON_LD_CHARS = 64 * 1024
FIELDS = ("title", "description", "author", "published")

_META: dict[str, tuple[tuple[str, str], ...]] = {
    "title": (("property", "og:title"), ("name", "twitter:title")),
    "description": (("property", "og:description"), ("name", "description"),
                    ("name", "twitter:description")),
    "author": (("name", "author"), ("property", "article:author"), ("name", "byl")),
    "published": (("property", "article:published_time"), ("name", "pubdate"),
                  ("name", "date"), ("itemprop", "datePublished")),
}
_JSON_LD: dict[str, tuple[str, ...]] = {
    "title": ("headline", "name"), "description": ("description",),
    "author": ("author", "creator"), "published": ("datePublished", "uploadDate",
                                                   "dateCreated"),
}


def _clean(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())[:MAX_VALUE_CHARS]
    return text or None


def _json_ld_value(value: Any) -> str | None:
    """A string, or the `name` of an object (authors), or the first of a list."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("name")
    return _clean(value)


def _json_ld_items(tree: LexborHTMLParser) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for node in tree.css('script[type="application/ld+json"]')[:MAX_JSON_LD_BLOCKS]:
        text = node.text(deep=True)
        if not text or len(text) > MAX_JSON_LD_CHARS:
            continue
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            continue
        candidates = data if isinstance(data, list) else [data]
        for candidate in candidates:
            if isinstance(candidate, dict):
                graph = candidate.get("@graph")
                if isinstance(graph, list):
                    items.extend(item for item in graph if isinstance(item, dict))
                items.append(candidate)
    return items


def page_meta(body: bytes, charset: str | None = None) -> dict[str, str]:
    """The page's title, description, author and publish time that are present
    (keys of FIELDS; values are the page's own words, whitespace collapsed, capped)."""
    encoding = "utf-8"
    if charset:
        try:
            encoding = codecs.lookup(charset).name
        except LookupError:
            logger.info("Unknown page charset; decoding as UTF-8")
    tree = LexborHTMLParser(body.decode(encoding, errors="replace"))
    found: dict[str, str] = {}
    for name, selectors in _META.items():
        for attribute, value in selectors:
            node = tree.css_first(f'meta[{attribute}="{value}"]')
            content = _clean(node.attributes.get("content")) if node is not None else None
            if content:
                found[name] = content
                break
    if "title" not in found:
        node = tree.css_first("title")
        title = _clean(node.text()) if node is not None else None
        if title:
            found["title"] = title
    for item in _json_ld_items(tree):
        for name, keys in _JSON_LD.items():
            if name in found:
                continue
            for key in keys:
                value = _json_ld_value(item.get(key))
                if value:
                    found[name] = value
                    break
    return found
