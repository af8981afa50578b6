"""What the text of a screenshot says: links, @handles, the platform and the post.

Pure functions over the text Tesseract returned (`bot.ocr.reader`), linear in its
length (capped at MAX_LINES lines of MAX_LINE_CHARS). Links are found by the same
`bot.urls.extract_urls` as in chat messages (with or without a scheme), after
joining a link that the app wrapped onto the next line. The platform is the
link's, else the one whose interface words ("Mengikuti", "Disukai oleh",
"Tayangan", from bot/resources/word_lists/screen_platforms.yml) are on the
screen. The post text is what is left once the handles, links, counts, times and
interface words are taken out.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from bot.urls import detect_platform, extract_urls
from bot.word_lists import WordListError, load_word_list, phrase_list, required

logger = logging.getLogger(__name__)

WORD_LIST = "screen_platforms"
MAX_LINES = 200
MAX_LINE_CHARS = 300
MAX_POST_TEXT = 600
MAX_LINKS = 5
MAX_HANDLES = 5
#: Handles as platforms allow them: letters, digits, "_" and inner dots, 2-30 long.
_HANDLE = re.compile(r"(?<![\w@/.])@([A-Za-z0-9_](?:[A-Za-z0-9_.]{0,28}[A-Za-z0-9_])?)")
#: A piece of a link wrapped onto its own line (no blanks, link characters only).
_CONTINUATION = re.compile(r"^[A-Za-z0-9/_\-.?=&%#~+][A-Za-z0-9/_\-.?=&%#~+@]{0,199}$")
#: A link cut by a blank the reader saw inside it ("x.com/info. pemilu24/status/22 30009"):
#: the link, then pieces that look like a link's (see `_CODE_LIKE`), up to MAX_PIECES.
_INNER_PIECE = re.compile(r"\s+([A-Za-z0-9/_\-.?=&%#~+]{1,200})")
MAX_PIECES = 4
_CODE_LIKE = re.compile(r"[0-9/]|[A-Za-z][a-z]*[A-Z]")
_WORD = re.compile(r"[^\W\d_]{2,}")
_NUMBER = re.compile(r"\d")
#: Handles in link paths, per platform: tiktok.com/@name/..., x.com/name/status/...,
#: instagram.com/name (a profile).
_PATH_HANDLES = {
    "tiktok": re.compile(r"^[^/]+/@([A-Za-z0-9_.]{2,30})(?:[/?#]|$)"),
    "x": re.compile(r"^[^/]+/([A-Za-z0-9_]{2,15})/status/"),
    "instagram": re.compile(r"^[^/]+/([A-Za-z0-9_.]{2,30})/?$"),
}
_NOT_HANDLES = frozenset({"p", "reel", "reels", "explore", "stories", "tv", "i"})


@dataclass(frozen=True)
class ScreenWords:
    """The interface words of screen_platforms.yml."""

    min_hits: int
    platforms: tuple[tuple[str, tuple[str, ...]], ...]
    count_words: frozenset[str]
    time_words: frozenset[str]

    @classmethod
    def from_data(cls, data: Mapping[str, Any], where: str = WORD_LIST) -> ScreenWords:
        """Check and freeze the parsed file."""
        platforms = required(data, "platforms", where)
        if not isinstance(platforms, Mapping) or not platforms:
            raise WordListError(f"{where}.platforms must map platforms to words")
        min_hits = required(data, "min_hits", where)
        if not isinstance(min_hits, int) or min_hits < 1:
            raise WordListError(f"{where}.min_hits must be a positive whole number")
        return cls(
            min_hits=min_hits,
            platforms=tuple((str(name), phrase_list(words, f"{where}.platforms.{name}"))
                            for name, words in platforms.items()),
            count_words=frozenset(phrase_list(required(data, "count_words", where),
                                              f"{where}.count_words")),
            time_words=frozenset(phrase_list(required(data, "time_words", where),
                                             f"{where}.time_words")),
        )

    @property
    def interface(self) -> frozenset[str]:
        """Every interface phrase of every platform."""
        return frozenset(word for _, words in self.platforms for word in words)


@cache
def screen_words() -> ScreenWords:
    """The interface words, read once (call it from a worker thread first)."""
    return ScreenWords.from_data(load_word_list(WORD_LIST))


@dataclass(frozen=True)
class ScreenReading:
    """What one screenshot (or several, merged) shows."""

    text: str
    links: tuple[str, ...] = ()
    handles: tuple[str, ...] = ()
    platform: str | None = None
    post_text: str = ""

    @property
    def found_anything(self) -> bool:
        """True when there is something to offer the citizen."""
        return bool(self.links or self.handles or self.post_text)

    def to_slot(self) -> dict[str, Any]:
        """The JSON form kept in the `screen_reading` slot (without the whole text)."""
        return {"links": list(self.links), "handles": list(self.handles),
                "platform": self.platform, "post_text": self.post_text}

    @classmethod
    def from_slot(cls, value: Any) -> ScreenReading | None:
        """Parse the slot's value; None when it is not a well-formed reading."""
        if not isinstance(value, dict):
            return None
        links, handles = value.get("links") or [], value.get("handles") or []
        if not isinstance(links, list) or not isinstance(handles, list):
            return None
        platform = value.get("platform")
        return cls(text="",
                   links=tuple(str(v)[:2048] for v in links[:MAX_LINKS]),
                   handles=tuple(str(v)[:32] for v in handles[:MAX_HANDLES]),
                   platform=str(platform)[:32] if platform else None,
                   post_text=str(value.get("post_text") or "")[:MAX_POST_TEXT])

    def merged(self, other: ScreenReading) -> ScreenReading:
        """This reading and a later one together (links and handles without repeats)."""
        return ScreenReading(
            text="\n".join(t for t in (self.text, other.text) if t),
            links=_unique(self.links + other.links, MAX_LINKS),
            handles=_unique(self.handles + other.handles, MAX_HANDLES),
            platform=self.platform or other.platform,
            post_text=self.post_text or other.post_text)


