"""Word-level normalisation of colloquial (phone) Indonesian.

Maps one typed word to one or more standard words: project lexicon
(`election_slang.yml`) first, then the Javanese, Sundanese and Betawi words of
`regional_words.yml`, then the colloquial lexicon shipped by the MIT-licensed
`indoNLP` package (Kamus Alay), elongated letters ("laporrr" -> "lapor"),
reduplication written with "2" or "-" ("bagi2" -> "bagi bagi"). Regional
expressions of several words ("matur nuwun", "teu acan") are matched first:
their standard words go to the typed words in order, and a typed word left
over gets none (`normalize_words` returns an empty list for it).
A word without letters or digits (emoji, "???") becomes one class word
("emoji", "tanda_baca") so that such messages share features. Links, ticket
codes (LP-7K3QX9), numbers, handles and e-mail addresses are returned unchanged.
Pure Python, no Rasa import: the Rasa component lives in
`bot.nlu.normalizing_tokenizer`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import yaml

logger = logging.getLogger(__name__)

DEFAULT_LEXICON = Path(__file__).with_name("election_slang.yml")
DEFAULT_REGIONAL_LEXICON = Path(__file__).with_name("regional_words.yml")
REGIONAL_LANGUAGES = ("javanese", "sundanese", "betawi")
EMOJI_WORD = "emoji"
PUNCTUATION_WORD = "tanda_baca"

_URL = re.compile(
    r"(https?://|www\.)\S*|[\w-]+(\.[\w-]+)+(/\S*)?|\S+/\S+", re.IGNORECASE
)
_TICKET = re.compile(r"lp-?[0-9a-z]{6}", re.IGNORECASE)
_TICKET_BODY = re.compile(r"[0-9a-z]{6}", re.IGNORECASE)
_WORD = re.compile(r"[a-z]+(-[a-z]+)*")
_REDUP_DIGIT = re.compile(r"([a-z]{2,})2(nya|an|kan|lah|in|mu|ku)?")
_RUN3 = re.compile(r"([a-z])\1{2,}")
_FINAL_DOUBLE = re.compile(r"([a-z])\1$")
_LETTERS = re.compile(r"[a-z]+")
_TRAILING_PUNCTUATION = re.compile(r"[^\w]+$")

Phrases = Mapping[tuple[str, ...], Sequence[str]]


class LexiconError(ValueError):
    """A lexicon file has the wrong shape or contradicts itself."""


def _split_words(value: str) -> list[str]:
    return [w for w in re.split(r"[\s-]+", value.lower()) if w]


def _read_mapping(path: Path) -> dict:
    """The YAML mapping in `path` (an empty file is an empty mapping)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise LexiconError(f"{path} must be a YAML mapping")
    return data


