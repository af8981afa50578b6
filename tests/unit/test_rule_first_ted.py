"""RuleFirstTEDPolicy picks the same next action as TEDPolicy would, on every step of
the project's stories and test conversations, and skips TED's network when a rule or
memorised story decides."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa.core.policies.ensemble import DefaultPolicyPredictionEnsemble
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.core.training import load_data
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.graph_components.providers.rule_only_provider import RuleOnlyDataProvider
from rasa.shared.core.events import ActionExecuted, ActionExecutionRejected, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.policies.rule_first_ted import DECIDERS, RuleFirstTEDPolicy, _trained_on_text
from bot.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def policies(trained_model: Path, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[dict[str, Any]]:
    storage_path = tmp_path_factory.mktemp("model")
    storage, metadata = LocalModelStorage.from_model_archive(storage_path, trained_model)
    schema = metadata.predict_schema
    loaded: dict[str, Any] = {"domain": metadata.domain, "others": []}
    for name, node in schema.nodes.items():
        if node.uses is RuleFirstTEDPolicy or node.uses in DECIDERS \
                or node.uses is RuleOnlyDataProvider:
            config = {**node.uses.get_default_config(), **node.config}
            component = node.uses.load(config, storage, node.resource,
                                       ExecutionContext(schema, metadata.model_id,
                                                        node_name=name))
            if node.uses is RuleFirstTEDPolicy:
                loaded["ted"] = component
            elif node.uses is RuleOnlyDataProvider:
                loaded["rule_only_data"] = component.provide()
            else:
                loaded["others"].append(component)
    assert "ted" in loaded, "config.yml no longer uses RuleFirstTEDPolicy"
    yield loaded


#: Intents a user message is also taken as, to reach paths no rule or story covers.
OTHER_INTENTS = ("affirm", "deny", "inform", "check_status", "out_of_scope", "faq")


def variants(events: list, index: int) -> Iterator[list]:
    """The events before the action at `index`; the same after that action was
    rejected (TED must run); and, when a user message comes right before it, the same
    with that message taken as each of OTHER_INTENTS."""
    before = events[:index]
    yield before
    yield before + [ActionExecutionRejected(events[index].action_name)]
    if isinstance(before[-1], UserUttered):
        for intent in OTHER_INTENTS:
            yield before[:-1] + [UserUttered(before[-1].text,
                                             {"name": intent, "confidence": 1.0})]


@pytest.mark.slow
def test_same_winner_as_ted_and_the_network_skipped_when_rules_decide(
        policies: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    domain = policies["domain"]
    ted: RuleFirstTEDPolicy = policies["ted"]
    rule_only_data = policies["rule_only_data"]
    assert ted._deciders and {type(p) for p in ted._deciders} == set(DECIDERS)
    network_runs = 0
    original = ted.model.run_inference

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal network_runs
        network_runs += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(ted.model, "run_inference", counting)
    trackers = []
    for source in (PROJECT_ROOT / "data" / "stories", PROJECT_ROOT / "tests" / "stories"):
        trackers += load_data(str(source), domain, augmentation_factor=0,
                              use_story_concatenation=False)
    assert len(trackers) > 40

    ensemble = DefaultPolicyPredictionEnsemble()
    compared = skipped = 0
    for story in trackers:
        events = list(story.events)
        for index, event in enumerate(events):
            if not isinstance(event, ActionExecuted) or index == 0:
                continue
            for prefix in variants(events, index):
                tracker = DialogueStateTracker.from_events(story.sender_id, prefix,
                                                           domain.slots)
                others = [p.predict_action_probabilities(tracker, domain,
                                                         rule_only_data=rule_only_data)
                          for p in policies["others"]]
                runs = network_runs
                fast = ted.predict_action_probabilities(tracker, domain,
                                                        rule_only_data=rule_only_data)
                skipped += network_runs == runs
                full = TEDPolicy.predict_action_probabilities(
                    ted, tracker, domain, rule_only_data=rule_only_data)
                chosen = [ensemble.combine_predictions(others + [ted_says], tracker, domain)
                          for ted_says in (fast, full)]
                assert len({(c.policy_name, c.max_confidence_index) for c in chosen}) == 1, (
                    story.sender_id, prefix[-1], [c.policy_name for c in chosen])
                compared += 1
    assert compared > 500
    # Rules decide nearly every step of this assistant; after a rejection TED runs.
    assert skipped > compared / 2, (skipped, compared)
    assert skipped < compared, "TED never ran: the comparison proves nothing"
    print(f"{compared} steps compared, TED skipped on {skipped}")


@pytest.mark.slow
def test_a_ted_trained_on_user_text_always_runs(policies: dict[str, Any],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    ted: RuleFirstTEDPolicy = policies["ted"]
    assert not _trained_on_text(ted)
    # End-to-end stories would add text to what TED learnt from: no skipping then.
    monkeypatch.setitem(ted.fake_features, "text", [])
    assert _trained_on_text(ted)
