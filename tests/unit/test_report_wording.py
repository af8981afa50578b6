"""The phrases that fill report responses (bot/resources/report_wording.yml) exist and fit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.link_checker import CHECK_STATUSES, LinkCheckResult
from bot.report_wording import (
    LABELS,
    LINK_CHECKS,
    LINK_PROBLEMS,
    WORDING_FILE,
    WordingError,
    has_phrase,
    load_wording,
    phrase,
    placeholders,
)
from bot.settings import PROJECT_ROOT
from bot.status_labels import status_label
from bot.store.types import STATUSES
from bot.urls import UrlError

# Every UrlError the code raises, with its code and optional phrase name.
_RAISED = re.compile(r'UrlError\("(\w+)"(?:, "(\w+)")?\)')


def _url_problems() -> set[str]:
    source = (PROJECT_ROOT / "bot" / "urls.py").read_text(encoding="utf-8")
    return {problem or code for code, problem in _RAISED.findall(source)}


def test_every_reason_a_link_is_refused_has_a_phrase() -> None:
    problems = _url_problems()
    assert {"empty", "blocked", "credentials", "malformed"} <= problems
    missing = sorted(p for p in problems if not has_phrase(LINK_PROBLEMS, p))
    assert not missing, f"report_wording.yml link_problems lacks {missing}"
    assert UrlError("blocked").message_id == "alamat itu bukan situs publik."


@pytest.mark.parametrize("status", [s for s in CHECK_STATUSES if s != "ok"])
def test_every_link_check_result_has_a_note_with_only_known_placeholders(status: str) -> None:
    assert has_phrase(LINK_CHECKS, status)
    assert placeholders(LINK_CHECKS, status) <= {"host"}
    result = LinkCheckResult.unchecked("https://www.tiktok.com/@a/video/1", status)
    assert result.note and "{" not in result.note


def test_an_ok_link_has_no_note() -> None:
    assert LinkCheckResult.unchecked("https://x.com/a", "ok").note is None


@pytest.mark.parametrize("status", STATUSES)
def test_every_report_status_has_a_label(status: str) -> None:
    assert status_label(status) != status


def test_an_unknown_status_shows_as_it_is() -> None:
    assert status_label("unknown") == "unknown"


@pytest.mark.parametrize(
    ("key", "fields"),
    [
        ("national_region", set()),
        ("file_count", {"count"}),
        ("one_file_received", set()),
        ("files_received", {"count"}),
        ("formal_deadline", {"date", "relative"}),
        ("reviewer_note", {"note"}),
    ],
)
def test_labels_have_the_placeholders_the_code_fills(key: str, fields: set[str]) -> None:
    assert placeholders(LABELS, key) == fields
    phrase(LABELS, key, **dict.fromkeys(fields, "x"))


def test_a_missing_phrase_is_named() -> None:
    with pytest.raises(WordingError, match="no labels.nope"):
        phrase(LABELS, "nope")


def test_a_wording_file_with_an_unknown_or_missing_section_is_refused(tmp_path: Path) -> None:
    text = WORDING_FILE.read_text(encoding="utf-8")
    typo = tmp_path / "typo.yml"
    typo.write_text(text + "\nstatus_lables:\n  baru: x\n", encoding="utf-8")
    with pytest.raises(WordingError, match="unknown sections"):
        load_wording(typo)
    missing = tmp_path / "missing.yml"
    missing.write_text("labels:\n  national_region: Nasional\n", encoding="utf-8")
    with pytest.raises(WordingError, match="link_problems"):
        load_wording(missing)
