"""Curated word lists: the shapes trainers may write, and clear errors for mistakes."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import regions
from bot.regions import REGION_WORDS, RegionWords, match_region, region_words
from bot.word_lists import (
    WordListError,
    load_word_list,
    names_map,
    phrase_list,
    word_set,
)


def test_a_word_group_is_text_or_a_list() -> None:
    assert word_set("Saya aku\n  gue", "x") == {"saya", "aku", "gue"}
    assert word_set(["saya", "aku gue"], "x") == {"saya", "aku", "gue"}
    with pytest.raises(WordListError, match="x: expected words"):
        word_set({"saya": 1}, "x")


def test_phrases_keep_their_words_together() -> None:
    assert phrase_list(["Kampanye  Hitam", "-"], "x") == ("kampanye hitam", "-")
    with pytest.raises(WordListError, match="x: expected a list"):
        phrase_list("kampanye hitam", "x")


def test_names_are_one_or_several() -> None:
    assert names_map({"solo": "Kota Surakarta", "madura": ["A", "B"]}, "x") == {
        "solo": ("Kota Surakarta",), "madura": ("A", "B")}
    with pytest.raises(WordListError, match="x.solo"):
        names_map({"solo": []}, "x")


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    (tmp_path / "broken.yml").write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(WordListError, match="must be a mapping"):
        load_word_list("broken", tmp_path)


def test_the_region_words_name_a_missing_key() -> None:
    data = dict(load_word_list(REGION_WORDS))
    del data["locatives"]
    with pytest.raises(WordListError, match="regions: missing 'locatives'"):
        RegionWords.from_data(data)


@pytest.fixture
def fresh_index() -> Iterator[None]:
    regions._index.cache_clear()
    yield
    regions._index.cache_clear()


def test_an_alias_for_an_unknown_region_is_named(
    monkeypatch: pytest.MonkeyPatch, fresh_index: None
) -> None:
    words = dataclasses.replace(region_words(),
                                aliases={"jateng": ("Jawa Tenggah",)})
    monkeypatch.setattr(regions, "region_words", lambda: words)
    with pytest.raises(WordListError, match="aliases: 'Jawa Tenggah' is not the official"):
        match_region("jateng")


def test_a_same_as_pointing_nowhere_is_named(
    monkeypatch: pytest.MonkeyPatch, fresh_index: None
) -> None:
    words = dataclasses.replace(region_words(), same_as={"jkt": "jakartaa"})
    monkeypatch.setattr(regions, "region_words", lambda: words)
    with pytest.raises(WordListError, match="same_as: 'jakartaa' is not a region name"):
        match_region("jkt")


def test_a_new_alias_in_the_data_is_understood(
    monkeypatch: pytest.MonkeyPatch, fresh_index: None
) -> None:
    words = dataclasses.replace(region_words(),
                                aliases={**region_words().aliases,
                                         "kota kembang": ("Kota Bandung",)})
    monkeypatch.setattr(regions, "region_words", lambda: words)
    match = match_region("di kota kembang")
    assert match.kind == "exact" and match.region is not None
    assert match.region.code == "32.73"
