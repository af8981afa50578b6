"""The screenshot reader: hostile images are refused before decoding, the time budget
and the concurrency bound hold, and a clean screenshot is read (real tesseract)."""

from __future__ import annotations

import io
import struct
import threading
import zlib

import pytest
from PIL import Image

from bot.ocr.reader import MAX_SIDE, ImageRefused, OcrReader, open_grey, prepare
from tests.screenshot_corpus import akunpalsu_screenshot


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height, with a few bytes of (too little) data."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def real_png(width: int, height: int, mode: str = "1") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height)).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize("data", [
    png_header_only(100_000, 100_000),  # a decompression bomb: 10^10 pixels declared
    png_header_only(MAX_SIDE + 1, 10),  # one side too long
    png_header_only(6000, 5000),  # 30 Mpx: over the 25 Mpx budget, under Pillow's own limit
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 200,  # a broken header
    b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8,  # a JPEG start and garbage
    b"GIF89a" + b"\x00" * 100,  # a format we do not read
    b"",
])
def test_hostile_images_are_refused_before_decoding(data: bytes) -> None:
    with pytest.raises(ImageRefused):
        open_grey(data, max_pixels=25_000_000)
    assert OcrReader(concurrency=1, timeout=5, max_pixels=25_000_000).read(data) is None


def test_a_real_bomb_made_by_pillow_is_refused() -> None:
    bomb = real_png(20_000, 12_000)  # 240 Mpx of zeros: small on disk
    assert len(bomb) < 2_000_000
    with pytest.raises(ImageRefused):
        prepare(bomb, max_pixels=25_000_000)


def test_a_truncated_jpeg_is_refused() -> None:
    data = akunpalsu_screenshot()
    with pytest.raises(ImageRefused):
        open_grey(data[: len(data) // 3], max_pixels=25_000_000)


def test_dark_mode_is_turned_dark_on_light_and_scaled() -> None:
    out = io.BytesIO()
    Image.new("RGB", (360, 640), (0, 0, 0)).save(out, "PNG")
    prepared = Image.open(io.BytesIO(prepare(out.getvalue(), 25_000_000)))
    assert prepared.mode == "L" and prepared.width == 1080
    assert prepared.getpixel((10, 10)) == 255


def test_a_clean_screenshot_is_read() -> None:
    result = OcrReader(concurrency=1, timeout=30).read(akunpalsu_screenshot())
    assert result is not None and len(result.texts) == 2
    assert "@akunpalsu" in result.text and "vt.tiktok.com/ZSabc123" in result.text


def test_over_the_time_budget_nothing_is_read() -> None:
    assert OcrReader(concurrency=1, timeout=0.05).read(akunpalsu_screenshot()) is None


def test_no_more_images_than_the_concurrency_are_read_at_once() -> None:
    reader = OcrReader(concurrency=1, timeout=0.3)
    assert reader._slots.acquire()  # another conversation's image is being read
    try:
        assert reader.read(akunpalsu_screenshot()) is None  # waited its budget, gave up
    finally:
        reader._slots.release()
    # Freed again: two readers in two threads share the one slot in turn.
    results: list[object] = []
    shared = OcrReader(concurrency=1, timeout=60)
    threads = [threading.Thread(target=lambda: results.append(
        shared.read(akunpalsu_screenshot()))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(result is not None for result in results) and len(results) == 2


def test_languages_are_checked() -> None:
    with pytest.raises(ValueError):
        OcrReader(languages="eng; rm -rf /")
