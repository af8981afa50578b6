"""Election facts: the files, their validation, and the values for a day in the cycle."""

from __future__ import annotations

import copy
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot import election_facts
from bot.election_calendar import CalendarError
from bot.election_facts import (
    FACTS_PATH,
    NOTE_KEYS,
    REQUIRED_KEYS,
    WORDING_PATH,
    ElectionFacts,
    clear_cache,
    load_facts,
    parse_facts,
    placeholders_in,
    template_values,
)

TODAY = date(2026, 12, 1)  # between elections: Pemilu and Pilkada 2024 are over


def _real() -> tuple[dict[str, Any], dict[str, Any]]:
    """The project's two files, parsed (fresh copies)."""
    return (yaml.safe_load(FACTS_PATH.read_text(encoding="utf-8")),
            yaml.safe_load(WORDING_PATH.read_text(encoding="utf-8")))


def with_2029_dates() -> ElectionFacts:
    """The project's calendar plus made-up 2029 dates, as a trainer would add them."""
    facts, wording = _real()
    facts["elections"]["pemilu2029"]["phases"] = {
        "registration": None,
        "campaign": {"start": date(2028, 11, 28), "end": date(2029, 2, 10)},
        "quiet_period": {"start": date(2029, 2, 11), "end": date(2029, 2, 13)},
        "voting": date(2029, 2, 14),
        "recapitulation": None,
        "disputes": None,
    }
    return parse_facts(facts, wording)


