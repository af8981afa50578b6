"""What one message says about each field of a report: pure functions.

The report form (`actions.report.ValidateReportForm`) asks these functions
what a citizen's message says about the links, the category, the account of
events, the region, the date and the reported party, and about its own
questions (consent, send/change, which part to change, continue). None of them
touches Rasa, the store or the network: each takes text (and what the form
already knows) and returns a value or a small result, so they are tested on
plain strings and run in a worker thread within a time budget
(`actions.services.extract`). All are linear in the length of the message.

The words they read as answers ("lewati", "kirim", "tanggal", ...) are data in
`bot/resources/word_lists/report_answers.yml`; regions and categories have
their own lists (`bot.regions`, `bot.categories`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, Literal

from bot.categories import categories, detect_category, get_category
from bot.dates import is_past_deadline, parse_known_date
from bot.question_form import question_words
from bot.regions import build_region_index, match_region, resolve_choice
from bot.report_wording import load_wording_once
from bot.urls import extract_urls
from bot.word_lists import (
    WordListError,
    load_word_list,
    phrase_list,
    required,
    string_map,
)

logger = logging.getLogger(__name__)

ANSWER_WORDS = "report_answers"  # bot/resources/word_lists/report_answers.yml

MAX_LINKS = 10
MIN_DESCRIPTION = 15
MAX_DESCRIPTION = 2000
#: A message this long (links removed) that starts the report, or answers the
#: question about the link, category, place or date, also tells what happened.
FIRST_MESSAGE_DESCRIPTION = 40
#: Questions (requested slots) whose long answers count as the account of events;
#: None is the message that starts the report.
DESCRIPTION_TOO = frozenset({None, "report_links", "category", "region", "known_date"})
MAX_REGION_NAME = 200
MAX_REPORTED_PARTY = 200
#: The region value for "nasional", "tidak tahu", "cuma di medsos".
NATIONAL = "nasional"
#: The reported party when the citizen skipped the question.
NO_REPORTED_PARTY = "-"
#: Days a formal report may be filed after the violation became known
#: (Perbawaslu 7/2022 Pasal 8(3); UU 7/2017 counts working days, so calendar
#: days are the safe reading).
FORMAL_REPORT_DAYS = 7
EDITABLE_FIELDS = ("report_links", "category", "description", "region", "known_date",
                   "reported_party")


# --- word lists ----------------------------------------------------------------


@dataclass(frozen=True)
class AnswerWords:
    """The words of bot/resources/word_lists/report_answers.yml."""

    skip: frozenset[str]
    send: frozenset[str]
    change_prefixes: tuple[str, ...]
    edit_fields: tuple[tuple[str, str], ...]

    @classmethod
    def from_data(cls, data: Mapping[str, Any], where: str = ANSWER_WORDS) -> AnswerWords:
        """Check and freeze the parsed file."""
        edit = string_map(required(data, "edit_field_words", where),
                          f"{where}.edit_field_words")
        unknown = sorted(set(edit.values()) - set(EDITABLE_FIELDS))
        if unknown:
            raise WordListError(f"{where}.edit_field_words: unknown fields {unknown}; "
                                f"known: {', '.join(EDITABLE_FIELDS)}")
        return cls(
            skip=frozenset(phrase_list(required(data, "skip_answers", where),
                                       f"{where}.skip_answers")),
            send=frozenset(phrase_list(required(data, "send_answers", where),
                                       f"{where}.send_answers")),
            change_prefixes=phrase_list(required(data, "change_prefixes", where),
                                        f"{where}.change_prefixes"),
            edit_fields=tuple((word.lower(), field) for word, field in edit.items()),
        )


@lru_cache(maxsize=1)
def answer_words() -> AnswerWords:
    """The form's answer words, read once."""
    return AnswerWords.from_data(load_word_list(ANSWER_WORDS))


def preload() -> None:
    """Read every word list and index the extractors use (slow once, then cached).

    Call it in a worker thread before the first message is read, so the first
    extraction does not spend its time budget on reading files.
    """
    build_region_index()
    categories()
    answer_words()
    question_words()
    load_wording_once()


# --- links ---------------------------------------------------------------------


@dataclass(frozen=True)
class LinksFound:
    """The report's links after reading a message."""

    links: tuple[str, ...]
    #: How many links the message has (new or already known).
    in_message: int = 0
    #: Links beyond MAX_LINKS that were left out.
    dropped: int = 0

    def adds_to(self, known: Sequence[str]) -> bool:
        """True when the message added a link to `known`."""
        return list(self.links) != list(known)


def find_links(text: str, known: Sequence[str] = ()) -> LinksFound:
    """The links already known plus the new ones in `text`, at most MAX_LINKS."""
    merged = list(known)
    urls = extract_urls(text)
    for url in urls:
        if url not in merged:
            merged.append(url)
    dropped = max(0, len(merged) - MAX_LINKS)
    return LinksFound(tuple(merged[:MAX_LINKS]), len(urls), dropped)


# --- category ------------------------------------------------------------------


def find_category(text: str, entity_values: Iterable[str] = ()) -> str | None:
    """The category a message names: a `category` entity (a button), else a keyword."""
    for value in entity_values:
        category = get_category(value)
        if category is not None:
            return category.value
    return detect_category(text)


def valid_category(value: Any) -> str | None:
    """The canonical category value, or None for anything else."""
    category = get_category(str(value)) if value else None
    return category.value if category else None


