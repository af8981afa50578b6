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


def test_force_retrains_but_keeps_cross_validation_of_same_inputs(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(eval_nlu, "ROOT", tmp_path)
    monkeypatch.setattr(eval_nlu, "FINGERPRINT_INPUTS", [])
    config = tmp_path / "configs" / "demo.yml"
    config.parent.mkdir()
    config.write_text("pipeline: []\n")
    trained: list[str] = []

    def fake_training_run(path: Path) -> eval_nlu.Scores:
        trained.append(path.stem)
        return eval_nlu.Scores(path.stem, intent_accuracy=0.9, train_seconds=100.0)

    def no_cross_validation(*args: object) -> tuple[float, float]:
        raise AssertionError("cross-validation must not run again for unchanged inputs")

    monkeypatch.setattr(eval_nlu, "evaluate", fake_training_run)
    monkeypatch.setattr(eval_nlu, "cross_validate", no_cross_validation)
    key = eval_nlu.fingerprint(config, 5)
    eval_nlu.store_scores(
        config,
        key,
        eval_nlu.Scores(
            "demo",
            intent_accuracy=0.9,
            cv_intent_accuracy=0.8,
            cv_intent_macro_f1=0.7,
            train_seconds=5.0,
        ),
    )

    reused = eval_nlu.evaluate_cached(config, run_cv=True, folds=5, force=False)
    assert trained == [] and reused.train_seconds == 5.0

    forced = eval_nlu.evaluate_cached(config, run_cv=True, folds=5, force=True)
    assert trained == ["demo"]
    assert forced.train_seconds == 100.0
    assert (forced.cv_intent_accuracy, forced.cv_intent_macro_f1) == (0.8, 0.7)
    assert eval_nlu.cached_scores(config, key) == forced
