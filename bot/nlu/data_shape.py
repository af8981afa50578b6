"""The part of the NLU training data that the entity side of the pipeline learns from.

`make reload` can re-fit only the intent classifier and the FAQ selector (seconds)
when a trainer's edit leaves this part as it was: the examples that carry entity
annotations, entity synonyms, regex patterns, lookup tables, and the names of the
intents, FAQ topics and responses. An edit that only adds, removes or relabels
examples without entities (what `make nlu-accept` writes) keeps the shape; anything
else changes it and asks for a full training.

`LinearIntentClassifier` stores the shape of the data it was trained on in its model
directory (`SHAPE_FILE`), so every trained model carries it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RESPONSE_KEY, TEXT
from rasa.shared.nlu.training_data.training_data import TrainingData

SHAPE_FILE = "nlu_shape.json"


def _entity_examples(training_data: TrainingData) -> list[Any]:
    rows = []
    for message in training_data.training_examples:
        entities = message.get(ENTITIES)
        if not entities or not message.get(TEXT):
            continue
        spans = sorted(
            (e.get("start"), e.get("end"), e.get("entity"), e.get("value"),
             e.get("role"), e.get("group"))
            for e in entities
        )
        rows.append([message.get(TEXT), [list(span) for span in spans]])
    return sorted(rows, key=json.dumps)


def nlu_shape(training_data: TrainingData) -> str:
    """A SHA-256 of everything in `training_data` except the text of examples without
    entities and which intent or FAQ topic each of those belongs to."""
    labels = {m.get(INTENT) for m in training_data.intent_examples if m.get(INTENT)}
    topics = {m.get(INTENT_RESPONSE_KEY) for m in training_data.intent_examples
              if m.get(INTENT_RESPONSE_KEY)}
    shape = {
        "entity_examples": _entity_examples(training_data),
        "synonyms": sorted(training_data.entity_synonyms.items()),
        "regex_features": sorted(json.dumps(r, sort_keys=True)
                                 for r in training_data.regex_features),
        "lookup_tables": sorted(json.dumps(t, sort_keys=True)
                                for t in training_data.lookup_tables),
        "intents": sorted(labels),
        "topics": sorted(topics),
        "responses": sorted(training_data.responses),
    }
    encoded = json.dumps(shape, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()
