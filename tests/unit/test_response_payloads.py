"""Every button in domain.yml renders to a payload Rasa can parse, without placeholder errors."""

from __future__ import annotations

import json
import re

import pytest
from rasa.core.nlg.interpolator import interpolate_text
from rasa.shared.core.domain import Domain

from bot.settings import PROJECT_ROOT

PAYLOAD = re.compile(r"^/(?P<intent>[a-z_]+(?:/[a-z_]+)?)(?P<entities>\{.*\})?$")


def _buttons() -> list[tuple[str, str]]:
    domain = Domain.load(str(PROJECT_ROOT / "domain.yml"))
    found = []
    for name, variations in domain.responses.items():
        for variation in variations:
            for button in variation.get("buttons") or []:
                found.append((name, button["payload"]))
    return found


@pytest.mark.parametrize(("response", "payload"), _buttons())
def test_button_payload_renders_and_parses(response: str, payload: str) -> None:
    # Rasa's interpolator logs an error and keeps the raw text when a {...} in a
    # response is not a slot; this is the step that fails (rasa.core.nlg.interpolator).
    try:
        re.sub(r"{([^\n{}]+?)}", r"{0[\1]}", payload).format({})
    except KeyError as missing:
        pytest.fail(f"{response}: {payload!r} has an unescaped placeholder {missing}")
    rendered = interpolate_text(payload, {})
    if not rendered.startswith("/"):
        assert rendered.strip(), response  # plain text sent as the user's message
        return
    match = PAYLOAD.match(rendered)
    assert match, f"{response}: {rendered!r} is not /intent or /intent{{json}}"
    if match.group("entities"):
        assert isinstance(json.loads(match.group("entities")), dict)
