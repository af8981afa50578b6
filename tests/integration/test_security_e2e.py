"""Issue 12's "done when", against the real servers with WhatsApp configured.

- The REST impersonation of a WhatsApp reporter reveals nothing.
- A 100 kB message and a link to a 256 KiB `<meta` flood each get an answer,
  while another sender's "halo" is answered too (liveness, under a watchdog;
  the figures are printed, and speed is measured by `make bench`).
- After "hapus data saya", no file under var/ (nor the tracker database) other
  than the reports database holds the reporter's message text.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from bot.privacy import sender_key
from bot.settings import get_settings
from bot.store import NewReport, NewReportLink, ReportStore
from tests.channels.whatsapp_support import (
    APP_SECRET,
    VERIFY_TOKEN,
    WA_ID,
    dumps,
    sign,
    text_message,
    webhook,
)
from tests.fakes.graph_api import FakeGraphApi
from tests.integration.servers import Assistant, fake_web, running_assistant, texts

KEYS = {"PSEUDONYM_KEY": "e2e-" + "k" * 44,
        "CONTACT_ENCRYPTION_KEY": Fernet.generate_key().decode()}
#: A watchdog for "answered at all": far above the link-check timeout (3 s) + 2 s.
WATCHDOG_SECONDS = 60.0


@pytest.fixture(scope="module")
def graph() -> Iterator[FakeGraphApi]:
    with FakeGraphApi() as fake:
        yield fake


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("security-e2e")


@pytest.fixture(scope="module")
def assistant(trained_model: Path, work: Path, graph: FakeGraphApi) -> Iterator[Assistant]:
    credentials = work / "credentials.yml"
    credentials.write_text("channels.rest.RestInput:\nchannels.whatsapp.WhatsAppInput:\n")
    with fake_web() as link_check_env:
        env = {
            **KEYS, **link_check_env,
            "VAR_DIR": str(work / "var"),
            "DATABASE_URL": f"sqlite:///{work / 'var' / 'reports.db'}",
            "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN, "WHATSAPP_APP_SECRET": APP_SECRET,
            "WHATSAPP_ACCESS_TOKEN": graph.access_token,
            "WHATSAPP_PHONE_NUMBER_ID": graph.phone_number_id,
            "WHATSAPP_API_BASE_URL": graph.base_url,
        }
        with running_assistant(trained_model, work, env, credentials=credentials) as running:
            yield running


def whatsapp(assistant: Assistant, graph: FakeGraphApi, text: str, wa_id: str = WA_ID
             ) -> list[str]:
    """Send a signed WhatsApp text; return the texts the assistant sent back to `wa_id`."""
    before = len(graph.sent_messages())
    body = dumps(webhook(text_message(text, wa_id=wa_id), wa_id=wa_id))
    response = httpx.post(f"{assistant.rasa_url}/webhooks/whatsapp/webhook", content=body,
                          headers={"Content-Type": "application/json",
                                   "X-Hub-Signature-256": sign(body)}, timeout=30)
    assert response.status_code == 200, assistant.logs()
    deadline = time.monotonic() + WATCHDOG_SECONDS
    seen, stable_since = before, time.monotonic()
    while True:
        count = len(graph.sent_messages())
        if count != seen:
            seen, stable_since = count, time.monotonic()
        # The turn is over when replies came and nothing more arrived for 1.5 s.
        if seen > before and time.monotonic() - stable_since > 1.5:
            break
        assert time.monotonic() < deadline, f"no WhatsApp answer\n{assistant.logs()}"
        time.sleep(0.1)
    new = graph.sent_messages()[before:]
    found = []
    for item in new:
        if item.get("to") != wa_id:
            continue
        if item["type"] == "text":
            found.append(item["text"]["body"])
        elif item["type"] == "interactive":
            found.append(item["interactive"]["body"]["text"])
    return found


@pytest.mark.slow
def test_rest_impersonation_of_a_whatsapp_reporter_reveals_nothing(
        assistant: Assistant, graph: FakeGraphApi, work: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("VAR_DIR", str(work / "var"))
    get_settings.cache_clear()
    victim = sender_key("whatsapp", WA_ID)
    store = ReportStore(f"sqlite:///{work / 'var' / 'reports.db'}")
    link = "https://tiktok.com/@akun/video/1"
    code = store.file_report(NewReport(
        idempotency_key="e2e-victim", reporter_key=victim, channel="whatsapp",
        category="hoaks", description="laporan korban",
        links=[NewReportLink(link, link, "tiktok", "ok", 200, None)])).ticket_code
    store.engine.dispose()

    # The attack: the victim's number as sender, a claimed channel, a forged contact.
    forged = httpx.post(f"{assistant.rasa_url}/webhooks/rest/webhook", json={
        "sender": WA_ID, "input_channel": "whatsapp",
        "metadata": {"contact_token": "gAAAAforged"},
        "message": "cek status laporan saya"}, timeout=60).json()
    assert code not in texts(forged), forged
    by_code = httpx.post(f"{assistant.rasa_url}/webhooks/rest/webhook", json={
        "sender": WA_ID, "input_channel": "whatsapp", "message": f"cek status {code}"},
        timeout=60).json()
    assert "Status" not in texts(by_code) and code in texts(by_code)  # "not found" names it
    assert "laporan korban" not in texts(by_code)

    # The real reporter, over WhatsApp, sees the report.
    answers = whatsapp(assistant, graph, "cek status laporan saya")
    assert any(code in answer for answer in answers), answers


@pytest.mark.slow
def test_hostile_message_and_page_do_not_hold_up_anyone(
        assistant: Assistant, graph: FakeGraphApi) -> None:
    other_wa = "6289999000111"
    long_answer = whatsapp(assistant, graph, "a" * 100_000, wa_id=other_wa)
    assert any("terlalu panjang" in answer for answer in long_answer), long_answer

    flood: dict[str, float] = {}

    def report_flood_link() -> None:
        started = time.monotonic()
        httpx.post(f"{assistant.rasa_url}/webhooks/rest/webhook", json={
            "sender": "penyerang", "message": "lapor hoaks http://web.example.id/banjir-meta"},
            timeout=WATCHDOG_SECONDS)
        flood["seconds"] = time.monotonic() - started

    attacker = threading.Thread(target=report_flood_link)
    attacker.start()
    time.sleep(0.5)  # the link check is under way
    started = time.monotonic()
    halo = httpx.post(f"{assistant.rasa_url}/webhooks/rest/webhook",
                      json={"sender": "warga-lain", "message": "halo"}, timeout=WATCHDOG_SECONDS)
    halo_seconds = time.monotonic() - started
    attacker.join(WATCHDOG_SECONDS)
    assert not attacker.is_alive(), "the report with the meta-flood link was never answered"
    assert "Halo" in texts(halo.json())
    print(f"meta-flood report answered in {flood['seconds']:.2f} s; "
          f"another sender's halo in {halo_seconds:.2f} s")


@pytest.mark.slow
def test_after_erasure_no_file_but_the_reports_database_holds_the_text(
        assistant: Assistant, graph: FakeGraphApi, work: Path) -> None:
    wa_id = "6281355577799"
    secret = "rahasiapelapor7f3a9c"
    whatsapp(assistant, graph, f"halo, saya {secret} mau tanya", wa_id=wa_id)
    whatsapp(assistant, graph, "batal", wa_id=wa_id)  # whatever the first message started
    # Stored: in the tracker database or its write-ahead log (WAL mode).
    tracker_files = [work / "tracker.db", work / "tracker.db-wal"]
    assert any(secret.encode() in path.read_bytes() for path in tracker_files if path.exists())
    asked = whatsapp(assistant, graph, "hapus data saya", wa_id=wa_id)
    assert any("menghapus data pribadi" in answer for answer in asked), asked
    done = whatsapp(assistant, graph, "ya", wa_id=wa_id)
    assert any("sudah kami hapus" in answer for answer in done), done
    files = [*(p for p in tracker_files if p.exists()),
             *(p for p in (work / "var").rglob("*") if p.is_file())]
    for path in files:
        if path.name.startswith("reports.db"):
            continue
        assert secret.encode() not in path.read_bytes(), path


@pytest.mark.slow
def test_no_pseudonym_or_number_in_the_server_logs(assistant: Assistant,
                                                   graph: FakeGraphApi) -> None:
    whatsapp(assistant, graph, "halo")
    for name in ("rasa.log", "actions.log"):
        log = (assistant.log_dir / name).read_text(errors="replace")
        assert "psn_" not in log, name
        assert WA_ID not in log, name