# --- account of events ----------------------------------------------------------


def account_of_events(text: str, asked: str | None) -> str | None:
    """The message as the account of events ("what happened"), when it is one.

    The answer to the description question always is; a message of at least
    FIRST_MESSAGE_DESCRIPTION characters besides its links is when it starts
    the report or answers the question about the links, category, place or
    date (`asked` is the slot the form asked for, None before any question).
    """
    text = text.strip()
    if asked == "description":
        return text
    if asked not in DESCRIPTION_TOO:
        return None
    without_links = text
    for url in extract_urls(text):
        without_links = without_links.replace(url, " ")
    if len(" ".join(without_links.split())) >= FIRST_MESSAGE_DESCRIPTION:
        return text
    return None


@dataclass(frozen=True)
class DescriptionCheck:
    """A checked account of events: the text to keep, or why there is none."""

    text: str | None
    problem: Literal["too_short", "truncated"] | None = None


def check_description(value: Any) -> DescriptionCheck:
    """At least MIN_DESCRIPTION characters; beyond MAX_DESCRIPTION it is cut."""
    text = str(value or "").strip()
    if len(text) < MIN_DESCRIPTION:
        return DescriptionCheck(None, "too_short")
    if len(text) > MAX_DESCRIPTION:
        return DescriptionCheck(text[:MAX_DESCRIPTION], "truncated")
    return DescriptionCheck(text)


# --- region --------------------------------------------------------------------


@dataclass(frozen=True)
class RegionAnswer:
    """What a message says about the region.

    kind: "region" (one province or kabupaten/kota: `name`, `code`),
    "national" (no particular region), "ambiguous" (`candidates` to choose
    from, as `Region.to_choice()` dicts) or "none".
    """

    kind: Literal["region", "national", "ambiguous", "none"]
    name: str | None = None
    code: str | None = None
    candidates: tuple[dict[str, str], ...] = ()


NO_REGION = RegionAnswer("none")


def find_region(text: str, asked: bool = False,
                candidates: Sequence[Mapping[str, Any]] | None = None) -> RegionAnswer:
    """The region a message names.

    When the form asked for the region after offering `candidates`, an answer
    that picks one of them ("kota", "yang kedua") wins. A typo correction or a
    kecamatan hint is trusted only as an answer to the region question.
    """
    if asked and candidates:
        chosen = resolve_choice(list(candidates), text)
        if chosen is not None:
            return RegionAnswer("region", str(chosen["name"]), str(chosen["code"]))
    match = match_region(text)
    if match.kind == "exact" and match.region is not None and (
        asked or not match.needs_confirmation
    ):
        return RegionAnswer("region", match.region.display_name, match.region.code)
    if match.kind == "national":
        return RegionAnswer("national", NATIONAL)
    if match.kind == "ambiguous":
        return RegionAnswer("ambiguous",
                            candidates=tuple(c.to_choice() for c in match.candidates))
    return NO_REGION


def valid_region_name(value: Any) -> str | None:
    """The region name as kept in the report (at most MAX_REGION_NAME characters)."""
    return str(value)[:MAX_REGION_NAME] if value else None


# --- date ----------------------------------------------------------------------


@dataclass(frozen=True)
class DateAnswer:
    """The day the citizen first saw the content.

    `future`: the day has not come yet (refused). `late`: more than
    FORMAL_REPORT_DAYS ago, so a formal report may be out of time.
    """

    day: date
    future: bool = False
    late: bool = False


def find_known_date(text: str, today: date) -> DateAnswer | None:
    """The day a message names ("kemarin", "3 hari lalu", "5/11"); None when none."""
    parsed = parse_known_date(text, today)
    if parsed is None:
        return None
    if parsed.future:
        return DateAnswer(parsed.value, future=True)
    return DateAnswer(parsed.value,
                      late=is_past_deadline(parsed.value, today, FORMAL_REPORT_DAYS))


def valid_known_date(value: Any) -> str | None:
    """An ISO date as kept in the slot, or None."""
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        return None


# --- reported party ------------------------------------------------------------


def reported_party(text: str) -> str:
    """The answer to "who is behind the account?": NO_REPORTED_PARTY for a skip."""
    answer = " ".join(text.split())
    if answer.lower() in answer_words().skip:
        return NO_REPORTED_PARTY
    return answer[:MAX_REPORTED_PARTY]


# --- the form's own questions ---------------------------------------------------


def yes_or_no(intent: str) -> bool | None:
    """True for "yes" (affirm), False for "no" (deny), None for anything else."""
    if intent == "affirm":
        return True
    if intent == "deny":
        return False
    return None


def confirmation(intent: str, text: str) -> Literal["yes", "edit"] | None:
    """The answer to the summary: "yes" (send), "edit" (change a part), or None."""
    answer = text.strip().lower()
    words = answer_words()
    if intent == "affirm" or answer in words.send:
        return "yes"
    if intent == "deny" or answer.startswith(words.change_prefixes):
        return "edit"
    return None


def field_to_edit(text: str, entity_values: Iterable[str] = ()) -> str | None:
    """The part of the report to change: a `form_field` entity (a button) or a word."""
    for value in entity_values:
        if value in EDITABLE_FIELDS:
            return value
    answer = text.lower()
    for word, field in answer_words().edit_fields:
        if word in answer:
            return field
    return None
