"""`make reload` decides what to train from what changed since the model file, and
puts the new model in place keeping the previous one."""

from __future__ import annotations

import os
import time
from pathlib import Path

from bot.trainers.reload import install, plan


def project(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "project"
    for name in ("config.yml", "domain.yml", "data/nlu/faq.yml", "data/nlu/report.yml",
                 "data/stories/report.yml"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x\n", encoding="utf-8")
    model = root / "models" / "assistant.tar.gz"
    model.parent.mkdir()
    model.write_bytes(b"model")
    past = time.time() - 60
    for path in root.rglob("*.yml"):
        os.utime(path, (past, past))
    return root, model


def test_what_to_train(tmp_path: Path) -> None:
    root, model = project(tmp_path)
    assert plan(root, model).kind == "none"
    (root / "data/nlu/faq.yml").touch()
    step = plan(root, model)
    assert step.kind == "nlu" and step.changed == (root / "data/nlu/faq.yml",)
    (root / "data/stories/report.yml").touch()
    assert plan(root, model).kind == "full"
    assert plan(root, root / "models" / "missing.tar.gz").kind == "full"


def test_install_keeps_the_previous_model(tmp_path: Path) -> None:
    root, model = project(tmp_path)
    trained_dir = model.parent / ".reload-x"
    trained_dir.mkdir()
    (trained_dir / "next.tar.gz").write_bytes(b"new model")
    previous = install(trained_dir / "next.tar.gz", model)
    assert model.read_bytes() == b"new model"
    assert previous == model.parent / "assistant.previous.tar.gz"
    assert previous.read_bytes() == b"model"
    assert not trained_dir.exists()
    assert plan(root, model).kind == "none"
