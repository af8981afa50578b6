"""Compare NLU pipelines on the held-out test set and by 5-fold cross-validation.

Usage: python scripts/eval_nlu.py [--configs configs/nlu/X.yml ...] [--no-cv] [--folds 5] [--force]

For each pipeline (by default Rasa's recommended default, the same plus
normalisation, and the chosen pipeline): trains an NLU model on data/ (timed,
size measured), parses tests/nlu/test_set.yml and tests/nlu/fallback_set.yml
and a typo-perturbed copy of the test set (one word in ten, seeded), and runs
`rasa test nlu --cross-validation` (5 folds: five more trainings per pipeline;
--no-cv skips it). Prints one table and writes results/eval_table.md,
per-intent reports and confusion-matrix PNGs under results/eval/<pipeline>/.

Scores are cached in results/eval/<pipeline>/scores.json under a fingerprint of
everything that can change them (the config, data/, domain.yml, tests/nlu/,
the project code the config uses); an unchanged pipeline is not trained again
unless --force is given. Training times are measured with Rasa's training cache
off, so every component is really trained.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import json
import logging
import os
import random
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")  # also keeps error reports off Sentry

logger = logging.getLogger(__name__)

RASA = str(ROOT / ".venv" / "bin" / "rasa")
FALLBACK_INTENTS = {"nlu_fallback", "out_of_scope"}
PROTECTED = re.compile(r"(https?://\S+|\S+\.\S+/\S*|lp[- ]?\w{6}|\d+)", re.IGNORECASE)
TYPO_RATE = 0.1
DEFAULT_CONFIGS = [
    ROOT / "configs" / "nlu" / "baseline.yml",
    ROOT / "configs" / "nlu" / "normalized.yml",
    ROOT / "configs" / "nlu" / "linear_e5.yml",
]
FINGERPRINT_INPUTS = ["data", "domain.yml", "tests/nlu"]
PROJECT_MODULE = re.compile(r"\b(bot(?:\.\w+)+)")


@dataclass
class Example:
    """One labelled utterance of the test set."""

    text: str
    intent: str  # full intent, e.g. "faq/hoax"
    entities: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class Scores:
    """The numbers reported for one pipeline."""

    name: str
    intent_accuracy: float = 0.0
    intent_macro_f1: float = 0.0
    faq_accuracy: float = 0.0
    entity_f1: float = 0.0
    fallback_caught: float = 0.0
    typo_accuracy: float = 0.0
    cv_intent_accuracy: float | None = None
    cv_intent_macro_f1: float | None = None
    cv_faq_accuracy: float | None = None
    train_seconds: float = 0.0
    model_mb: float = 0.0
    median_parse_ms: float = 0.0


def load_examples(path: Path) -> list[Example]:
    """Read a Rasa NLU YAML file into labelled examples."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    examples = []
    for message in data.intent_examples:
        entities = {
            (e["entity"], str(e.get("value", "")).lower()) for e in message.get("entities") or []
        }
        examples.append(Example(message.get("text"), message.get_full_intent(), entities))
    return examples


def add_typos(text: str, rng: random.Random) -> str:
    """Give about one word in ten a random typo (links, codes and numbers untouched)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = text.split(" ")
    for i, word in enumerate(words):
        if len(word) < 3 or PROTECTED.fullmatch(word) or rng.random() >= TYPO_RATE:
            continue
        pos = rng.randrange(len(word))
        kind = rng.choice(["swap", "drop", "insert", "replace"])
        if kind == "swap" and pos < len(word) - 1:
            word = word[:pos] + word[pos + 1] + word[pos] + word[pos + 2 :]
        elif kind == "drop":
            word = word[:pos] + word[pos + 1 :]
        elif kind == "insert":
            word = word[:pos] + rng.choice(letters) + word[pos:]
        else:
            word = word[:pos] + rng.choice(letters) + word[pos + 1 :]
        words[i] = word
    return " ".join(words)


def run_logged(command: list[str], log: Path, env: dict[str, str] | None = None) -> None:
    """Run a Rasa command with its output in `log`; on failure show the log's tail and stop."""
    with log.open("w") as output:
        result = subprocess.run(  # noqa: S603
            command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, env=env, check=False
        )
    if result.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        name = " ".join(command[1:3])
        raise SystemExit(f"rasa {name} failed (exit {result.returncode}); {log}:\n{tail}")


