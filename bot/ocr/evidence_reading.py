"""Read one stored evidence image: its text, what the text says, its perceptual hash.

Blocking (file, decoding, tesseract): the action server calls `read_evidence` in a
worker thread (`actions.services.read_screenshots`), which bounds the time; the
reader bounds how many images are read at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from bot.evidence import EvidenceFile
from bot.ocr.fingerprint import perceptual_hash
from bot.ocr.reader import OcrReader, shared_reader
from bot.ocr.screen_text import ScreenReading, read_passes
from bot.settings import get_settings

logger = logging.getLogger(__name__)

#: Longest text kept with a piece of evidence (what reviewers read next to the image).
MAX_EVIDENCE_TEXT = 4000


@dataclass(frozen=True)
class EvidenceReading:
    """What one evidence image shows."""

    sha256: str
    text: str
    perceptual_hash: str | None
    screen: ScreenReading


def read_evidence(item: EvidenceFile, var_dir: Path | None = None,
                  reader: OcrReader | None = None) -> EvidenceReading | None:
    """Read an evidence image (None for documents, or when the image cannot be read)."""
    settings = get_settings()
    if item.kind != "image" or not settings.ocr_enabled:
        return None
    root = var_dir if var_dir is not None else settings.var_dir
    path = root / item.storage_path
    try:
        with open(path, "rb") as handle:
            data = handle.read(settings.evidence_max_bytes + 1)
    except OSError:
        logger.warning("An evidence image could not be opened for reading")
        return None
    if len(data) > settings.evidence_max_bytes:
        return None
    result = (reader or shared_reader()).read(data)
    if result is None:
        return None
    screen = read_passes(result.texts)
    logger.info("Screenshot read in %.2f s (%d link(s), %d handle(s), platform %s)",
                result.seconds, len(screen.links), len(screen.handles), screen.platform or "-")
    return EvidenceReading(sha256=item.sha256, text=screen.text[:MAX_EVIDENCE_TEXT],
                           perceptual_hash=perceptual_hash(data, settings.ocr_max_pixels),
                           screen=screen)
