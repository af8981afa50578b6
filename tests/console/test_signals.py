"""Coordinated-report signals (console/signals.py) on a real database and console.

Reports are filed through the real store, then their times (and their reporters'
first contact) are set to controlled values with the ORM, as a burst or an organic
pattern would have left them.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from sqlalchemy import event, select, update

from bot.privacy import sender_key
from bot.store.models import Report, Reporter
from console import signals
from console.queries import reporter_label
from console.store import ConsoleStore
from tests.console.conftest import Console, case_of, file_report

NOW = datetime.now(timezone.utc).replace(microsecond=0)
URL = "https://www.tiktok.com/@akun/video/7301"
SIMILAR = ("Video ini HOAKS dan memfitnah paslon nomor 2, isinya bohong semua. "
           "Mohon Bawaslu segera menurunkan konten ini!")
WORDS = ("kampanye", "spanduk", "baliho", "uang", "sembako", "ujaran", "kebencian", "suku",
         "agama", "fitnah", "video", "potongan", "rekaman", "pidato", "camat", "kepala",
         "desa", "guru", "masjid", "sekolah", "grup", "keluarga", "tetangga", "pasar",
         "malam", "minggu", "pagi", "akun", "palsu", "editan", "foto", "lama", "tahun",
         "lalu", "disebar", "ulang", "komentar", "kasar", "ancaman", "pemilih", "tps",
         "petugas", "surat", "suara", "kotak", "hitung", "curang", "bagi", "amplop", "janji")


def phone(i: int) -> str:
    return f"+62812{i:07d}"


def varied(i: int) -> str:
    """A description of its own (seeded word salad, different per reporter)."""
    pick = random.Random(i)
    return "Saya melihat " + " ".join(pick.sample(WORDS, 14)) + f" di kecamatan ke-{i}."


def similar(i: int) -> str:
    """The campaign's text with the small edits copy-paste campaigns make."""
    return SIMILAR + ("", " Terima kasih.", "!!", " #turunkan")[i % 4]


def set_times(store: ConsoleStore, ticket: str, created_at: datetime,
              first_contact: datetime | None = None, party: str | None = None) -> None:
    """Backdate a report (and its reporter's first contact; or change its party)."""
    with store.write() as session:
        values: dict[str, object] = {"created_at": created_at, "updated_at": created_at}
        if party is not None:
            values["reported_party"] = party
        session.execute(update(Report).where(Report.ticket_code == ticket).values(**values))
        if first_contact is not None:
            key = session.scalar(select(Report.reporter_key).where(Report.ticket_code == ticket))
            session.execute(update(Reporter).where(Reporter.sender_key == key)
                            .values(created_at=first_contact))


def burst(store: ConsoleStore, count: int = 30, url: str = URL, start: datetime | None = None,
          spacing: timedelta = timedelta(seconds=20), new_senders: bool = True,
          text=similar, first: int = 0) -> list[str]:
    """`count` reports on `url`, one per reporter, `spacing` apart from `start`."""
    start = start or NOW - timedelta(days=1)
    tickets = []
    for i in range(first, first + count):
        at = start + (i - first) * spacing
        ticket = file_report(store, url=url, phone=phone(i), description=text(i))
        contact = at - timedelta(minutes=2) if new_senders else at - timedelta(days=200 + i)
        set_times(store, ticket, at, first_contact=contact)
        tickets.append(ticket)
    return tickets


def case_signals(store: ConsoleStore, ticket: str) -> signals.CaseSignals:
    with store.read() as session:
        found = signals.for_case(session, case_of(store, ticket))
    assert found is not None
    return found


# --- the thresholds file -------------------------------------------------------------


def test_the_shipped_thresholds_are_the_documented_ones():
    rule = signals.rules()
    assert rule.window_minutes == 60 and rule.min_reporters == 10
    assert (rule.new_sender_share, rule.near_duplicate_share) == (0.6, 0.5)
    assert (rule.repeat_min_reports, rule.repeat_window.days) == (5, 30)


