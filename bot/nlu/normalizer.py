"""Word-level normalisation of colloquial (phone) Indonesian.

Maps one typed word to one or more standard words: project lexicon
(`election_slang.yml`) first, then the colloquial lexicon shipped by the
MIT-licensed `indoNLP` package (Kamus Alay), elongated letters ("laporrr" ->
"lapor"), reduplication written with "2" or "-" ("bagi2" -> "bagi bagi").
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


def _split_words(value: str) -> list[str]:
    return [w for w in re.split(r"[\s-]+", value.lower()) if w]


def load_project_lexicon(path: Path = DEFAULT_LEXICON) -> tuple[dict[str, str], set[str]]:
    """Read the project lexicon: (replacements, words to keep as typed)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    replace = {str(k).lower(): str(v).lower() for k, v in (data.get("replace") or {}).items()}
    keep = {str(w).lower() for w in data.get("keep") or []}
    return replace, keep


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
    ) -> None:
        self._lexicon: dict[str, str] = load_package_lexicon() if use_package_lexicon else {}
        self._lexicon.update({k.lower(): v.lower() for k, v in (replacements or {}).items()})
        self._keep = {w.lower() for w in keep}
        self._known: set[str] = set(self._keep)
        for value in self._lexicon.values():
            self._known.update(_split_words(value))
        logger.debug("normaliser lexicon: %d entries", len(self._lexicon))

    @classmethod
    def from_files(
        cls, lexicon_path: Path = DEFAULT_LEXICON, use_package_lexicon: bool = True
    ) -> IndonesianNormalizer:
        """Build the normaliser from the project lexicon file (and indoNLP's)."""
        replace, keep = load_project_lexicon(lexicon_path)
        return cls(replace, sorted(keep), use_package_lexicon)

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

    def normalize_words(self, words: Sequence[str]) -> list[list[str]]:
        """Normalise a sequence of typed words; one list of output words per input word."""
        result = []
        previous: str | None = None
        for word in words:
            result.append(self.normalize_word(word, previous))
            previous = word
        return result

    def normalize_text(self, text: str) -> str:
        """Normalise a whitespace-separated text (for inspection and tests)."""
        return " ".join(w for ws in self.normalize_words(text.split()) for w in ws)


@lru_cache(maxsize=4)
def get_normalizer(
    lexicon_path: str = str(DEFAULT_LEXICON), use_package_lexicon: bool = True
) -> IndonesianNormalizer:
    """A shared normaliser per lexicon file (loading indoNLP's lexicon takes a moment)."""
    return IndonesianNormalizer.from_files(Path(lexicon_path), use_package_lexicon)