def _unique(values: Sequence[str], limit: int) -> tuple[str, ...]:
    seen: list[str] = []
    for value in values:
        if value.lower() not in (v.lower() for v in seen):
            seen.append(value)
    return tuple(seen[:limit])


#: Marks the reader puts around text (curly quotes, degree signs, bars): blanks.
_JUNK = str.maketrans({c: " " for c in "‘’“”°|¦«»"})
#: "@warga _kritis": a blank the reader saw before a handle's underscore.
_HANDLE_GAP = re.compile(r"(@[A-Za-z0-9_.]{1,30}) (_[A-Za-z0-9_.]{1,30})")


def clean_lines(text: str) -> list[str]:
    """The lines of the text, blanks collapsed, within the caps; an empty line stays
    (Tesseract puts one between blocks; a link wraps across at most one)."""
    lines = []
    for raw in (text or "").splitlines()[:MAX_LINES]:
        line = " ".join(raw.translate(_JUNK).split())[:MAX_LINE_CHARS]
        lines.append(_HANDLE_GAP.sub(r"\1\2", line))
    return lines


def join_split_link(line: str) -> str:
    """Close the blanks the reader put inside a link in this line.

    After a link, a piece with a digit, a "/" or mixed case ("pemilu24/status/22",
    "3000924994862", "MvgFi44KK") is taken as more of the link; a word ("Sekarang")
    is not. A trailing "." of the link before the piece is kept ("x.com/info." +
    "pemilu24").
    """
    for url in extract_urls(line):
        start = line.find(url)
        end = start + len(url)
        if line[end:end + 1] == "." and not line[end + 1:end + 2].isspace():
            continue  # the dot is inside the link already
        joined = 0
        while joined < MAX_PIECES:
            tail = line[end:]
            dot = "." if tail.startswith(".") else ""
            match = _INNER_PIECE.match(tail[len(dot):])
            if not match or not _CODE_LIKE.search(match.group(1)):
                break
            piece = match.group(1)
            line = line[:end] + dot + piece + tail[len(dot) + match.end():]
            end += len(dot) + len(piece)
            joined += 1
        if joined:
            break  # one repair per line: the positions of later links have moved
    return line


