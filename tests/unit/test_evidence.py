"""Evidence files: checking and storage, the evidence action, filing with a report,
and the encrypted contact a channel hands over on consent."""

from __future__ import annotations

import hashlib
import os
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from rasa.shared.core.domain import Domain
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import report as report_actions
from actions.evidence import MAX_EVIDENCE_FILES, ActionReceiveEvidence
from actions.report import ActionSubmitReport, ValidateReportForm
from actions.services import get_store, reporter_key
from bot.dates import today_wib
from bot.evidence import (
    EvidenceFile,
    EvidenceRejected,
    delete_evidence,
    save_evidence,
    sniff_mime_type,
    sweep_orphaned_evidence,
)
from bot.privacy import attest_sender, decrypt_contact, encrypt_contact, sender_key
from bot.settings import PROJECT_ROOT, get_settings
from bot.store.models import Evidence, Reporter
from tests.responses import all_responses
from tests.unit.test_report_actions import said


def tiny_png(seed: int = 0) -> bytes:
    """A valid 1x1 PNG whose pixel depends on `seed`."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    raw = b"\x00" + bytes([seed % 256, 0, 0])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def domain() -> dict[str, Any]:
    return Domain.load(str(PROJECT_ROOT / "domain.yml")).as_dict()


def tracker(text: str, intent: str, metadata: dict[str, Any] | None = None,
            slots: dict[str, Any] | None = None, sender: str | None = None,
            active_loop: str | None = "report_form", attested: bool = True) -> Tracker:
    """A tracker whose latest message came through the WhatsApp connector (attested)."""
    sender = sender or sender_key("whatsapp", "6281200000001")
    metadata = dict(metadata or {})
    if attested:
        metadata["attestation"] = attest_sender("whatsapp", sender)
    all_slots = {name: None for name in report_actions.REPORT_SLOTS}
    all_slots.update({"consent_given": None, "requested_slot": None})
    all_slots.update(slots or {})
    return Tracker(
        sender_id=sender, slots=all_slots,
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.99},
                        "entities": []},
        events=[{"event": "user", "text": text, "input_channel": "whatsapp",
                 "metadata": metadata}],
        paused=False, followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


# --- bot.evidence -------------------------------------------------------------------


def test_save_evidence_stores_by_content_and_sniffs_the_real_type() -> None:
    data = tiny_png(1)
    first = save_evidence(data, "application/octet-stream")
    assert first.mime_type == "image/png" and first.kind == "image"
    assert first.sha256 == hashlib.sha256(data).hexdigest()
    stored = get_settings().var_dir / first.storage_path
    assert stored.read_bytes() == data
    assert oct(stored.stat().st_mode & 0o777) == "0o600"
    assert save_evidence(data) == first  # the same file twice is stored once
    assert EvidenceFile.from_metadata(first.to_metadata()) == first


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "kosong"),
        (b"MZ\x90\x00 not an image", "Jenis berkas"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "Jenis berkas"),
        (b"GIF89a......", "Jenis berkas"),
    ],
)
def test_save_evidence_refuses_what_it_cannot_keep(data: bytes, fragment: str) -> None:
    with pytest.raises(EvidenceRejected) as caught:
        save_evidence(data, "image/png")
    assert fragment in caught.value.message_id


def test_save_evidence_enforces_the_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVIDENCE_MAX_BYTES", "100")
    with pytest.raises(EvidenceRejected) as caught:
        save_evidence(b"%PDF-" + b"x" * 200)
    assert "terlalu besar" in caught.value.message_id
    assert save_evidence(b"%PDF-1.4 small").mime_type == "application/pdf"


@pytest.mark.parametrize(
    "bad",
    [
        None, "x", {}, {"kind": "image"},
        {"kind": "image", "mime_type": "image/png", "size_bytes": 1, "sha256": "z" * 64,
         "storage_path": "evidence/a.png"},
        {"kind": "image", "mime_type": "text/html", "size_bytes": 1, "sha256": "a" * 64,
         "storage_path": "evidence/a.png"},
        {"kind": "image", "mime_type": "image/png", "size_bytes": 1, "sha256": "a" * 64,
         "storage_path": "../../etc/passwd"},
        {"kind": "image", "mime_type": "image/png", "size_bytes": 1, "sha256": "a" * 64,
         "storage_path": "/etc/passwd"},
    ],
)
def test_malformed_evidence_metadata_is_rejected(bad: Any) -> None:
    assert EvidenceFile.from_metadata(bad) is None


def test_sniffing() -> None:
    assert sniff_mime_type(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert sniff_mime_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff_mime_type(b"hello") is None


# --- actions ---------------------------------------------------------------------------


async def test_evidence_action_keeps_new_files_once(domain: dict[str, Any]) -> None:
    item = save_evidence(tiny_png(2)).to_metadata()
    dispatcher = CollectingDispatcher()
    events = await ActionReceiveEvidence().run(
        dispatcher, tracker("/send_evidence", "send_evidence", {"evidence": [item]},
                            active_loop=None), domain)
    # The file is kept, and read (a blank picture shows nothing, so no report starts).
    assert [e["name"] for e in events] == ["evidence"]
    kept = events[0]["value"]
    assert len(kept) == 1 and kept[0].items() >= item.items() and kept[0]["read"] is True
    assert kept[0]["text"] == "" and len(kept[0]["perceptual_hash"]) == 256
    assert "lampirkan" in said(dispatcher)[0]
    buttons = all_responses()[dispatcher.messages[0]["response"]][0]["buttons"]
    assert buttons[0]["payload"] == "/report_violation"
    # The same file again adds nothing and says so.
    again = CollectingDispatcher()
    events = await ActionReceiveEvidence().run(
        again, tracker("/send_evidence", "send_evidence", {"evidence": [item]},
                       slots={"evidence": [item]}), domain)
    assert events == [] and "sebelumnya" in said(again)[0]
    # A message without a file gets an explanation.
    empty = CollectingDispatcher()
    assert await ActionReceiveEvidence().run(
        empty, tracker("ini buktinya", "send_evidence"), domain) == []
    assert "belum menerima" in said(empty)[0]


async def test_evidence_action_caps_the_number_of_files(domain: dict[str, Any]) -> None:
    full = [save_evidence(tiny_png(10 + i)).to_metadata() for i in range(MAX_EVIDENCE_FILES)]
    extra = save_evidence(tiny_png(99)).to_metadata()
    dispatcher = CollectingDispatcher()
    events = await ActionReceiveEvidence().run(
        dispatcher, tracker("/send_evidence", "send_evidence", {"evidence": [extra]},
                            slots={"evidence": full}), domain)
    assert events == [] and "paling banyak 10 berkas" in said(dispatcher)[0]


async def test_a_caption_fills_the_form_and_keeps_the_file(domain: dict[str, Any]) -> None:
    item = save_evidence(tiny_png(3)).to_metadata()
    t = tracker("ini hoaks soal paslon 2 disebar di grup, tolong ditindak", "report_violation",
                {"evidence": [item]}, slots={"requested_slot": "description",
                                             "consent_given": True})
    events = await ValidateReportForm().run(CollectingDispatcher(), t, domain)
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert [kept.items() >= item.items() and kept["read"] for kept in slots["evidence"]] == [
        True]
    assert slots["description"].startswith("ini hoaks")


async def test_evidence_is_filed_with_the_report_and_contact_stored_on_consent(
    domain: dict[str, Any]
) -> None:
    token = encrypt_contact("6281234567890")
    consent = tracker("/affirm", "affirm", {"contact_token": token},
                      slots={"requested_slot": "consent_given"},
                      sender=sender_key("whatsapp", "6281200000002"))
    events = await ValidateReportForm().run(CollectingDispatcher(), consent, domain)
    assert {"event": "slot", "timestamp": None, "name": "consent_given",
            "value": True} in events
    key = reporter_key(consent)
    store = get_store()
    with store.engine.connect() as connection:
        stored = connection.scalar(select(Reporter.contact_encrypted)
                                   .where(Reporter.sender_key == key))
    assert stored is not None and decrypt_contact(stored) == "6281234567890"

    item = save_evidence(tiny_png(4)).to_metadata()
    link = "http://berita.example.id/bukti/1"
    filled = {
        "consent_given": True, "report_links": [link],
        "link_checks": [{"original": link, "canonical": link, "platform": "web",
                         "status": "ok", "http_status": 200, "page_title": None}],
        "category": "hoaks", "description": "video editan yang memfitnah paslon",
        "region": "Jawa Tengah", "region_code": "33", "known_date": today_wib().isoformat(),
        "reported_party": "-", "report_confirmed": "yes", "evidence": [item],
    }
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitReport().run(
        dispatcher, tracker("/affirm", "affirm", slots=filled, sender=key), domain)
    assert dispatcher.messages[0]["response"] == "utter_report_filed"
    assert {"event": "slot", "timestamp": None, "name": "evidence", "value": None} in events
    with store.engine.connect() as connection:
        rows = connection.execute(select(Evidence.sha256, Evidence.storage_path,
                                         Evidence.mime_type)).all()
    assert rows == [(item["sha256"], item["storage_path"], "image/png")]
    assert Path(get_settings().var_dir / rows[0][1]).exists()


async def test_a_forged_contact_token_is_not_stored(domain: dict[str, Any]) -> None:
    consent = tracker("/affirm", "affirm", {"contact_token": "not-a-fernet-token"},
                      slots={"requested_slot": "consent_given"})
    await ValidateReportForm().run(CollectingDispatcher(), consent, domain)
    with get_store().engine.connect() as connection:
        stored = connection.scalar(select(Reporter.contact_encrypted)
                                   .where(Reporter.sender_key == consent.sender_id))
    assert stored is None


# --- only real, content-addressed files (issue 12) -------------------------------


def test_evidence_metadata_must_be_content_addressed() -> None:
    item = save_evidence(tiny_png(20)).to_metadata()
    assert EvidenceFile.from_metadata(item, verify=True) is not None
    elsewhere = {**item, "storage_path": "reports.db"}
    assert EvidenceFile.from_metadata(elsewhere) is None
    other_name = {**item, "storage_path": f"evidence/{item['sha256'][:2]}/x.png"}
    assert EvidenceFile.from_metadata(other_name) is None
    wrong_kind = {**item, "kind": "document"}
    assert EvidenceFile.from_metadata(wrong_kind) is None


def test_verified_evidence_must_exist_and_match_its_hash() -> None:
    item = save_evidence(tiny_png(21))
    path = get_settings().var_dir / item.storage_path
    # A well-formed description of a file nobody stored.
    ghost = {**item.to_metadata(), "sha256": "ab" * 32,
             "storage_path": f"evidence/ab/{'ab' * 32}.png"}
    assert EvidenceFile.from_metadata(ghost, verify=True) is None
    # The file changed on disk (same size, other bytes).
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.chmod(0o600)
    path.write_bytes(bytes(data))
    assert EvidenceFile.from_metadata(item.to_metadata(), verify=True) is None
    # A symlink in place of the file, pointing at something else.
    path.unlink()
    target = get_settings().var_dir / "secret.txt"
    target.write_bytes(tiny_png(21))
    path.symlink_to(target)
    assert EvidenceFile.from_metadata(item.to_metadata(), verify=True) is None


def test_orphaned_files_are_swept_by_age_unless_a_report_uses_them() -> None:
    used, orphan, fresh = (save_evidence(tiny_png(n)) for n in (30, 31, 32))
    root = get_settings().var_dir
    old = 3 * 24 * 3600
    for item in (used, orphan):
        path = root / item.storage_path
        os.utime(path, (path.stat().st_atime - old, path.stat().st_mtime - old))
    assert sweep_orphaned_evidence({used.sha256}, 24 * 3600) == 1
    assert (root / used.storage_path).exists()
    assert not (root / orphan.storage_path).exists()
    assert (root / fresh.storage_path).exists()
    # Sending a file again makes it fresh again.
    path = root / fresh.storage_path
    os.utime(path, (0, 0))
    save_evidence(tiny_png(32))
    assert sweep_orphaned_evidence({used.sha256}, 24 * 3600) == 0
    assert path.exists()


def test_delete_evidence_keeps_what_a_report_needs() -> None:
    keep, drop = save_evidence(tiny_png(40)), save_evidence(tiny_png(41))
    assert delete_evidence([keep, drop], {keep.sha256}) == 1
    root = get_settings().var_dir
    assert (root / keep.storage_path).exists() and not (root / drop.storage_path).exists()
