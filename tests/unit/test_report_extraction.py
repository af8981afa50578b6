"""What one message says about each report field (bot/report_extraction.py), on plain text."""

from __future__ import annotations

from datetime import date

import pytest

from bot.report_extraction import (
    FIRST_MESSAGE_DESCRIPTION,
    MAX_DESCRIPTION,
    MAX_LINKS,
    NATIONAL,
    NO_REPORTED_PARTY,
    AnswerWords,
    account_of_events,
    answer_words,
    check_description,
    confirmation,
    field_to_edit,
    find_category,
    find_known_date,
    find_links,
    find_region,
    reported_party,
    valid_category,
    valid_known_date,
    valid_region_name,
    yes_or_no,
)
from bot.word_lists import WordListError

TODAY = date(2026, 12, 1)


# --- links ---------------------------------------------------------------------------


def test_links_are_added_to_those_already_known_without_duplicates() -> None:
    found = find_links("lihat https://x.com/a/status/1 dan https://t.co/abc",
                       ["https://t.co/abc"])
    assert found.links == ("https://t.co/abc", "https://x.com/a/status/1")
    assert found.in_message == 2 and found.dropped == 0
    assert found.adds_to(["https://t.co/abc"])
    again = find_links("https://t.co/abc lagi", found.links)
    assert again.in_message == 1 and not again.adds_to(found.links)


def test_links_beyond_the_limit_are_dropped_and_counted() -> None:
    text = " ".join(f"https://web.example.id/{i}" for i in range(MAX_LINKS + 3))
    found = find_links(text)
    assert len(found.links) == MAX_LINKS and found.dropped == 3
    assert found.links[-1] == f"https://web.example.id/{MAX_LINKS - 1}"


def test_a_message_without_links() -> None:
    found = find_links("belum ada linknya kak", ["https://x.com/a"])
    assert found.in_message == 0 and found.links == ("https://x.com/a",)


# --- category ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "entities", "expected"),
    [
        ("/inform", ["politik_uang"], "politik_uang"),  # a button
        ("ada serangan fajar", [], "politik_uang"),
        ("ini", ["bukan_kategori"], None),
        ("hoaks dan politik uang", [], None),  # two categories: the citizen chooses
    ],
)
def test_find_category(text: str, entities: list[str], expected: str | None) -> None:
    assert find_category(text, entities) == expected


def test_valid_category() -> None:
    assert valid_category("HOAKS") == "hoaks"
    assert valid_category("apa saja") is None and valid_category(None) is None


# --- account of events ---------------------------------------------------------------


def test_the_answer_to_the_description_question_is_taken_as_it_is() -> None:
    assert account_of_events("  pendek  ", "description") == "pendek"


@pytest.mark.parametrize("asked", [None, "report_links", "category", "region", "known_date"])
def test_a_long_message_also_tells_what_happened(asked: str | None) -> None:
    text = "ada akun nyebar video editan yang fitnah paslon 2 https://x.com/a/status/1"
    assert account_of_events(text, asked) == text


def test_links_do_not_count_towards_an_account_of_events() -> None:
    text = "lihat ini " + "https://web.example.id/" + "x" * 100
    assert len(text) > FIRST_MESSAGE_DESCRIPTION
    assert account_of_events(text, None) is None


@pytest.mark.parametrize("asked", ["reported_party", "report_confirmed", "continue_form"])
def test_answers_to_other_questions_are_not_an_account_of_events(asked: str) -> None:
    text = "akun anonim yang sering posting fitnah soal paslon nomor dua"
    assert account_of_events(text, asked) is None


def test_check_description() -> None:
    assert check_description("hoaks").problem == "too_short"
    assert check_description("hoaks").text is None
    ok = check_description("  video editan memfitnah paslon  ")
    assert (ok.text, ok.problem) == ("video editan memfitnah paslon", None)
    long = check_description("a" * (MAX_DESCRIPTION + 5))
    assert long.problem == "truncated" and long.text == "a" * MAX_DESCRIPTION


# --- region --------------------------------------------------------------------------


