"""Recall of links and handles read from labelled screenshots (the test and the bench).

A link counts as found when one of the reading's links is the shown link (case
and the "https://" aside); a handle when one of the reading's handles is it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bot.ocr.reader import OcrReader
from bot.ocr.screen_text import ScreenReading, read_passes

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Labelled:
    """One screenshot and what it shows."""

    name: str
    data: bytes
    handle: str
    url: str | None


@dataclass
class Recall:
    """Links and handles found over a set of screenshots, and the reading times."""

    urls_found: int = 0
    urls: int = 0
    handles_found: int = 0
    first_handle_right: int = 0
    images: int = 0
    seconds: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    @property
    def url_recall(self) -> float:
        return self.urls_found / self.urls if self.urls else 1.0

    @property
    def handle_recall(self) -> float:
        return self.handles_found / self.images if self.images else 1.0

    def add(self, sample: Labelled, reading: ScreenReading | None, seconds: float) -> None:
        """Count one screenshot's reading (None: nothing read)."""
        self.images += 1
        self.seconds.append(seconds)
        links = {link.lower().removeprefix("https://").removeprefix("http://")
                 for link in (reading.links if reading else ())}
        handles = [handle.lower() for handle in (reading.handles if reading else ())]
        if sample.url is not None:
            self.urls += 1
            if sample.url.lower() in links:
                self.urls_found += 1
            else:
                self.misses.append(f"{sample.name}: link {sample.url}")
        if sample.handle.lower() in handles:
            self.handles_found += 1
            self.first_handle_right += handles[0] == sample.handle.lower()
        else:
            self.misses.append(f"{sample.name}: handle {sample.handle}")


def measure(samples: Iterable[Labelled], reader: OcrReader, workers: int = 1) -> Recall:
    """Read every sample (`workers` at a time) and count what was found."""
    recall = Recall()

    def one(sample: Labelled) -> tuple[Labelled, ScreenReading | None, float]:
        result = reader.read(sample.data)
        if result is None:
            return sample, None, 0.0
        return sample, read_passes(result.texts), result.seconds

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for sample, reading, seconds in pool.map(one, list(samples)):
            recall.add(sample, reading, seconds)
    return recall
