"""`make bench-load`: throughput and latency under load, side by side with stock Rasa.

In one run, on this machine and this virtualenv:
1. the stock `rasa init` bot (moodbot) and this assistant, 20 concurrent
   conversations, closed loop: messages/s and p50/p95/p99; the closed-loop runs
   (the cluster's too) take turns in short rounds, so that a drift of the
   machine's speed weighs on all of them alike;
2. this assistant at a fixed arrival rate (open loop, default 10 msg/s): p95;
3. one process vs the cluster of 2 (scripts/run_cluster.py), closed loop;
4. message #200 of one long conversation vs message #2.

Prints one Markdown table. Never used as a test assertion (no timing is ever
asserted in tests). Usage: python scripts/bench_load.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from bot.wait_ready import wait_ready  # noqa: E402
from scripts.local_services import free_port  # noqa: E402
from tests.integration.servers import running_assistant  # noqa: E402

BIN = PROJECT_ROOT / ".venv" / "bin"
MOODBOT_DIR = PROJECT_ROOT / "var" / "bench" / "moodbot"
CONCURRENCY = 20

MOODBOT_TURNS = ["hi", "I am sad", "yes", "great", "bye"]
FAQ_TURNS = ["halo", "kapan masa tenang", "apa itu politik uang", "asn boleh like postingan caleg",
             "sanksi sebar hoaks apa", "makasih min"]
REPORT_TURNS = ["saya mau lapor ada hoaks", "batal"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


async def _post(session: aiohttp.ClientSession, url: str, sender: str, text: str) -> float:
    started = time.perf_counter()
    async with session.post(url, json={"sender": sender, "message": text}) as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}")
    return (time.perf_counter() - started) * 1000


async def closed_loop(url: str, turns: list[str], seconds: float, prefix: str
                      ) -> tuple[float, list[float]]:
    """CONCURRENCY conversations, each sending its next message when answered."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    timeout = aiohttp.ClientTimeout(total=120)

    async def conversation(n: int) -> None:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            i = 0
            while time.perf_counter() < deadline:
                latencies.append(await _post(session, url, f"{prefix}-{n}-{i // len(turns)}",
                                             turns[i % len(turns)]))
                i += 1

    started = time.perf_counter()
    await asyncio.gather(*(conversation(n) for n in range(CONCURRENCY)))
    return len(latencies) / (time.perf_counter() - started), latencies


async def open_loop(url: str, rate: float, seconds: float) -> list[float]:
    """Messages sent at a fixed rate, whatever the answers take."""
    latencies: list[float] = []
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        tasks = []
        for i in range(int(rate * seconds)):
            await asyncio.sleep(1 / rate)
            tasks.append(asyncio.ensure_future(
                _post(session, url, f"open-{i % 50}", FAQ_TURNS[i % len(FAQ_TURNS)])))
        latencies = list(await asyncio.gather(*tasks))
    return latencies


async def long_conversation(url: str, length: int) -> tuple[float, float]:
    """Median latency of messages 2-4 and of the last three of one long conversation."""
    timeout = aiohttp.ClientTimeout(total=120)
    times: list[float] = []
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for i in range(length):
            times.append(await _post(session, url, "long-conversation",
                                     FAQ_TURNS[1 + i % (len(FAQ_TURNS) - 2)]))
    return statistics.median(times[1:4]), statistics.median(times[-3:])


def ensure_moodbot() -> Path:
    """The stock `rasa init` bot, trained once into var/bench/moodbot."""
    model_dir = MOODBOT_DIR / "models"
    if not any(model_dir.glob("*.tar.gz")):
        shutil.rmtree(MOODBOT_DIR, ignore_errors=True)
        MOODBOT_DIR.mkdir(parents=True)  # `rasa init` refuses a directory that does not exist
        print("bench-load: training the stock rasa init bot (once)...", flush=True)
        subprocess.run([str(BIN / "rasa"), "init", "--no-prompt", "--init-dir",  # noqa: S603
                        str(MOODBOT_DIR)], check=True, capture_output=True,
                       env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"})
    return sorted(model_dir.glob("*.tar.gz"))[-1]


@contextmanager
def running_moodbot() -> Iterator[str]:
    model = ensure_moodbot()
    port = free_port()
    log = open(MOODBOT_DIR / "server.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(  # noqa: S603
        [str(BIN / "rasa"), "run", "--model", str(model), "--port", str(port),
         "--interface", "127.0.0.1", "--credentials", "credentials.yml"],
        cwd=MOODBOT_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"})
    try:
        if not wait_ready([f"http://127.0.0.1:{port}/webhooks/rest/"], timeout=240):
            raise RuntimeError("the stock bot did not start")
        yield f"http://127.0.0.1:{port}/webhooks/rest/webhook"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(60)
        log.close()


@contextmanager
def running_cluster(replicas: int, work: Path) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "scripts/run_cluster.py", "--replicas", str(replicas), "--port",
         str(port), "--console-port", str(free_port()), "--work", str(work)],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
        env={**os.environ, "RATE_LIMIT_BURST": "100000", "RATE_LIMIT_PER_MINUTE": "100000"})
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if "Press Ctrl-C" in line:
                break
        else:
            raise RuntimeError("the cluster did not start")
        yield f"http://127.0.0.1:{port}/webhooks/rest/webhook"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(120)


