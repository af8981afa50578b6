"""Where the time of one message goes: parse, policy, action round trip, tracker store.

Loads the trained model in this process (as `rasa run` does) with the real
action server in a subprocess and the real SQLite tracker store, times each
step of Rasa's message processing by wrapping the methods that do it, and runs
FAQ conversations and report conversations (with a link the link checker fetches
from a local page). Prints a Markdown table of milliseconds per message (means
over the measured messages, after a warm-up). Part of `make bench-load`; never a
test assertion.

Usage: python scripts/bench_breakdown.py [--conversations 10]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from bot.wait_ready import wait_ready  # noqa: E402
from scripts.local_services import free_port  # noqa: E402
from tests.integration.servers import fake_web  # noqa: E402

BIN = PROJECT_ROOT / ".venv" / "bin"
FAQ_TURNS = ["halo", "kapan masa tenang", "apa itu politik uang", "asn boleh like postingan caleg",
             "sanksi sebar hoaks apa", "makasih min"]
REPORT_TURNS = ["ada hoaks soal paslon 2 di tiktok http://vt.tiktok.com/ZS8xyz/ di kota "
                "pekalongan kemarin", "/affirm", "lewati", "/deny", "batal"]
STEPS = [
    ("parse", "NLU parse (normaliser, e5 embedding, classifiers, entities)"),
    ("policy", "policy predictions (every action of the turn)"),
    ("action", "action server round trips (HTTP + tracker payload + the action)"),
    ("tracker_load", "tracker store load"),
    ("tracker_save", "tracker store save"),
]


class Timings:
    """Milliseconds spent per step, per message, while `active`."""

    def __init__(self) -> None:
        self.current: dict[str, float] = defaultdict(float)
        self.messages: list[dict[str, float]] = []
        self.active = False

    def add(self, step: str, seconds: float) -> None:
        if self.active:
            self.current[step] += seconds * 1000

    def finish(self, total_seconds: float) -> None:
        if self.active:
            self.current["total"] = total_seconds * 1000
            self.messages.append(dict(self.current))
        self.current = defaultdict(float)

    def mean(self, step: str) -> float:
        if not self.messages:
            return float("nan")
        return sum(m.get(step, 0.0) for m in self.messages) / len(self.messages)


def _wrap_async(owner: Any, name: str, step: str, timings: Timings) -> None:
    original: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(original)
    async def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            timings.add(step, time.perf_counter() - started)

    setattr(owner, name, timed)


def _wrap_sync(owner: Any, name: str, step: str, timings: Timings) -> None:
    original: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            timings.add(step, time.perf_counter() - started)

    setattr(owner, name, timed)


def instrument(timings: Timings) -> None:
    """Time Rasa's own steps (class-level wrappers, so every instance is covered)."""
    from rasa.core.actions.action import RemoteAction
    from rasa.core.processor import MessageProcessor

    from bot.tracker_stores import ProtectedSQLTrackerStore

    _wrap_async(MessageProcessor, "parse_message", "parse", timings)
    _wrap_sync(MessageProcessor, "predict_next_with_tracker_if_should", "policy", timings)
    _wrap_async(RemoteAction, "run", "action", timings)
    _wrap_async(ProtectedSQLTrackerStore, "retrieve", "tracker_load", timings)
    _wrap_async(ProtectedSQLTrackerStore, "save", "tracker_save", timings)


