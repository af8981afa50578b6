"""Move labelled inbox entries into the training data (`make nlu-accept FILE=...`).

The labelled file is what `make nlu-inbox` wrote, with `label:` filled in by a
trainer: an intent of domain.yml (`report_violation`) or an FAQ topic
(`faq/quiet_period`). It is hostile input: read with `yaml.safe_load`, at most
`MAX_FILE_BYTES`, `MAX_ENTRIES` entries of at most `MAX_TEXT_CHARS` characters.

Each labelled entry is appended under the examples of its intent in the
data/nlu/*.yml file that already holds that intent (FAQ topics: data/nlu/faq.yml),
as a line of text after that block's last example, so the file's comments, order
and layout stay as they are. An entry is refused, with the reason printed, when

- its label is no intent of domain.yml (`faq` alone, `nlu_fallback`) or no FAQ
  topic with an answer (`utter_faq/<topic>`), or no data/nlu file holds it;
- its text is already a training example (compared as `example_key`: case,
  punctuation, spacing and stretched letters ignored), or an earlier entry of
  the same file;
- its text is in the held-out test sets (tests/nlu/*.yml), or is one of their
  messages slightly reworded (`near_duplicate`, the rule tests/unit/test_nlu_sets.py
  applies to all the data): it would stop measuring what the model never saw;
- the scrubber still finds personal data in it (a phone number, e-mail, NIK,
  card number, handle or name typed in by the trainer);
- it is empty, too long, or has characters that would change the YAML or Rasa's
  entity markup (line breaks, control characters, `[ ] { }`).

Entries left blank, and refused ones (with `refused:` saying why), stay in the
labelled file; accepted ones leave it. Then `rasa data validate --fail-on-warnings`
runs; if it fails, every data file is restored and the labelled file is left as it
was.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.settings import PROJECT_ROOT
from bot.trainers.examples import example_key, near_duplicate
from bot.trainers.scrubber import find_personal_data

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_ENTRIES = 5000
MAX_TEXT_CHARS = 300
FAQ_PREFIX = "faq/"
_LABEL = re.compile(r"^[a-z][a-z0-9_]{0,60}(?:/[a-z0-9_]{1,60})?$")
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\[\]{}]")
_INTENT_LINE = re.compile(r"^(\s*)-\s+intent:\s*[\"']?([^\"'#\s]+)[\"']?\s*(?:#.*)?$")
_EXAMPLES_LINE = re.compile(r"^(\s*)examples:\s*\|[-+]?\s*(?:#.*)?$")


class LabelledFileError(ValueError):
    """The labelled file cannot be read as an inbox file."""


@dataclass
class Outcome:
    """What happened to the labelled file's entries."""

    accepted: list[tuple[str, str, Path]] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)
    blank: int = 0
    validated: bool = False


@dataclass(frozen=True)
class Project:
    """The files of one project copy the accept step reads and writes."""

    root: Path

    @property
    def nlu_dir(self) -> Path:
        return self.root / "data" / "nlu"

    @property
    def test_dir(self) -> Path:
        return self.root / "tests" / "nlu"


