"""bot.action_validation: the action server's answers are judged exactly as Rasa judges
them, with the schema checked once instead of on every answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from bot import action_validation

ANSWERS: list[Any] = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "report_links", "value": ["https://x.test/a"]}],
     "responses": [{"text": "Terima kasih"}]},
    {"events": [{"event": "form", "name": None}, {"event": "followup", "name": "action_x"}]},
    {},
    # refused: not an object, events not a list, an event without its type, a bad slot
    [],
    {"events": {"event": "slot"}},
    {"events": [{"name": "report_links"}]},
    {"events": [{"event": "slot", "name": 3}]},
    {"responses": "Terima kasih"},
]


@pytest.fixture
def action() -> Iterator[RemoteAction]:
    action_validation.uninstall()
    yield RemoteAction("action_answer_faq", EndpointConfig("http://127.0.0.1:1/webhook"))
    action_validation.uninstall()


def verdicts(action: RemoteAction) -> list[tuple[bool, str | None]]:
    found = []
    for answer in ANSWERS:
        try:
            found.append((action._validate_action_result(answer), None))
        except jsonschema.ValidationError as error:
            found.append((False, error.message))
    return found


def test_the_same_verdicts_and_messages_as_rasa(action: RemoteAction) -> None:
    stock = verdicts(action)
    assert [ok for ok, _ in stock] == [True] * 4 + [False] * 5
    assert all("Failed to validate Action server response" in message
               for ok, message in stock if not ok)
    assert action_validation.install()
    assert action_validation.install()  # idempotent: every channel calls it
    assert verdicts(action) == stock


def test_the_schema_is_checked_once(action: RemoteAction,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    checks = []
    original = jsonschema.validators.Draft202012Validator.check_schema

    def counting(schema: dict) -> None:
        checks.append(schema)
        original(schema)

    monkeypatch.setattr(jsonschema.validators.Draft202012Validator, "check_schema",
                        staticmethod(counting))
    action_validation.install()
    for _ in range(5):
        verdicts(action)
    assert len(checks) == 1