def train(config: Path, out_dir: Path) -> tuple[Path, float]:
    """Train an NLU-only model; return its path and the wall-clock training time."""
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    run_logged(
        [
            RASA,
            "train",
            "nlu",
            "--config",
            str(config),
            "--nlu",
            "data",
            "--domain",
            "domain.yml",
            "--out",
            str(out_dir),
            "--fixed-model-name",
            "nlu",
        ],
        out_dir / "train.log",
        # Rasa's training cache would restore unchanged components and shorten the time
        env={**os.environ, "RASA_MAX_CACHE_SIZE": "0"},
    )
    return out_dir / "nlu.tar.gz", time.perf_counter() - started


async def parse_all(model: Path, texts: list[str]) -> tuple[list[dict], list[float]]:
    """Parse every text with the model; return parses and per-message latencies (ms)."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    await agent.parse_message("halo")  # warm-up
    parses, times = [], []
    for text in texts:
        started = time.perf_counter()
        parse = await agent.parse_message(text)
        times.append((time.perf_counter() - started) * 1000)
        if parse.get("text") != text:
            logger.error("parse changed the message text: %r -> %r", text, parse.get("text"))
        for entity in parse.get("entities") or []:
            start, end = entity.get("start"), entity.get("end")
            if start is None or end is None or not 0 <= start < end <= len(text):
                logger.error("entity offsets outside the text: %r in %r", entity, text)
        parses.append(parse)
    return parses, times


def predicted_intent(parse: dict) -> str:
    """Full predicted intent: "faq/<topic>" from the response selector for FAQ."""
    name = (parse.get("intent") or {}).get("name") or ""
    if name == "faq":
        response = ((parse.get("response_selector") or {}).get("faq") or {}).get("response") or {}
        key = response.get("intent_response_key")
        if key:
            return key
    return name


def entity_f1(examples: list[Example], parses: list[dict]) -> float:
    """Micro F1 over (entity type, value) pairs per message."""
    tp = fp = fn = 0
    for example, parse in zip(examples, parses, strict=True):
        predicted = {
            (e["entity"], str(e.get("value", "")).lower()) for e in parse.get("entities") or []
        }
        tp += len(predicted & example.entities)
        fp += len(predicted - example.entities)
        fn += len(example.entities - predicted)
    if tp == 0:
        return 0.0
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return 2 * precision * recall / (precision + recall)


def cross_validate(config: Path, out_dir: Path, folds: int = 5) -> tuple[float, float]:
    """K-fold cross-validation on the training data; returns intent accuracy and macro F1."""
    out_dir.mkdir(parents=True, exist_ok=True)
    run_logged(
        [
            RASA,
            "test",
            "nlu",
            "--cross-validation",
            "--folds",
            str(folds),
            "--config",
            str(config),
            "--nlu",
            "data",
            "--domain",
            "domain.yml",
            "--out",
            str(out_dir),
        ],
        out_dir / "cross_validation.log",
    )
    report = json.loads((out_dir / "intent_report.json").read_text())
    return float(report["accuracy"]), float(report["macro avg"]["f1-score"])


def cv_faq_accuracy(out_dir: Path) -> float | None:
    """FAQ response-selection accuracy of a finished cross-validation, if it has one."""
    try:
        report = json.loads((out_dir / "response_selection_report.json").read_text())
    except (OSError, ValueError):
        return None
    return float(report["accuracy"]) if "accuracy" in report else None


def write_reports(name: str, examples: list[Example], predicted: list[str], out: Path) -> None:
    """Per-intent classification report (JSON) and a confusion-matrix PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay, classification_report

    gold = [e.intent.split("/")[0] for e in examples]
    pred = [p.split("/")[0] for p in predicted]
    report = classification_report(gold, pred, output_dict=True, zero_division=0)
    (out / "intent_report.json").write_text(json.dumps(report, indent=2))
    faq_gold = [e.intent for e in examples if e.intent.startswith("faq/")]
    faq_pred = [p for e, p in zip(examples, predicted, strict=True) if e.intent.startswith("faq/")]
    faq_report = classification_report(faq_gold, faq_pred, output_dict=True, zero_division=0)
    (out / "faq_report.json").write_text(json.dumps(faq_report, indent=2))
    labels = sorted(set(gold) | set(pred))
    fig, ax = plt.subplots(figsize=(12, 12))
    ConfusionMatrixDisplay.from_predictions(
        gold, pred, labels=labels, ax=ax, xticks_rotation="vertical", colorbar=False
    )
    ax.set_title(f"Intent confusion matrix: {name}")
    fig.tight_layout()
    fig.savefig(out / "confusion_matrix.png", dpi=90)
    plt.close(fig)


