"""Screenshot reading: link and handle recall, and time per image (make bench-ocr).

Reads the rendered corpus of tests/screenshot_corpus.py (the test's: seed 19, 10
per platform) and a held-out one the reader was never tuned on (seed 7, 15 per
platform), one image at a time on one core (OMP_THREAD_LIMIT=1, as in the action
server), and prints recall and the median / 90th-percentile seconds per image
(two tesseract passes each, decoding and preparing included).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.ocr.reader import OcrReader, tesseract_available  # noqa: E402
from bot.ocr.recall import Labelled, measure  # noqa: E402
from tests.screenshot_corpus import build_corpus  # noqa: E402

CORPORA = (("test corpus (seed 19, 10 per platform)", 19, 10),
           ("held-out corpus (seed 7, 15 per platform)", 7, 15))


def main(argv: list[str] | None = None) -> int:
    """Print recall and time per image for each corpus."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--misses", action="store_true", help="list what was not found")
    args = parser.parse_args(argv)
    if not tesseract_available():
        print("tesseract is not installed: run scripts/system_deps.sh", file=sys.stderr)
        return 1
    reader = OcrReader(concurrency=1, timeout=60)
    for title, seed, per_platform in CORPORA:
        corpus = build_corpus(per_platform=per_platform, seed=seed)
        recall = measure((Labelled(s.name, s.data, s.handle, s.url) for s in corpus), reader)
        times = sorted(recall.seconds)
        p90 = times[min(len(times) - 1, int(len(times) * 0.9))]
        print(f"{title}: {recall.images} images")
        print(f"  links   {recall.urls_found}/{recall.urls} = {recall.url_recall:.3f}")
        print(f"  handles {recall.handles_found}/{recall.images} = {recall.handle_recall:.3f}"
              f" (first handle offered right: {recall.first_handle_right}/{recall.images})")
        print(f"  seconds per image: median {statistics.median(times):.2f}, p90 {p90:.2f},"
              f" max {times[-1]:.2f}")
        if args.misses:
            for miss in recall.misses:
                print(f"    missed {miss}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