def row(name: str, rate: float, latencies: list[float], base: float | None = None) -> str:
    ratio = f"{rate / base:.2f}×" if base else ""
    return (f"| {name} | {rate:.1f} | {ratio} | {percentile(latencies, 50):.0f} | "
            f"{percentile(latencies, 95):.0f} | {percentile(latencies, 99):.0f} |")


@dataclass
class Run:
    """One closed-loop workload, measured over several rounds."""

    name: str
    label: str  # in sender ids
    url: str
    turns: list[str]
    messages: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else float("nan")

    def measure(self, seconds: float, label: str) -> None:
        rate, latencies = asyncio.run(closed_loop(self.url, self.turns, seconds, label))
        self.messages += len(latencies)
        self.seconds += len(latencies) / rate if rate else 0.0
        self.latencies += latencies
        self.rates.append(rate)


def interleaved(runs: list[Run], seconds: float, rounds: int) -> None:
    """Measure the runs in turn, `rounds` times, `seconds` each in all (after one short
    unmeasured warm-up round): this machine's speed drifts by tens of percent over
    minutes (other work on the host), and a drift then weighs on every run alike."""
    for run in runs:
        asyncio.run(closed_loop(run.url, run.turns, 2.0, f"warm-{run.label}"))
    for number in range(rounds):
        for run in runs:
            run.measure(seconds / rounds, f"{run.label}-{number}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="measured seconds of each closed-loop run, over all rounds")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--long", type=int, default=200)
    parser.add_argument("--no-cluster", action="store_true")
    parser.add_argument("--no-breakdown", action="store_true")
    args = parser.parse_args(argv)
    model = PROJECT_ROOT / "models" / "assistant.tar.gz"
    if not model.exists():
        print("models/assistant.tar.gz is missing: run `make train` first", file=sys.stderr)
        return 1
    no_limits = {"RATE_LIMIT_BURST": "100000", "RATE_LIMIT_PER_MINUTE": "100000"}
    with ExitStack() as stack:
        stock_url = stack.enter_context(running_moodbot())
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        assistant = stack.enter_context(
            running_assistant(model, tmp / "one", {"VAR_DIR": str(tmp / "one"), **no_limits}))
        url = f"{assistant.rasa_url}/webhooks/rest/webhook"
        stock = Run(f"stock rasa init bot, {CONCURRENCY} conversations", "mood", stock_url,
                    MOODBOT_TURNS)
        faq = Run("assistant, FAQ conversations", "faq", url, FAQ_TURNS)
        report = Run("assistant, report start + cancel", "rep", url, REPORT_TURNS)
        runs = [stock, faq, report]
        if not args.no_cluster:
            cluster_url = stack.enter_context(running_cluster(2, tmp / "cluster"))
            cluster = Run("cluster of 2, FAQ conversations", "cluster", cluster_url, FAQ_TURNS)
            runs.append(cluster)
        print(f"bench-load: {len(runs)} closed-loop runs, interleaved in {args.rounds} rounds "
              f"of {args.seconds / args.rounds:g} s each...", flush=True)
        interleaved(runs, args.seconds, args.rounds)
        fixed = asyncio.run(open_loop(url, args.rate, args.seconds))
        early, late = asyncio.run(long_conversation(url, args.long))
    print("| run | msg/s | vs stock | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|---|---|")
    for run in runs:
        print(row(run.name, run.rate, run.latencies, None if run is stock else stock.rate))
        if run is report:
            print(row(f"assistant, open loop at {args.rate:g} msg/s", args.rate, fixed))
    print("\nEach round vs the stock bot's round of the same cycle:")
    for run in runs[1:]:
        print(f"- {run.name}: " + " ".join(
            f"{mine / theirs:.2f}×" for mine, theirs in zip(run.rates, stock.rates, strict=True)))
    print(f"\nMessage #{args.long} vs #2 of one conversation: {late:.0f} ms vs {early:.0f} ms "
          f"({late / early:.2f}×)")
    if not args.no_cluster:
        print(f"Cluster of 2 vs one process (FAQ): {cluster.rate / faq.rate:.2f}×")
    if not args.no_breakdown:
        print("\nWhere the time of one message goes:", flush=True)
        from scripts import bench_breakdown

        bench_breakdown.main([])
    return 0


if __name__ == "__main__":
    sys.exit(main())
