"""Read the text of a screenshot with Tesseract, within a size and time budget.

Images are hostile input. Before anything is decoded, the header's width and
height must fit `OCR_MAX_PIXELS` (a decompression bomb declares billions of
pixels in a few kilobytes) and each side at most `MAX_SIDE`; Pillow's own bomb
check is an error too, never a warning. The image is then made grey, turned
light-on-dark into dark-on-light (dark mode), and scaled so that its width is
near `TARGET_WIDTH` (phone text is then the size Tesseract reads best), and sent
to `tesseract stdin stdout` as PNG, with a timeout and `OMP_THREAD_LIMIT=1` (one
core per image).

Two passes over the same picture: Tesseract's global threshold (Otsu), which
reads the bold author line best, and its adaptive one (Sauvola), which reads a
link in a grey address bar or a dark-mode bar best; `OcrResult.texts` has both
and `bot.ocr.screen_text.read_passes` merges what they say.

Language data: `eng` by default (OCR_LANGUAGES). On the test corpus it read
links and handles best: the Indonesian data has no "_" in its character set, so
"@relawan_biru" came back as "@relawan biru", and `eng+ind` lost handles too;
the Latin-script Indonesian post text reads as well with `eng`.

`OcrReader.read` is blocking: call it in a worker thread. A bounded semaphore
lets at most `OCR_CONCURRENCY` images be read at once in a process; a caller
that waits longer than the time budget for its turn gets nothing (logged).
"""

from __future__ import annotations

import io
import logging
import os
import re
import shutil
import subprocess
import threading
import time
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, ImageStat, UnidentifiedImageError

from bot.settings import get_settings

logger = logging.getLogger(__name__)

#: Tesseract's thresholding of each pass: 0 Otsu (global), 2 Sauvola (adaptive).
PASSES = ("0", "2")
#: Formats read (what bot.evidence accepts as images).
FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
#: No side longer than this is decoded, whatever the pixel budget says.
MAX_SIDE = 12_000
#: The width images are scaled to before reading (phone screenshots are ~720-1440).
TARGET_WIDTH = 1080
#: Longest text kept from one image (characters).
MAX_TEXT_CHARS = 8000


_LANGUAGES = re.compile(r"^[a-z_]{3,20}(?:\+[a-z_]{3,20}){0,3}$")


class ImageRefused(ValueError):
    """The image is not read: too large, not an image, or not decodable."""


@dataclass(frozen=True)
class OcrResult:
    """The texts read from one image (one per pass) and how long the reading took."""

    texts: tuple[str, ...]
    seconds: float

    @property
    def text(self) -> str:
        """The first pass's text (the one shown to reviewers)."""
        return self.texts[0] if self.texts else ""


def tesseract_available() -> bool:
    """True when the `tesseract` program is installed (scripts/system_deps.sh)."""
    return shutil.which("tesseract") is not None


