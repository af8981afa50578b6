"""Give `region` entities their official Kemendagri name as value.

Runs after EntitySynonymMapper. The extracted span ("kab garut", "jaksel",
"kalbar") is resolved with `bot.regions.match_region`; when it names exactly one
province or kabupaten/kota the entity value becomes that region's official name
("Kabupaten Garut"). A span cut short by the model ("kab" of "kab. garut")
is extended by up to two following words when that makes it one region.
Ambiguous names ("pekalongan": kota or kabupaten) and unknown ones keep the
value they had. The message text is never changed.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.regions import build_region_index, match_region

logger = logging.getLogger(__name__)

_NEXT_WORD = re.compile(r"[\s.,]*\w+")
MAX_EXTRA_WORDS = 2


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two entity spans share a character."""
    return (
        a.get(ENTITY_ATTRIBUTE_START, 0) < b.get(ENTITY_ATTRIBUTE_END, 0)
        and b.get(ENTITY_ATTRIBUTE_START, 0) < a.get(ENTITY_ATTRIBUTE_END, 0)
    )


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False
)
class RegionEntityResolver(GraphComponent):
    """Sets the official region name as the value of `region` entities."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Entity type to resolve."""
        return {"entity": "region"}

    def __init__(self, config: dict[str, Any]) -> None:
        self._entity = str(config.get("entity", "region"))

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> RegionEntityResolver:
        """Create the component, with the region data and word lists read now (while
        the model loads) rather than on the first message."""
        build_region_index()
        return cls({**cls.get_default_config(), **config})

    def resolve(self, span: str) -> str | None:
        """Official name of the one region `span` names, else None."""
        match = match_region(span)
        if match.kind == "exact" and match.region is not None:
            return match.region.name
        return None

    def _extend(self, text: str, start: int, end: int) -> tuple[str | None, int]:
        """Try the span plus the next one or two words; (name, new end) or (None, end)."""
        new_end = end
        for _ in range(MAX_EXTRA_WORDS):
            word = _NEXT_WORD.match(text, new_end)
            if word is None:
                break
            new_end = word.end()
            name = self.resolve(text[start:new_end])
            if name is not None:
                return name, new_end
        return None, end

    def process(self, messages: list[Message]) -> list[Message]:
        """Replace the values of region entities that resolve to exactly one region."""
        for message in messages:
            text = message.get(TEXT) or ""
            entities = message.get(ENTITIES) or []
            extended: list[dict[str, Any]] = []
            for entity in entities:
                if entity.get(ENTITY_ATTRIBUTE_TYPE) != self._entity:
                    continue
                start = entity.get(ENTITY_ATTRIBUTE_START)
                end = entity.get(ENTITY_ATTRIBUTE_END)
                span = text[start:end] if start is not None and end is not None else ""
                name = self.resolve(span) if span else None
                if name is None:
                    name = self.resolve(str(entity.get(ENTITY_ATTRIBUTE_VALUE) or ""))
                if name is None and span:
                    name, end = self._extend(text, start, end)
                    if name is not None:
                        entity[ENTITY_ATTRIBUTE_END] = end
                        extended.append(entity)
                if name is not None:
                    entity[ENTITY_ATTRIBUTE_VALUE] = name
            if extended:
                # "kab." + "tegal" -> "kab. tegal": entities inside the grown span go
                kept = [
                    e
                    for e in entities
                    if any(e is x for x in extended) or not any(_overlap(e, x) for x in extended)
                ]
                message.set(ENTITIES, kept, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Training data keeps its annotated values."""
        return training_data