@contextmanager
def action_server(env: dict[str, str], log: Path) -> Iterator[str]:
    port = free_port()
    with log.open("w") as handle:
        process = subprocess.Popen(  # noqa: S603
            [str(BIN / "rasa"), "run", "actions", "--actions", "actions", "--port", str(port)],
            cwd=PROJECT_ROOT, env={**os.environ, **env}, stdout=handle,
            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        if not wait_ready([f"http://127.0.0.1:{port}/health"], timeout=240):
            raise RuntimeError(f"the action server did not start; see {log}")
        yield f"http://127.0.0.1:{port}/webhook"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(60)


async def measure(model: Path, endpoints: Path, conversations: int, long: int
                  ) -> tuple[dict[str, Timings], float]:
    """Timings of FAQ messages, report messages, messages #2-4 and the last three of one
    long conversation; and the mean link-check time of the report's link."""
    from rasa.core.agent import load_agent
    from rasa.core.utils import AvailableEndpoints
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    from bot import gc_freeze, server_hooks
    from bot.link_checker import LinkChecker

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)  # `rasa` does this; structlog prints debug otherwise
    server_hooks.install()  # as `rasa run` does when the channels build their routes
    timings = Timings()
    instrument(timings)
    agent = await load_agent(model_path=str(model),
                             endpoints=AvailableEndpoints.read_endpoints(str(endpoints)))
    gc_freeze.refreeze()  # as `rasa run` does once started

    async def run(turns: list[str], prefix: str) -> Timings:
        timings.active = False
        for text in turns:  # one warm-up conversation, not measured
            await agent.handle_text(text, sender_id=f"{prefix}-warm")
        timings.messages = []
        timings.active = True
        for n in range(conversations):
            for text in turns:
                started = time.perf_counter()
                await agent.handle_text(text, sender_id=f"{prefix}-{n}")
                timings.finish(time.perf_counter() - started)
        timings.active = False
        result = Timings()
        result.messages = timings.messages
        return result

    faq = await run(FAQ_TURNS, "faq")
    report = await run(REPORT_TURNS, "report")
    timings.messages = []
    timings.active = True
    for i in range(long):
        started = time.perf_counter()
        await agent.handle_text(FAQ_TURNS[1 + i % (len(FAQ_TURNS) - 2)], sender_id="long")
        timings.finish(time.perf_counter() - started)
    timings.active = False
    early, late = Timings(), Timings()
    early.messages, late.messages = timings.messages[1:4], timings.messages[-3:]
    link_times = []
    async with LinkChecker() as checker:
        for _ in range(conversations):
            started = time.perf_counter()
            await checker.check_many(["http://vt.tiktok.com/ZS8xyz/"])
            link_times.append((time.perf_counter() - started) * 1000)
    return ({"FAQ message": faq, "report message": report, "message #2-4": early,
             f"message #{long - 2}-{long}": late}, sum(link_times) / len(link_times))


def table(columns: dict[str, Timings], link_check_ms: float) -> str:
    """Milliseconds per message and step, one column per kind of message."""
    names = list(columns)
    lines = ["| step | " + " | ".join(f"{name}, ms" for name in names) + " |",
             "|---" * (len(names) + 1) + "|"]
    for step, label in STEPS:
        lines.append(f"| {label} | "
                     + " | ".join(f"{columns[n].mean(step):.1f}" for n in names) + " |")
    rest = [columns[n].mean("total") - sum(columns[n].mean(step) for step, _ in STEPS)
            for n in names]
    lines.append("| everything else (events, domain, responses, locks) | "
                 + " | ".join(f"{value:.1f}" for value in rest) + " |")
    lines.append("| **total per message** | "
                 + " | ".join(f"**{columns[n].mean('total'):.1f}**" for n in names) + " |")
    link = ["–"] * len(names)
    link[names.index("report message")] = f"{link_check_ms / len(REPORT_TURNS):.1f}"
    lines.append("| of which the link check (one link per report, local page) | "
                 + " | ".join(link) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=10)
    parser.add_argument("--long", type=int, default=200)
    args = parser.parse_args(argv)
    model = PROJECT_ROOT / "models" / "assistant.tar.gz"
    if not model.exists():
        print("models/assistant.tar.gz is missing: run `make train` first", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp, fake_web() as web_env:
        env = {"VAR_DIR": tmp, "DATABASE_URL": f"sqlite:///{tmp}/reports.db",
               "RATE_LIMIT_BURST": "100000", "RATE_LIMIT_PER_MINUTE": "100000",
               "DAILY_REPORT_CAP": "100000", **web_env}
        os.environ.update(env)
        for name in ("OMP_NUM_THREADS", "TF_INTRA_OP_PARALLELISM_THREADS",
                     "TF_INTER_OP_PARALLELISM_THREADS"):
            os.environ.setdefault(name, "1")  # as `make run` (scripts/run.sh)
        from bot.settings import get_settings

        get_settings.cache_clear()
        with action_server(env, Path(tmp) / "actions.log") as action_url:
            endpoints = Path(tmp) / "endpoints.yml"
            endpoints.write_text(
                f'action_endpoint:\n  url: "{action_url}"\n'
                "tracker_store:\n  type: bot.tracker_stores.ProtectedSQLTrackerStore\n"
                f'  dialect: "sqlite"\n  db: "{tmp}/tracker.db"\n')
            columns, link_ms = asyncio.run(measure(model, endpoints, args.conversations,
                                                   args.long))
    print(f"Per message, mean over {len(columns['FAQ message'].messages)} FAQ and "
          f"{len(columns['report message'].messages)} report messages, and three messages "
          f"early and late in one {args.long}-message conversation (one process, SQLite "
          "tracker store):\n")
    print(table(columns, link_ms))
    return 0


if __name__ == "__main__":
    sys.exit(main())