def open_grey(data: bytes, max_pixels: int, width_hint: int = TARGET_WIDTH) -> Image.Image:
    """Decode a JPEG/PNG/WebP to grey, refusing anything beyond the budget first.

    The header's size is checked before any pixel is decoded; a large JPEG is
    decoded at a reduced scale near `width_hint`. Raises ImageRefused.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=sorted(FORMATS))
        except (UnidentifiedImageError, Image.DecompressionBombError,
                Image.DecompressionBombWarning, OSError, ValueError) as exc:
            raise ImageRefused(f"not a readable image ({type(exc).__name__})") from exc
        width, height = image.size
        if width < 1 or height < 1 or max(width, height) > MAX_SIDE:
            raise ImageRefused(f"image sides out of range ({width}x{height})")
        if width * height > max_pixels:
            raise ImageRefused(f"image over the pixel budget ({width}x{height})")
        try:
            if image.format == "JPEG" and width > 2 * width_hint:
                # Decode at a reduced scale directly (cheaper than decoding, then resizing).
                image.draft("L", (width_hint, int(height * width_hint / width)))
            return ImageOps.exif_transpose(image).convert("L")
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError,
                Image.DecompressionBombWarning) as exc:
            raise ImageRefused(f"image could not be decoded ({type(exc).__name__})") from exc


def prepare(data: bytes, max_pixels: int) -> bytes:
    """The image as a grey, dark-on-light PNG near TARGET_WIDTH wide, for Tesseract.

    Raises ImageRefused for anything that is not a JPEG/PNG/WebP within the budget.
    """
    grey = open_grey(data, max_pixels)
    if ImageStat.Stat(grey).mean[0] < 110:
        grey = ImageOps.invert(grey)  # dark mode: Tesseract wants dark text on light
    scale = TARGET_WIDTH / grey.width
    if abs(scale - 1.0) > 0.1:
        size = (TARGET_WIDTH, max(1, min(MAX_SIDE, round(grey.height * scale))))
        grey = grey.resize(size, Image.LANCZOS)
    out = io.BytesIO()
    grey.save(out, "PNG", compress_level=1)
    return out.getvalue()


class OcrReader:
    """Reads images with the tesseract CLI, at most `concurrency` at a time."""

    def __init__(self, concurrency: int | None = None, timeout: float | None = None,
                 max_pixels: int | None = None, languages: str | None = None) -> None:
        settings = get_settings()
        self.timeout = timeout if timeout is not None else settings.ocr_timeout
        self.max_pixels = max_pixels if max_pixels is not None else settings.ocr_max_pixels
        self.languages = languages or settings.ocr_languages
        if not _LANGUAGES.match(self.languages):
            raise ValueError(f"OCR languages must look like 'eng' or 'eng+ind': {self.languages!r}")
        self._slots = threading.BoundedSemaphore(
            concurrency if concurrency is not None else settings.ocr_concurrency)

    def read(self, data: bytes) -> OcrResult | None:
        """The text of one image; None when it is refused, times out or tesseract fails.

        Blocking (decoding and a subprocess): call it in a worker thread.
        """
        started = time.monotonic()
        if not self._slots.acquire(timeout=self.timeout):
            logger.warning("Image not read: every OCR slot stayed busy for %.0f s", self.timeout)
            return None
        try:
            try:
                png = prepare(data, self.max_pixels)
            except ImageRefused as refused:
                logger.info("Image not read: %s", refused)
                return None
            texts: list[str] = []
            for thresholding in PASSES:
                remaining = self.timeout - (time.monotonic() - started)
                if remaining <= 0:
                    logger.warning("Image read in part: its time budget ran out")
                    break
                text = self._tesseract(png, remaining, thresholding)
                if text is None:
                    break
                texts.append(text[:MAX_TEXT_CHARS])
        finally:
            self._slots.release()
        if not texts:
            return None
        return OcrResult(tuple(texts), time.monotonic() - started)

    def _tesseract(self, png: bytes, timeout: float, thresholding: str) -> str | None:
        program = shutil.which("tesseract")
        if program is None:
            logger.error("Tesseract is not installed (scripts/system_deps.sh installs it)")
            return None
        environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                       "OMP_THREAD_LIMIT": "1", "LC_ALL": "C.UTF-8"}
        try:
            # A fixed argument list, no shell; the image goes in on stdin.
            done = subprocess.run(  # noqa: S603
                [program, "stdin", "stdout", "-l", self.languages, "--psm", "3",
                 "-c", f"thresholding_method={thresholding}"],
                input=png, capture_output=True, timeout=timeout, env=environment,
                check=False)
        except subprocess.TimeoutExpired:
            logger.warning("Tesseract went over its %.1f s budget", timeout)
            return None
        except OSError as exc:
            logger.error("Tesseract could not be started: %s", exc)
            return None
        if done.returncode != 0:
            logger.warning("Tesseract failed (exit %d)", done.returncode)
            return None
        return done.stdout.decode("utf-8", errors="replace")


_reader: OcrReader | None = None
_reader_lock = threading.Lock()


def shared_reader() -> OcrReader:
    """This process's reader (one semaphore for every conversation), made on first use."""
    global _reader
    with _reader_lock:
        if _reader is None:
            _reader = OcrReader()
        return _reader
