"""Whitespace tokenizer whose tokens carry normalised Indonesian words.

The message text is never rewritten: actions read `latest_message["text"]` and
entity offsets refer to it. Instead each token keeps the start/end offsets of
the word as typed while its text (and lemma) is the standard form from
`bot.nlu.normalizer`. A word that stands for several ("paslon" -> "pasangan
calon", "bagi2" -> "bagi bagi") yields several tokens with the same offsets, so
entities that cover the word still cover all of its tokens. A word absorbed by a
regional phrase ("teu acan" -> "belum") yields no token: the phrase's standard
words sit on the offsets of the typed words before it. Unlike the plain
WhitespaceTokenizer, a link keeps its trailing "/" so a `url` entity is the
link as typed.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.normalizer import (
    DEFAULT_LEXICON,
    DEFAULT_REGIONAL_LEXICON,
    IndonesianNormalizer,
    get_normalizer,
)

logger = logging.getLogger(__name__)


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False
)
class IndonesianNormalizingTokenizer(WhitespaceTokenizer):
    """WhitespaceTokenizer plus colloquial-Indonesian normalisation of token texts."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """WhitespaceTokenizer defaults plus the lexicon options."""
        return {
            **WhitespaceTokenizer.get_default_config(),
            # Project lexicon (YAML with `replace` and `keep`); None: the bundled one.
            "lexicon_path": None,
            # Also use indoNLP's colloquial lexicon (Kamus Alay).
            "use_package_lexicon": True,
            # Javanese/Sundanese/Betawi words (YAML, see the bundled file);
            # None: the bundled one; false: no regional words.
            "regional_lexicon_path": None,
        }

    @staticmethod
    def _lexicon_paths(config: dict[str, Any]) -> tuple[Path, Path | None]:
        """(project lexicon, regional lexicon or None) named by `config`."""
        regional = config.get("regional_lexicon_path")
        return (
            Path(config.get("lexicon_path") or DEFAULT_LEXICON),
            None if regional is False else Path(regional or DEFAULT_REGIONAL_LEXICON),
        )

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """Digest of the lexicon files, so that editing one retrains what it feeds.

        Rasa caches the tokenizer's output by config and training data only; the
        words in the lexicon files would otherwise not count as a change.
        """
        digest = hashlib.sha256()
        for path in cls._lexicon_paths(config):
            if path is not None and path.is_file():
                digest.update(path.read_bytes())
        return digest.hexdigest()

    @staticmethod
    def required_packages() -> list[str]:
        """Python packages this component needs."""
        return ["indoNLP"]

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        path, regional = self._lexicon_paths(self._config)
        for required in (path, regional):
            if required is not None and not required.is_file():
                raise FileNotFoundError(f"IndonesianNormalizingTokenizer: no lexicon at {required}")
        self._normalizer: IndonesianNormalizer = get_normalizer(
            str(path),
            bool(self._config.get("use_package_lexicon", True)),
            str(regional) if regional is not None else None,
        )

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> IndonesianNormalizingTokenizer:
        """Create the component (see the parent class)."""
        return cls(config)

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        """Whitespace tokens of `attribute`; for the user text, normalised token texts."""
        tokens = super().tokenize(message, attribute)
        if attribute != TEXT:
            return tokens
        normalised = self._normalizer.normalize_words([t.text for t in tokens])
        text = message.get(TEXT) or ""
        result: list[Token] = []
        for token, words in zip(tokens, normalised, strict=True):
            if (
                text[token.end : token.end + 1] == "/"
                and "/" in token.text
                and self._normalizer.is_protected(token.text)
            ):
                end = token.end + 1
                result.append(Token(text[token.start : end], token.start, end))
                continue
            if words == [token.text]:
                result.append(token)
                continue
            for word in words:
                result.append(Token(word, token.start, token.end, lemma=word))
        return result
