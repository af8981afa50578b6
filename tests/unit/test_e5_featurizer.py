"""The e5 sentence featurizer adds one 384-dimensional sentence vector per text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.e5_featurizer import E5SentenceFeaturizer


def _component(tmp_path: Path, **config: str) -> E5SentenceFeaturizer:
    return E5SentenceFeaturizer.create(
        {**E5SentenceFeaturizer.get_default_config(), **config},
        LocalModelStorage(tmp_path),
        Resource("e5"),
        ExecutionContext(GraphSchema({}), node_name="e5"),
    )


def test_sentence_vectors_are_added_and_meaningful(tmp_path: Path) -> None:
    messages = [Message({TEXT: t}) for t in
                ("kapan masa tenang pilkada", "masa tenang pilkada kapan ya", "resep soto ayam")]
    _component(tmp_path).process(messages)
    vectors = []
    for message in messages:
        sequence, sentence = message.get_dense_features(TEXT)
        assert sequence is None
        assert sentence.features.shape == (1, 384)
        vectors.append(sentence.features[0])
    similar = float(np.dot(vectors[0], vectors[1]))
    unrelated = float(np.dot(vectors[0], vectors[2]))
    assert similar > unrelated


def test_unknown_prefix_is_rejected_early(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="prefix"):
        _component(tmp_path, prefix="document")


def test_training_reuses_the_embeddings_of_an_earlier_training(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rasa.shared.nlu.training_data.training_data import TrainingData

    monkeypatch.setenv("RASA_CACHE_DIRECTORY", str(tmp_path / "rasa" / "cache"))
    texts = ["kapan masa tenang pilkada", "mau lapor hoaks"]
    fresh = [Message({TEXT: t}) for t in texts]
    component = _component(tmp_path)
    component.process(fresh)
    embedded: list[int] = []
    real_embed = component._embed_batched

    def counting(batch: list[str]) -> np.ndarray:
        embedded.append(len(batch))
        return real_embed(batch)

    component._embed_batched = counting  # counts the real model's calls
    for round_texts in (texts, texts + ["resep soto ayam"]):
        messages = [Message({TEXT: t}) for t in round_texts]
        component.process_training_data(TrainingData(messages))
        for message, expected in zip(messages, fresh, strict=False):
            got = message.get_dense_features(TEXT)[1].features
            want = expected.get_dense_features(TEXT)[1].features
            np.testing.assert_allclose(got, want, atol=1e-5)
    # First training: two distinct texts; second: only the new one.
    assert embedded == [2, 1]
    assert (tmp_path / "rasa" / "e5_embeddings.db").exists()
