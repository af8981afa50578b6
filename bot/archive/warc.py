"""Write one link's capture as a WARC file (ISO 28500, via warcio), atomically.

Records, in order: `warcinfo`; per hop a `request` and its `response` (the HTTP
headers as received, the payload as received and capped; `WARC-Truncated:
length` when the server sent more); then one `metadata` record (JSON) with the
final URL, the redirects, the page's own title/description/author/publish time,
the fetch time and the SHA-256 of every response payload. Block and payload
digests are SHA-256 (`sha256:` + base32, as warcio writes and checks them).

Files live under `var/archives/<yyyy>/<mm>/`, named by a random id (never by
the URL or the reporter); the caller records the file's SHA-256 and size.
Blocking file work: call `write_warc` in a thread.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import Any

from warcio.statusandheaders import StatusAndHeaders
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

from bot.link_checker import USER_AGENT, Exchange

logger = logging.getLogger(__name__)

ARCHIVE_DIRNAME = "archives"
#: Hop-by-hop headers describing a transfer aiohttp already undid: the stored
#: payload is de-chunked, so this header would make replay tools misread it
#: (the headers exactly as received are in the metadata record).
_TRANSFER_HEADERS = frozenset({"transfer-encoding"})


class Sha256WarcWriter(WARCWriter):
    """warcio's writer with SHA-256 block and payload digests (warcio uses SHA-1)."""

    @staticmethod
    def _create_digester() -> Digester:
        return Digester("sha256")


@dataclass(frozen=True)
class StoredWarc:
    """A WARC file written under var/: where, how big, its SHA-256 and the final payload's."""

    path: str  # relative to var/
    size: int
    sha256: str
    payload_sha256: str | None


def _warc_date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _records(writer: WARCWriter, exchanges: list[Exchange], meta: dict[str, Any]
             ) -> list[Any]:
    records: list[Any] = [writer.create_warcinfo_record("", {
        "software": "lapor-konten-pemilu evidence archive (warcio)",
        "format": "WARC File Format 1.1",
        "http-header-user-agent": USER_AGENT,
        "description": "Reported link captured at report time",
    })]
    last_response = None
    for exchange in exchanges:
        date = _warc_date(exchange.fetched_at)
        target = exchange.url
        split = target.split("/", 3)
        path = "/" + (split[3] if len(split) > 3 else "")
        request = writer.create_warc_record(
            target, "request", payload=BytesIO(b""), length=0,
            http_headers=StatusAndHeaders(f"GET {path} HTTP/1.1", exchange.request_headers,
                                          is_http_request=True),
            warc_headers_dict={"WARC-Date": date})
        headers = [(k, v) for k, v in exchange.response_headers
                   if k.lower() not in _TRANSFER_HEADERS]
        warc_headers = {"WARC-Date": date}
        if exchange.peer_ip:
            warc_headers["WARC-IP-Address"] = exchange.peer_ip
        if exchange.truncated:
            warc_headers["WARC-Truncated"] = "length"
        response = writer.create_warc_record(
            target, "response", payload=BytesIO(exchange.body), length=len(exchange.body),
            http_headers=StatusAndHeaders(f"{exchange.status} {exchange.reason}".strip(),
                                          headers, protocol=exchange.http_version),
            warc_headers_dict=warc_headers)
        request.rec_headers.add_header("WARC-Concurrent-To",
                                       response.rec_headers.get_header("WARC-Record-ID"))
        records.extend([response, request])
        last_response = response
    body = json.dumps(meta, ensure_ascii=False, indent=1).encode("utf-8")
    metadata_headers = {"WARC-Date": _warc_date(exchanges[-1].fetched_at)}
    if last_response is not None:
        metadata_headers["WARC-Concurrent-To"] = last_response.rec_headers.get_header(
            "WARC-Record-ID")
    records.append(writer.create_warc_record(
        exchanges[-1].url, "metadata", payload=BytesIO(body), length=len(body),
        warc_content_type="application/json", warc_headers_dict=metadata_headers))
    return records


def capture_metadata(exchanges: list[Exchange], page: dict[str, str]) -> dict[str, Any]:
    """The metadata record's content: what was fetched, when, and each part's SHA-256."""
    final = exchanges[-1]
    return {
        "requested_url": exchanges[0].url,
        "final_url": final.url,
        "http_status": final.status,
        "redirects": [exchange.url for exchange in exchanges[1:]],
        "fetched_at": final.fetched_at.isoformat(),
        "page": page,
        "parts": [{"url": exchange.url, "status": exchange.status,
                   "response_headers": exchange.response_headers,
                   "payload_bytes": len(exchange.body), "truncated": exchange.truncated,
                   "payload_sha256": hashlib.sha256(exchange.body).hexdigest()}
                  for exchange in exchanges],
    }


def write_warc(exchanges: list[Exchange], page: dict[str, str], var_dir: Path) -> StoredWarc:
    """Write the capture (at least one exchange) to a new gzipped WARC file under
    var/archives/ (temporary file, fsync, rename, mode 0600) and describe it."""
    if not exchanges:
        raise ValueError("nothing was captured")
    final = exchanges[-1]
    relative = (Path(ARCHIVE_DIRNAME) / final.fetched_at.strftime("%Y") /
                final.fetched_at.strftime("%m") / f"{secrets.token_hex(16)}.warc.gz")
    target = var_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = target.parent / f".{target.name}.tmp"
    meta = capture_metadata(exchanges, page)
    with open(temporary, "wb") as handle:
        os.chmod(temporary, 0o600)
        writer = Sha256WarcWriter(handle, gzip=True, warc_version="1.1")
        for record in _records(writer, exchanges, meta):
            writer.write_record(record)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, target)
    digest = hashlib.sha256()
    size = 0
    with open(target, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
            size += len(block)
    logger.info("WARC written (%d bytes, %d exchanges)", size, len(exchanges))
    return StoredWarc(path=str(relative), size=size, sha256=digest.hexdigest(),
                      payload_sha256=meta["parts"][-1]["payload_sha256"])