def test_find_region_exact_national_ambiguous_none() -> None:
    exact = find_region("di kota pekalongan kemarin")
    assert (exact.kind, exact.code) == ("region", "33.75")
    assert exact.name == "Kota Pekalongan (Jawa Tengah)"
    assert find_region("nasional", asked=True).kind == "national"
    assert find_region("nasional", asked=True).name == NATIONAL
    ambiguous = find_region("pekalongan", asked=True)
    assert ambiguous.kind == "ambiguous"
    assert {c["code"] for c in ambiguous.candidates} == {"33.26", "33.75"}
    assert find_region("halo kak", asked=True).kind == "none"


def test_a_choice_between_candidates_is_read_only_when_asked() -> None:
    candidates = list(find_region("pekalongan", asked=True).candidates)
    chosen = find_region("kabupaten", asked=True, candidates=candidates)
    assert (chosen.kind, chosen.code) == ("region", "33.26")
    assert find_region("kabupaten", asked=False, candidates=candidates).kind == "none"


def test_a_typo_is_trusted_only_as_the_answer_to_the_region_question() -> None:
    assert find_region("di surbaya kemarin", asked=True).code == "35.78"
    assert find_region("di surbaya kemarin", asked=False).kind == "none"


def test_valid_region_name() -> None:
    assert valid_region_name("x" * 300) == "x" * 200
    assert valid_region_name("") is None


# --- date ----------------------------------------------------------------------------


def test_find_known_date() -> None:
    yesterday = find_known_date("kemarin", TODAY)
    assert yesterday is not None and yesterday.day == date(2026, 11, 30)
    assert not yesterday.future and not yesterday.late
    late = find_known_date("sebulan lalu", TODAY)
    assert late is not None and late.late and not late.future
    future = find_known_date("besok", TODAY)
    assert future is not None and future.future
    assert find_known_date("gak inget", TODAY) is None


def test_valid_known_date() -> None:
    assert valid_known_date("2026-11-30") == "2026-11-30"
    assert valid_known_date("30/11") is None


# --- reported party and the form's own questions -------------------------------------


@pytest.mark.parametrize("text", ["lewati", "Gak tau", "  tidak   ada ", "-", "anonim"])
def test_skipping_the_reported_party(text: str) -> None:
    assert reported_party(text) == NO_REPORTED_PARTY


def test_the_reported_party_is_kept_as_typed_within_a_limit() -> None:
    assert reported_party("  @akun_provokator   dan  @temannya ") == (
        "@akun_provokator dan @temannya")
    assert len(reported_party("@" + "x" * 500)) == 200


def test_yes_or_no() -> None:
    assert (yes_or_no("affirm"), yes_or_no("deny"), yes_or_no("inform")) == (True, False, None)


@pytest.mark.parametrize(
    ("intent", "text", "expected"),
    [
        ("affirm", "/affirm", "yes"),
        ("inform", "Kirim laporan", "yes"),
        ("deny", "/deny", "edit"),
        ("inform", "ubah kategorinya", "edit"),
        ("inform", "hmm", None),
    ],
)
def test_confirmation(intent: str, text: str, expected: str | None) -> None:
    assert confirmation(intent, text) == expected


@pytest.mark.parametrize(
    ("text", "entities", "expected"),
    [
        ('/inform{"form_field": "region"}', ["region"], "region"),
        ("tanggalnya salah", [], "known_date"),
        ("linknya kurang satu", [], "report_links"),
        ("nama akunnya", [], "reported_party"),
        ("yang itu", ["not_a_field"], None),
    ],
)
def test_field_to_edit(text: str, entities: list[str], expected: str | None) -> None:
    assert field_to_edit(text, entities) == expected


def test_answer_words_refuse_an_unknown_field() -> None:
    data = {"skip_answers": ["lewati"], "send_answers": ["kirim"], "change_prefixes": ["ubah"],
            "edit_field_words": {"foto": "photos"}}
    with pytest.raises(WordListError, match="unknown fields.*photos"):
        AnswerWords.from_data(data)
    with pytest.raises(WordListError, match="missing 'send_answers'"):
        AnswerWords.from_data({**data, "send_answers": None, "edit_field_words": {}})


def test_the_shipped_answer_words_load() -> None:
    words = answer_words()
    assert "lewati" in words.skip and "kirim" in words.send