def _string_map(value: object, where: str) -> dict[str, str]:
    """A mapping of words to words, lower case; anything else is a LexiconError."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise LexiconError(f"{where} must map words to words")
    return {k.lower(): v.lower() for k, v in value.items()}


def load_project_lexicon(path: Path = DEFAULT_LEXICON) -> tuple[dict[str, str], set[str]]:
    """Read the project lexicon: (replacements, words to keep as typed)."""
    data = _read_mapping(path)
    replace = {str(k).lower(): str(v).lower() for k, v in (data.get("replace") or {}).items()}
    keep = {str(w).lower() for w in data.get("keep") or []}
    return replace, keep


def load_regional_lexicon(
    path: Path = DEFAULT_REGIONAL_LEXICON,
) -> tuple[dict[str, str], dict[tuple[str, ...], list[str]]]:
    """Read the regional words: (word replacements, phrase replacements).

    The language sections are merged. A word mapped differently in two
    sections, a word listed under `exclude` yet mapped, a `replace` key that is
    not one word of letters or a phrase of fewer than two words is a
    LexiconError naming the file: trainers edit this file.
    """
    data = _read_mapping(path)
    exclude = {str(w).lower() for w in data.get("exclude") or []}
    replace: dict[str, str] = {}
    phrases: dict[tuple[str, ...], list[str]] = {}
    for language in REGIONAL_LANGUAGES:
        section = data.get(language) or {}
        where = f"{path}: {language}"
        for word, standard in _string_map(section.get("replace"), f"{where}.replace").items():
            if not _LETTERS.fullmatch(word):
                raise LexiconError(f"{where}.replace: {word!r} is not one word of letters")
            if replace.get(word, standard) != standard:
                raise LexiconError(f"{where}.replace: {word!r} is mapped twice differently")
            replace[word] = standard
        for phrase, standard in _string_map(section.get("phrases"), f"{where}.phrases").items():
            words = tuple(phrase.split())
            if len(words) < 2 or not all(_LETTERS.fullmatch(w) for w in words):
                raise LexiconError(f"{where}.phrases: {phrase!r} is not two or more words")
            phrases[words] = _split_words(standard)
    mapped_excluded = exclude & set(replace)
    if mapped_excluded:
        raise LexiconError(f"{path}: excluded words are mapped: {sorted(mapped_excluded)}")
    return replace, phrases


def load_package_lexicon() -> dict[str, str]:
    """The colloquial lexicon shipped by indoNLP (Kamus Alay, about 4,300 entries)."""
    from indoNLP.preprocessing.slang_data import SLANG_DATA

    return {str(k).lower(): str(v).lower() for k, v in SLANG_DATA.items()}


class IndonesianNormalizer:
    """Turns a typed word into the standard word(s) it stands for."""

    def __init__(
        self,
        replacements: Mapping[str, str] | None = None,
        keep: Sequence[str] = (),
        use_package_lexicon: bool = True,
        regional: Mapping[str, str] | None = None,
        phrases: Phrases | None = None,
    ) -> None:
        """`replacements` and `keep` win over `regional`, which wins over indoNLP."""
        self._lexicon: dict[str, str] = load_package_lexicon() if use_package_lexicon else {}
        for layer in (regional, replacements):
            self._lexicon.update({k.lower(): v.lower() for k, v in (layer or {}).items()})
        self._keep = {w.lower() for w in keep}
        self._phrases: dict[tuple[str, ...], list[str]] = {
            tuple(w.lower() for w in typed): [w.lower() for w in standard]
            for typed, standard in (phrases or {}).items()
        }
        self._longest_phrase = max((len(p) for p in self._phrases), default=0)
        self._known: set[str] = set(self._keep)
        for value in self._lexicon.values():
            self._known.update(_split_words(value))
        for standard in self._phrases.values():
            self._known.update(standard)
        logger.debug(
            "normaliser lexicon: %d entries, %d phrases", len(self._lexicon), len(self._phrases)
        )

    @classmethod
    def from_files(
        cls,
        lexicon_path: Path = DEFAULT_LEXICON,
        use_package_lexicon: bool = True,
        regional_path: Path | None = DEFAULT_REGIONAL_LEXICON,
    ) -> IndonesianNormalizer:
        """Build the normaliser from the lexicon files (and indoNLP's).

        `regional_path` None: no regional words.
        """
        replace, keep = load_project_lexicon(lexicon_path)
        regional, phrases = load_regional_lexicon(regional_path) if regional_path else ({}, {})
        return cls(replace, sorted(keep), use_package_lexicon, regional, phrases)

    @staticmethod
    def is_protected(word: str) -> bool:
        """Links, ticket codes, numbers, handles and e-mails are never rewritten."""
        lowered = word.lower()
        if lowered[:1] in {"@", "#"} or "@" in lowered:
            return True
        if _TICKET.fullmatch(lowered) or _URL.fullmatch(lowered):
            return True
        return any(c.isdigit() for c in lowered) and not _REDUP_DIGIT.fullmatch(lowered)

    def _lookup(self, word: str) -> list[str] | None:
        if word in self._keep:
            return [word]
        if word in self._lexicon:
            return _split_words(self._lexicon[word])
        return None

    def _deelongate(self, word: str) -> list[str] | None:
        """"laporrr" -> "lapor", "maaaf" -> "maaf", "kakk" -> "kak"."""
        two = _RUN3.sub(r"\1\1", word)
        one = _RUN3.sub(r"\1", word)
        if len(one) >= 3:
            one = _FINAL_DOUBLE.sub(r"\1", one)
        for candidate in (two, one):
            if candidate != word:
                found = self._lookup(candidate)
                if found is not None:
                    return found
        if two != word and two in self._known:
            return [two]
        if one != word:
            return [one]
        return None

    def normalize_word(self, word: str, previous: str | None = None) -> list[str]:
        """Standard form(s) of one typed word; `[word]` when there is nothing to do.

        `previous` is the word typed before, so that "lp 9m2kqd" keeps its code.
        """
        if not word or self.is_protected(word):
            return [word]
        if not any(c.isalnum() for c in word):
            return [EMOJI_WORD if any(ord(c) > 0x2000 for c in word) else PUNCTUATION_WORD]
        if previous is not None and previous.lower() == "lp" and _TICKET_BODY.fullmatch(word):
            return [word]
        lowered = word.lower()
        redup = _REDUP_DIGIT.fullmatch(lowered)
        if redup:
            base = self.normalize_word(redup.group(1))
            suffix = redup.group(2) or ""
            return [*base, *base[:-1], base[-1] + suffix] if suffix else [*base, *base]
        if not _WORD.fullmatch(lowered):
            return [word]
        found = self._lookup(lowered)
        if found is not None:
            return found if found != [lowered] else [word]
        if "-" in lowered:
            parts = [p for part in lowered.split("-") for p in self.normalize_word(part)]
            return parts
        found = self._deelongate(lowered)
        if found is not None:
            return found
        return [word]

    def _phrase_at(self, words: Sequence[str], start: int) -> list[list[str]] | None:
        """Output words for each typed word of the longest phrase starting at `start`."""
        end = min(len(words), start + self._longest_phrase)
        plain = [_TRAILING_PUNCTUATION.sub("", w.lower()) for w in words[start:end]]
        for length in range(len(plain), 1, -1):
            standard = self._phrases.get(tuple(plain[:length]))
            if standard is not None:
                return _share_out(standard, length)
        return None

    def normalize_words(self, words: Sequence[str]) -> list[list[str]]:
        """Normalise a sequence of typed words; one list of output words per input word.

        A word absorbed by a regional phrase ("acan" of "teu acan" -> "belum")
        gets an empty list.
        """
        result: list[list[str]] = []
        previous: str | None = None
        index = 0
        while index < len(words):
            shared = self._phrase_at(words, index) if self._phrases else None
            if shared is None:
                shared = [self.normalize_word(words[index], previous)]
            result.extend(shared)
            index += len(shared)
            previous = words[index - 1]
        return result

    def normalize_text(self, text: str) -> str:
        """Normalise a whitespace-separated text (for inspection and tests)."""
        return " ".join(w for ws in self.normalize_words(text.split()) for w in ws)


def _share_out(standard: Sequence[str], typed_count: int) -> list[list[str]]:
    """Standard words of a phrase, one per typed word in order; the last takes the rest."""
    shares = [[word] for word in standard[: typed_count - 1]]
    shares.append(list(standard[typed_count - 1 :]))
    return shares + [[] for _ in range(typed_count - len(shares))]


@lru_cache(maxsize=4)
def get_normalizer(
    lexicon_path: str = str(DEFAULT_LEXICON),
    use_package_lexicon: bool = True,
    regional_path: str | None = str(DEFAULT_REGIONAL_LEXICON),
) -> IndonesianNormalizer:
    """A shared normaliser per lexicon file (loading indoNLP's lexicon takes a moment)."""
    return IndonesianNormalizer.from_files(
        Path(lexicon_path), use_package_lexicon, Path(regional_path) if regional_path else None
    )
