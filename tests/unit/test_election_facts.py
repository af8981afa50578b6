"""Election facts: Indonesian formatting, validation of the YAML file, caching."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot import election_facts
from bot.election_facts import (
    REQUIRED_KEYS,
    ElectionFactsError,
    clear_cache,
    load_facts,
    parse_facts,
    placeholders_in,
    template_values,
)

VALID: dict[str, Any] = {
    "current": {"pemilu": "pemilu2024", "pilkada": "pilkada2024"},
    "elections": {
        "pemilu2024": {
            "name": "Pemilu 2024",
            "campaign_start": "2023-11-28",
            "campaign_end": "2024-02-10",
            "ads_start": "2024-01-21",
            "ads_end": "2024-02-10",
            "rallies_start": "2024-01-21",
            "rallies_end": "2024-02-10",
            "quiet_start": "2024-02-11",
            "quiet_end": "2024-02-13",
            "voting_day": "2024-02-14",
            "social_media_accounts": 20,
            "social_media_register_days_before": 3,
            "campaign_regulation": "PKPU 15/2023",
            "social_media_rule": "Pasal 37–38 PKPU 15/2023",
            "quiet_period_rule": "Pasal 27 PKPU 15/2023",
        },
        "pilkada2024": {
            "name": "Pilkada 2024",
            "campaign_start": "2024-09-25",
            "campaign_end": "2024-11-23",
            "ads_start": "2024-11-10",
            "ads_end": "2024-11-23",
            "quiet_start": "2024-11-24",
            "quiet_end": "2024-11-26",
            "voting_day": "2024-11-27",
            "social_media_accounts": 20,
            "social_media_deactivate_by": "2024-11-23",
            "social_media_deactivate_time": "23.59 WIB",
            "campaign_regulation": "PKPU 13/2024",
            "social_media_rule": "PKPU 13/2024",
            "quiet_period_rule": "Pasal 47 PKPU 13/2024",
        },
    },
    "contacts": {
        "bawaslu_whatsapp": "0811-9810-123",
        "bawaslu_email": "ayolapor@bawaslu.go.id",
        "bawaslu_office_hours": "pada hari dan jam kerja",
        "sigaplapor_url": "sigaplapor.bawaslu.go.id",
        "komdigi_report_url": "aduankonten.id",
    },
}


def _write(tmp_path: Path, content: Any) -> Path:
    path = tmp_path / "elections.yml"
    path.write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")
    return path


def _broken(change: str, value: Any = None) -> dict[str, Any]:
    """A copy of VALID with `a.b.c` set to value (or deleted when value is None)."""
    content = copy.deepcopy(VALID)
    *parents, last = change.split(".")
    node = content
    for key in parents:
        node = node[key]
    if value is None:
        del node[last]
    else:
        node[last] = value
    return content


# --- formatting --------------------------------------------------------------------


def test_dates_and_ranges_are_formatted_in_indonesian(tmp_path: Path) -> None:
    values = load_facts(_write(tmp_path, VALID))
    assert values["pemilu_name"] == "Pemilu 2024"
    assert values["pilkada_name"] == "Pilkada 2024"
    assert values["pemilu_voting_day"] == "14 Februari 2024"
    assert values["pemilu_campaign_start"] == "28 November 2023"
    assert values["pemilu_campaign_period"] == "28 November 2023 – 10 Februari 2024"
    assert values["pemilu_ads_period"] == "21 Januari – 10 Februari 2024"
    assert values["pemilu_quiet_period"] == "11–13 Februari 2024"
    assert values["pilkada_quiet_period"] == "24–26 November 2024"
    assert values["pilkada_campaign_period"] == "25 September – 23 November 2024"
    assert values["pilkada_social_media_deactivate_by"] == "23 November 2024 pukul 23.59 WIB"
    assert values["pemilu_social_media_accounts"] == "20"
    assert values["pemilu_social_media_register_days_before"] == "3"


def test_unquoted_yaml_dates_work_too(tmp_path: Path) -> None:
    path = tmp_path / "elections.yml"
    text = yaml.safe_dump(VALID, allow_unicode=True).replace("'2024-02-14'", "2024-02-14")
    assert "voting_day: 2024-02-14" in text
    path.write_text(text, encoding="utf-8")
    assert load_facts(path)["pemilu_voting_day"] == "14 Februari 2024"


def test_a_one_day_range_is_one_date(tmp_path: Path) -> None:
    content = _broken("elections.pemilu2024.quiet_end", "2024-02-11")
    assert load_facts(_write(tmp_path, content))["pemilu_quiet_period"] == "11 Februari 2024"


def test_keys_are_plain_identifiers_and_values_are_text(tmp_path: Path) -> None:
    values = load_facts(_write(tmp_path, VALID))
    for key, value in values.items():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", key), key
        assert isinstance(value, str) and value and "{" not in value


def test_next_election_is_a_data_change(tmp_path: Path) -> None:
    content = copy.deepcopy(VALID)
    nxt = copy.deepcopy(content["elections"]["pemilu2024"])
    nxt.update(name="Pemilu 2029", campaign_start="2028-11-01", campaign_end="2029-02-10",
               ads_start="2029-01-21", ads_end="2029-02-10", rallies_start="2029-01-21",
               rallies_end="2029-02-10", quiet_start="2029-02-11", quiet_end="2029-02-13",
               voting_day="2029-02-14")
    content["elections"]["pemilu2029"] = nxt
    content["current"]["pemilu"] = "pemilu2029"
    values = load_facts(_write(tmp_path, content))
    assert values["pemilu_name"] == "Pemilu 2029"
    assert values["pemilu_voting_day"] == "14 Februari 2029"
    assert values["pilkada_name"] == "Pilkada 2024"


# --- the real file -------------------------------------------------------------------


def test_project_file_is_valid_and_has_the_required_keys() -> None:
    values = load_facts()
    missing = set(REQUIRED_KEYS) - set(values)
    assert not missing, f"bot/resources/elections.yml lacks {sorted(missing)}"
    for key in ("bawaslu_whatsapp", "bawaslu_email", "bawaslu_office_hours",
                "sigaplapor_url", "komdigi_report_url", "pemilu_name", "pilkada_name"):
        assert values[key].strip(), key
    assert "@" in values["bawaslu_email"]


def test_template_values_reads_once_and_returns_copies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, VALID)
    monkeypatch.setattr(election_facts, "FACTS_PATH", path)
    clear_cache()
    try:
        first = template_values()
        first["pemilu_name"] = "changed by a caller"
        path.write_text("not: [valid", encoding="utf-8")  # not read again while cached
        assert template_values()["pemilu_name"] == "Pemilu 2024"
        clear_cache()
        with pytest.raises(ElectionFactsError, match="not valid YAML"):
            template_values()
    finally:
        clear_cache()


def test_nothing_is_read_before_the_first_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(election_facts, "FACTS_PATH", tmp_path / "missing.yml")
    clear_cache()
    try:
        with pytest.raises(ElectionFactsError, match="does not exist"):
            template_values()
    finally:
        clear_cache()


def test_placeholders_in_finds_rasa_placeholders() -> None:
    text = "Masa tenang {pemilu_name}: {pemilu_quiet_period}.\nKontak {bawaslu_email}"
    assert placeholders_in(text) == {"pemilu_name", "pemilu_quiet_period", "bawaslu_email"}
    assert placeholders_in("tanpa placeholder") == set()


# --- validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "value", "message"),
    [
        ("current.pilkada", None, r"current\.pilkada is missing"),
        ("current.pemilu", "pemilu2029", r"current\.pemilu names 'pemilu2029'"),
        ("elections.pemilu2024.voting_day", None, r"elections\.pemilu2024\.voting_day is missing"),
        ("elections.pemilu2024.name", None, r"elections\.pemilu2024\.name is missing"),
        ("elections.pemilu2024.quiet_start", "2024-02-30",
         r"elections\.pemilu2024\.quiet_start must be an ISO date"),
        ("elections.pilkada2024.voting_day", "27 November 2024",
         r"elections\.pilkada2024\.voting_day must be an ISO date"),
        ("elections.pemilu2024.quiet_start", "2024-02-01",
         r"elections\.pemilu2024\.(campaign_end|quiet_start) .* must be"),
        ("elections.pemilu2024.ads_end", "2024-03-01",
         r"elections\.pemilu2024\.ads_end .* must be on or before .*campaign_end"),
        ("elections.pilkada2024.voting_day", "2024-11-25",
         r"elections\.pilkada2024\.quiet_end .* must be before .*voting_day"),
        ("elections.pemilu2024.quiet_strat", "2024-02-11",
         r"elections\.pemilu2024 has unknown field\(s\) quiet_strat"),
        ("elections.pemilu2024.social_media_accounts", "dua puluh",
         r"elections\.pemilu2024\.social_media_accounts must be a positive whole number"),
        ("elections.pemilu2024.social_media_accounts", 0,
         r"elections\.pemilu2024\.social_media_accounts must be a positive whole number"),
        ("elections.pemilu2024.rallies_end", None,
         r"elections\.pemilu2024\.rallies_start and .*rallies_end go together"),
        ("elections.pilkada2024.social_media_deactivate_time", "jam 12 malam",
         r"elections\.pilkada2024\.social_media_deactivate_time must look like"),
        ("elections.pilkada2024.social_media_deactivate_by", "2024-11-25",
         r"elections\.pilkada2024\.social_media_deactivate_by .* must be before"),
        ("contacts.bawaslu_whatsapp", None, r"contacts\.bawaslu_whatsapp is missing"),
        ("contacts.bawaslu_whatsapp", 8119810123,
         r"contacts\.bawaslu_whatsapp must be non-empty text \(put numbers in quotes\)"),
        ("contacts.bawaslu_email", "ayolapor", r"contacts\.bawaslu_email must be an e-mail"),
        ("contacts.Bawaslu-Fax", "021", r"contacts\.Bawaslu-Fax is not a valid name"),
        ("contacts.pemilu_hotline", "021", r"contacts\.pemilu_hotline must not start with"),
        ("contacts.sigaplapor_url", "{sigaplapor}", r"contacts\.sigaplapor_url must not contain"),
    ],
)
def test_broken_files_name_the_key(
    tmp_path: Path, change: str, value: Any, message: str
) -> None:
    path = _write(tmp_path, _broken(change, value))
    with pytest.raises(ElectionFactsError, match=message):
        load_facts(path)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ElectionFactsError, match="does not exist"):
        load_facts(tmp_path / "nope.yml")


def test_invalid_yaml_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "elections.yml"
    path.write_text("current: [pemilu\n", encoding="utf-8")
    with pytest.raises(ElectionFactsError, match="not valid YAML"):
        load_facts(path)


@pytest.mark.parametrize("section", ["current", "elections", "contacts"])
def test_missing_section_is_named(section: str) -> None:
    content = copy.deepcopy(VALID)
    del content[section]
    with pytest.raises(ElectionFactsError, match=rf"{section} must be a mapping"):
        parse_facts(content)


def test_date_with_time_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID)
    text = path.read_text(encoding="utf-8").replace("'2024-02-14'", "2024-02-14 10:00:00")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ElectionFactsError, match=r"voting_day must be a date without a time"):
        load_facts(path)
