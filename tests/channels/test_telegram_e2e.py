"""End to end: the real assistant (Rasa + action server) with the Telegram connector.

Telegram is the fake Bot API server; the connector registers its webhook there
at start-up, "/start" is delivered to the webhook as Telegram would, and the
greeting must come back to the fake as sendMessage with an inline keyboard.
"""

from __future__ import annotations

import json
import sqlite3
import urllib.request
from pathlib import Path

import pytest

from channels.common import pseudonymous_sender
from tests.fakes.telegram_api import FakeTelegramApi, Updates
from tests.integration.servers import running_assistant

TOKEN = "987654321:AAE2eTestTokenForTheFakeBotApi_x"
SECRET = "e2e-Secret_token"
USER_ID = 623456789


@pytest.mark.slow
def test_start_via_webhook_gets_greeting_with_inline_keyboard(trained_model: Path,
                                                              tmp_path: Path) -> None:
    credentials = tmp_path / "credentials.yml"
    credentials.write_text("channels.rest.RestInput:\nchannels.telegram.TelegramInput:\n")
    fake = FakeTelegramApi(TOKEN)
    with fake.run_in_thread():
        env = {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_SECRET_TOKEN": SECRET,
            "TELEGRAM_API_BASE_URL": fake.base_url,
            "TELEGRAM_WEBHOOK_URL": "https://lapor.example.id/webhooks/telegram/webhook",
        }
        work_dir = tmp_path / "assistant"
        with running_assistant(trained_model, work_dir, env,
                               credentials=credentials) as assistant:
            [registered] = fake.wait_for_calls("setWebhook", timeout=60)
            assert registered["secret_token"] == SECRET
            assert registered["allowed_updates"] == ["message", "callback_query"]

            update = Updates(user_id=USER_ID).text("/start")
            request = urllib.request.Request(
                f"{assistant.rasa_url}/webhooks/telegram/webhook",
                data=json.dumps(update).encode(),
                headers={"Content-Type": "application/json",
                         "X-Telegram-Bot-Api-Secret-Token": SECRET},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=60) as reply:  # noqa: S310
                assert reply.status == 200, assistant.logs()

            try:
                sent = fake.wait_for_calls("sendMessage", timeout=120)
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n{assistant.logs()}") from exc
            with_keyboard = [s for s in sent if s.get("reply_markup")]
            assert with_keyboard, sent
            rows = with_keyboard[0]["reply_markup"]["inline_keyboard"]
            payloads = [button["callback_data"] for row in rows for button in row]
            assert "/report_violation" in payloads, rows
            assert all(int(s["chat_id"]) == USER_ID for s in sent)
            assert "parse_mode" not in with_keyboard[0]

        # The tracker knows the citizen only by the pseudonymous key.
        with sqlite3.connect(work_dir / "tracker.db") as db:
            senders = {row[0] for row in db.execute("SELECT DISTINCT sender_id FROM events")}
            events = "\n".join(row[0] for row in db.execute("SELECT data FROM events"))
        assert senders == {pseudonymous_sender("telegram", USER_ID)}
        assert str(USER_ID) not in events