def _broken(section: str, path: str, value: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The real files with `a.b.c` of one of them set to value (deleted when ...)."""
    facts, wording = _real()
    node = facts if section == "facts" else wording
    *parents, last = path.split(".")
    for key in parents:
        node = node[key]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return facts, wording


# --- the real files ----------------------------------------------------------------------


def test_project_files_are_valid_and_give_every_required_key() -> None:
    values = load_facts().values_for(TODAY)
    missing = set(REQUIRED_KEYS) - set(values)
    assert not missing, f"bot/resources/elections.yml lacks {sorted(missing)}"
    assert "@" in values["bawaslu_email"]


def test_keys_are_plain_identifiers_and_values_are_text() -> None:
    for day in (TODAY, date(2024, 2, 12)):
        for key, value in load_facts().values_for(day).items():
            assert re.fullmatch(r"[a-z][a-z0-9_]*", key), key
            assert isinstance(value, str) and "{" not in value and "}" not in value
            if key not in NOTE_KEYS:
                assert value.strip(), key


# --- today, between elections ----------------------------------------------------------


def test_between_elections_the_2024_periods_are_over_and_2029_is_next() -> None:
    values = load_facts().values_for(TODAY)
    campaign = values["campaign_schedule"]
    assert campaign.startswith("Masa kampanye Pemilu 2024 dan Pilkada 2024 sudah berakhir.")
    assert "Pemilu berikutnya (Presiden, DPR, DPD) direncanakan pada 2029" in campaign
    assert "sekitar 2031" in campaign and "KPU akan menetapkan jadwalnya" in campaign
    assert "2024" not in campaign.split("sudah berakhir.", 1)[1]
    assert values["quiet_period_schedule"].startswith("Masa tenang Pemilu 2024 dan Pilkada 2024")
    assert values["now_alert"] == "" and values["report_phase_note"] == ""
    assert values["between_note"].startswith("Anda tetap bisa melapor kapan saja")
    assert "pemungutan suara ulang" in values["between_note"]
    assert values["between_note"].endswith("\n")
    # The rules quoted are the last ones KPU set, and the answer says so.
    assert values["pemilu_rules_election"] == "Pemilu 2024"
    assert values["pemilu_social_media_accounts"] == "20"
    assert values["rules_note"].startswith("Aturan untuk pemilihan berikutnya")


# --- a whole cycle, once KPU has set the 2029 dates ------------------------------------


def test_three_days_before_the_campaign() -> None:
    values = with_2029_dates().values_for(date(2028, 11, 25))
    assert values["campaign_schedule"].startswith(
        "Masa kampanye Pemilu 2029 akan berlangsung 28 November 2028 – 10 Februari 2029.")
    assert values["quiet_period_schedule"].startswith(
        "Masa tenang Pemilu 2029 akan berlangsung 11–13 Februari 2029.")
    assert values["now_alert"] == ""
    # Nothing runs yet, so reporting any time is still worth saying.
    assert values["between_note"]


def test_mid_campaign_gives_the_live_dates() -> None:
    values = with_2029_dates().values_for(date(2029, 1, 5))
    campaign = values["campaign_schedule"]
    assert campaign.startswith(
        "Saat ini sedang masa kampanye Pemilu 2029: 28 November 2028 – 10 Februari 2029.")
    # The regional election has no dates yet: its plan is still said.
    assert "Pemilihan daerah (DPRD, kepala daerah) sekitar 2031" in campaign
    assert "Pemilu 2024" not in campaign
    assert values["between_note"] == "" and values["now_alert"] == ""
    assert values["report_phase_note"] == ""
    assert values["rules_note"]  # 2029 has no rules block in this calendar


def test_masa_tenang_is_said_first() -> None:
    values = with_2029_dates().values_for(date(2029, 2, 12))
    assert values["now_alert"] == (
        "Saat ini masa tenang Pemilu 2029 (11–13 Februari 2029): "
        "kampanye dalam bentuk apa pun dilarang.\n")
    assert values["quiet_period_schedule"].startswith(
        "Saat ini sedang masa tenang Pemilu 2029: 11–13 Februari 2029.")
    assert values["campaign_schedule"].startswith(
        "Masa kampanye Pemilu 2029 (28 November 2028 – 10 Februari 2029) sudah berakhir.")
    assert values["report_phase_note"].startswith("Saat ini masa tenang Pemilu 2029: batas")
    assert values["between_note"] == ""


def test_voting_day() -> None:
    values = with_2029_dates().values_for(date(2029, 2, 14))
    assert values["now_alert"] == "Hari ini hari pemungutan suara Pemilu 2029.\n"
    assert values["voting_schedule"].startswith("Hari ini pemungutan suara Pemilu 2029.")
    assert values["quiet_period_schedule"].startswith(
        "Masa tenang Pemilu 2029 (11–13 Februari 2029) sudah berakhir.")
    assert values["report_phase_note"]


def test_after_the_election() -> None:
    values = with_2029_dates().values_for(date(2029, 3, 1))
    campaign = values["campaign_schedule"]
    assert campaign.startswith("Masa kampanye Pemilu 2029 dan Pilkada 2024 sudah berakhir.")
    # No later Pemilu is in the calendar yet.
    assert "Jadwal Pemilu berikutnya belum ada; KPU akan menetapkannya." in campaign
    assert values["now_alert"] == "" and values["between_note"]
    assert values["pemilu_rules_election"] == "Pemilu 2024"


def test_the_same_file_answers_differently_by_day() -> None:
    facts = with_2029_dates()
    seen = {facts.values_for(day)["campaign_schedule"] for day in (
        date(2028, 11, 25), date(2029, 1, 5), date(2029, 2, 12), date(2029, 3, 1))}
    assert len(seen) == 4


def test_rules_of_the_next_election_are_a_data_change() -> None:
    facts, wording = _real()
    facts["elections"]["pemilu2029"]["rules"] = {
        "campaign_regulation": "PKPU 9/2028", "social_media_rule": "Pasal 30 PKPU 9/2028",
        "quiet_period_rule": "Pasal 25 PKPU 9/2028", "social_media_accounts": 25,
    }
    values = parse_facts(facts, wording).values_for(TODAY)
    assert values["pemilu_rules_election"] == "Pemilu 2029"
    assert values["pemilu_social_media_accounts"] == "25"
    assert "pemilu_social_media_register_days_before" not in values  # optional, not given
    assert values["pilkada_rules_election"] == "Pilkada 2024"
    assert values["rules_note"]  # the regional election's rules are still the old ones


# --- caching ------------------------------------------------------------------------------


def test_template_values_reads_once_and_returns_copies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "elections.yml"
    path.write_text(FACTS_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(election_facts, "FACTS_PATH", path)
    clear_cache()
    try:
        first = template_values(TODAY)
        first["campaign_schedule"] = "changed by a caller"
        path.write_text("elections: [valid", encoding="utf-8")  # not read again while cached
        assert template_values(TODAY)["campaign_schedule"].startswith("Masa kampanye")
        clear_cache()
        with pytest.raises(CalendarError, match="not valid YAML"):
            template_values(TODAY)
    finally:
        clear_cache()


def test_nothing_is_read_before_the_first_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(election_facts, "FACTS_PATH", tmp_path / "missing.yml")
    clear_cache()
    try:
        with pytest.raises(CalendarError, match="does not exist"):
            template_values(TODAY)
    finally:
        clear_cache()


def test_placeholders_in_finds_rasa_placeholders() -> None:
    text = "{now_alert}Masa tenang: {quiet_period_schedule}.\nKontak {bawaslu_email}"
    assert placeholders_in(text) == {"now_alert", "quiet_period_schedule", "bawaslu_email"}
    assert placeholders_in("tanpa placeholder") == set()


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "path", "value", "message"),
    [
        ("facts", "current", {"pemilu": "pemilu2024"},
         r"current: is no longer used: .* from today's date"),
        ("facts", "calendar", {}, r"unknown section\(s\) calendar"),
        ("facts", "elections.pemilu2029.phases.voting", "2029-02-30",
         r"elections\.pemilu2029\.phases\.voting must be an ISO date"),
        ("facts", "elections.pemilu2024.rules.social_media_accounts", "dua puluh",
         r"pemilu2024\.rules\.social_media_accounts must be a positive whole number"),
        ("facts", "elections.pemilu2024.rules.social_media_accounts", 0,
         r"pemilu2024\.rules\.social_media_accounts must be a positive whole number"),
        ("facts", "elections.pemilu2024.rules.campaign_regulation", ...,
         r"pemilu2024\.rules\.campaign_regulation is missing"),
        ("facts", "elections.pemilu2024.rules.campaign_regulaton", "PKPU 15/2023",
         r"pemilu2024\.rules has unknown field\(s\) campaign_regulaton"),
        ("facts", "elections.pilkada2024.rules", ..., r"no pilkada election has rules"),
        ("facts", "contacts.bawaslu_whatsapp", ..., r"contacts\.bawaslu_whatsapp is missing"),
        ("facts", "contacts.bawaslu_whatsapp", 8119810123,
         r"contacts\.bawaslu_whatsapp must be non-empty text \(put numbers in quotes\)"),
        ("facts", "contacts.bawaslu_email", "ayolapor",
         r"contacts\.bawaslu_email must be an e-mail"),
        ("facts", "contacts.Bawaslu-Fax", "021", r"contacts\.Bawaslu-Fax is not a valid name"),
        ("facts", "contacts.pemilu_hotline", "021",
         r"contacts\.pemilu_hotline must not start with"),
        ("facts", "contacts.now_alert", "x", r"contacts\.now_alert is taken by a calendar"),
        ("facts", "contacts.sigaplapor_url", "{sigaplapor}",
         r"contacts\.sigaplapor_url must not contain"),
        ("wording", "schedule.ongoing", "Saat ini {labl} {name}.",
         r"schedule\.ongoing uses unknown placeholder\(s\) \{labl\}; it may use \{end\}, "
         r"\{label\}, \{name\}, \{period\}, \{start\}"),
        ("wording", "schedule.planned", "{items} {name}",
         r"schedule\.planned uses unknown placeholder\(s\) \{name\}; it may use \{items\}"),
        ("wording", "schedule.past", "sudah {berakhir", r"schedule\.past has an unmatched"),
        ("wording", "labels.quiet_period", ..., r"labels\.quiet_period is missing"),
        ("wording", "labels.masa_tenang", "masa tenang",
         r"labels has unknown name\(s\) masa_tenang"),
        ("wording", "alerts.campaign", "Saat ini {label} {name}.", None),
        ("wording", "alerts.kampanye", "x", r"alerts has unknown name\(s\) kampanye"),
        ("wording", "between_elections", ..., r"between_elections is missing"),
        ("wording", "greeting", "Halo", r"unknown section\(s\) greeting"),
    ],
)
def test_broken_files_name_the_key(section: str, path: str, value: Any,
                                   message: str | None) -> None:
    facts, wording = _broken(section, path, value)
    if message is None:
        parse_facts(facts, wording)
        return
    with pytest.raises(CalendarError, match=message):
        parse_facts(facts, wording)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CalendarError, match="does not exist"):
        load_facts(tmp_path / "nope.yml")


def test_invalid_yaml_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "elections.yml"
    path.write_text("elections: [pemilu\n", encoding="utf-8")
    with pytest.raises(CalendarError, match="not valid YAML"):
        load_facts(path)


@pytest.mark.parametrize("section", ["elections", "contacts"])
def test_missing_section_is_named(section: str) -> None:
    facts, wording = _real()
    del facts[section]
    with pytest.raises(CalendarError, match=rf"{section} must be a mapping"):
        parse_facts(facts, wording)


def test_an_overlap_in_the_project_file_would_be_caught() -> None:
    facts, wording = _real()
    phases = facts["elections"]["pemilu2024"]["phases"]
    phases["quiet_period"] = {"start": date(2024, 2, 10), "end": date(2024, 2, 13)}
    with pytest.raises(CalendarError, match=r"pemilu2024: phases overlap: quiet_period"):
        parse_facts(copy.deepcopy(facts), wording)