def _ends_with_link(line: str) -> str | None:
    urls = extract_urls(line)
    if urls and line.rstrip().endswith(urls[-1]):
        return urls[-1]
    return None


def join_wrapped_links(lines: Sequence[str]) -> list[str]:
    """Join a link the app wrapped onto the next line back into one line.

    The next line (or the one after a blank line) is taken as the link's end when
    it is a single run of link characters, not a link itself, that looks like part
    of a link (a digit, a "/" or mixed case; or the link line ends in "/", "-",
    "_", "=", "?", "&" or ".").
    """
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = join_split_link(lines[index])
        link = _ends_with_link(line) if line else None
        if link is not None and index + 1 < len(lines):
            # The next line, or the one after a blank line when it looks like a code.
            gap = 1 if lines[index + 1] or index + 2 >= len(lines) else 2
            follow = join_split_link(lines[index + gap])
            separator_end = gap == 1 and link.endswith(("/", "-", "_", "=", "?", "&", "."))
            if _CONTINUATION.match(follow) and not extract_urls(follow) and (
                    _CODE_LIKE.search(follow) or separator_end):
                out.append(line + follow)
                index += gap + 1
                continue
        if line:
            out.append(line)
        index += 1
    return out


_SUFFIX = re.compile(r"(?<=[A-Za-z_])([0-9][0-9lIO]*|[lIO][0-9][0-9lIO]*)$")
_AS_DIGIT = str.maketrans({"l": "1", "I": "1", "O": "0"})


def _digit_suffix(handle: str) -> str:
    """A number at the end of a handle read with letters in it: "muda0l" is "muda01"."""
    match = _SUFFIX.search(handle)
    if match is None:
        return handle
    return handle[:match.start()] + match.group(1).translate(_AS_DIGIT)


def find_handles(lines: Sequence[str], links: Sequence[str]) -> tuple[str, ...]:
    """@handles on the screen, then those in the links' paths (tiktok.com/@name)."""
    found: list[str] = []
    for line in lines:
        without_links = line
        for url in extract_urls(line):
            without_links = without_links.replace(url, " ")
        found.extend("@" + _digit_suffix(m.group(1).rstrip("._"))
                     for m in _HANDLE.finditer(without_links))
    for url in links:
        pattern = _PATH_HANDLES.get(detect_platform(url))
        match = pattern.match(re.sub(r"^https?://", "", url, flags=re.IGNORECASE)) \
            if pattern else None
        if match and match.group(1).lower() not in _NOT_HANDLES:
            found.append("@" + match.group(1))
    return _unique(found, MAX_HANDLES)


def _phrases_in(line: str, phrases: frozenset[str]) -> set[str]:
    lowered = f" {' '.join(_WORD.findall(line.lower()))} "
    return {phrase for phrase in phrases if f" {phrase} " in lowered}


def find_platform(lines: Sequence[str], links: Sequence[str]) -> str | None:
    """The platform of the first link on a known platform, else by interface words."""
    for url in links:
        platform = detect_platform(url)
        if platform not in ("web", "", None):
            return platform
    words = screen_words()
    on_screen: set[str] = set()
    for line in lines:
        on_screen |= _phrases_in(line, words.interface)
    scores = sorted(((len(on_screen & set(own)), name) for name, own in words.platforms),
                    reverse=True)
    if not scores or scores[0][0] < words.min_hits:
        return None
    if len(scores) > 1 and scores[1][0] == scores[0][0]:
        return None
    return scores[0][1]


