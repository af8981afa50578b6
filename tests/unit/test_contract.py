"""The intent contract (bot/intents.py) holds across domain, data and actions."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from rasa.shared.importers.importer import TrainingDataImporter
from rasa_sdk import Action

import actions
from bot.intents import CORE_INTENTS, FAQ_INTENT, FAQ_TOPICS, faq_intent_names
from bot.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def importer() -> TrainingDataImporter:
    return TrainingDataImporter.load_from_config(
        str(PROJECT_ROOT / "config.yml"),
        str(PROJECT_ROOT / "domain.yml"),
        [str(PROJECT_ROOT / "data")],
    )


def test_domain_declares_every_contract_intent(importer: TrainingDataImporter) -> None:
    domain = importer.get_domain()
    missing = set(CORE_INTENTS) | {FAQ_INTENT}
    missing -= set(domain.intents)
    assert not missing, f"domain.yml lacks contract intents: {sorted(missing)}"


def test_every_contract_intent_has_training_examples(importer: TrainingDataImporter) -> None:
    nlu = importer.get_nlu_data()
    counts: dict[str, int] = {}
    for example in nlu.intent_examples:
        full = example.get_full_intent()
        counts[full] = counts.get(full, 0) + 1
    for intent in CORE_INTENTS:
        assert counts.get(intent, 0) >= 10, f"{intent} has {counts.get(intent, 0)} examples"
    for intent in faq_intent_names():
        assert counts.get(intent, 0) >= 10, f"{intent} has {counts.get(intent, 0)} examples"


def test_faq_topics_are_exactly_the_contract(importer: TrainingDataImporter) -> None:
    nlu = importer.get_nlu_data()
    trained = {
        ex.get_full_intent().split("/", 1)[1]
        for ex in nlu.intent_examples
        if ex.get_full_intent().startswith(f"{FAQ_INTENT}/")
    }
    assert trained == set(FAQ_TOPICS)


def _implemented_action_names() -> set[str]:
    names: set[str] = set()
    for module_info in pkgutil.iter_modules(actions.__path__):
        module = importlib.import_module(f"actions.{module_info.name}")
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Action) and obj.__module__ == module.__name__:
                if not inspect.isabstract(obj):
                    try:
                        names.add(obj().name())
                    except NotImplementedError:
                        continue
    return names


def test_every_custom_action_in_domain_is_implemented(importer: TrainingDataImporter) -> None:
    domain = importer.get_domain()
    custom = {
        name
        for name in domain.user_actions
        if name.startswith("action_") or name.startswith("validate_")
    }
    missing = custom - _implemented_action_names()
    assert not missing, f"custom actions without an implementation: {sorted(missing)}"


def test_responses_used_by_rules_and_stories_exist(importer: TrainingDataImporter) -> None:
    domain = importer.get_domain()
    stories = importer.get_stories()
    used = {
        event.action_name
        for step in stories.story_steps
        for event in step.events
        if getattr(event, "action_name", None) and event.action_name.startswith("utter_")
    }
    missing = {name for name in used if name not in domain.responses}
    assert not missing, f"responses used in rules/stories but not defined: {sorted(missing)}"
