"""Re-fit only the intent classifier and the FAQ selector of a trained model.

When a trainer's edit touches only the examples without entities (a new way to say
an intent, an example moved to another intent or FAQ topic: what `make nlu-accept`
writes), the only components that learn something new from it are the two linear
classifiers, and they train in seconds. Everything else in the model (the entity
recogniser DIET, the count-vector vocabularies it reads, the dialogue policies) is
kept from the model the servers run.

The patch is taken only when the data's entity side is unchanged: the model carries
the `bot.nlu.data_shape.nlu_shape` of the data it was trained on, and the patch
compares it with the shape of the data on disk. Otherwise `patch_model` says why
and `make reload` trains in full.

What the patched model does not learn: DIET and the count vectors do not see the new
examples' words (DIET treats every example without entities as "no entity here",
so the difference is small). The next full training (any change to the domain,
stories, rules, config or entity data, or `make reload RELOAD_ARGS=--full`) brings
them in.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphModelConfiguration, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.shared.importers.importer import TrainingDataImporter

from bot.nlu.data_shape import SHAPE_FILE, nlu_shape
from bot.nlu.e5_featurizer import E5SentenceFeaturizer
from bot.nlu.linear_classifier import LinearIntentClassifier, LinearResponseSelector
from bot.nlu.normalizing_tokenizer import IndonesianNormalizingTokenizer

# Components run on the training data before the classifiers, in pipeline order:
# the classifiers read the tokenizer's token texts and the e5 sentence feature only.
FEATURIZING = (IndonesianNormalizingTokenizer, E5SentenceFeaturizer)
REFITTED = (LinearIntentClassifier, LinearResponseSelector)


@dataclass(frozen=True)
class Patched:
    """The outcome of `patch_model`: the new archive, or why there is none."""

    archive: Path | None
    reason: str
    refitted: tuple[str, ...] = ()


def _nodes(schema: GraphSchema, classes: tuple[type, ...]) -> list[tuple[str, object]]:
    return [(name, node) for name, node in schema.nodes.items() if node.uses in classes]


def _create(schema: GraphSchema, name: str, node: Any, storage: LocalModelStorage) -> Any:
    """A fresh component for the node, configured as the graph would configure it."""
    config = {**node.uses.get_default_config(), **node.config}
    return node.uses.create(config, storage, node.resource,
                            ExecutionContext(schema, node_name=name))


def _stored_shape(storage_path: Path, resource_name: str) -> str | None:
    path = storage_path / resource_name / SHAPE_FILE
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("nlu_shape")
    except (ValueError, AttributeError):
        return None


def patch_model(project: Path, model: Path, out: Path) -> Patched:
    """Write to `out` a copy of `model` whose linear classifiers are fitted on the
    project's current data, if the data's entity side is what `model` was trained on."""
    work = Path(tempfile.mkdtemp(prefix=".patch-", dir=out.parent))
    try:
        storage_path = work / "storage"
        storage_path.mkdir()
        storage, metadata = LocalModelStorage.from_model_archive(storage_path, model)
        predict = metadata.predict_schema
        intent_nodes = _nodes(predict, (LinearIntentClassifier,))
        if len(intent_nodes) != 1:
            return Patched(None, "the model has no single LinearIntentClassifier")
        old_shape = _stored_shape(storage_path, intent_nodes[0][1].resource.name)
        if old_shape is None:
            return Patched(None, "the model does not record the shape of its training data "
                                 "(trained before this feature)")

        importer = TrainingDataImporter.load_from_config(
            str(project / "config.yml"), str(project / "domain.yml"), [str(project / "data")])
        training_data = importer.get_nlu_data(metadata.language)
        if nlu_shape(training_data) != old_shape:
            return Patched(None, "entity annotations, synonyms, regexes, lookup tables or "
                                 "the set of intents, topics or responses changed")

        for featurizing in FEATURIZING:
            found = _nodes(predict, (featurizing,))
            if len(found) != 1:
                return Patched(None, f"the model has no single {featurizing.__name__}")
            _create(predict, *found[0], storage).process_training_data(training_data)

        refitted = []
        for name, node in _nodes(predict, REFITTED):
            shutil.rmtree(storage_path / node.resource.name, ignore_errors=True)
            _create(predict, name, node, storage).train(training_data)
            refitted.append(node.uses.__name__)

        configuration = GraphModelConfiguration(
            train_schema=metadata.train_schema, predict_schema=predict,
            training_type=metadata.training_type, assistant_id=metadata.assistant_id,
            language=metadata.language, core_target=metadata.core_target,
            nlu_target=metadata.nlu_target, spaces=metadata.spaces)
        storage.create_model_package(out, configuration, metadata.domain)
        return Patched(out, "only examples without entities changed", tuple(refitted))
    finally:
        shutil.rmtree(work, ignore_errors=True)
