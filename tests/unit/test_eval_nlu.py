"""scripts/eval_nlu.py: which inputs decide whether cached pipeline scores are still valid."""

from __future__ import annotations

import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_ROOT / "scripts"))

import eval_nlu  # noqa: E402

CONFIGS = PROJECT_ROOT / "configs" / "nlu"


def _relative(paths: set[Path]) -> set[str]:
    return {str(p.relative_to(PROJECT_ROOT)) for p in paths}


def test_stock_pipeline_depends_on_no_project_code() -> None:
    assert eval_nlu.project_sources((CONFIGS / "baseline.yml").read_text()) == set()


def test_project_components_and_their_imports_are_followed() -> None:
    sources = _relative(eval_nlu.project_sources((CONFIGS / "linear_e5.yml").read_text()))
    assert "bot/nlu/linear_classifier.py" in sources
    assert "bot/nlu/normalizer.py" in sources  # imported by the tokenizer
    assert "bot/store/tickets.py" in sources  # imported by the entity clean-up
    assert "bot/nlu/election_slang.yml" in sources  # the lexicon next to the code


def test_fingerprint_follows_the_config_and_folds(tmp_path: Path) -> None:
    config = tmp_path / "pipeline.yml"
    config.write_text((CONFIGS / "baseline.yml").read_text())
    first = eval_nlu.fingerprint(config, folds=5)
    assert eval_nlu.fingerprint(config, folds=5) == first
    assert eval_nlu.fingerprint(config, folds=3) != first
    config.write_text(config.read_text() + "\n# a comment changes the hash too\n")
    assert eval_nlu.fingerprint(config, folds=5) != first


def test_cached_scores_need_the_same_fingerprint(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(eval_nlu, "ROOT", tmp_path)
    config = tmp_path / "configs" / "demo.yml"
    config.parent.mkdir()
    config.write_text("pipeline: []\n")
    scores = eval_nlu.Scores("demo", intent_accuracy=0.9, cv_intent_accuracy=0.8)
    eval_nlu.store_scores(config, "abc", scores)
    assert eval_nlu.cached_scores(config, "abc") == scores
    assert eval_nlu.cached_scores(config, "other") is None