def read_labelled(path: Path) -> tuple[str, dict[str, Any]]:
    """The labelled file's header comment and its mapping, checked for shape."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise LabelledFileError(f"{path} is {size} bytes; at most {MAX_FILE_BYTES}")
    raw = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise LabelledFileError(f"{path} is no valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise LabelledFileError(f"{path}: expected a mapping with a list `entries`")
    if len(data["entries"]) > MAX_ENTRIES:
        raise LabelledFileError(f"{path}: more than {MAX_ENTRIES} entries")
    header = "".join(line + "\n" for line in raw.splitlines() if line.startswith("#")
                     and not line.startswith("# refused"))
    return header, data


def _yaml_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.yml")) if directory.is_dir() else []


def known_labels(project: Project) -> tuple[set[str], set[str]]:
    """(intents of domain.yml, FAQ topics with an answer `utter_faq/<topic>`)."""
    domain = yaml.safe_load((project.root / "domain.yml").read_text(encoding="utf-8")) or {}
    intents = set()
    for item in domain.get("intents") or []:
        name = next(iter(item)) if isinstance(item, dict) else item
        intents.add(str(name))
    responses: set[str] = set(domain.get("responses") or {})
    for path in (project.root / "data").rglob("*.yml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if isinstance(data, dict) and isinstance(data.get("responses"), dict):
            responses |= set(data["responses"])
    topics = {name.removeprefix("utter_") for name in responses
              if name.startswith(f"utter_{FAQ_PREFIX}")}
    return intents, topics


def _examples(paths: Iterable[Path]) -> dict[str, str]:
    """example_key -> label of every example in the Rasa NLU files `paths`."""
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    found: dict[str, str] = {}
    for path in paths:
        data = RasaYAMLReader().read(str(path))
        for message in data.intent_examples:
            label = message.get("intent_response_key") or message.get("intent")
            found.setdefault(example_key(message.get("text") or ""), str(label))
    return found


def intent_files(project: Project) -> dict[str, Path]:
    """intent (or faq/<topic>) -> the data/nlu file holding most of its examples.

    An intent can have examples in several files (the topic's own file and, say,
    `code_mixed.yml`); new examples go to the file that holds most of them.
    """
    counts: dict[str, dict[Path, int]] = {}
    for path in _yaml_files(project.nlu_dir):
        current: str | None = None
        for line in path.read_text(encoding="utf-8").splitlines():
            match = _INTENT_LINE.match(line)
            if match:
                current = match.group(2)
                counts.setdefault(current, {}).setdefault(path, 0)
            elif re.match(r"\s*- (synonym|regex|lookup):", line):
                current = None
            elif current is not None and re.match(r"\s+- \S", line):
                counts[current][path] += 1
    # max() keeps the first of equals: ties go to the file that sorts first.
    return {intent: max(files, key=files.__getitem__) for intent, files in counts.items()}


def refusal(entry: Any, label: str, intents: set[str], topics: set[str],
            files: dict[str, Path], training: dict[str, str], held_out: dict[str, str],
            taken: set[str]) -> str | None:
    """Why `entry` cannot be accepted under `label`, or None."""
    text = entry.get("text")
    if not isinstance(text, str) or not text.strip():
        return "the entry has no text"
    text = text.strip()
    if len(text) > MAX_TEXT_CHARS:
        return f"the text is longer than {MAX_TEXT_CHARS} characters"
    if _FORBIDDEN.search(text):
        return "the text has a line break, a control character or [ ] { } (entity markup)"
    if not _LABEL.match(label):
        return f"{label[:80]!r} is not an intent name"
    if label.startswith(FAQ_PREFIX):
        if "faq" not in intents or label not in topics:
            return f"unknown FAQ topic {label!r} (no answer utter_{label} in the domain)"
    elif label not in intents or label in ("faq", "nlu_fallback"):
        hint = ": pick a topic, faq/<topic>" if label == "faq" else ""
        return f"unknown intent {label!r}{hint}"
    if label not in files:
        return f"no data/nlu file holds examples of {label!r}"
    kinds = find_personal_data(text)
    if kinds:
        return "personal data still in the text (" + ", ".join(kinds) + "): scrub it first"
    key = example_key(text)
    if not key:
        return "the text has no words"
    if key in held_out:
        return f"the text is in the held-out test set (as {held_out[key]}): never train on it"
    close = near_duplicate(key, held_out) if len(key) >= 6 else None
    if close is not None:
        return (f"the text is a held-out test message slightly reworded ({close!r}, as "
                f"{held_out[close]}): write a different example of the same idea")
    if key in training:
        return f"already a training example (of {training[key]})"
    if key in taken:
        return "the same text as an earlier entry of this file"
    return None


def insert_examples(path: Path, additions: dict[str, list[str]]) -> None:
    """Append the texts under each intent's `examples: |` block of `path`, after the
    block's last example line; everything else in the file stays byte for byte."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for label, texts in additions.items():
        start = next((i for i, line in enumerate(lines)
                      if (m := _INTENT_LINE.match(line.rstrip("\n"))) and m.group(2) == label),
                     None)
        if start is None:
            raise LabelledFileError(f"{path}: no `- intent: {label}`")
        examples = None
        for index in range(start + 1, len(lines)):
            if _INTENT_LINE.match(lines[index].rstrip("\n")):
                break
            match = _EXAMPLES_LINE.match(lines[index].rstrip("\n"))
            if match:
                examples = (index, len(match.group(1)))
                break
        if examples is None:
            raise LabelledFileError(f"{path}: `{label}` has no `examples: |` block")
        index, key_indent = examples
        last, item_indent = index, " " * (key_indent + 2)
        for position in range(index + 1, len(lines)):
            line = lines[position]
            if not line.strip():
                continue
            indent = len(line) - len(line.lstrip(" "))
            if indent <= key_indent:
                break
            if last == index:
                item_indent = line[:indent]
            last = position
        if not lines[last].endswith("\n"):
            lines[last] += "\n"
        lines[last + 1:last + 1] = [f"{item_indent}- {text}\n" for text in texts]
    _write_atomic(path, "".join(lines))


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    if path.exists():
        os.chmod(temporary, path.stat().st_mode & 0o777)
    os.replace(temporary, path)


