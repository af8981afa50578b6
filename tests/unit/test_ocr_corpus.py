"""Recall of links and handles on the rendered screenshot corpus (real tesseract).

The corpus (tests/screenshot_corpus.py): 10 screenshots in each of the TikTok,
Instagram, Facebook and X styles, in Indonesian, light and dark, with the link in
an address bar, in the text, wrapped over two lines, or absent; then rescaled,
noised and JPEG-compressed. Recall only: time per image is measured by
`make bench-ocr` (scripts/bench_ocr.py), never asserted here.
"""

from __future__ import annotations

from bot.ocr.reader import OcrReader
from bot.ocr.recall import Labelled, measure
from bot.ocr.screen_text import read_passes
from tests.screenshot_corpus import PLATFORMS, build_corpus

TARGET = 0.95


def test_links_and_handles_are_read_from_at_least_95_percent_of_screenshots() -> None:
    corpus = build_corpus(per_platform=10)
    assert {sample.platform for sample in corpus} == set(PLATFORMS)
    assert sum(sample.url is not None for sample in corpus) == 32
    recall = measure((Labelled(s.name, s.data, s.handle, s.url) for s in corpus),
                     OcrReader(concurrency=2, timeout=60), workers=2)
    assert recall.images == 40
    assert recall.url_recall >= TARGET, recall.misses
    assert recall.handle_recall >= TARGET, recall.misses


def test_the_platform_is_told_from_the_screen() -> None:
    corpus = [s for s in build_corpus(per_platform=4) if s.url is None]
    reader = OcrReader(concurrency=2, timeout=60)
    told = {}
    for sample in corpus:
        result = reader.read(sample.data)
        assert result is not None
        told[sample.name] = (read_passes(result.texts).platform, sample.platform)
    right = [name for name, (found, shown) in told.items() if found == shown]
    assert len(right) >= len(told) - 1, told