def project_sources(text: str) -> set[Path]:
    """Project modules a config names (`bot.nlu.x.Class`), with the project modules they import."""
    found: set[Path] = set()
    pending = [m.group(1) for m in PROJECT_MODULE.finditer(text)]
    while pending:
        parts = pending.pop().split(".")
        for end in range(len(parts), 1, -1):
            file = ROOT.joinpath(*parts[:end]).with_suffix(".py")
            if file.is_file():
                if file not in found:
                    found.add(file)
                    source = file.read_text(encoding="utf-8")
                    pending += [m.group(1) for m in PROJECT_MODULE.finditer(source)]
                    found |= {p for p in file.parent.glob("*.yml")}  # lexicons next to the code
                break
    return found


def fingerprint(config: Path, folds: int) -> str:
    """Hash of the config and every input that can change a pipeline's scores."""
    config_text = config.read_text(encoding="utf-8")
    digest = hashlib.sha256(config_text.encode())
    digest.update(f"folds={folds}".encode())
    files: list[Path] = sorted(project_sources(config_text))
    for entry in FINGERPRINT_INPUTS:
        path = ROOT / entry
        files += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if "__pycache__" in file.parts:
            continue
        digest.update(str(file.relative_to(ROOT)).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


def cached_scores(config: Path, key: str) -> Scores | None:
    """Scores stored by an earlier run with the same fingerprint, if any."""
    path = ROOT / "results" / "eval" / config.stem / "scores.json"
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if stored.get("fingerprint") != key:
        return None
    return Scores(**stored["scores"])


def store_scores(config: Path, key: str, scores: Scores) -> None:
    """Remember a pipeline's scores under its fingerprint."""
    path = ROOT / "results" / "eval" / config.stem / "scores.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"fingerprint": key, "scores": dataclasses.asdict(scores)}, indent=2)
    )


def evaluate_cached(config: Path, run_cv: bool, folds: int, force: bool) -> Scores:
    """Scores for one pipeline: from the cache when its inputs are unchanged."""
    key = fingerprint(config, folds)
    cached = cached_scores(config, key)
    if cached is None or force:
        scores = evaluate(config)
        if cached is not None:  # same inputs: the cross-validation results still hold
            scores.cv_intent_accuracy = cached.cv_intent_accuracy
            scores.cv_intent_macro_f1 = cached.cv_intent_macro_f1
            scores.cv_faq_accuracy = cached.cv_faq_accuracy
        store_scores(config, key, scores)
    else:
        scores = cached
        print(f"  {config.stem}: inputs unchanged since the last run, scores reused")
    if run_cv and scores.cv_intent_accuracy is None:
        out = ROOT / "results" / "eval" / config.stem / "cv"
        scores.cv_intent_accuracy, scores.cv_intent_macro_f1 = cross_validate(config, out, folds)
        scores.cv_faq_accuracy = cv_faq_accuracy(out)
        store_scores(config, key, scores)
    return scores


