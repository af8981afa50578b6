"""Curated word lists, kept as YAML files in bot/resources/word_lists/.

Trainers edit the files; the modules that use them (`bot.regions`,
`bot.categories`, `bot.report_extraction`) read each one once per process,
through `load_word_list`, and turn it into their own frozen structures. The
action server reads them all in a worker thread before its first use
(`actions.services.ensure_word_lists`, `bot.report_extraction.preload`), so no
server reads them on its event loop.

Two shapes are accepted for a group of words: plain text with the words
separated by spaces or line breaks (`common_words: saya aku gue ...`), or a
YAML list, which can hold phrases of several words (`- kampanye hitam`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from bot.settings import RESOURCES_DIR

logger = logging.getLogger(__name__)

WORD_LISTS_DIR = RESOURCES_DIR / "word_lists"


class WordListError(ValueError):
    """A word list file is missing a key or has a value of the wrong shape."""


@cache
def load_word_list(name: str, directory: Path | None = None) -> Mapping[str, Any]:
    """The parsed file `<name>.yml` (read once per process and directory)."""
    path = (directory or WORD_LISTS_DIR) / f"{name}.yml"
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict):
        raise WordListError(f"{path} must be a mapping of names to word lists")
    logger.debug("Loaded word list %s", path)
    return data


def required(data: Mapping[str, Any], key: str, where: str) -> Any:
    """`data[key]`, or a WordListError naming the file and the key."""
    if key not in data or data[key] is None:
        raise WordListError(f"{where}: missing {key!r}")
    return data[key]


def word_set(value: Any, where: str) -> frozenset[str]:
    """A group of single words, lower case: text separated by blanks, or a list."""
    if isinstance(value, str):
        words = value.split()
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        words = [word for item in value for word in item.split()]
    else:
        raise WordListError(f"{where}: expected words separated by spaces, or a list")
    return frozenset(word.lower() for word in words)


def phrase_list(value: Any, where: str) -> tuple[str, ...]:
    """A list of phrases (one or more words each), lower case, single-spaced."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise WordListError(f"{where}: expected a list of words or phrases")
    return tuple(" ".join(item.lower().split()) for item in value)


def string_map(value: Any, where: str) -> dict[str, str]:
    """A mapping of texts to texts (keys and values read as strings)."""
    if not isinstance(value, dict):
        raise WordListError(f"{where}: expected a mapping")
    return {str(key): str(item) for key, item in value.items()}


def names_map(value: Any, where: str) -> dict[str, tuple[str, ...]]:
    """A mapping of texts to one or more names (`key: [a, b]` or `key: a`)."""
    if not isinstance(value, dict):
        raise WordListError(f"{where}: expected a mapping")
    result: dict[str, tuple[str, ...]] = {}
    for key, item in value.items():
        names = [item] if isinstance(item, str) else item
        if not isinstance(names, list) or not names or not all(
            isinstance(name, str) for name in names
        ):
            raise WordListError(f"{where}.{key}: expected a name or a list of names")
        result[str(key)] = tuple(names)
    return result
