"""End-to-end report conversations over REST with the real servers and model.

The action server files into a throwaway SQLite database; links point at a
local fake web (short links that redirect, a deleted page) reached through the
link checker's host overrides, so no request leaves the machine.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.servers import (
    Assistant,
    buttons,
    fake_web,
    running_assistant,
    texts,
)

TICKET = re.compile(r"LP-[0-9A-HJKMNP-TV-Z]{6}")


@pytest.fixture(scope="module")
def assistant(trained_model: Path, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[Assistant]:
    work = tmp_path_factory.mktemp("assistant")
    with fake_web() as link_check_env:
        env = {
            "VAR_DIR": str(work / "var"),
            "DATABASE_URL": f"sqlite:///{work / 'reports.db'}",
            **link_check_env,
            "DAILY_REPORT_CAP": "4",
            "RATE_LIMIT_BURST": "100",  # one long conversation sends 40 messages
        }
        with running_assistant(trained_model, work, env) as running:
            yield running


def _archive_of(assistant: Assistant, ticket: str, wait: float = 30.0) -> tuple[Any, ...]:
    """(state, path) of the report's link archive once the worker is done with it."""
    deadline = time.monotonic() + wait
    while True:
        with sqlite3.connect(assistant.log_dir / "reports.db") as connection:
            row = connection.execute(
                "SELECT a.state, a.path FROM link_archives a JOIN report_links l "
                "ON l.id = a.report_link_id JOIN reports r ON r.id = l.report_id "
                "WHERE r.ticket_code = ?", (ticket,)).fetchone()
        if row is not None and row[0] != "pending":
            return tuple(row)
        assert time.monotonic() < deadline, f"archive still {row}"
        time.sleep(0.2)


def _ticket(replies: list[dict]) -> str:
    match = TICKET.search(texts(replies))
    assert match, f"no ticket code in {texts(replies)!r}"
    return match.group(0)


@pytest.mark.slow
def test_complete_report_in_one_message(assistant: Assistant) -> None:
    sender = "e2e-one-message"
    replies = assistant.say(
        sender,
        "min ada akun tiktok nyebar hoaks soal paslon 2 http://vt.tiktok.com/ZS8xyz/ "
        "di kota pekalongan kemarin",
    )
    # First report from this sender: consent is asked once.
    assert "UU PDP" in texts(replies), assistant.logs()
    replies = assistant.say(sender, "/affirm")
    # Only the reported party is still missing.
    assert "pemilik akun" in texts(replies), texts(replies)
    replies = assistant.say(sender, "lewati")
    summary = texts(replies)
    assert "Hoaks / berita bohong" in summary
    assert "Kota Pekalongan" in summary
    assert buttons(replies) == ["Kirim", "Ubah", "Batal"]
    ticket = _ticket(assistant.say(sender, "/affirm"))
    # The action server archives the link in the background (docs/evidence.md).
    archive = _archive_of(assistant, ticket)
    assert archive[0] == "done" and archive[1].endswith(".warc.gz"), assistant.logs()

    status = texts(assistant.say(sender, f"cek status {ticket.lower().replace('-', '')}"))
    assert ticket in status and "menunggu kajian awal" in status
    # Someone else gets the same answer as for a code that does not exist.
    other = texts(assistant.say("e2e-someone-else", f"cek status {ticket}"))
    assert "tidak ditemukan" in other
    unknown = texts(assistant.say("e2e-someone-else", "cek status LP-ZZZZZZ"))
    assert other.replace(ticket, "X") == unknown.replace("LP-ZZZZZZ", "X")


@pytest.mark.slow
def test_step_by_step_with_faq_in_the_middle_and_an_invalid_link(assistant: Assistant) -> None:
    sender = "e2e-step-by-step"
    assert "UU PDP" in texts(assistant.say(sender, "saya mau lapor"))
    assert "tautan" in texts(assistant.say(sender, "/affirm")).lower()
    refused = texts(assistant.say(sender, "http://127.0.0.1/admin"))
    assert "tidak bisa" in refused
    # A rules question mid-form is answered, then the form asks again.
    replies = assistant.say(sender, "eh btw masa tenang itu kapan ya")
    assert "masa tenang" in texts(replies).lower()
    assert "tautan" in texts(replies).lower()
    replies = assistant.say(sender, "http://web.example.id/hapus/1")
    assert "kategori" in texts(replies).lower() or "jenis" in texts(replies).lower()
    assert "Politik uang" in buttons(replies)
    replies = assistant.say(sender, '/inform{"category": "politik_uang"}')
    replies = assistant.say(sender, "ada tim sukses bagi bagi amplop ke warga sebelum pencoblosan")
    replies = assistant.say(sender, "pekalongan")
    assert "Kota Pekalongan" in buttons(replies) and "Kabupaten Pekalongan" in buttons(replies)
    assistant.say(sender, "kabupaten")
    replies = assistant.say(sender, "3 hari lalu")
    replies = assistant.say(sender, "@timses_abal")
    summary = texts(replies)
    assert "Kabupaten Pekalongan" in summary and "@timses_abal" in summary
    _ticket(assistant.say(sender, "kirim"))


