"""Measure the assistant's speed: start-up, REST round trips and NLU parse time.

Usage: python scripts/bench.py [--runs 5] [--messages 30]
Prints medians over several runs; never used as a test assertion.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.settings import PROJECT_ROOT  # noqa: E402
from tests.integration.servers import running_assistant  # noqa: E402

logger = logging.getLogger(__name__)

MESSAGES = [
    "halo",
    "kapan masa tenang pilkada",
    "apa itu politik uang",
    "asn boleh like postingan caleg gak",
    "cek status LP-7K3QX9",
    "makasih min",
    "ini bot ya",
    "sanksi sebar hoaks apa",
]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print one table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--messages", type=int, default=40)
    args = parser.parse_args(argv)
    model = PROJECT_ROOT / "models" / "assistant.tar.gz"
    if not model.exists():
        print("models/assistant.tar.gz is missing: run `make train` first", file=sys.stderr)
        return 1

    startups, first_replies, round_trips = [], [], []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            with running_assistant(model, Path(tmp), {"VAR_DIR": tmp}) as assistant:
                startups.append(time.perf_counter() - started)
                t0 = time.perf_counter()
                assistant.say(f"bench-{run}", "halo")
                first_replies.append((time.perf_counter() - t0) * 1000)
                for i in range(args.messages):
                    text = MESSAGES[i % len(MESSAGES)]
                    t0 = time.perf_counter()
                    assistant.say(f"bench-{run}-{i % 5}", text)
                    round_trips.append((time.perf_counter() - t0) * 1000)
    print(f"runs: {args.runs}, messages per run: {args.messages}")
    print(f"start-up until both servers answer (median): {statistics.median(startups):.1f} s")
    print(f"first reply to 'halo' (median):              {statistics.median(first_replies):.0f} ms")
    print(f"REST round trip incl. actions (median):      {statistics.median(round_trips):.0f} ms")
    q = statistics.quantiles(round_trips, n=20)
    print(f"REST round trip p95:                         {q[-1]:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
