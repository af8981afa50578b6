"""scripts/preview_answers.py shows the date-dependent answers for a day."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bot import election_facts
from bot.settings import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "scripts"))

from preview_answers import main  # noqa: E402


def test_preview_of_a_masa_tenang_day(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["2024-02-12", "--topic", "quiet_period"]) == 0
    out = capsys.readouterr().out
    assert "Running: Pemilu 2024 quiet_period" in out
    assert "pemilu: focus Pemilu 2024, previous -" in out
    assert "--- quiet_period (" in out
    assert "Saat ini sedang masa tenang Pemilu 2024: 11–13 Februari 2024." in out


def test_preview_reports_a_calendar_mistake(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "elections.yml"
    text = election_facts.FACTS_PATH.read_text(encoding="utf-8")
    broken.write_text(text.replace("voting: 2024-02-14", "voting: 2024-02-12"), encoding="utf-8")
    monkeypatch.setattr(election_facts, "FACTS_PATH", broken)
    assert main(["--check"]) == 1
    assert "pemilu2024: phases overlap: voting (2024-02-12)" in capsys.readouterr().err


def test_check_only_validates(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--check"]) == 0
    assert capsys.readouterr().out.startswith("Election calendar OK: ")


def test_unknown_topic_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["2026-12-01", "--topic", "cuaca"]) == 1
