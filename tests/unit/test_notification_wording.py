"""The text of a notice (bot/resources/notification_wording.yml) names the ticket and status."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.decisions import decision_lists
from bot.notify.wording import (
    DESTINATIONS,
    OUTCOMES,
    STATUS_NEWS,
    NotificationWordingError,
    destination_label,
    load_notification_wording,
    outcome_label,
    render_notice,
    template_values,
)
from bot.status_labels import status_label
from bot.store.types import STATUSES, NoticeContent

CODE = "LP-7K3QX9"


@pytest.mark.parametrize("status", STATUSES)
def test_every_status_is_told_in_plain_indonesian_with_the_ticket(status: str) -> None:
    text = render_notice(NoticeContent(CODE, status))
    assert CODE in text
    assert status_label(status) in text and status_label(status) != status
    assert load_notification_wording()[STATUS_NEWS][status] in text
    assert f'cek status {CODE}' in text
    assert "Catatan petugas" not in text and "{" not in text
    assert template_values(NoticeContent(CODE, status)) == (CODE, status_label(status))


def test_the_note_destination_and_outcome_are_told_when_recorded() -> None:
    text = render_notice(NoticeContent(CODE, "selesai", note="  Konten sudah\nkami laporkan. ",
                                       destination="tiktok", outcome="konten_diturunkan"))
    lines = text.split("\n\n")
    assert lines[0].startswith(f"Kabar terbaru untuk laporan {CODE}")
    assert lines[1] == "Laporan Anda diteruskan kepada TikTok."
    assert lines[2] == "Hasil tindak lanjut: konten sudah diturunkan."
    assert lines[3] == "Catatan petugas: Konten sudah\nkami laporkan."
    assert lines[4].startswith('Ketik "cek status')


def test_unknown_codes_are_shown_as_recorded_and_long_ones_cut() -> None:
    assert destination_label("Bawaslu   Provinsi\nJawa Tengah") == "Bawaslu Provinsi Jawa Tengah"
    assert destination_label("GAKKUMDU") == "Sentra Gakkumdu"
    assert outcome_label("konten tidak diturunkan") == "konten tidak diturunkan"
    assert destination_label(None) is None and outcome_label("   ") is None
    long = destination_label("x" * 500)
    assert long is not None and len(long) == 200 and long.endswith("…")
    # A reviewer's braces are text, never placeholders.
    assert "{ticket_code}" in render_notice(NoticeContent(CODE, "diproses", note="{ticket_code}"))


def test_the_label_sections_are_lowercase_codes() -> None:
    wording = load_notification_wording()
    for section in (DESTINATIONS, OUTCOMES):
        assert all(key == key.lower() and " " not in key for key in wording[section])


def test_every_decision_a_reviewer_can_record_has_the_citizens_words() -> None:
    """decisions.yml (what the console records) and this wording stay in step."""
    lists = decision_lists()
    wording = load_notification_wording()
    assert set(wording[DESTINATIONS]) == {choice.value for choice in lists.destinations}
    assert set(wording[OUTCOMES]) == {choice.value for choice in lists.outcomes}


def test_a_broken_wording_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "wording.yml"
    path.write_text("notice:\n  status_changed: x\nstatus_news: {}\ndestinations: {}\n"
                    "outcomes: {}\n", encoding="utf-8")
    with pytest.raises(NotificationWordingError, match="notice lacks"):
        load_notification_wording(path)
    path.write_text("- a list\n", encoding="utf-8")
    with pytest.raises(NotificationWordingError):
        load_notification_wording(path)
    path.write_text("notice: {}\nextra: {}\n", encoding="utf-8")
    with pytest.raises(NotificationWordingError, match="unknown sections"):
        load_notification_wording(path)
