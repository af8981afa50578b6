"""Train what changed and swap the model into the running servers (`make reload`).

1. **What changed**: the training inputs (config.yml, domain.yml, data/**/*.yml,
   bot/nlu/*, bot/policies/*, the question words of bot/question_form.py) newer
   than the model file, as `make train` decides.
2. **Train only that**:
   - Only examples without entities changed (the data's `bot.nlu.data_shape` is the
     one the running model was trained on; what `make nlu-accept` writes): re-fit the
     intent classifier and the FAQ selector on all the data and keep every other
     component of the running model (`bot.trainers.patch`, seconds).
   - Otherwise `rasa train` re-uses every component whose inputs did not change from
     Rasa's graph cache (`.rasa/cache` of the checkout, or RASA_CACHE_DIRECTORY), so
     the dialogue policies come back from the cache when only NLU data changed, and
     the sentence embeddings of unchanged examples come from
     `bot.nlu.embedding_cache`. The NLU components that learn from the examples (the
     featurizers' vocabularies, DIET, the intent and FAQ classifiers) are trained
     afresh on all the data. `--full` asks for this path in any case.

   Not fine-tuning: `rasa train --finetune` (with `--epoch-fraction`) would cut
   DIET's 100 epochs, but a model fine-tuned here fails
   on some messages (Rasa 3.6.21's DIET raises a TensorFlow "out of bounds" error
   in its sparse feature layer for 2 of the 453 held-out test sentences, and after
   a few reloads for everyday messages), so it is not used. Worse, Rasa stores the
   fine-tuned DIET in the graph cache under the key of a normal training of the
   same data, so a later `rasa train` restores the broken component: after any
   `--finetune` run, delete `.rasa/cache`.
3. **Swap**: the new model replaces the model file atomically (the previous one is
   kept as `<name>.previous.tar.gz` to roll back), then every running server is
   asked to reload it (`POST /webhooks/model/reload`, channels/model_reload.py,
   with MODEL_RELOAD_TOKEN): it loads the model off its event loop and swaps it in;
   conversations in progress continue.

Prints how long each step took; the last line is the total.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bot.privacy import model_reload_token
from bot.question_form import QUESTION_WORDS_FILE
from bot.settings import PROJECT_ROOT
from bot.trainers.patch import patch_model

logger = logging.getLogger(__name__)

TRAIN_TIMEOUT = 3600
SWAP_TIMEOUT = 600


@dataclass(frozen=True)
class Plan:
    """What changed: `none`, `nlu` (NLU data only) or `full` (anything else)."""

    kind: str
    changed: tuple[Path, ...]


def training_inputs(project: Path) -> list[Path]:
    """The files the model depends on (the Makefile's TRAIN_INPUTS)."""
    files = [project / "config.yml", project / "domain.yml"]
    files += sorted((project / "data").rglob("*.yml"))
    for package in ("nlu", "policies"):
        files += sorted(path for path in (PROJECT_ROOT / "bot" / package).rglob("*")
                        if path.suffix in (".py", ".yml") and "__pycache__" not in path.parts)
    files += [PROJECT_ROOT / "bot" / "question_form.py", QUESTION_WORDS_FILE]
    return [path for path in files if path.exists()]


def plan(project: Path, model: Path) -> Plan:
    """Which inputs are newer than `model`, and what that asks for."""
    if not model.exists():
        return Plan("full", ())
    built = model.stat().st_mtime
    changed = tuple(path for path in training_inputs(project) if path.stat().st_mtime > built)
    if not changed:
        return Plan("none", ())
    nlu_dir = project / "data" / "nlu"
    if all(path.is_relative_to(nlu_dir) for path in changed):
        return Plan("nlu", changed)
    return Plan("full", changed)


def _rasa() -> str:
    return str(Path(sys.executable).with_name("rasa"))


def train(project: Path, model: Path) -> tuple[Path, str]:
    """Train into a temporary file next to `model`; return it and how it was trained."""
    out_dir = Path(tempfile.mkdtemp(prefix=".reload-", dir=model.parent))
    command = [_rasa(), "train", "--config", "config.yml", "--domain", "domain.yml",
               "--data", "data", "--out", str(out_dir), "--fixed-model-name", "next"]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT),
           "RASA_CACHE_DIRECTORY": os.environ.get("RASA_CACHE_DIRECTORY")
           or str(PROJECT_ROOT / ".rasa" / "cache")}
    log_path = project / "results" / "reload" / "train.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w", encoding="utf-8") as log:
        result = subprocess.run(command, cwd=project, env=env,  # noqa: S603
                                stdout=log, stderr=subprocess.STDOUT, text=True,
                                timeout=TRAIN_TIMEOUT, check=False)
    trained = out_dir / "next.tar.gz"
    if result.returncode == 0 and trained.exists():
        text = log_path.read_text(encoding="utf-8", errors="replace")
        restored = text.count("from cache.")
        return trained, f"{restored} components restored from Rasa's cache"
    tail = log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
    logger.warning("Training failed (log %s):\n%s", log_path, tail)
    shutil.rmtree(out_dir, ignore_errors=True)
    raise RuntimeError(f"training failed; the running model is unchanged (log {log_path})")


