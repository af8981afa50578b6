"""Measure `make reload`: from saving an edit to one intent's examples to the running
assistant answering differently, with people talking to it meanwhile.

Works on a temporary copy of the project's data and model (never data/ or models/):
starts the real servers on the copy's model, begins a report conversation, adds
TEXT under INTENT in the copy's data/nlu file holding INTENT, runs the reload
(`bot.trainers.reload`: Rasa's graph cache and cached embeddings, swap into the server),
and sends TEXT until the tracker store shows it taken as INTENT. A background
sender says "halo" every half second the whole time; its slowest reply shows
whether anyone waited for the swap. Needs the trained model (`make train`) and a
warm cache (one `make reload` or `make train` in this checkout).

Usage: python scripts/bench_reload.py [--text "horas lae"] [--intent greet]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.settings import PROJECT_ROOT, get_settings  # noqa: E402
from bot.trainers import accept, reload  # noqa: E402
from tests.integration.servers import Assistant, running_assistant, texts  # noqa: E402

logger = logging.getLogger(__name__)

TOKEN_ENV = "MODEL_RELOAD_TOKEN"  # noqa: S105 - a variable name


def last_intent(assistant: Assistant, sender: str) -> str | None:
    """The intent stored for the sender's latest message."""
    with sqlite3.connect(assistant.log_dir / "tracker.db") as connection:
        row = connection.execute(
            "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user' "
            "ORDER BY id DESC LIMIT 1", (sender,)).fetchone()
    return json.loads(row[0])["parse_data"]["intent"]["name"] if row else None


class Chatter(threading.Thread):
    """Says "halo" every half second from a few senders; keeps the slowest reply."""

    def __init__(self, assistant: Assistant) -> None:
        super().__init__(daemon=True)
        self.assistant = assistant
        self.stop = threading.Event()
        self.count = 0
        self.slowest = 0.0

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            self.assistant.say(f"bench-chatter-{self.count % 5}", "halo")
            self.slowest = max(self.slowest, time.monotonic() - started)
            self.count += 1
            self.stop.wait(0.5)


def copy_project(root: Path, model: Path) -> Path:
    """A copy of the data, domain, config and test sets, and the model (newest)."""
    shutil.copytree(PROJECT_ROOT / "data", root / "data")
    shutil.copytree(PROJECT_ROOT / "tests" / "nlu", root / "tests" / "nlu")
    for name in ("domain.yml", "config.yml"):
        shutil.copy(PROJECT_ROOT / name, root / name)
    (root / "models").mkdir()
    target = root / "models" / "assistant.tar.gz"
    shutil.copy(model, target)
    os.utime(target)
    return target


def main(argv: list[str] | None = None) -> int:
    """Run one measured reload and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--text", default="horas lae")
    parser.add_argument("--intent", default="greet")
    parser.add_argument("--model", type=Path, default=PROJECT_ROOT / "models" / "assistant.tar.gz")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault(TOKEN_ENV, "bench-reload-token-0123456789abcdef")
    get_settings.cache_clear()
    with tempfile.TemporaryDirectory(prefix="bench-reload-") as tmp:
        root = Path(tmp) / "project"
        model = copy_project(root, args.model)
        env = {"VAR_DIR": str(Path(tmp) / "var"), TOKEN_ENV: os.environ[TOKEN_ENV],
               "DATABASE_URL": f"sqlite:///{Path(tmp) / 'reports.db'}",
               "RATE_LIMIT_BURST": "10000", "RATE_LIMIT_PER_MINUTE": "10000"}
        with running_assistant(model, Path(tmp) / "work", env) as assistant:
            assistant.say("bench-reporter", "saya mau lapor")
            assistant.say("bench-reporter", "/affirm")
            assistant.say("bench-before", args.text)
            before = last_intent(assistant, "bench-before")
            print(f"before: {args.text!r} is taken as {before}")
            if before == args.intent:
                print("already answered as that intent: pick another --text", file=sys.stderr)
                return 1
            chatter = Chatter(assistant)
            chatter.start()
            files = accept.intent_files(accept.Project(root))
            started = time.monotonic()
            accept.insert_examples(files[args.intent], {args.intent: [args.text]})
            output = io.StringIO()
            with contextlib.redirect_stdout(output):
                code = reload.main(["--project", str(root), "--model", str(model),
                                    "--server", assistant.rasa_url])
            print(output.getvalue().rstrip())
            if code != 0:
                print(assistant.logs(), file=sys.stderr)
                return 1
            attempt = 0
            while True:
                attempt += 1
                assistant.say(f"bench-after-{attempt}", args.text)
                if last_intent(assistant, f"bench-after-{attempt}") == args.intent:
                    break
                if time.monotonic() - started > 1800:
                    print("the answer never changed", file=sys.stderr)
                    return 1
                time.sleep(0.5)
            elapsed = time.monotonic() - started
            chatter.stop.set()
            chatter.join(timeout=60)
            reporter = texts(assistant.say("bench-reporter", "http://127.0.0.1/admin"))
            print(f"edit to changed answer: {elapsed:.1f} s")
            print(f"meanwhile {chatter.count} other messages, slowest reply "
                  f"{chatter.slowest:.2f} s")
            print("report started before the swap continues: "
                  f"{'yes' if 'tidak bisa' in reporter else 'NO: ' + reporter[:200]}")
            print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
