"""TEDPolicy that leaves its network idle when the rules or the stories already decide.

Rasa runs every policy for every prediction and then keeps one: the highest
confidence, ties going to the higher priority (RulePolicy 6, MemoizationPolicy 3,
TEDPolicy 1). A rule or a memorised story that applies predicts its action with
confidence 1.0, which TED can at best tie, so TED's answer is thrown away. Yet TED
featurises the conversation and runs its transformer each time: in `make
bench-load`'s profile of FAQ conversations that was over a third of the Rasa event
loop's work, and most predictions in this assistant are decided by rules (FAQ
answers, forms, `action_listen` after an answer).

`RuleFirstTEDPolicy` first asks the model's own RulePolicy and MemoizationPolicy
(loaded from the same model; both are dictionary lookups). When one of them decides
(confidence 1.0 on an action), it returns "no prediction" (all zeros) without
running the network; otherwise it predicts exactly as TEDPolicy. The winner the
ensemble picks is the same in every case but two, where TED always runs: right
after an action was rejected (the ensemble then zeroes the rejected action in every
prediction, so TED's runner-up may be needed), and when TED was trained on
end-to-end stories (user text in stories: its text-based predictions would overrule
intent-based rules; this project has none, and the model is checked at load).
Training is TEDPolicy's own, unchanged.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.policies.memoization import MemoizationPolicy
from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.core.policies.rule_policy import RulePolicy
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActionExecutionRejected
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import TEXT

logger = logging.getLogger(__name__)

#: The policies whose confident answer TED cannot beat (higher priority, confidence 1).
DECIDERS = (RulePolicy, MemoizationPolicy)


def _load_deciders(model_storage: ModelStorage, context: ExecutionContext) -> list[Policy]:
    """The RulePolicy and MemoizationPolicy of the same model, as the graph loads them."""
    deciders: list[Policy] = []
    for name, node in context.graph_schema.nodes.items():
        if node.uses not in DECIDERS or node.resource is None:
            continue
        config = {**node.uses.get_default_config(), **node.config}
        node_context = ExecutionContext(context.graph_schema, context.model_id,
                                        node_name=name)
        deciders.append(node.uses.load(config, model_storage, node.resource, node_context))
    return deciders


def _after_rejection(tracker: DialogueStateTracker) -> bool:
    for event in reversed(tracker.events):
        if isinstance(event, ActionExecutionRejected):
            return True
        if isinstance(event, ActionExecuted):
            return False
    return False


def decides(prediction: PolicyPrediction) -> bool:
    """Whether a rule or memorised story predicts an action with full confidence."""
    return bool(prediction.probabilities) and prediction.max_confidence >= 1.0


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITH_END_TO_END_SUPPORT, is_trainable=True
)
class RuleFirstTEDPolicy(TEDPolicy):
    """TEDPolicy that skips its network when a rule or memorised story decides."""

    _deciders: list[Policy] | None = None

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> TEDPolicy:
        """Load TED as usual, plus the model's rule and memoization policies."""
        policy = super().load(config, model_storage, resource, execution_context, **kwargs)
        if getattr(policy, "model", None) is not None and not _trained_on_text(policy):
            policy._deciders = _load_deciders(model_storage, execution_context)
        else:
            policy._deciders = []
        return policy

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        precomputations: Any = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        """TED's prediction, or none when a rule or memorised story already decides."""
        if self._deciders and not _after_rejection(tracker):
            for policy in self._deciders:
                answer = policy.predict_action_probabilities(
                    tracker, domain, rule_only_data=rule_only_data)
                if decides(answer):
                    return self._prediction(self._default_predictions(domain))
        return super().predict_action_probabilities(
            tracker, domain, rule_only_data=rule_only_data,
            precomputations=precomputations, **kwargs)


def _trained_on_text(policy: TEDPolicy) -> bool:
    """True when TED learnt from user text in stories (end-to-end): the features it
    was trained on (`fake_features`, TEDPolicy's own record of them) include text."""
    return TEXT in (getattr(policy, "fake_features", None) or {})
