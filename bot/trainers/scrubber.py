"""Remove personal data from a message text before it leaves the tracker store.

The trainers' inbox (`make nlu-inbox`) shows what citizens typed, so every text
goes through `scrub` first, and `make nlu-accept` refuses a labelled text that
`find_personal_data` still flags. What goes, and what takes its place (a word in
angle brackets, so the sentence stays trainable: the tokenizer reads `<telepon>`
as the word "telepon", and the same placeholder always stands for the same kind):

- e-mail addresses -> `<email>`;
- NIK (16 digits whose province code and birth date are plausible) -> `<nik>`;
- payment card numbers (13 to 19 digits, Luhn-valid, grouped or not) -> `<kartu>`;
- Indonesian phone numbers: mobile (`0812 3456 7890`, `+62 812-3456-7890`,
  `62812...`, `0812.3456.7890`) and landline (`(021) 555 1234`, `0274-512345`),
  also inside a WhatsApp link (`wa.me/62812...`) -> `<telepon>`;
- bare @handles, except the reported one -> `<akun>`;
- a name given after "nama saya", "saya bernama", "namaku"... -> `<nama>`.

**The reported one.** Reports are about a public account; its handle is the
content of the report, not the reporter's personal data. A handle counts as the
reported one when it sits inside a link (the page being reported; links are kept
whole) or when it follows an account word, possibly with a platform name between
("akun @penyebar_hoaks", "akun tiktok @x", "channel yt @y"). Every other bare
handle ("hubungi saya di @budi_99", "cc @temanku") is scrubbed. Links stay whole
otherwise: a personal link such as `t.me/budi99` is not recognised as personal.

Must survive: ticket codes (`LP-7K3QX9`), dates (`14-02-2024`, `14/02/2024`),
times (`08.30`), region codes (`33.75`, `3375`), polling-station numbers, years,
amounts (`Rp 50.000`, `Rp50.000.000`), article numbers, URLs with long ids.

Pure functions over a bounded prefix of the text (`MAX_CHARS`); every pattern is
bounded, so a hostile message costs linear time. Word lists are data
(bot/resources/word_lists/trainers.yml).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import cache

from bot.word_lists import load_word_list, phrase_list, required, word_set

logger = logging.getLogger(__name__)

#: Longest text scrubbed; the rest is cut (the inbox shows message openings).
MAX_CHARS = 1000

EMAIL = "<email>"
NIK = "<nik>"
CARD = "<kartu>"
PHONE = "<telepon>"
HANDLE = "<akun>"
NAME = "<nama>"
PLACEHOLDERS = (EMAIL, NIK, CARD, PHONE, HANDLE, NAME)

#: The two-digit province codes a NIK starts with (Kemendagri).
PROVINCE_CODES = frozenset(
    "11 12 13 14 15 16 17 18 19 21 31 32 33 34 35 36 51 52 53 61 62 63 64 65 71 72 73 74 75 "
    "76 81 82 91 92 93 94 95 96 97".split())
#: First digits of payment card numbers (Visa, Mastercard, Amex, UnionPay/Discover, JCB).
_CARD_PREFIX = re.compile(r"^(?:4|5[1-5]|2[2-7]|3[47]|35[2-8]|6)")

_TOKEN = re.compile(r"\S+")
_LINK = re.compile(
    r"^[(\[<\"']?(?:https?://|www\.)|"
    r"[\w-]\.(?:com|id|net|org|ly|me|tv|io|co|gl|be|app|watch|gg|site|info|xyz)(?:[/?#:]|$)",
    re.IGNORECASE)
_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,63})@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})"
    r"(?:\.[A-Za-z0-9-]{1,63}){0,4}\.[A-Za-z]{2,24}(?![\w-])")
# Digit runs of 13 to 19 digits, in groups separated by one blank or dash.
_LONG_NUMBER = re.compile(r"(?<![\w.,])\d(?:[ -]?\d){12,18}(?![\w]|[.,]\d)")
_MOBILE = re.compile(
    r"(?<![\w+.,])(?:\(?\+62\)?|62|0)[ .-]?8\d{1,3}(?:[ .-]?\d{2,5}){1,4}(?![\w]|[.,]\d)")
_LANDLINE = re.compile(
    r"(?<![\w+.,])(?:\(0[2-79]\d{1,2}\)|\(\+?62[ -]?[2-79]\d{0,2}\)|(?:\+62|62)[ .-]?[2-79]\d{0,2}"
    r"|0[2-79]\d{1,2})[ .-]?\d{3,4}[ .-]?\d{3,5}(?![\w]|[.,]\d)")
# A phone number inside a WhatsApp link is a phone number all the same.
_WHATSAPP_LINK_NUMBER = re.compile(r"(wa\.me/|whatsapp\.com/send/?\?phone=)\+?\d{8,15}(?!\d)",
                                   re.IGNORECASE)
_AMOUNT_BEFORE = re.compile(r"(?:rp\.?|idr|usd|\$)\s?$", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,29})")
_WORD = re.compile(r"[^\W\d_][\w'-]*", re.UNICODE)


@dataclass(frozen=True)
class ScrubWords:
    """The scrubber's word lists (bot/resources/word_lists/trainers.yml)."""

    name_cues: tuple[tuple[str, ...], ...]
    name_stop_words: frozenset[str]
    account_words: frozenset[str]
    platform_words: frozenset[str]


