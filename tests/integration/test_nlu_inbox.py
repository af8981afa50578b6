"""`make nlu-inbox`: conversations written through the real tracker store (SQLite and a
real PostgreSQL), configured by an endpoints file as the server is, come out as a
scrubbed review file of the unsure messages, merged across senders, without ids."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.settings import PROJECT_ROOT
from bot.tracker_stores import ProtectedSQLTrackerStore
from bot.trainers import inbox
from bot.trainers.inbox import Inbox, Thresholds, judge

SENDERS = [f"psn_{letter * 24}" for letter in "abcdefg"]


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(PROJECT_ROOT / "domain.yml"))


def parse(intent: str, confidence: float, runner_up: str = "greet", second: float = 0.05,
          topics: list[tuple[str, float]] | None = None, fallback: bool = False) -> dict:
    ranking = [{"name": intent, "confidence": confidence},
               {"name": runner_up, "confidence": second}]
    data = {"intent": {"name": intent, "confidence": confidence}, "intent_ranking": ranking,
            "entities": []}
    if fallback:
        data["intent"] = {"name": "nlu_fallback", "confidence": 0.5}
        data["intent_ranking"] = [{"name": "nlu_fallback", "confidence": 0.5}, *ranking]
    if topics:
        data["response_selector"] = {"faq": {"ranking": [
            {"intent_response_key": key, "confidence": value} for key, value in topics]}}
    return data


def user(text: str, parse_data: dict) -> UserUttered:
    return UserUttered(text, parse_data["intent"], parse_data=parse_data)


# (sender, [(text, parse data)]) in the order they talked.
CONVERSATIONS = [
    (SENDERS[0], [
        ("halo", parse("greet", 0.98)),
        ("nama saya Budi Santoso, wa 081234567890, mau tanya masa tenang kapan",
         parse("faq", 0.9, topics=[("faq/quiet_period", 0.45), ("faq/campaign_period", 0.40)])),
    ]),
    (SENDERS[1], [
        ("nama saya Siti, wa 0857-1111-2222, mau tanya masa tenang kapan",
         parse("faq", 0.88, topics=[("faq/quiet_period", 0.47), ("faq/campaign_period", 0.41)])),
    ]),
    (SENDERS[2], [
        ("mau buat laporan dugaan pelanggaran", parse("faq", 0.93, "report_violation", 0.04,
                                                      topics=[("faq/how_to_report", 0.91),
                                                              ("faq/evidence", 0.02)])),
        ("bukan itu min", parse("deny", 0.7)),
    ]),
    (SENDERS[3], [
        ("asdf qwerty", parse("out_of_scope", 0.31, fallback=True)),
        ("lapor dong", parse("report_violation", 0.52, "faq", 0.45)),
    ]),
    (SENDERS[4], [
        ("/affirm", parse("affirm", 1.0)),
        ("salah satu paslon bagi2 amplop", parse("report_violation", 0.97)),
        ("makasih", parse("thank", 0.99)),
    ]),
    (SENDERS[5], [
        ("Lapor dong!!", parse("report_violation", 0.55, "faq", 0.43)),
    ]),
]


def tracker(domain: Domain, sender: str, turns: list[tuple[str, dict]]) -> DialogueStateTracker:
    events = [ActionExecuted("action_listen")]
    for text, parse_data in turns:
        events += [user(text, parse_data), BotUttered("baik"), ActionExecuted("action_listen")]
    return DialogueStateTracker.from_events(sender, events, domain.slots)


def endpoints_file(tmp_path: Path, kind: str, postgres_url: str | None) -> Path:
    if kind == "sqlite":
        store = f'  dialect: "sqlite"\n  db: "{tmp_path / "tracker.db"}"\n'
    else:
        parts = urlsplit(postgres_url)
        store = (f'  dialect: "postgresql"\n  url: "{parts.hostname}"\n  port: {parts.port}\n'
                 f'  username: "{parts.username}"\n  db: "{parts.path.lstrip("/")}"\n')
    path = tmp_path / "endpoints.yml"
    path.write_text("tracker_store:\n  type: bot.tracker_stores.ProtectedSQLTrackerStore\n"
                    + store, encoding="utf-8")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def store_endpoints(request: pytest.FixtureRequest, tmp_path: Path, domain: Domain) -> Path:
    postgres_url = None
    if request.param == "postgresql":
        postgres_url = request.getfixturevalue("fresh_postgres_url")
    path = endpoints_file(tmp_path, request.param, postgres_url)
    store = inbox.tracker_store_from_endpoints(path)
    assert isinstance(store, ProtectedSQLTrackerStore)
    store.domain = domain
    # Interleaved as real traffic is: a turn of each conversation in turn.
    trackers = [tracker(domain, sender, turns) for sender, turns in CONVERSATIONS]
    for item in trackers:
        asyncio.run(store.save(item))
    return path


def test_inbox_from_the_tracker_store(store_endpoints: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "inbox.yml"
    assert inbox.main(["--endpoints", str(store_endpoints), "--out", str(out),
                       "--batch-size", "2"]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-1] == str(out)
    text = out.read_text(encoding="utf-8")
    review = yaml.safe_load(text)
    entries = {entry["text"]: entry for entry in review["entries"]}

    # Merged across two senders, after scrubbing (names, phone numbers differ).
    quiet = entries["nama saya <nama>, wa <telepon>, mau tanya masa tenang kapan"]
    assert quiet["seen"] == 2 and quiet["conversations"] == 2
    assert quiet["reasons"] == ["faq_low_confidence", "faq_tie"]
    assert quiet["predicted"]["topic"] == "faq/quiet_period"
    assert quiet["runner_up"]["topic"] == "faq/campaign_period"
    assert quiet["label"] is None

    # Confident, but the next message said the bot misunderstood.
    opening = entries["mau buat laporan dugaan pelanggaran"]
    assert opening["reasons"] == ["misunderstood"]
    assert opening["predicted"] == {"intent": "faq", "confidence": 0.93,
                                    "topic": "faq/how_to_report", "topic_confidence": 0.91}
    assert "bukan itu min" not in entries

    assert entries["asdf qwerty"]["reasons"] == ["fallback", "low_confidence"]
    assert entries["asdf qwerty"]["predicted"]["intent"] == "out_of_scope"
    # "lapor dong" and "Lapor dong!!" are one example: the first spelling is shown,
    # with the latest prediction.
    tie = entries["lapor dong"]
    assert tie["seen"] == 2 and tie["reasons"] == ["intent_tie", "low_confidence"]
    assert tie["predicted"] == {"intent": "report_violation", "confidence": 0.55}
    assert tie["runner_up"] == {"intent": "faq", "confidence": 0.43}

    # Confident messages, button payloads and "salah satu ..." (no complaint) stay out.
    for kept_out in ("halo", "/affirm", "salah satu paslon bagi2 amplop", "makasih"):
        assert kept_out not in entries
    assert len(entries) == 4
    assert review["messages_read"] == 10
    # Nothing that identifies a person or a conversation.
    for secret in ("psn_", "Budi", "Siti", "0812", "0857"):
        assert secret not in text
    assert "label:\n" in text


def test_thresholds_are_configurable() -> None:
    data = parse("report_violation", 0.55, "faq", 0.43)
    assert judge(data, Thresholds())[0] == {"low_confidence"}
    assert judge(data, Thresholds(min_confidence=0.5, max_margin=0.2))[0] == {"intent_tie"}
    assert judge(data, Thresholds(min_confidence=0.5, max_margin=0.05))[0] == set()


def test_misunderstood_needs_a_complaint() -> None:
    box = Inbox(Thresholds())
    confident = parse("check_status", 0.95)
    for sender, text in ((SENDERS[0], "status laporan saya"), (SENDERS[0], "salah satu sih"),
                         (SENDERS[1], "status tiket"), (SENDERS[1], "Salah, maksud saya lapor"),
                         (SENDERS[2], "cek status"), (SENDERS[2], "kok ga nyambung")):
        box.add_user_event(sender, {"text": text, "parse_data": confident})
    assert sorted(box.entries) == ["cek status", "status tiket"]


def test_an_unsure_message_complained_about_is_seen_once() -> None:
    box = Inbox(Thresholds())
    unsure = parse("out_of_scope", 0.31)
    confident = parse("greet", 0.97)
    box.add_user_event(SENDERS[0], {"text": "horas lae", "parse_data": unsure})
    box.add_user_event(SENDERS[0], {"text": "bukan itu", "parse_data": confident})
    box.add_user_event(SENDERS[1], {"text": "Horas lae!", "parse_data": confident})
    box.add_user_event(SENDERS[1], {"text": "salah", "parse_data": confident})
    entry = box.entries["horas lae"]
    assert entry.seen == 2 and len(entry.senders) == 2
    assert entry.reasons == {"low_confidence", "misunderstood"}
