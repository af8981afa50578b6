"""The held-out NLU test sets stay held out and cover the whole intent contract."""

from __future__ import annotations

import re

from rasa.shared.nlu.training_data.loading import load_data

from bot.intents import CORE_INTENTS, faq_intent_names
from bot.settings import PROJECT_ROOT
from bot.trainers.examples import near_duplicate

NLU_TESTS = PROJECT_ROOT / "tests" / "nlu"


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", text.lower())).strip()


def _texts(path: str) -> set[str]:
    texts = {_normal(e.get("text")) for e in load_data(str(path)).training_examples
             if e.get("text")}
    return texts - {""}  # emoji-only messages have no word characters


def test_test_sets_share_no_utterance_with_the_training_data() -> None:
    training = _texts(str(PROJECT_ROOT / "data" / "nlu"))
    for name in ("test_set.yml", "fallback_set.yml", "code_mixed_set.yml"):
        overlap = _texts(str(NLU_TESTS / name)) & training
        assert not overlap, f"{name} repeats training examples: {sorted(overlap)[:10]}"


def test_no_test_message_is_a_training_example_slightly_reworded() -> None:
    training = sorted(t for t in _texts(str(PROJECT_ROOT / "data" / "nlu")) if len(t) >= 6)
    close = []
    # The fallback set's gibberish ("aaaaaaaaaa", "wkwkwkwk") is alike by nature.
    for name in ("test_set.yml", "code_mixed_set.yml"):
        for text in sorted(_texts(str(NLU_TESTS / name))):
            example = near_duplicate(text, training) if len(text) >= 6 else None
            if example is not None:
                close.append(f"{name}: {text!r} ~ {example!r}")
    assert not close, "replace these test messages with new ones:\n" + "\n".join(close)


def test_test_set_covers_every_intent_and_faq_topic() -> None:
    data = load_data(str(NLU_TESTS / "test_set.yml"))
    intents = {e.get_full_intent() for e in data.intent_examples}
    assert len(data.intent_examples) >= 300
    missing = (set(CORE_INTENTS) | set(faq_intent_names())) - intents
    assert not missing, f"no test utterances for {sorted(missing)}"


def test_code_mixed_slice_is_code_mixed_and_labelled_with_known_intents() -> None:
    data = load_data(str(NLU_TESTS / "code_mixed_set.yml"))
    known = set(CORE_INTENTS) | set(faq_intent_names())
    labels = {e.get_full_intent() for e in data.intent_examples}
    assert len(data.intent_examples) >= 60
    assert labels <= known, f"unknown labels: {sorted(labels - known)}"
    regional = {"piye", "kumaha", "nggih", "muhun", "aye", "kulo", "abdi", "pripun", "wis", "teh"}
    plain = [set(re.findall(r"[a-z]+", e.get("text").lower())) for e in data.intent_examples]
    share = sum(bool(words & regional) for words in plain) / len(plain)
    assert share >= 0.3, f"only {share:.0%} of the slice uses common regional words"
