"""Evidence files (screenshots, documents) sent by citizens: checked, then stored on disk.

Channels call `save_evidence` with the bytes they received (WhatsApp media,
Telegram photos/documents, web-widget uploads). The file is checked by size and
by its real content type (magic bytes, not the name or the claimed type), stored
under `var/evidence/<sha256[:2]>/<sha256><ext>` (content-addressed, so the same
screenshot sent twice is stored once), and described by an `EvidenceFile` that
travels to the action server in the message metadata (`metadata["evidence"]`).
The report store keeps only that description (`bot.store.NewEvidence`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import stat
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bot.channel_messages import channel_message
from bot.settings import get_settings

logger = logging.getLogger(__name__)

EVIDENCE_DIRNAME = "evidence"

#: Accepted content types, their kind and file extension.
ALLOWED_TYPES: dict[str, tuple[str, str]] = {
    "image/jpeg": ("image", ".jpg"),
    "image/png": ("image", ".png"),
    "image/webp": ("image", ".webp"),
    "application/pdf": ("document", ".pdf"),
}


class EvidenceRejected(ValueError):
    """The file cannot be kept as evidence.

    `reason` says why for logs (English); `message_id` is the text told to the
    citizen, from the channel message catalogue (bot/resources/channel_messages.yml).
    """

    def __init__(self, reason: str, message_name: str, **values: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message_name = message_name
        self.message_id = channel_message(message_name, **values)


@dataclass(frozen=True)
class EvidenceFile:
    """A stored evidence file, as carried in message metadata and filed with a report."""

    kind: str
    mime_type: str
    size_bytes: int
    sha256: str
    storage_path: str  # relative to the var/ folder

    def to_metadata(self) -> dict[str, Any]:
        """The JSON-safe form put in `metadata["evidence"]`."""
        return asdict(self)

    @classmethod
    def from_metadata(cls, value: Any, verify: bool = False,
                      var_dir: Path | None = None) -> EvidenceFile | None:
        """Parse one metadata entry; None when it is not a well-formed description.

        Well-formed means content-addressed: `storage_path` is exactly
        `evidence/<sha256[:2]>/<sha256><extension of mime_type>`. With `verify`,
        the file must also exist under the evidence folder, be a regular file
        (no symlink), have `size_bytes` bytes and hash to `sha256` (reads the
        file: call it off the event loop).
        """
        if not isinstance(value, dict):
            return None
        try:
            item = cls(
                kind=str(value["kind"]), mime_type=str(value["mime_type"]),
                size_bytes=int(value["size_bytes"]), sha256=str(value["sha256"]),
                storage_path=str(value["storage_path"]),
            )
        except (KeyError, TypeError, ValueError):
            return None
        if item.mime_type not in ALLOWED_TYPES or len(item.sha256) != 64 or item.size_bytes < 0:
            return None
        if not all(c in "0123456789abcdef" for c in item.sha256):
            return None
        kind, extension = ALLOWED_TYPES[item.mime_type]
        if item.kind != kind or item.storage_path != content_path(item.sha256, extension):
            return None
        if verify and not item.verify(var_dir):
            return None
        return item

    def verify(self, var_dir: Path | None = None) -> bool:
        """True when the stored file is really there and really this file."""
        root = (var_dir if var_dir is not None else get_settings().var_dir)
        path = root / self.storage_path
        try:
            info = path.lstat()
            if not stat.S_ISREG(info.st_mode) or info.st_size != self.size_bytes:
                return False
            digest = hashlib.sha256()
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1024 * 1024), b""):
                    digest.update(block)
        except OSError:
            return False
        if digest.hexdigest() != self.sha256:
            logger.warning("An evidence file does not match its hash")
            return False
        return True


def content_path(sha256: str, extension: str) -> str:
    """Where a file with this hash is stored, relative to var/."""
    return str(Path(EVIDENCE_DIRNAME) / sha256[:2] / f"{sha256}{extension}")


def too_large(limit: int | None = None) -> EvidenceRejected:
    """The refusal for a file over the size limit (channels raise it before downloading)."""
    limit = limit if limit is not None else max_evidence_bytes()
    if limit >= 1024 * 1024:
        size = f"{limit / (1024 * 1024):.3g} MB"
    else:
        size = f"{limit // 1024} KB" if limit >= 1024 else f"{limit} byte"
    return EvidenceRejected("file too large", "file_too_large", size=size)


def max_evidence_bytes() -> int:
    """The size limit for one file (EVIDENCE_MAX_BYTES through bot.settings, default 5 MiB)."""
    return get_settings().evidence_max_bytes


def sniff_mime_type(data: bytes) -> str | None:
    """The content type told by the file's first bytes, among the accepted ones."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def save_evidence(data: bytes, claimed_mime_type: str | None = None,
                  var_dir: Path | None = None) -> EvidenceFile:
    """Check and store one file; raise `EvidenceRejected` when it cannot be kept.

    The stored type is the sniffed one; a claimed type that disagrees is only
    logged (clients often send `application/octet-stream`).
    """
    limit = max_evidence_bytes()
    if not data:
        raise EvidenceRejected("empty file", "file_empty")
    if len(data) > limit:
        raise too_large(limit)
    mime = sniff_mime_type(data)
    if mime is None:
        raise EvidenceRejected("unsupported type", "file_type_unsupported")
    if claimed_mime_type and claimed_mime_type.split(";")[0].strip().lower() != mime:
        logger.info("Evidence claimed %s but is %s", claimed_mime_type[:60], mime)
    kind, extension = ALLOWED_TYPES[mime]
    digest = hashlib.sha256(data).hexdigest()
    root = var_dir if var_dir is not None else get_settings().var_dir
    relative = Path(content_path(digest, extension))
    target = root / relative
    if target.exists():
        # Seen again: keep it as fresh as its newest use (the orphan sweep goes by age).
        os.utime(target)
    else:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = target.parent / f".{digest}.{secrets.token_hex(4)}.tmp"
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
        os.chmod(target, 0o600)
    logger.info("Evidence stored (%s, %d bytes)", mime, len(data))
    return EvidenceFile(kind=kind, mime_type=mime, size_bytes=len(data), sha256=digest,
                        storage_path=str(relative))