@pytest.mark.slow
def test_answers_typed_as_statements_are_not_taken_for_rules_questions(
    assistant: Assistant,
) -> None:
    """A category typed as its button title and an account of events that sounds
    like a rules topic answer the form's questions; a question is still answered."""
    sender = "e2e-typed-answers"
    assistant.say(sender, "saya mau lapor")
    assistant.say(sender, "/affirm")  # consent
    replies = assistant.say(sender, "http://web.example.id/hapus/1")
    assert "Politik uang" in buttons(replies)
    replies = assistant.say(sender, "kampanye di luar jadwal itu maksudnya apa")
    assert "kampanye" in texts(replies).lower() and "Politik uang" in buttons(replies)
    replies = assistant.say(sender, "kampanye di luar jadwal")
    assert "Ceritakan singkat" in texts(replies), texts(replies)
    replies = assistant.say(sender, "berita bohong soal tps dipindah ke kampung sebelah")
    assert "Di daerah mana" in texts(replies), texts(replies)
    assistant.say(sender, "nasional")
    assistant.say(sender, "hari ini")
    summary = texts(assistant.say(sender, "lewati"))
    assert "Kampanye di luar jadwal" in summary, summary
    assert "berita bohong soal tps dipindah ke kampung sebelah" in summary


@pytest.mark.slow
def test_cancel_files_nothing(assistant: Assistant) -> None:
    sender = "e2e-cancel"
    assistant.say(sender, "mau lapor ada hoaks")
    replies = assistant.say(sender, "batal")
    assert "dibatalkan" in texts(replies) or "batalkan" in texts(replies)
    listing = texts(assistant.say(sender, "laporan saya"))
    assert "belum punya laporan" in listing


@pytest.mark.slow
def test_duplicate_url_joins_the_existing_case(assistant: Assistant) -> None:
    message = ("ini fitnah ke paslon 1 di tiktok http://vt.tiktok.com/ZS8xyz/ "
               "kejadiannya di jawa tengah hari ini")
    for sender in ("e2e-dup-a", "e2e-dup-b"):
        assistant.say(sender, message)
        assistant.say(sender, "/affirm")  # consent
        assistant.say(sender, "lewati")
        replies = assistant.say(sender, "/affirm")
        _ticket(replies)
    assert "sudah pernah dilaporkan" in texts(replies)


@pytest.mark.slow
def test_a_link_that_keeps_failing_is_explained_and_continue_is_asked(
    assistant: Assistant,
) -> None:
    for sender, answer in (("e2e-continue-yes", "/affirm"), ("e2e-continue-no", "/deny")):
        assistant.say(sender, "saya mau lapor")
        assistant.say(sender, "/affirm")  # consent
        for _ in range(2):
            assert "tidak bisa" in texts(assistant.say(sender, "http://127.0.0.1/admin"))
        replies = assistant.say(sender, "http://127.0.0.1/admin")
        said = texts(replies)
        assert "Cara menyalinnya" in said, said  # the explanation...
        assert "melanjutkan laporan" in said  # ...and the question, with Ya / Tidak
        assert buttons(replies) == ["Ya", "Tidak"]
        replies = assistant.say(sender, answer)
        if answer == "/affirm":
            # The link question again, with a fresh count: a good link now goes on.
            assert "tautan" in texts(replies).lower()
            replies = assistant.say(sender, "http://web.example.id/hapus/1")
            assert "Politik uang" in buttons(replies)
        else:
            assert "tidak ada yang dikirim" in texts(replies)
            assert "belum punya laporan" in texts(assistant.say(sender, "laporan saya"))


@pytest.mark.slow
def test_a_long_conversation_still_files_a_report(assistant: Assistant) -> None:
    """Longer than the tracker store loads in full (bot.tracker_stores.RECENT_TURNS), with
    the form open across the boundary: the slots and the form carry on."""
    from bot.tracker_stores import RECENT_TURNS

    sender = "e2e-long-conversation"
    questions = ["halo", "kapan masa tenang", "apa itu politik uang", "makasih"]
    for turn in range(RECENT_TURNS + 2):
        assert texts(assistant.say(sender, questions[turn % len(questions)]))
    assert "UU PDP" in texts(assistant.say(sender, "saya mau lapor"))
    assert "tautan" in texts(assistant.say(sender, "/affirm")).lower()
    replies = assistant.say(sender, "http://web.example.id/hapus/2")
    assert "Politik uang" in buttons(replies)
    assistant.say(sender, '/inform{"category": "politik_uang"}')
    assistant.say(sender, "ada caleg bagi bagi sembako ke warga")
    # Questions in the middle of the form push its start out of the recent part.
    for turn in range(RECENT_TURNS):
        replies = assistant.say(sender, "eh btw masa tenang itu kapan ya")
        assert "masa tenang" in texts(replies).lower()
    replies = assistant.say(sender, "kabupaten pekalongan")
    replies = assistant.say(sender, "kemarin")
    replies = assistant.say(sender, "lewati")
    summary = texts(replies)
    assert "Kabupaten Pekalongan" in summary and "Politik uang" in summary, summary
    ticket = _ticket(assistant.say(sender, "kirim"))
    assert ticket in texts(assistant.say(sender, "laporan saya"))