def _is_chrome(line: str, words: ScreenWords) -> bool:
    """True for a line of the app itself: counts, times, buttons, a lone handle."""
    tokens = _WORD.findall(line.lower())
    if not tokens:
        return True
    known = words.count_words | words.time_words
    interface = {w for phrase in _phrases_in(line, words.interface) for w in phrase.split()}
    other = [t for t in tokens if t not in known and t not in interface]
    if len(other) < 3:
        return True
    return bool(_NUMBER.search(line)) and len(other) < len(tokens) / 2


def post_text(lines: Sequence[str]) -> str:
    """The post's own words: the lines that are not links, handles or the app's chrome."""
    words = screen_words()
    kept: list[str] = []
    for line in lines:
        rest = _HANDLE.sub(" ", line)
        for url in extract_urls(rest):
            rest = rest.replace(url, " ")
        rest = " ".join(rest.split())
        if rest and not _is_chrome(rest, words):
            kept.append(rest)
    return " ".join(kept)[:MAX_POST_TEXT]


#: Path words of the platforms' links, as the reader may spell them ("vide0").
_PATH_WORDS = tuple((re.compile("/" + "".join(f"[{c}0]" if c == "o" else c for c in word)
                                + "(?=/|$)"), f"/{word}")
                    for word in ("video", "posts", "photo", "story", "groups"))
_O_IN_NUMBER = re.compile(r"(?<=\d)[Oo](?=\d)")
_L_IN_NUMBER = re.compile(r"(?<=\d)[lI](?=\d)")


def repair_link(url: str) -> str:
    """Undo the reader's usual slips inside a link: "]" for "J" ("[" and "]" are not
    allowed in a link's path), "O"/"l" inside a number, "0" in "/video/"."""
    url = url.replace("]", "J")
    url = _O_IN_NUMBER.sub("0", _L_IN_NUMBER.sub("1", url))
    for pattern, word in _PATH_WORDS:
        url = pattern.sub(word, url)
    return url


def read_passes(texts: Sequence[str]) -> ScreenReading:
    """What several readings of one image say together (`OcrResult.texts`).

    Links and handles found by more passes come first; a handle that is the
    start of a longer one found as often ("@kabar", "@kabar_jateng") is dropped.
    The whole text and the post text are the first pass's.
    """
    readings = [read_screen(text) for text in texts]
    if not readings:
        return ScreenReading(text="")
    first = readings[0]
    return ScreenReading(
        text=first.text,
        links=_by_votes([r.links for r in readings], MAX_LINKS),
        handles=_drop_prefixes(_by_votes([r.handles for r in readings], MAX_HANDLES * 2),
                               [r.handles for r in readings])[:MAX_HANDLES],
        platform=next((r.platform for r in readings if r.platform), None),
        post_text=next((r.post_text for r in readings if r.post_text), ""),
    )


def _by_votes(groups: Sequence[Sequence[str]], limit: int) -> tuple[str, ...]:
    votes: dict[str, int] = {}
    order: dict[str, int] = {}
    for group in groups:
        for value in dict.fromkeys(group):
            votes[value] = votes.get(value, 0) + 1
            order.setdefault(value, len(order))
    ranked = sorted(votes, key=lambda v: (-votes[v], order[v]))
    return _unique(ranked, limit)


def _drop_prefixes(handles: tuple[str, ...],
                   groups: Sequence[Sequence[str]]) -> tuple[str, ...]:
    def votes(handle: str) -> int:
        return sum(handle in group for group in groups)
    return tuple(h for h in handles
                 if not any(o != h and o.lower().startswith(h.lower()) and votes(o) >= votes(h)
                            for o in handles))


def read_screen(text: str) -> ScreenReading:
    """Links, handles, platform and post text of a screenshot's text."""
    lines = join_wrapped_links(clean_lines(text))
    links: list[str] = []
    for line in lines:
        for url in extract_urls(line.replace("]", "J")):
            url = repair_link(url)
            if url not in links:
                links.append(url)
    links = list(_unique(links, MAX_LINKS))
    return ScreenReading(
        text="\n".join(lines),
        links=tuple(links),
        handles=find_handles(lines, links),
        platform=find_platform(lines, links),
        post_text=post_text(lines),
    )