@cache
def scrub_words() -> ScrubWords:
    """The word lists, read once per process."""
    data = load_word_list("trainers")
    where = "trainers.yml"
    cues = phrase_list(required(data, "name_cues", where), f"{where}: name_cues")
    return ScrubWords(
        name_cues=tuple(sorted((tuple(c.split()) for c in cues), key=len, reverse=True)),
        name_stop_words=word_set(required(data, "name_stop_words", where), where),
        account_words=word_set(required(data, "account_words", where), where),
        platform_words=word_set(required(data, "platform_words", where), where),
    )


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn check (payment cards)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def plausible_nik(digits: str) -> bool:
    """True for 16 digits shaped like a NIK: a province code, birth day 01-31 (41-71
    for women), birth month 01-12."""
    if len(digits) != 16 or not digits.isdigit():
        return False
    province, day, month = digits[:2], int(digits[6:8]), int(digits[8:10])
    return (province in PROVINCE_CODES and (1 <= day <= 31 or 41 <= day <= 71)
            and 1 <= month <= 12)


def _digits(text: str) -> str:
    return "".join(char for char in text if char.isdigit())


def _link_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the whitespace-separated tokens that are links."""
    return [token.span() for token in _TOKEN.finditer(text) if _LINK.search(token.group(0))]


def _outside(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return all(end <= a or start >= b for a, b in spans)


def _replace(text: str, found: list[tuple[int, int, str]]) -> str:
    """`text` with the (start, end, placeholder) spans replaced (non-overlapping)."""
    pieces, last = [], 0
    for start, end, placeholder in sorted(found):
        if start < last:
            continue
        pieces.append(text[last:start])
        pieces.append(placeholder)
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def _numbers(text: str, links: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """NIK, card and phone spans outside links."""
    found: list[tuple[int, int, str]] = []
    taken: list[tuple[int, int]] = list(links)

    def add(start: int, end: int, placeholder: str) -> None:
        found.append((start, end, placeholder))
        taken.append((start, end))

    for match in _LONG_NUMBER.finditer(text):
        start, end = match.span()
        if not _outside(taken, start, end) or _AMOUNT_BEFORE.search(text[max(0, start - 5):start]):
            continue
        digits = _digits(match.group(0))
        if digits.startswith(("08", "628")) and len(digits) <= 15:
            continue  # a mobile number (below)
        if luhn_valid(digits) and _CARD_PREFIX.match(digits):
            add(start, end, CARD)
        elif plausible_nik(digits):
            add(start, end, NIK)
    for pattern, low, high in ((_MOBILE, 9, 15), (_LANDLINE, 9, 13)):
        for match in pattern.finditer(text):
            start, end = match.span()
            if not _outside(taken, start, end):
                continue
            if _AMOUNT_BEFORE.search(text[max(0, start - 5):start]):
                continue
            digits = _digits(match.group(0))
            if low <= len(digits) <= high:
                add(start, end, PHONE)
    return found


def _previous_words(text: str, position: int, count: int) -> list[str]:
    """Up to `count` words before `position`, nearest first, lower case."""
    words = _WORD.findall(text[max(0, position - 80):position])
    return [word.lower() for word in reversed(words[-count:])]


def _handles(text: str, links: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """Bare handles other than the reported one (see the module docstring)."""
    words = scrub_words()
    found = []
    for match in _HANDLE.finditer(text):
        start, end = match.span()
        if not _outside(links, start, end):
            continue
        before = _previous_words(text, start, 2)
        reported = bool(before) and (
            before[0] in words.account_words
            or (before[0] in words.platform_words and len(before) > 1
                and before[1] in words.account_words))
        if not reported:
            found.append((start, end, HANDLE))
    return found


def _names(text: str) -> list[tuple[int, int, str]]:
    """The one to three words after a name cue, up to a stop word or punctuation."""
    words = scrub_words()
    tokens = [(m.group(0).lower(), m.start(), m.end()) for m in _WORD.finditer(text)]
    found = []
    index = 0
    while index < len(tokens):
        cue = next((c for c in words.name_cues
                    if tuple(t[0] for t in tokens[index:index + len(c)]) == c), None)
        if cue is None:
            index += 1
            continue
        after = index + len(cue)
        name: list[tuple[str, int, int]] = []
        while after < len(tokens) and len(name) < 3:
            word, start, end = tokens[after]
            previous_end = name[-1][2] if name else tokens[after - 1][2]
            gap = text[previous_end:start]
            if word in words.name_stop_words or gap.strip(" :") or word.startswith("<"):
                break
            name.append(tokens[after])
            after += 1
        if name:
            found.append((name[0][1], name[-1][2], NAME))
        index = after if name else index + len(cue)
    return found


def scrub(text: str) -> str:
    """`text` (its first `MAX_CHARS` characters) with personal data replaced."""
    text = (text or "")[:MAX_CHARS]
    text = _EMAIL.sub(EMAIL, text)
    text = _WHATSAPP_LINK_NUMBER.sub(lambda m: m.group(1) + PHONE, text)
    links = _link_spans(text)
    text = _replace(text, _numbers(text, links))
    links = _link_spans(text)
    text = _replace(text, _handles(text, links))
    links = _link_spans(text)
    names = [span for span in _names(text) if _outside(links, span[0], span[1])]
    return _replace(text, names)


def find_personal_data(text: str) -> list[str]:
    """The kinds of personal data `scrub` would still remove from `text` (empty when
    the text is clean), e.g. ["<telepon>"]."""
    scrubbed = scrub(text)
    if scrubbed == (text or "")[:MAX_CHARS]:
        return []
    return [p for p in PLACEHOLDERS if scrubbed.count(p) > text.count(p)]