def evaluate(config: Path) -> Scores:
    """Train, parse the test sets and compute every test-set score for one pipeline."""
    from sklearn.metrics import f1_score

    name = config.stem
    out = ROOT / "results" / "eval" / name
    model, seconds = train(config, out)
    scores = Scores(name, train_seconds=seconds, model_mb=model.stat().st_size / 1e6)

    test = load_examples(ROOT / "tests" / "nlu" / "test_set.yml")
    fallback = load_examples(ROOT / "tests" / "nlu" / "fallback_set.yml")
    rng = random.Random(13)  # noqa: S311 (reproducible typos, not security)
    typo_texts = [add_typos(e.text, rng) for e in test]
    parses, times = asyncio.run(
        parse_all(model, [e.text for e in test] + [e.text for e in fallback] + typo_texts)
    )
    n, m = len(test), len(fallback)
    test_parses, fallback_parses, typo_parses = parses[:n], parses[n : n + m], parses[n + m :]
    predicted = [predicted_intent(p) for p in test_parses]
    gold_intents = [e.intent.split("/")[0] for e in test]
    pred_intents = [p.split("/")[0] for p in predicted]
    scores.intent_accuracy = (
        sum(g == p for g, p in zip(gold_intents, pred_intents, strict=True)) / n
    )
    scores.intent_macro_f1 = float(
        f1_score(gold_intents, pred_intents, average="macro", zero_division=0)
    )
    faq = [
        (e.intent, p) for e, p in zip(test, predicted, strict=True) if e.intent.startswith("faq/")
    ]
    scores.faq_accuracy = sum(g == p for g, p in faq) / max(len(faq), 1)
    scores.entity_f1 = entity_f1(test, test_parses)
    scores.fallback_caught = sum(
        predicted_intent(p).split("/")[0] in FALLBACK_INTENTS for p in fallback_parses
    ) / max(m, 1)
    typo_pred = [predicted_intent(p).split("/")[0] for p in typo_parses]
    scores.typo_accuracy = sum(g == p for g, p in zip(gold_intents, typo_pred, strict=True)) / n
    scores.median_parse_ms = statistics.median(times[: n + m])
    write_reports(name, test, predicted, out)
    return scores


def table(all_scores: list[Scores]) -> str:
    """A Markdown table of the scores."""

    def fmt(value: float | None, digits: int = 3) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    head = (
        "| pipeline | intent acc | intent macro-F1 | FAQ selection | entity F1 | "
        "fallback caught | typo acc (drop) | CV acc | CV macro-F1 | CV FAQ | train s | model MB | "
        "median parse ms |"
    )
    rows = [head, "|" + "---|" * 13]
    for s in all_scores:
        drop = (s.intent_accuracy - s.typo_accuracy) * 100
        rows.append(
            f"| {s.name} | {fmt(s.intent_accuracy)} | {fmt(s.intent_macro_f1)} | "
            f"{fmt(s.faq_accuracy)} | {fmt(s.entity_f1)} | {fmt(s.fallback_caught)} | "
            f"{fmt(s.typo_accuracy)} ({drop:.1f} pt) | {fmt(s.cv_intent_accuracy)} | "
            f"{fmt(s.cv_intent_macro_f1)} | {fmt(s.cv_faq_accuracy)} | "
            f"{s.train_seconds:.0f} | {s.model_mb:.1f} | "
            f"{s.median_parse_ms:.1f} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """Evaluate the pipelines and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--configs", nargs="+", type=Path, default=DEFAULT_CONFIGS)
    parser.add_argument("--no-cv", action="store_true", help="skip k-fold cross-validation")
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds")
    parser.add_argument(
        "--force",
        action="store_true",
        help="retrain and rescore (cross-validation results of unchanged inputs are kept)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "eval_table.md")
    args = parser.parse_args(argv)
    run_cv = not args.no_cv
    from rasa.utils.log_utils import configure_structlog

    # Rasa's structlog prints every parse at debug level unless configured, which
    # floods the output and adds rendering time to the measured parse latency.
    configure_structlog(logging.WARNING)
    all_scores = []
    for config in args.configs:
        print(f"evaluating {config.stem} ...", flush=True)
        all_scores.append(evaluate_cached(config, run_cv, args.folds, args.force))
    result = table(all_scores)
    command = "python scripts/eval_nlu.py " + " ".join(argv if argv is not None else sys.argv[1:])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        f"# NLU pipeline comparison\n\nMeasured {time.strftime('%Y-%m-%d %H:%M')} with "
        f"`{command.strip()}` on tests/nlu (test set: intents, FAQ, entities, typo copy; "
        f"fallback set: out-of-scope and gibberish); CV: {args.folds}-fold cross-validation "
        f"on data/ (`rasa test nlu --cross-validation`, intent level).\n\n{result}\n"
    )
    print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