@pytest.mark.parametrize("change", [
    lambda d: d["burst"].update(min_reporters=1),
    lambda d: d["burst"].update(new_sender_share="banyak"),
    lambda d: d["similarity"].update(jaccard=True),
    lambda d: d["reasons"].pop("caution"),
    lambda d: d.pop("repeat"),
])
def test_a_malformed_thresholds_file_is_refused(tmp_path: Path, change):
    data = yaml.safe_load(signals.SIGNALS_FILE.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "signals.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError):
        signals.load_rules(path)


# --- bursts and organic patterns -----------------------------------------------------


def test_thirty_new_senders_in_ten_minutes_with_similar_text_are_flagged(store):
    tickets = burst(store)  # 30 reports, 20 s apart: 9 min 40 s
    found = case_signals(store, tickets[0])
    assert found.coordinated is True
    assert found.distinct_reporters == 30 and found.unknown_reporters == 0
    assert found.reports_per_hour == 30.0
    assert found.new_sender_share == 1.0 and found.burst_new_sender_share == 1.0
    assert found.near_duplicate_share == 1.0
    assert found.reason is not None
    assert "30 pelapor berbeda" in found.reason and "10 menit" in found.reason
    assert "100% pelapor" in found.reason and "hampir sama" in found.reason
    assert found.repeat_reporter is False and found.repeat_reason is None


def test_thirty_reports_over_a_week_by_long_standing_reporters_are_not_flagged(store):
    tickets = burst(store, start=NOW - timedelta(days=8), spacing=timedelta(hours=5, minutes=36),
                    new_senders=False, text=varied)
    found = case_signals(store, tickets[0])
    assert found.coordinated is False and found.reason is None
    assert found.distinct_reporters == 30
    assert found.reports_per_hour == 1.0
    assert found.new_sender_share == 0.0


def test_genuine_outrage_of_known_reporters_in_their_own_words_is_not_flagged(store):
    # Volume alone is no sign of coordination: 30 long-standing reporters, 10 minutes.
    tickets = burst(store, new_senders=False, text=varied)
    found = case_signals(store, tickets[0])
    assert found.reports_per_hour == 30.0 and found.burst_reporters == 30
    assert found.new_sender_share == 0.0
    assert found.near_duplicate_share is not None and found.near_duplicate_share < 0.5
    assert found.coordinated is False and found.reason is None


def test_new_senders_in_their_own_words_or_old_reporters_copy_pasting_are_flagged(store):
    new_own_words = case_signals(store, burst(store, text=varied)[0])
    assert new_own_words.coordinated is True
    assert new_own_words.near_duplicate_share < 0.5
    assert "100% pelapor" in new_own_words.reason and "hampir sama" not in new_own_words.reason

    old_copying = case_signals(store, burst(store, url="https://x.com/akun/status/99",
                                            new_senders=False, first=100)[0])
    assert old_copying.coordinated is True
    assert old_copying.new_sender_share == 0.0 and old_copying.near_duplicate_share == 1.0
    assert "hampir sama" in old_copying.reason and "100% pelapor" not in old_copying.reason


def test_a_small_burst_is_below_the_reporter_threshold(store):
    found = case_signals(store, burst(store, count=9)[0])  # min_reporters is 10
    assert found.new_sender_share == 1.0 and found.near_duplicate_share == 1.0
    assert found.coordinated is False


def test_one_reporter_many_copies_is_one_reporter_not_a_burst(store):
    # The same sender's near-identical reports count once, and are not "near-identical
    # to another reporter's".
    tickets = [file_report(store, url=URL, phone=phone(1), description=similar(i))
               for i in range(12)]
    for i, ticket in enumerate(tickets):
        set_times(store, ticket, NOW - timedelta(hours=3) + timedelta(minutes=i))
    found = case_signals(store, tickets[0])
    assert found.distinct_reporters == 1 and found.reports == 12
    assert found.near_duplicate_share == 0.0 and found.coordinated is False


# --- erased and anonymous reporters ----------------------------------------------------


def test_erased_reporters_count_as_distinct_unknown_reporters(store):
    tickets = burst(store, count=12)
    for i in range(12):
        store.erase_reporter(sender_key("whatsapp", phone(i)))
    found = case_signals(store, tickets[0])
    assert found.distinct_reporters == 12 and found.unknown_reporters == 12
    assert found.new_sender_share is None and found.burst_new_sender_share is None
    # Still twelve different (unknown) people sending the same text within minutes.
    assert found.near_duplicate_share == 1.0 and found.coordinated is True
    assert "12 pelapor berbeda" in found.reason and "pelapor yang dikenal" not in found.reason


def test_some_erased_reporters_leave_the_share_to_the_known_ones(store):
    tickets = burst(store, count=10, new_senders=False, text=varied)
    for i in range(4):
        store.erase_reporter(sender_key("whatsapp", phone(i)))
    anonymous = file_report(store, url=URL, phone=None, description=varied(50))
    set_times(store, anonymous, NOW - timedelta(days=1, minutes=-1))
    found = case_signals(store, tickets[0])
    assert found.distinct_reporters == 11 and found.unknown_reporters == 5
    assert found.new_sender_share == 0.0  # the 6 known reporters are long-standing
    assert found.coordinated is False


# --- one sender, many reports against one account ---------------------------------------


def test_one_sender_filing_many_reports_against_one_account_is_shown_on_those_cases(store):
    urls = [f"https://www.tiktok.com/@target/video/{100 + i}" for i in range(6)]
    tickets = []
    for i, url in enumerate(urls):
        ticket = file_report(store, url=url, phone=phone(7), description=varied(i))
        set_times(store, ticket, NOW - timedelta(days=6 - i), party="  AKUN   @Target_01 ")
        tickets.append(ticket)
    # Another reporter names the same account twice: not a pattern.
    other = [file_report(store, url=f"https://www.tiktok.com/@target/video/{200 + i}",
                         phone=phone(8), description=varied(20 + i)) for i in range(2)]
    for ticket in other:
        set_times(store, ticket, NOW - timedelta(days=2), party="@target_01")

    label = reporter_label(sender_key("whatsapp", phone(7)))
    for ticket in tickets:
        found = case_signals(store, ticket)
        assert found.repeat_reporter is True and found.coordinated is False
        assert found.repeat_reporters == (signals.RepeatReporter(
            reporter=label, reported_party="AKUN @Target_01", reports=6),)
        assert label in found.repeat_reason and "6 laporan" in found.repeat_reason
        assert phone(7) not in found.repeat_reason
        assert sender_key("whatsapp", phone(7)) not in found.repeat_reason
    for ticket in other:
        assert case_signals(store, ticket).repeat_reporter is False


def test_many_reports_against_one_account_spread_beyond_the_window_are_not_flagged(store):
    for i in range(6):  # every 40 days: at most one in any 30 days
        ticket = file_report(store, url=f"https://www.tiktok.com/@x/video/{i}", phone=phone(3))
        set_times(store, ticket, NOW - timedelta(days=40 * i))
    assert case_signals(store, ticket).repeat_reporter is False


def test_reports_against_different_accounts_are_not_a_repeat(store):
    for i in range(6):
        ticket = file_report(store, url=f"https://www.tiktok.com/@x/video/{i}", phone=phone(3))
        set_times(store, ticket, NOW - timedelta(hours=i), party=f"@akun_{i}")
    assert case_signals(store, ticket).repeat_reporter is False


# --- the queue's cost ----------------------------------------------------------------------


def test_signals_for_many_cases_take_a_fixed_number_of_queries(store):
    def statements(case_ids: list[int]) -> int:
        seen: list[str] = []

        def count(conn, cursor, statement, *args):
            seen.append(statement)

        event.listen(store.engine, "before_cursor_execute", count)
        try:
            with store.read() as session:
                found = signals.for_cases(session, case_ids)
        finally:
            event.remove(store.engine, "before_cursor_execute", count)
        assert set(found) == set(case_ids)
        return len([s for s in seen if s.lstrip().upper().startswith("SELECT")])

    few = [case_of(store, file_report(store, url=f"https://x.com/a/status/{i}", phone=phone(i)))
           for i in range(3)]
    many = few + [case_of(store, file_report(store, url=f"https://x.com/b/status/{i}",
                                             phone=phone(i)))
                  for i in range(3, 25)]
    for i in range(6):  # one reporter with enough reports to need their history
        file_report(store, url=f"https://x.com/c/status/{i}", phone=phone(0))
    assert statements(few) == statements(many) <= 4


# --- the console: API contract and pages ----------------------------------------------


async def test_case_api_returns_the_signals_object(console: Console):
    flagged = case_of(console.store, burst(console.store)[0])
    calm = case_of(console.store, burst(console.store, url="https://x.com/akun/status/5",
                                        start=NOW - timedelta(days=8),
                                        spacing=timedelta(hours=5, minutes=36),
                                        new_senders=False, text=varied, first=100)[0])

    body = await console.get_json(f"/api/cases/{flagged}")
    sig = body["signals"]
    assert {"distinct_reporters", "reports_per_hour", "new_sender_share", "coordinated",
            "reason"} <= set(sig)
    assert sig["distinct_reporters"] == 30 and sig["reports_per_hour"] == 30.0
    assert sig["new_sender_share"] == 1.0
    assert sig["coordinated"] is True and "30 pelapor berbeda" in sig["reason"]
    assert sig["burst"]["reports"] == 30
    datetime.fromisoformat(sig["burst"]["start"])  # serialised as ISO 8601
    # The flag informs: every report is still there, unchanged.
    assert len(body["reports"]) == 30 and {r["status"] for r in body["reports"]} == {"baru"}

    calm_sig = (await console.get_json(f"/api/cases/{calm}"))["signals"]
    assert calm_sig["coordinated"] is False and calm_sig["reason"] is None
    assert calm_sig["distinct_reporters"] == 30 and calm_sig["new_sender_share"] == 0.0

    # A pengawas of the region sees the same signals; one of another region nothing.
    assert (await console.get_json(f"/api/cases/{flagged}",
                                   user="pengawas.jateng"))["signals"] == sig
    await console.get_json(f"/api/cases/{flagged}", user="pengawas.aceh", status=404)


async def test_queue_and_case_pages_show_the_flag_with_its_reason(console: Console):
    flagged = case_of(console.store, burst(console.store)[0])
    calm = case_of(console.store, burst(console.store, url="https://x.com/akun/status/5",
                                        new_senders=False, text=varied, first=100)[0])
    await console.login("kora")
    queue = await (await console.client.get("/antrian")).text()
    row_of = {case_id: queue[queue.index(f'href="/kasus/{case_id}"'):] for case_id in
              (flagged, calm)}
    flagged_row = row_of[flagged][:row_of[flagged].index("</tr>")]
    calm_row = row_of[calm][:row_of[calm].index("</tr>")]
    assert "Diduga laporan terkoordinasi." in flagged_row and "30 pelapor berbeda" in flagged_row
    assert "terkoordinasi" not in calm_row

    page = await (await console.client.get(f"/kasus/{flagged}")).text()
    assert "Pola laporan" in page and "30 pelapor berbeda" in page
    assert "Diduga laporan terkoordinasi." in page and "kemarahan warga yang wajar" in page
    calm_page = await (await console.client.get(f"/kasus/{calm}")).text()
    assert "Pola laporan" in calm_page and "Diduga laporan terkoordinasi." not in calm_page


def test_signals_on_postgresql(fresh_postgres_url: str):
    pg = ConsoleStore(fresh_postgres_url)
    try:
        tickets = burst(pg, count=12)
        pg.erase_reporter(sender_key("whatsapp", phone(0)))
        for i in range(5):
            ticket = file_report(pg, url=f"https://x.com/p/status/{i}", phone=phone(40))
            set_times(pg, ticket, NOW - timedelta(days=i))
        found = case_signals(pg, tickets[0])
        assert found.coordinated is True and found.distinct_reporters == 12
        assert found.unknown_reporters == 1 and found.new_sender_share == 1.0
        assert found.near_duplicate_share == 1.0
        assert case_signals(pg, ticket).repeat_reporter is True
    finally:
        pg.dispose()
