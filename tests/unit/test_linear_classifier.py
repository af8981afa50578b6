"""The linear intent classifier and FAQ selector: learning, output format, storage."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, INTENT_RESPONSE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from actions.faq import faq_topic
from bot.nlu.e5_featurizer import E5SentenceFeaturizer
from bot.nlu.linear_classifier import LinearIntentClassifier, LinearResponseSelector
from bot.nlu.normalizing_tokenizer import IndonesianNormalizingTokenizer

CONTEXT = ExecutionContext(GraphSchema({}), node_name="linear")

EXAMPLES = {
    "greet": ["halo", "selamat pagi", "hai min", "assalamualaikum", "permisi kak", "pagi bot"],
    "check_status": [
        "cek status laporan saya",
        "laporan saya sudah sampai mana",
        "gimana perkembangan aduan saya",
        "status tiket saya apa",
        "mau tanya progres laporan",
        "laporan kemarin sudah diproses belum",
    ],
    "faq/quiet_period": [
        "kapan masa tenang",
        "masa tenang itu berapa hari",
        "boleh kampanye di masa tenang ga",
        "apa yang dilarang saat masa tenang",
        "masa tenang mulai tanggal berapa",
    ],
    "faq/money_politics": [
        "apa itu politik uang",
        "serangan fajar termasuk pelanggaran?",
        "bagi bagi uang ke warga boleh ga",
        "sanksi money politic apa",
        "kalau dikasih amplop sama caleg gimana",
    ],
}
RESPONSES = {
    "utter_faq/quiet_period": [{"text": "Masa tenang tiga hari sebelum pemungutan suara."}],
    "utter_faq/money_politics": [{"text": "Politik uang dilarang."}],
}


def _messages(texts: list[str], labels: list[str] | None = None) -> list[Message]:
    messages = []
    for i, text in enumerate(texts):
        data: dict[str, str] = {TEXT: text}
        if labels:
            intent, _, response = labels[i].partition("/")
            data[INTENT] = intent
            if response:
                data[INTENT_RESPONSE_KEY] = labels[i]
        messages.append(Message(data))
    return messages


def _featurise(messages: list[Message], dense: bool = True) -> list[Message]:
    tokenizer = IndonesianNormalizingTokenizer(IndonesianNormalizingTokenizer.get_default_config())
    tokenizer.process(messages)
    if dense:
        featurizer = E5SentenceFeaturizer.create(
            E5SentenceFeaturizer.get_default_config(),
            LocalModelStorage(Path("/nonexistent")),
            Resource("e5"),
            CONTEXT,
        )
        featurizer.process(messages)
    return messages


def _training_data(dense: bool = True) -> TrainingData:
    texts, labels = [], []
    for label, examples in EXAMPLES.items():
        texts += examples
        labels += [label] * len(examples)
    return TrainingData(_featurise(_messages(texts, labels), dense), responses=RESPONSES)


@pytest.fixture(scope="module")
def training_data() -> TrainingData:
    return _training_data()


def _intent_classifier(storage: LocalModelStorage) -> LinearIntentClassifier:
    return LinearIntentClassifier.create(
        LinearIntentClassifier.get_default_config(), storage, Resource("intent"), CONTEXT
    )


def _selector(storage: LocalModelStorage) -> LinearResponseSelector:
    config = {**LinearResponseSelector.get_default_config(), "retrieval_intent": "faq"}
    return LinearResponseSelector.create(config, storage, Resource("selector"), CONTEXT)


def test_intents_of_unseen_colloquial_messages(tmp_path: Path, training_data: TrainingData) -> None:
    classifier = _intent_classifier(LocalModelStorage(tmp_path))
    classifier.train(training_data)
    texts = ["halooo min", "laporan sy udh diproses blm", "masa tenang kpn"]
    messages = _featurise(_messages(texts))
    classifier.process(messages)
    assert [m.get(INTENT)["name"] for m in messages] == ["greet", "check_status", "faq"]
    for message in messages:
        ranking = message.get("intent_ranking")
        confidences = [entry["confidence"] for entry in ranking]
        assert confidences == sorted(confidences, reverse=True)
        assert ranking[0] == message.get(INTENT)
        assert sum(confidences) == pytest.approx(1.0)  # three intents, all ranked


def test_faq_topic_is_selected_in_rasa_response_selector_format(
    tmp_path: Path, training_data: TrainingData
) -> None:
    selector = _selector(LocalModelStorage(tmp_path))
    selector.train(training_data)
    message = _featurise(_messages(["caleg bagi2 amplop ke warga itu melanggar ga"]))[0]
    selector.process([message])
    output = message.as_dict_nlu()["response_selector"]
    assert output["all_retrieval_intents"] == ["faq"]
    response = output["faq"]["response"]
    assert response["intent_response_key"] == "faq/money_politics"
    assert response["utter_action"] == "utter_faq/money_politics"
    assert response["responses"] == RESPONSES["utter_faq/money_politics"]
    assert 0.5 < response["confidence"] <= 1.0
    assert [r["intent_response_key"] for r in output["faq"]["ranking"]][0] == "faq/money_politics"
    # the FAQ action reads exactly this structure
    topic, confidence = faq_topic({"intent": {"name": "faq"}, **message.as_dict_nlu()})
    assert topic == "money_politics"
    assert confidence == response["confidence"]


def _trained(tmp_path: Path, training_data: TrainingData
             ) -> tuple[LocalModelStorage, LinearIntentClassifier, LinearResponseSelector]:
    """An intent classifier and an FAQ selector trained on `training_data`."""
    storage = LocalModelStorage(tmp_path)
    classifier, selector = _intent_classifier(storage), _selector(storage)
    classifier.train(training_data)
    selector.train(training_data)
    return storage, classifier, selector


def test_a_loaded_model_predicts_like_the_trained_one(
    tmp_path: Path, training_data: TrainingData
) -> None:
    storage, classifier, selector = _trained(tmp_path, training_data)
    texts = ["pagi kak", "kapan sih masa tenangnya", "status aduan saya gmn"]
    before = _featurise(_messages(texts))
    classifier.process(before)
    selector.process(before)

    loaded_classifier = LinearIntentClassifier.load(
        LinearIntentClassifier.get_default_config(), storage, Resource("intent"), CONTEXT
    )
    loaded_selector = LinearResponseSelector.load(
        {**LinearResponseSelector.get_default_config(), "retrieval_intent": "faq"},
        storage,
        Resource("selector"),
        CONTEXT,
    )
    after = _featurise(_messages(texts))
    loaded_classifier.process(after)
    loaded_selector.process(after)
    for old, new in zip(before, after, strict=True):
        assert new.get(INTENT)["name"] == old.get(INTENT)["name"]
        assert new.get(INTENT)["confidence"] == pytest.approx(old.get(INTENT)["confidence"])
        old_response = old.get("response_selector")["faq"]["response"]
        new_response = new.get("response_selector")["faq"]["response"]
        assert new_response["intent_response_key"] == old_response["intent_response_key"]
        assert new_response["confidence"] == pytest.approx(old_response["confidence"])
    stored = {p.suffix for p in (tmp_path / "intent").iterdir()}
    assert stored == {".json", ".npy"}  # arrays and JSON only: loading runs no pickled code


def test_works_without_dense_features(tmp_path: Path) -> None:
    classifier = _intent_classifier(LocalModelStorage(tmp_path))
    classifier.train(_training_data(dense=False))
    message = _featurise(_messages(["selamat pagiii"]), dense=False)[0]
    classifier.process([message])
    assert message.get(INTENT)["name"] == "greet"


def test_untrained_components_predict_nothing(tmp_path: Path) -> None:
    storage = LocalModelStorage(tmp_path)
    classifier, selector = _intent_classifier(storage), _selector(storage)
    only_greetings = TrainingData(
        _featurise(_messages(["halo", "hai"], ["greet", "greet"]), dense=False)
    )
    classifier.train(only_greetings)  # one intent: nothing to learn
    selector.train(only_greetings)  # no retrieval intent
    message = _featurise(_messages(["halo"]), dense=False)[0]
    classifier.process([message])
    selector.process([message])
    assert message.get(INTENT) == {"name": None, "confidence": 0.0}
    assert message.get("response_selector") is None
    loaded = LinearIntentClassifier.load(
        LinearIntentClassifier.get_default_config(), storage, Resource("intent"), CONTEXT
    )
    assert not loaded.model.trained


def test_the_intent_classifier_reads_the_phrasing_the_selector_does_not(
    tmp_path: Path, training_data: TrainingData
) -> None:
    storage, classifier, selector = _trained(tmp_path, training_data)
    dense = classifier.model.dense_dim
    vocabulary = len(classifier.model.vectorizer.vocabulary_)
    # One more coefficient than n-grams + embedding: the question feature.
    assert classifier.model.classifier.coef_.shape[1] == vocabulary + dense + 1
    assert selector.model.classifier.coef_.shape[1] == (
        len(selector.model.vectorizer.vocabulary_) + dense)
    question, statement = _featurise(_messages(["status tiket saya apa",
                                                "status tiket saya"]))
    columns = classifier.model._features([question, statement])[:, -1].toarray().ravel()
    assert list(columns) == [LinearIntentClassifier.get_default_config()["question_weight"], 0]


def test_a_model_is_loaded_with_the_features_it_was_trained_on(
    tmp_path: Path, training_data: TrainingData
) -> None:
    storage = LocalModelStorage(tmp_path)
    classifier = _intent_classifier(storage)
    classifier.train(training_data)
    # A config without the question feature still loads a model trained with it.
    config = {**LinearIntentClassifier.get_default_config(), "question_weight": 0.0}
    loaded = LinearIntentClassifier.load(config, storage, Resource("intent"), CONTEXT)
    message = _featurise(_messages(["masa tenang mulai kapan"]))[0]
    loaded.process([message])
    assert message.get(INTENT)["name"] == "faq"


def test_editing_the_question_words_retrains_the_intent_classifier() -> None:
    from hashlib import sha256

    from bot.question_form import QUESTION_WORDS_FILE
    from bot.settings import PROJECT_ROOT
    from bot.trainers.reload import training_inputs

    config = LinearIntentClassifier.get_default_config()
    assert LinearIntentClassifier.fingerprint_addon(config) == sha256(
        QUESTION_WORDS_FILE.read_bytes()).hexdigest()
    assert LinearResponseSelector.fingerprint_addon(
        LinearResponseSelector.get_default_config()) is None
    assert QUESTION_WORDS_FILE in training_inputs(PROJECT_ROOT)
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    assert "bot/resources/word_lists/questions.yml" in makefile
