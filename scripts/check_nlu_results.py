"""Fail when the NLU test-set scores written by `rasa test nlu` drop below targets.

Usage: python scripts/check_nlu_results.py results/nlu [--min-intent-accuracy 0.9]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

logger = logging.getLogger(__name__)


def read_accuracy(report_path: Path) -> float:
    """Return the overall accuracy stored in a Rasa classification report."""
    if not report_path.exists():
        raise FileNotFoundError(f"{report_path} is missing: did `rasa test nlu` run?")
    report = json.loads(report_path.read_text(encoding="utf-8"))
    return float(report["accuracy"])


def main(argv: list[str] | None = None) -> int:
    """Compare the scores with the thresholds and print a one-line summary."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results_dir", type=Path)
    parser.add_argument("--min-intent-accuracy", type=float, default=0.90)
    parser.add_argument("--min-faq-accuracy", type=float, default=0.85)
    args = parser.parse_args(argv)

    intent = read_accuracy(args.results_dir / "intent_report.json")
    faq = read_accuracy(args.results_dir / "response_selection_report.json")
    print(f"NLU test set: intent accuracy {intent:.3f}, FAQ response selection {faq:.3f}")
    failures = []
    if intent < args.min_intent_accuracy:
        failures.append(f"intent accuracy {intent:.3f} < {args.min_intent_accuracy}")
    if faq < args.min_faq_accuracy:
        failures.append(f"FAQ selection accuracy {faq:.3f} < {args.min_faq_accuracy}")
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
