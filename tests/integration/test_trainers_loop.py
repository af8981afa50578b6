"""The trainers' loop end to end (issue 17): messages sent over REST to the real
servers, `nlu-inbox` picks the unsure one, a trainer labels it, `nlu-accept` adds it
to a temporary copy of the project's data (never the real data/), `reload` re-fits the
intent and FAQ classifiers and swaps the model into the running server, and the same
message then gets the new intent, while a report started before the swap goes on where
it was. Then an edit to the entity side takes the full-training path (the dialogue
policies from the graph cache)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot.settings import PROJECT_ROOT, get_settings
from bot.trainers import accept, inbox, reload
from tests.integration.servers import Assistant, running_assistant, texts

TOKEN = "reload-token-for-the-test-0123456789"
#: "Thank you very much" in Batak: the model takes it for out_of_scope, the person
#: says so, and a trainer teaches it as `thank`.
UNSURE = "mauliate godang ito"
LABEL = "thank"


@pytest.fixture(scope="module")
def project(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(PROJECT_ROOT / "data", root / "data")
    shutil.copytree(PROJECT_ROOT / "tests" / "nlu", root / "tests" / "nlu")
    for name in ("domain.yml", "config.yml"):
        shutil.copy(PROJECT_ROOT / name, root / name)
    (root / "models").mkdir()
    shutil.copy(trained_model, root / "models" / "assistant.tar.gz")
    os.utime(root / "models" / "assistant.tar.gz")  # newer than the copied data
    return root


@pytest.fixture(scope="module")
def assistant(project: Path, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[Assistant]:
    work = tmp_path_factory.mktemp("assistant")
    env = {"VAR_DIR": str(work / "var"), "DATABASE_URL": f"sqlite:///{work / 'reports.db'}",
           "MODEL_RELOAD_TOKEN": TOKEN, "RATE_LIMIT_BURST": "100"}
    with running_assistant(project / "models" / "assistant.tar.gz", work, env) as running:
        yield running


def post_reload(assistant: Assistant, headers: dict[str, str]) -> int:
    request = urllib.request.Request(f"{assistant.rasa_url}/webhooks/model/reload",
                                     data=b"{}", method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def last_intent(assistant: Assistant, sender: str) -> str:
    """The intent Rasa stored for the sender's latest message (the tracker store)."""
    with sqlite3.connect(assistant.log_dir / "tracker.db") as connection:
        row = connection.execute(
            "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user' "
            "ORDER BY id DESC LIMIT 1", (sender,)).fetchone()
    return json.loads(row[0])["parse_data"]["intent"]["name"]


def reload_into(assistant: Assistant, project: Path,
                capsys: pytest.CaptureFixture[str]) -> str:
    """Run `make reload` on the project copy against the running server; its output."""
    code = reload.main(["--project", str(project),
                        "--model", str(project / "models" / "assistant.tar.gz"),
                        "--server", assistant.rasa_url])
    out = capsys.readouterr().out
    assert code == 0, out + assistant.logs()
    return out


