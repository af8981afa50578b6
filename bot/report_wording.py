"""Short Indonesian phrases that fill the placeholders of report responses.

The phrases live in `bot/resources/report_wording.yml` (whole sentences are
responses in domain.yml): why a link cannot be used, what the link check
found, the citizen-facing name of each report status, and the labels of the
summary. The file is read once, on first use.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.settings import RESOURCES_DIR

logger = logging.getLogger(__name__)

WORDING_FILE = RESOURCES_DIR / "report_wording.yml"
LINK_PROBLEMS = "link_problems"
LINK_CHECKS = "link_checks"
STATUS_LABELS = "status_labels"
LABELS = "labels"
SECTIONS = (LINK_PROBLEMS, LINK_CHECKS, STATUS_LABELS, LABELS)
_PLACEHOLDER = re.compile(r"{([^{}]*)}")


class WordingError(ValueError):
    """The wording file lacks a phrase or has one of the wrong shape."""


def read_sections(path: Path, sections: tuple[str, ...],
                  error: type[ValueError] = WordingError) -> dict[str, dict[str, str]]:
    """Read and check a wording file of `section: {key: phrase}`: every section present,
    every phrase a non-empty text (blanks collapsed), no unknown section. Raises `error`."""
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict):
        raise error(f"{path} must map section names to phrases")
    unknown = set(data) - set(sections)
    if unknown:
        raise error(f"{path}: unknown sections {sorted(unknown)}; known: {sections}")
    wording: dict[str, dict[str, str]] = {}
    for section in sections:
        phrases = data.get(section)
        if not isinstance(phrases, dict) or not all(
            isinstance(text, str) and text.strip() for text in phrases.values()
        ):
            raise error(f"{path}: {section} must map names to non-empty texts")
        wording[section] = {str(key): " ".join(text.split()) for key, text in phrases.items()}
    return wording


def load_wording(path: Path = WORDING_FILE) -> dict[str, dict[str, str]]:
    """Read and check the report wording file (see `read_sections`)."""
    return read_sections(path, SECTIONS)


@lru_cache(maxsize=1)
def _wording() -> dict[str, dict[str, str]]:
    return load_wording()


def load_wording_once() -> None:
    """Read the wording file now (otherwise its first use reads it)."""
    _wording()


def placeholders(section: str, key: str) -> set[str]:
    """The {placeholders} a phrase has."""
    return set(_PLACEHOLDER.findall(_wording()[section][key]))


def has_phrase(section: str, key: str) -> bool:
    """True when the wording file has this phrase."""
    return key in _wording().get(section, {})


def phrase(section: str, key: str, **values: Any) -> str:
    """The phrase `key` of `section`, its {placeholders} filled with `values`."""
    try:
        text = _wording()[section][key]
    except KeyError:
        raise WordingError(f"{WORDING_FILE.name} has no {section}.{key}") from None
    return text.format(**values) if values else text
