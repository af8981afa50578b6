"""A static HTML page of what `rasa test nlu` wrote, for trainers (`make test-nlu`).

`python -m bot.trainers.nlu_report results/nlu` writes `results/nlu/report.html`:
the accuracies against `make test`'s floors with their margins, the per-intent and
per-FAQ-topic tables (precision, recall, f1, support, what each was confused with;
weakest first), the most confident mistakes from intent_errors.json and
response_selection_errors.json, and the confusion matrices and histograms Rasa
drew, next to the page. Every text is HTML-escaped (test texts and labels are data,
not markup), and the page loads nothing but those images.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).with_name("templates")
MAX_ERRORS = 40
#: Images Rasa writes, in the order shown.
IMAGES = (
    ("intent_confusion_matrix.png", "Intent confusion matrix"),
    ("intent_histogram.png", "Intent confidence histogram"),
    ("response_selection_confusion_matrix.png", "FAQ topic confusion matrix"),
    ("response_selection_histogram.png", "FAQ topic confidence histogram"),
)
_SUMMARY_KEYS = {"accuracy", "macro avg", "weighted avg", "micro avg"}


@dataclass(frozen=True)
class Row:
    """One intent's or topic's scores."""

    name: str
    precision: float
    recall: float
    f1: float
    support: int
    confused_with: list[tuple[str, int]]


@dataclass(frozen=True)
class ErrorRow:
    """One misclassified test example."""

    text: str
    expected: str
    predicted: str
    confidence: float


@dataclass(frozen=True)
class Part:
    """The intent or the FAQ half of the page."""

    accuracy: float
    floor: float
    support: int
    rows: list[Row]
    errors: list[ErrorRow]

    @property
    def margin(self) -> float:
        """How far above the floor (negative: `make test` fails)."""
        return self.accuracy - self.floor

    @property
    def margin_examples(self) -> int:
        """The margin as a number of test examples (rounded down): how many more
        mistakes `make test` tolerates."""
        return math.floor(round(self.margin * self.support, 6))


def _read_json(path: Path) -> Any:
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def rows(report: dict[str, Any]) -> list[Row]:
    """The per-label rows of a Rasa classification report, weakest f1 first."""
    result = []
    for name, scores in report.items():
        if name in _SUMMARY_KEYS or not isinstance(scores, dict):
            continue
        confused = scores.get("confused_with") or {}
        result.append(Row(
            name=str(name), precision=_number(scores.get("precision")),
            recall=_number(scores.get("recall")), f1=_number(scores.get("f1-score")),
            support=int(_number(scores.get("support"))),
            confused_with=sorted(((str(k), int(_number(v))) for k, v in confused.items()),
                                 key=lambda pair: -pair[1])))
    return sorted(result, key=lambda row: (row.f1, row.name))


def intent_errors(errors: list[dict[str, Any]]) -> list[ErrorRow]:
    """Rows of intent_errors.json, most confident first."""
    result = []
    for error in errors or []:
        prediction = error.get("intent_prediction") or {}
        result.append(ErrorRow(str(error.get("text", "")), str(error.get("intent", "")),
                               str(prediction.get("name", "")),
                               _number(prediction.get("confidence"))))
    return sorted(result, key=lambda row: -row.confidence)[:MAX_ERRORS]


def selection_errors(errors: list[dict[str, Any]]) -> list[ErrorRow]:
    """Rows of response_selection_errors.json, most confident first."""
    result = []
    for error in errors or []:
        prediction = error.get("intent_response_key_prediction") or {}
        result.append(ErrorRow(str(error.get("text", "")),
                               str(error.get("intent_response_key_target", "")),
                               str(prediction.get("name", "")),
                               _number(prediction.get("confidence"))))
    return sorted(result, key=lambda row: -row.confidence)[:MAX_ERRORS]


def _part(report: dict[str, Any] | None, errors: list[ErrorRow], floor: float) -> Part | None:
    if not isinstance(report, dict):
        return None
    table = rows(report)
    return Part(accuracy=_number(report.get("accuracy")), floor=floor,
                support=sum(row.support for row in table), rows=table, errors=errors)


def render(results: Path, min_intent: float, min_faq: float) -> str:
    """The page's HTML."""
    intent = _part(_read_json(results / "intent_report.json"),
                   intent_errors(_read_json(results / "intent_errors.json") or []), min_intent)
    if intent is None:
        raise FileNotFoundError(f"{results / 'intent_report.json'} is missing: "
                                "did `rasa test nlu` run?")
    faq = _part(_read_json(results / "response_selection_report.json"),
                selection_errors(_read_json(results / "response_selection_errors.json") or []),
                min_faq)
    images = [{"src": name, "title": title} for name, title in IMAGES
              if (results / name).exists()]
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                                     autoescape=True, undefined=jinja2.StrictUndefined)
    return environment.get_template("nlu_report.html").render(intent=intent, faq=faq,
                                                              images=images)


def main(argv: list[str] | None = None) -> int:
    """Write report.html into the results folder; print its path."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results_dir", type=Path)
    parser.add_argument("--min-intent-accuracy", type=float, default=0.95)
    parser.add_argument("--min-faq-accuracy", type=float, default=0.92)
    args = parser.parse_args(argv)
    out = args.results_dir / "report.html"
    try:
        out.write_text(render(args.results_dir, args.min_intent_accuracy,
                              args.min_faq_accuracy), encoding="utf-8")
    except FileNotFoundError as exc:
        print(f"nlu-report: {exc}", file=sys.stderr)
        return 1
    print(f"NLU report: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
