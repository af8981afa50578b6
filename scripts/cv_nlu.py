"""Fast 5-fold cross-validation of the intent classifier and the FAQ selector.

Usage: python scripts/cv_nlu.py [--folds 5] [--data data/nlu] [--errors]

`make eval-nlu` cross-validates whole pipelines with `rasa test nlu
--cross-validation` (five full trainings each, about half an hour). Intents and
FAQ topics in this project are decided by `bot.nlu.linear_classifier` alone
(DIET only extracts entities, and Rasa's evaluation undoes the
FallbackClassifier), so the same figure can be had in about a minute: the
messages go through the real tokenizer (normalisation) and the real
multilingual-e5 featurizer once, then `LinearTextModel` (the production class)
is fitted and scored on stratified folds. Trainers run it after an edit
(`make cv-nlu`) to see whether the data got more or less consistent; the
held-out test set (`make test-nlu`) stays the measure of generalisation.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def featurized_examples(data_path: Path) -> list:
    """Intent examples of `data_path`, tokenised and featurised by the pipeline's own components."""
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.shared.nlu.constants import TEXT
    from rasa.shared.nlu.training_data.loading import load_data

    from bot.nlu.e5_featurizer import E5SentenceFeaturizer
    from bot.nlu.normalizing_tokenizer import IndonesianNormalizingTokenizer

    examples = [m for m in load_data(str(data_path)).intent_examples
                if m.get(TEXT) and m.get("intent")]
    tokenizer = IndonesianNormalizingTokenizer(IndonesianNormalizingTokenizer.get_default_config())
    tokenizer.process(examples)
    context = ExecutionContext(GraphSchema({}), node_name="e5_cv")
    featurizer = E5SentenceFeaturizer(
        {**E5SentenceFeaturizer.get_default_config(), "alias": "e5_cv"}, context
    )
    featurizer.process(examples)
    return examples


def cross_validate(examples: list, labels: list[str], folds: int, config: dict,
                   seed: int = 42) -> tuple[float, list[tuple[str, str, str]]]:
    """Accuracy over stratified folds and the misclassified (text, label, predicted)."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    from bot.nlu.linear_classifier import LinearTextModel

    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    predicted: list[str] = [""] * len(examples)
    for train_idx, test_idx in splitter.split(np.zeros(len(labels)), labels):
        model = LinearTextModel(dict(config))
        model.fit([examples[i] for i in train_idx], [labels[i] for i in train_idx])
        for i, ranking in zip(test_idx, model.rank([examples[i] for i in test_idx]), strict=True):
            predicted[i] = ranking[0][0]
    errors = [(examples[i].get("text"), labels[i], predicted[i])
              for i in range(len(examples)) if predicted[i] != labels[i]]
    return 1 - len(errors) / len(examples), errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "nlu")
    parser.add_argument("--errors", action="store_true", help="list every misclassified example")
    parser.add_argument("--seeds", default="",
                        help="also the intent accuracy with other fold shuffles, e.g. 1,2,3,4: "
                             "how much of a change is noise")
    args = parser.parse_args(argv)

    from bot.nlu.linear_classifier import LinearIntentClassifier, LinearResponseSelector

    intent_config = LinearIntentClassifier.get_default_config()
    examples = featurized_examples(args.data)
    intents = [m.get("intent") for m in examples]
    intent_accuracy, intent_errors = cross_validate(examples, intents, args.folds, intent_config)
    faq = [m for m in examples if m.get("intent_response_key")]
    topics = [m.get("intent_response_key") for m in faq]
    faq_accuracy, faq_errors = cross_validate(faq, topics, args.folds,
                                              LinearResponseSelector.get_default_config())

    print(f"{args.folds}-fold cross-validation on {args.data} ({len(examples)} examples)")
    print(f"intent accuracy {intent_accuracy:.3f}  ({len(intent_errors)} misclassified)")
    print(f"FAQ topic accuracy {faq_accuracy:.3f}  ({len(faq_errors)} of {len(faq)} misclassified)")
    pairs = Counter((label, guess) for _, label, guess in intent_errors + faq_errors)
    print("most frequent confusions (label -> predicted):")
    for (label, guess), count in pairs.most_common(10):
        print(f"  {count:3d}  {label} -> {guess}")
    if args.seeds:
        scores = [intent_accuracy] + [
            cross_validate(examples, intents, args.folds, intent_config, int(seed))[0]
            for seed in args.seeds.split(",")]
        print("intent accuracy by fold shuffle (seed 42 first): "
              + " ".join(f"{score:.3f}" for score in scores)
              + f"  mean {sum(scores) / len(scores):.3f}")
    if args.errors:
        for text, label, guess in sorted(intent_errors + faq_errors, key=lambda e: (e[1], e[2])):
            print(f"  {label} -> {guess} | {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
