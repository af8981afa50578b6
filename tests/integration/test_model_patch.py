"""`make reload`'s fast path on the real trained model: an edit to examples without
entities re-fits the two linear classifiers and keeps every other component byte for
byte; an edit to the entity side is refused (a full training follows)."""

from __future__ import annotations

import hashlib
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.e5_featurizer import E5SentenceFeaturizer
from bot.nlu.linear_classifier import LinearIntentClassifier, LinearTextModel
from bot.nlu.normalizing_tokenizer import IndonesianNormalizingTokenizer
from bot.settings import PROJECT_ROOT
from bot.trainers import accept
from bot.trainers.patch import patch_model

#: "Thank you, brother" in Batak, taught as `thank`.
NEW_EXAMPLE = "horas lae, mauliate"


@pytest.fixture()
def project(trained_model: Path, tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT / "data", root / "data")
    for name in ("domain.yml", "config.yml"):
        shutil.copy(PROJECT_ROOT / name, root / name)
    (root / "models").mkdir()
    model = root / "models" / "assistant.tar.gz"
    shutil.copy(trained_model, model)
    return root, model


def add_example(root: Path, intent: str, example: str) -> None:
    """Add `example` (entity markup allowed) under `intent`, as a trainer would."""
    files = accept.intent_files(accept.Project(root))
    accept.insert_examples(files[intent], {intent: [example]})


def unpack(archive: Path, into: Path) -> dict[str, str]:
    """Each file of the archive's components and its SHA-256."""
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return {str(path.relative_to(into)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in into.rglob("*") if path.is_file() and path.name != "metadata.json"}


def intent_of(model_dir: Path, resource: str, text: str) -> str:
    """What the stored intent classifier says, on the pipeline's own features."""
    classifier = LinearTextModel.load({}, model_dir / "components" / resource)
    message = Message(data={"text": text})
    IndonesianNormalizingTokenizer(
        IndonesianNormalizingTokenizer.get_default_config()).process([message])
    E5SentenceFeaturizer({**E5SentenceFeaturizer.get_default_config(), "alias": "e5"},
                         ExecutionContext(GraphSchema({}), node_name="e5")).process([message])
    return classifier.rank([message])[0][0][0]


@pytest.mark.slow
def test_examples_without_entities_refit_only_the_classifiers(
        project: tuple[Path, Path], tmp_path: Path) -> None:
    root, model = project
    add_example(root, "thank", NEW_EXAMPLE)
    result = patch_model(root, model, tmp_path / "patched.tar.gz")
    assert result.archive == tmp_path / "patched.tar.gz", result.reason
    assert set(result.refitted) == {"LinearIntentClassifier", "LinearResponseSelector"}

    before = unpack(model, tmp_path / "before")
    after = unpack(result.archive, tmp_path / "after")
    assert before.keys() == after.keys()
    metadata = LocalModelStorage.metadata_from_archive(result.archive)
    refitted = {node.resource.name for node in metadata.predict_schema.nodes.values()
                if node.uses.__name__ in result.refitted}
    changed = {name for name in before if before[name] != after[name]}
    assert changed, "the classifiers were not re-fitted"
    assert {name.split("/")[1] for name in changed} <= refitted, changed
    assert any("DIETClassifier" in name for name in before.keys() - changed)
    # The domain and the policies come along unchanged.
    assert metadata.domain.as_dict() == LocalModelStorage.metadata_from_archive(
        model).domain.as_dict()

    # The re-fitted classifier knows the new example; its weights moved.
    intent_resource = next(node.resource.name for node in metadata.predict_schema.nodes.values()
                           if node.uses is LinearIntentClassifier)
    old = np.load(tmp_path / "before" / "components" / intent_resource / "coef.npy")
    new = np.load(tmp_path / "after" / "components" / intent_resource / "coef.npy")
    assert old.shape[0] == new.shape[0] and not np.array_equal(old, new)
    assert intent_of(tmp_path / "before", intent_resource, NEW_EXAMPLE) != "thank"
    assert intent_of(tmp_path / "after", intent_resource, NEW_EXAMPLE) == "thank"


@pytest.mark.slow
def test_an_edit_to_the_entity_side_asks_for_a_full_training(
        project: tuple[Path, Path], tmp_path: Path) -> None:
    root, model = project
    add_example(root, "greet", "halo, saya dari [kota pekalongan](region)")
    result = patch_model(root, model, tmp_path / "patched.tar.gz")
    assert result.archive is None
    assert "entity annotations" in result.reason
    assert not (tmp_path / "patched.tar.gz").exists()
    assert not list(tmp_path.glob(".patch-*")), "the work directory was left behind"