def _stored_files(var_dir: Path | None = None) -> list[Path]:
    root = (var_dir if var_dir is not None else get_settings().var_dir) / EVIDENCE_DIRNAME
    if not root.is_dir():
        return []
    return [path for path in root.glob("??/*") if path.is_file() and not path.is_symlink()]


def _sha256_of(path: Path) -> str:
    return path.name.split(".", 1)[0]


def delete_evidence(items: list[EvidenceFile], in_use: set[str],
                    var_dir: Path | None = None) -> int:
    """Delete the stored files of `items` whose hash is not in `in_use`; return how many."""
    root = var_dir if var_dir is not None else get_settings().var_dir
    deleted = 0
    for item in items:
        if item.sha256 in in_use:
            continue
        try:
            (root / item.storage_path).unlink()
            deleted += 1
        except FileNotFoundError:
            continue
    return deleted


def sweep_orphaned_evidence(in_use: set[str], older_than_seconds: float,
                            var_dir: Path | None = None, now: float | None = None) -> int:
    """Delete evidence files no report refers to and nobody sent for `older_than_seconds`.

    Files sent in a conversation that never became a report (an abandoned
    report, a web upload nobody followed up) would otherwise stay forever.
    Saving a file again refreshes its age, so a file in an ongoing conversation
    is not swept. Returns how many files were deleted.
    """
    moment = now if now is not None else time.time()
    deleted = 0
    for path in _stored_files(var_dir):
        try:
            if _sha256_of(path) in in_use or moment - path.stat().st_mtime < older_than_seconds:
                continue
            path.unlink()
            deleted += 1
        except FileNotFoundError:
            continue
    if deleted:
        logger.info("Deleted %d orphaned evidence file(s)", deleted)
    return deleted
