"""Is this the same screenshot, or a screenshot of the same post?

- The same picture forwarded by many people (recompressed, rescaled) keeps its
  perceptual hash (imagehash's pHash on a 32x32 grid: 1024 bits, 256 hex digits)
  within a few dozen bits: `same_picture`. The usual 64-bit pHash is too coarse for
  screenshots: two different posts in one app's layout hashed 0-2 bits apart.
- Two people's screenshots of the same post differ as pictures (another phone,
  dark mode, a comment open) but show the same words: `same_text` compares the
  words of the texts read (Jaccard similarity of their word sets).

The store (`bot.store.matching`) uses both to put such reports in one case.
"""

from __future__ import annotations

import logging
import re

import imagehash

from bot.ocr.reader import ImageRefused, open_grey

logger = logging.getLogger(__name__)

#: pHash grid size (hash_size): 32x32 bits.
HASH_SIZE = 32
HASH_HEX_DIGITS = HASH_SIZE * HASH_SIZE // 4
#: Hash bits two copies of one picture may differ by. Measured on the test corpus
#: (tests/screenshot_corpus.py, 40 images): a screenshot and a re-spoiled copy
#: (rescaled, noised, JPEG again) differ by at most 18 bits, screenshots of two
#: different posts in the same app style by 108 or more.
SAME_PICTURE_BITS = 48
#: Two copies of one picture whose texts were both read share at least this much.
SAME_PICTURE_TEXT = 0.3
#: Share of words two texts must have in common to be the same post.
SAME_TEXT_LIKENESS = 0.6
#: Texts with fewer distinct words are not compared (an app's chrome alone is alike).
MIN_WORDS = 6
#: Longest text compared (characters).
MAX_TEXT = 4000
HASH_WIDTH = 512  # decoded this wide at most before hashing
_WORD = re.compile(r"[^\W_]{3,}")


def perceptual_hash(data: bytes, max_pixels: int) -> str | None:
    """The picture's pHash as HASH_HEX_DIGITS hex digits; None when the image is refused."""
    try:
        grey = open_grey(data, max_pixels, width_hint=HASH_WIDTH)
    except ImageRefused as refused:
        logger.info("Image not hashed: %s", refused)
        return None
    return str(imagehash.phash(grey, hash_size=HASH_SIZE))


def hash_distance(first: str, second: str) -> int | None:
    """How many bits two hashes differ by; None when either is not a hash of ours."""
    if not (len(first) == len(second) == HASH_HEX_DIGITS):
        return None
    try:
        return (int(first, 16) ^ int(second, 16)).bit_count()
    except ValueError:
        return None


def same_picture(first: str | None, second: str | None) -> bool:
    """True when two hashes are of one picture (SAME_PICTURE_BITS or fewer apart)."""
    if not first or not second:
        return False
    distance = hash_distance(first, second)
    return distance is not None and distance <= SAME_PICTURE_BITS


def same_screenshot(first_hash: str | None, second_hash: str | None,
                    first_text: str | None, second_text: str | None) -> bool:
    """One screenshot forwarded: the same picture, and (when both texts were read)
    texts that agree at least SAME_PICTURE_TEXT."""
    if not same_picture(first_hash, second_hash):
        return False
    if len(words_of(first_text)) < MIN_WORDS or len(words_of(second_text)) < MIN_WORDS:
        return True
    return text_likeness(first_text, second_text) >= SAME_PICTURE_TEXT


def words_of(text: str | None) -> frozenset[str]:
    """The distinct words (3+ letters or digits, lower case) of a text."""
    return frozenset(_WORD.findall((text or "")[:MAX_TEXT].lower()))


def text_likeness(first: str | None, second: str | None) -> float:
    """Jaccard similarity of the two texts' words; 0 when either has too few words."""
    a, b = words_of(first), words_of(second)
    if len(a) < MIN_WORDS or len(b) < MIN_WORDS:
        return 0.0
    return len(a & b) / len(a | b)


def same_text(first: str | None, second: str | None) -> bool:
    """True when two texts read from screenshots are of the same post."""
    return text_likeness(first, second) >= SAME_TEXT_LIKENESS