def validate(project: Project) -> tuple[bool, str]:
    """Run `rasa data validate --fail-on-warnings` in the project; (passed, output)."""
    rasa = Path(sys.executable).with_name("rasa")
    command = [str(rasa), "data", "validate", "--fail-on-warnings", "--data", "data",
               "--domain", "domain.yml", "--config", "config.yml"]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    result = subprocess.run(command, cwd=project.root, capture_output=True, text=True,  # noqa: S603
                            env=env, timeout=600, check=False)
    return result.returncode == 0, (result.stdout + result.stderr)[-3000:]


def accept(labelled: Path, project: Project, run_validate: bool = True) -> Outcome:
    """Accept the labelled entries of `labelled` into `project` (see the module)."""
    header, data = read_labelled(labelled)
    intents, topics = known_labels(project)
    files = intent_files(project)
    training = _examples(_yaml_files(project.nlu_dir))
    held_out = _examples(_yaml_files(project.test_dir))
    outcome = Outcome()
    kept: list[Any] = []
    additions: dict[Path, dict[str, list[str]]] = {}
    taken: set[str] = set()
    for number, entry in enumerate(data["entries"], start=1):
        if not isinstance(entry, dict):
            outcome.refused.append((number, "the entry is not a mapping"))
            continue
        entry = {key: value for key, value in entry.items() if key != "refused"}
        raw_label = entry.get("label")
        if raw_label is None or (isinstance(raw_label, str) and not raw_label.strip()):
            outcome.blank += 1
            kept.append(entry)
            continue
        label = str(raw_label).strip()
        reason = refusal(entry, label, intents, topics, files, training, held_out, taken)
        if reason:
            outcome.refused.append((number, reason))
            kept.append({**entry, "refused": reason})
            continue
        text = " ".join(str(entry["text"]).split())
        taken.add(example_key(text))
        additions.setdefault(files[label], {}).setdefault(label, []).append(text)
        outcome.accepted.append((text, label, files[label]))
    originals = {path: path.read_bytes() for path in additions}
    try:
        for path, by_label in additions.items():
            insert_examples(path, by_label)
        _check_written(project, outcome)
        if run_validate and additions:
            passed, output = validate(project)
            if not passed:
                raise LabelledFileError("rasa data validate failed; nothing was changed:\n"
                                        + output)
            outcome.validated = True
    except Exception:
        for path, content in originals.items():
            path.write_bytes(content)
        raise
    remaining = {key: value for key, value in data.items() if key != "entries"}
    remaining["entries"] = kept
    body = yaml.safe_dump(remaining, allow_unicode=True, sort_keys=False, width=100)
    _write_atomic(labelled, header + body.replace("  label: null\n", "  label:\n"))
    return outcome


def _check_written(project: Project, outcome: Outcome) -> None:
    """Every accepted text now reads back from the data under its label."""
    written = _examples(_yaml_files(project.nlu_dir))
    for text, label, path in outcome.accepted:
        if written.get(example_key(text)) != label:
            raise LabelledFileError(f"{path}: {text!r} did not read back as {label}")


def main(argv: list[str] | None = None) -> int:
    """Command line; exit status 1 when the file is unreadable or validation fails."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path, help="the labelled inbox file")
    parser.add_argument("--project", type=Path, default=PROJECT_ROOT,
                        help="the project whose data/nlu receives the examples")
    parser.add_argument("--no-validate", action="store_true",
                        help="skip `rasa data validate` (tests of the refusals)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        outcome = accept(args.file, Project(args.project.resolve()), not args.no_validate)
    except (LabelledFileError, OSError) as exc:
        print(f"nlu-accept: {exc}", file=sys.stderr)
        return 1
    for text, label, path in outcome.accepted:
        print(f"accepted: {text!r} -> {label} ({path.relative_to(args.project.resolve())})")
    for number, reason in outcome.refused:
        print(f"refused: entry {number}: {reason}")  # no text: it may hold personal data
    if outcome.validated:
        print("rasa data validate --fail-on-warnings: passed")
    print(f"{len(outcome.accepted)} accepted, {len(outcome.refused)} refused, "
          f"{outcome.blank} left blank (kept in {args.file})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