@pytest.mark.slow
def test_inbox_label_accept_reload(assistant: Assistant, project: Path, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MODEL_RELOAD_TOKEN", TOKEN)
    get_settings.cache_clear()
    # The reload route: only with the token, never through a proxy.
    assert post_reload(assistant, {}) == 401
    assert post_reload(assistant, {"Authorization": "Bearer wrong"}) == 401
    assert post_reload(assistant, {"Authorization": f"Bearer {TOKEN}",
                                   "X-Forwarded-For": "203.0.113.9"}) == 403

    # A report in progress before the swap: consent given, the link is asked for.
    assert "UU PDP" in texts(assistant.say("loop-reporter", "saya mau lapor"))
    assert "tautan" in texts(assistant.say("loop-reporter", "/affirm")).lower()

    # Three people write the message the model gets wrong, and say so; one adds a
    # phone number.
    assistant.say("loop-citizen-1", UNSURE)
    before = last_intent(assistant, "loop-citizen-1")
    assert before != LABEL, assistant.logs()
    assistant.say("loop-citizen-1", "bukan itu min, maksud saya terima kasih")
    assistant.say("loop-citizen-2", "Mauliate godang ito!!")
    also = last_intent(assistant, "loop-citizen-2")
    assistant.say("loop-citizen-2", "salah")
    assistant.say("loop-citizen-3", f"{UNSURE}, wa saya 081234567890")
    assistant.say("loop-citizen-3", "kok ga nyambung")

    # The inbox, from the server's own tracker store.
    review = tmp_path / "inbox.yml"
    assert inbox.main(["--endpoints", str(assistant.log_dir / "endpoints.yml"),
                       "--out", str(review)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(review)
    data = yaml.safe_load(review.read_text(encoding="utf-8"))
    entries = {entry["text"]: entry for entry in data["entries"]}
    assert UNSURE in entries, entries
    assert entries[UNSURE]["seen"] == 2 and entries[UNSURE]["conversations"] == 2
    assert "misunderstood" in entries[UNSURE]["reasons"]
    # One entry for both spellings; it shows what the model said to one of them.
    assert entries[UNSURE]["predicted"]["intent"] in {before, also} - {LABEL}
    assert f"{UNSURE}, wa saya <telepon>" in entries
    assert "0812" not in review.read_text(encoding="utf-8")

    # The trainer labels it; the accept step adds it and validates the data.
    entries[UNSURE]["label"] = LABEL
    review.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert accept.main([str(review), "--project", str(project)]) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    assert f"accepted: {UNSURE!r} -> {LABEL} (data/nlu/conversation.yml)" in out
    assert "rasa data validate --fail-on-warnings: passed" in out
    assert f"- {UNSURE}" in (project / "data" / "nlu" / "conversation.yml").read_text()
    assert f"- {UNSURE}" not in (PROJECT_ROOT / "data" / "nlu" / "conversation.yml").read_text()

    # Reload: an example without entities, so only the two classifiers are re-fitted;
    # swapped into the running server.
    out = reload_into(assistant, project, capsys)
    assert "changed since the model was trained: data/nlu/conversation.yml (NLU data only)" in out
    assert "re-fitted LinearIntentClassifier and LinearResponseSelector only" in out
    assert "a full training is needed" not in out
    assert f"swapped into {assistant.rasa_url}" in out
    assert out.strip().splitlines()[-1].startswith("reload took ")

    # The same message now gets the new intent ...
    assistant.say("loop-citizen-3", UNSURE)
    assert last_intent(assistant, "loop-citizen-3") == LABEL, assistant.logs()
    # ... and the report started before the swap goes on: the form still wants a link
    # (a private address is refused, as the link question does).
    replies = texts(assistant.say("loop-reporter", "http://127.0.0.1/admin"))
    assert "tidak bisa" in replies, replies

    # An edit to the entity side (a new annotated example) needs a full training: the
    # reload says so, trains (the dialogue policies from Rasa's graph cache) and swaps.
    files = accept.intent_files(accept.Project(project))
    accept.insert_examples(files["report_violation"], {"report_violation": [
        "lapor min, ada hoaks di [tiktok](platform) soal caleg dapil 3"]})
    out = reload_into(assistant, project, capsys)
    assert "a full training is needed: entity annotations" in out
    assert "components restored from Rasa's cache" in out
    assert f"swapped into {assistant.rasa_url}" in out
    # The garbage collector was kept off the model at start and after each swap
    # (bot.gc_freeze), the replaced models freed.
    frozen = (assistant.log_dir / "rasa.log").read_text(errors="replace").count(
        "objects of the loaded model frozen")
    assert frozen == 3, assistant.logs()
    # The accepted example is still taught, and the report still goes on.
    assistant.say("loop-citizen-2", UNSURE)
    assert last_intent(assistant, "loop-citizen-2") == LABEL, assistant.logs()
    replies = texts(assistant.say("loop-reporter", "http://127.0.0.1/admin"))
    assert "tidak bisa" in replies, replies
