"""Tidy the entities DIET extracts before synonyms are applied.

The normalising tokenizer gives one typed word several tokens with the same
offsets ("bagi2" -> "bagi", "bagi"), so DIET can return overlapping spans of one
type ("bagi2" and "bagi2 duit"); they are merged into one span of the original
text. Ticket codes are completed and made canonical with `bot.store.tickets`
("lp 9m2kqd" -> "LP-9M2KQD"), and a code DIET missed is added. Message text and
offsets always refer to the text as typed.
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
    EXTRACTOR,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.store.tickets import normalize_ticket_code

logger = logging.getLogger(__name__)

# "LP-7K3QX9", "lp 7k3qx9", "LP7K3QX9" inside a message; bot.store.tickets validates.
TICKET_IN_TEXT = re.compile(
    r"(?<![0-9A-Za-z])LP[\s\-\u2010-\u2015_]{0,3}[0-9A-Za-z]{6}(?![0-9A-Za-z])", re.IGNORECASE
)

Entity = dict[str, Any]


def merge_overlapping(entities: list[Entity], text: str) -> list[Entity]:
    """Merge overlapping spans of the same type; of different types keep the longer."""
    ordered = sorted(
        entities, key=lambda e: (e[ENTITY_ATTRIBUTE_START], -e[ENTITY_ATTRIBUTE_END])
    )
    result: list[Entity] = []
    for entity in ordered:
        previous = result[-1] if result else None
        if previous is None or entity[ENTITY_ATTRIBUTE_START] >= previous[ENTITY_ATTRIBUTE_END]:
            result.append(dict(entity))
            continue
        if entity[ENTITY_ATTRIBUTE_TYPE] == previous[ENTITY_ATTRIBUTE_TYPE]:
            end = max(previous[ENTITY_ATTRIBUTE_END], entity[ENTITY_ATTRIBUTE_END])
            previous[ENTITY_ATTRIBUTE_END] = end
            previous[ENTITY_ATTRIBUTE_VALUE] = text[previous[ENTITY_ATTRIBUTE_START] : end]
        elif (entity[ENTITY_ATTRIBUTE_END] - entity[ENTITY_ATTRIBUTE_START]) > (
            previous[ENTITY_ATTRIBUTE_END] - previous[ENTITY_ATTRIBUTE_START]
        ):
            result[-1] = dict(entity)
    return result


def fix_ticket_codes(entities: list[Entity], text: str, extractor: str) -> list[Entity]:
    """Give ticket_id entities the whole code as span and its canonical value."""
    found = [(m.start(), m.end(), normalize_ticket_code(m.group(0))) for m in
             TICKET_IN_TEXT.finditer(text)]
    codes = [(start, end, code) for start, end, code in found if code]
    result: list[Entity] = []
    used: set[int] = set()
    for entity in entities:
        if entity[ENTITY_ATTRIBUTE_TYPE] != "ticket_id":
            result.append(entity)
            continue
        for index, (start, end, code) in enumerate(codes):
            if start < entity[ENTITY_ATTRIBUTE_END] and entity[ENTITY_ATTRIBUTE_START] < end:
                if index not in used:
                    used.add(index)
                    result.append(
                        {**entity, ENTITY_ATTRIBUTE_START: start, ENTITY_ATTRIBUTE_END: end,
                         ENTITY_ATTRIBUTE_VALUE: code}
                    )
                break
        # a ticket_id that is no code at all is dropped
    for index, (start, end, code) in enumerate(codes):
        if index in used or any(
            e[ENTITY_ATTRIBUTE_START] < end and start < e[ENTITY_ATTRIBUTE_END] for e in result
        ):
            continue
        result.append(
            {ENTITY_ATTRIBUTE_TYPE: "ticket_id", ENTITY_ATTRIBUTE_START: start,
             ENTITY_ATTRIBUTE_END: end, ENTITY_ATTRIBUTE_VALUE: code, EXTRACTOR: extractor}
        )
    return sorted(result, key=lambda e: e[ENTITY_ATTRIBUTE_START])


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False
)
class EntitySpanCleaner(GraphComponent):
    """Merges overlapping entity spans and completes ticket codes (place before synonyms)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """No options."""
        return {}

    def __init__(self, name: str = "EntitySpanCleaner") -> None:
        self._name = name

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> EntitySpanCleaner:
        """Create the component."""
        return cls(cls.__name__)

    def process(self, messages: list[Message]) -> list[Message]:
        """Clean the entities of every message."""
        for message in messages:
            text = message.get(TEXT) or ""
            entities = [
                e for e in message.get(ENTITIES) or []
                if e.get(ENTITY_ATTRIBUTE_START) is not None
                and e.get(ENTITY_ATTRIBUTE_END) is not None
            ]
            cleaned = fix_ticket_codes(merge_overlapping(entities, text), text, self._name)
            message.set(ENTITIES, cleaned, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Annotated training entities are left alone."""
        return training_data