def refit(project: Path, model: Path) -> tuple[Path | None, str]:
    """Re-fit only the intent and FAQ classifiers into a temporary file next to
    `model` (bot.trainers.patch); (None, why not) when the edit needs a full training."""
    out_dir = Path(tempfile.mkdtemp(prefix=".reload-", dir=model.parent))
    result = patch_model(project, model, out_dir / "next.tar.gz")
    if result.archive is None:
        shutil.rmtree(out_dir, ignore_errors=True)
        return None, result.reason
    return result.archive, f"re-fitted {' and '.join(result.refitted)} only: {result.reason}"


def install(trained: Path, model: Path) -> Path | None:
    """Put `trained` in place of `model` atomically; keep the old one to roll back."""
    previous = None
    if model.exists():
        previous = model.with_name(model.name.removesuffix(".tar.gz") + ".previous.tar.gz")
        shutil.copy2(model, previous)
    os.replace(trained, model)
    shutil.rmtree(trained.parent, ignore_errors=True)
    os.utime(model)  # newer than every input it was trained from
    return previous


def swap(server: str, token: str) -> dict:
    """Ask one running server to reload its model; its answer (raises on failure)."""
    request = urllib.request.Request(  # noqa: S310 - the operator's own server URL
        f"{server.rstrip('/')}/webhooks/model/reload", data=b"{}", method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=SWAP_TIMEOUT) as answer:  # noqa: S310
        return json.loads(answer.read() or b"{}")


def default_servers() -> list[str]:
    """RELOAD_SERVERS (comma-separated base URLs), else the local `make run` server."""
    configured = [url.strip() for url in (os.environ.get("RELOAD_SERVERS") or "").split(",")
                  if url.strip()]
    return configured or [f"http://127.0.0.1:{os.environ.get('RASA_PORT') or 5005}"]


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", type=Path, default=PROJECT_ROOT,
                        help="the checkout whose config, domain and data are trained")
    parser.add_argument("--model", type=Path, default=None,
                        help="the model file the servers run (default models/assistant.tar.gz)")
    parser.add_argument("--server", action="append", default=None,
                        help="a running server's base URL (repeat; default RELOAD_SERVERS "
                             "or http://127.0.0.1:$RASA_PORT)")
    parser.add_argument("--full", action="store_true",
                        help="train in full (Rasa's cache) even when only examples "
                             "without entities changed")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    project = args.project.resolve()
    model = (args.model or project / "models" / "assistant.tar.gz").resolve()
    started = time.monotonic()

    step = plan(project, model)
    names = ", ".join(str(path.relative_to(project)) if path.is_relative_to(project)
                      else str(path) for path in step.changed[:8])
    print(f"changed since the model was trained: {names or 'nothing'}"
          + (" (NLU data only)" if step.kind == "nlu" else ""))
    train_seconds = 0.0
    if step.kind != "none":
        trained = None
        if step.kind == "nlu" and not args.full:
            trained, how = refit(project, model)
            if trained is None:
                print(f"a full training is needed: {how}")
        try:
            if trained is None:
                trained, how = train(project, model)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            print(f"reload: {exc}", file=sys.stderr)
            return 1
        previous = install(trained, model)
        train_seconds = time.monotonic() - started
        print(f"trained in {train_seconds:.1f} s ({how}); previous model kept as "
              f"{previous.name if previous else 'nothing'}")
    failures = 0
    token = model_reload_token()
    for server in args.server or default_servers():
        swap_started = time.monotonic()
        try:
            answer = swap(server, token)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            failures += 1
            print(f"reload: {server} did not take the new model ({exc}); is it running "
                  f"with channels.model_reload.ModelReloadInput in credentials.yml?",
                  file=sys.stderr)
            continue
        print(f"swapped into {server} in {time.monotonic() - swap_started:.1f} s "
              f"(model {answer.get('model_id')})")
    total = time.monotonic() - started
    print(f"reload took {total:.1f} s (training {train_seconds:.1f} s, swap "
          f"{total - train_seconds:.1f} s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
