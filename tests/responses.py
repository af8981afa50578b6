"""Render the assistant's responses the way the Rasa server does, for action tests."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from rasa.core.nlg.interpolator import interpolate_text
from rasa.shared.core.domain import Domain
from rasa.shared.utils.io import read_yaml_file

from bot.settings import PROJECT_ROOT

MONTHS = (
    "Januari|Februari|Maret|April|Mei|Juni|Juli|Agustus|September|Oktober|November|Desember"
)
# "14 Februari 2024", "11–13 Februari 2024", "28 November 2023 – 10 Februari 2024"
DATE_ID = re.compile(rf"\b(\d{{1,2}}) ({MONTHS}) (\d{{4}})\b")


@lru_cache(maxsize=1)
def all_responses() -> dict[str, list[dict[str, Any]]]:
    """domain.yml responses and the FAQ answers of data/faq/responses.yml."""
    responses = dict(Domain.load(str(PROJECT_ROOT / "domain.yml")).responses)
    faq = read_yaml_file(str(PROJECT_ROOT / "data" / "faq" / "responses.yml"))["responses"]
    responses.update(faq)
    return responses


def render(message: dict[str, Any]) -> str:
    """The text of a dispatched `response=` message, filled with its keyword values."""
    variations = all_responses()[message["response"]]
    assert len(variations) == 1, f"{message['response']} has several variations"
    text = interpolate_text(variations[0]["text"], message)
    assert "{" not in text and "}" not in text, f"unfilled placeholder in {text!r}"
    return text
