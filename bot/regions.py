"""Indonesian regions: the Kemendagri list of provinces and kabupaten/kota, and
tolerant matching of the place names citizens type in chat.

`match_region(text)` finds a province or kabupaten/kota in a message ("kab.
pekalongan", "jateng", "di surbaya kemarin"), tells an ambiguous name
("pekalongan": Kota or Kabupaten?) from an exact one, recognises answers that
mean "no particular region" ("nasional", "tidak tahu"), and uses kecamatan
names only as a cautious fallback. `resolve_choice(candidates, text)` reads the
follow-up answer to an ambiguous match ("kota", "yang kab", "2").

The CSV files under `bot/resources/wilayah/` and the curated words of
`bot/resources/word_lists/regions.yml` (aliases such as "jateng", ordinary chat
words, qualifiers) are read on first use; every index is built once and
cached, so matching one message is a handful of dictionary look-ups. Typos
are found through an index of deletion variants of the region words, then
checked with an edit distance, only against words of similar length with the
same first letter.
"""

from __future__ import annotations

import bisect
import csv
import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, TypeVar

from bot.settings import RESOURCES_DIR
from bot.urls import mask_links
from bot.word_lists import (
    WordListError,
    load_word_list,
    names_map,
    required,
    string_map,
    word_set,
)

logger = logging.getLogger(__name__)

WILAYAH_DIR = RESOURCES_DIR / "wilayah"
PROVINCES_FILE = "provinsi_kabkota.csv"
KECAMATAN_FILE = "kecamatan.csv"

Level = Literal["provinsi", "kabupaten", "kota"]
MatchKind = Literal["exact", "ambiguous", "national", "none"]
LEVELS: tuple[str, ...] = ("provinsi", "kabupaten", "kota")

# At most this many candidates are offered for one ambiguous answer.
MAX_CANDIDATES = 10
# A kecamatan name shared by more kabupaten/kota than this is no useful hint.
MAX_KECAMATAN_KABKOTA = 6

_LEVEL_ORDER = {"provinsi": 0, "kota": 1, "kabupaten": 2}
_NAME_PREFIX = re.compile(r"^(?:kabupaten|kota)(?:\s+administrasi)?\s+", re.IGNORECASE)

# --- word lists --------------------------------------------------------------

REGION_WORDS = "regions"  # bot/resources/word_lists/regions.yml


@dataclass(frozen=True)
class RegionWords:
    """The curated words of bot/resources/word_lists/regions.yml (see its comments)."""

    spelling: Mapping[str, str]
    common: frozenset[str]
    context_names: frozenset[str]
    qualifier_level: Mapping[str, str]
    between: frozenset[str]
    or_words: frozenset[str]
    kecamatan: frozenset[str]
    locatives: frozenset[str]
    numbers: frozenset[str]
    filler: frozenset[str]
    national_answer: frozenset[str]
    province_short_names: Mapping[str, str]
    aliases: Mapping[str, tuple[str, ...]]
    same_as: Mapping[str, str]
    also_offered: Mapping[str, tuple[str, ...]]
    qualified_only: Mapping[str, tuple[str, ...]]
    ordinals: Mapping[str, int]
    choice_filler: frozenset[str]
    negations: frozenset[str]

    @classmethod
    def from_data(cls, data: Mapping[str, Any], where: str = REGION_WORDS) -> RegionWords:
        """Check and freeze the parsed file."""

        def get(key: str) -> Any:
            return required(data, key, where)

        def words(key: str) -> frozenset[str]:
            return word_set(get(key), f"{where}.{key}")

        qualifiers = get("qualifiers")
        levels: dict[str, str] = {}
        for level in ("kabupaten", "kota", "provinsi"):
            for word in word_set(required(qualifiers, level, f"{where}.qualifiers"),
                                 f"{where}.qualifiers.{level}"):
                levels[word] = level
        between, kecamatan = words("between_words"), words("kecamatan_words")
        filler = words("filler") | frozenset(levels) | between | kecamatan
        choice = get("choice")
        ordinals = required(choice, "ordinals", f"{where}.choice")
        if not isinstance(ordinals, dict) or not all(
            isinstance(number, int) for number in ordinals.values()
        ):
            raise WordListError(f"{where}.choice.ordinals: expected word: number")
        return cls(
            spelling=string_map(get("spelling"), f"{where}.spelling"),
            common=words("common_words"),
            context_names=words("context_names"),
            qualifier_level=levels,
            between=between,
            or_words=words("or_words"),
            kecamatan=kecamatan,
            locatives=words("locatives"),
            numbers=words("number_words"),
            filler=filler,
            national_answer=filler | words("national_filler"),
            province_short_names=string_map(get("province_short_names"),
                                            f"{where}.province_short_names"),
            aliases=names_map(get("aliases"), f"{where}.aliases"),
            same_as=string_map(get("same_as"), f"{where}.same_as"),
            also_offered=names_map(get("also_offered"), f"{where}.also_offered"),
            qualified_only=names_map(get("with_qualifier_only"),
                                     f"{where}.with_qualifier_only"),
            ordinals={str(word): int(number) for word, number in ordinals.items()},
            choice_filler=word_set(required(choice, "filler", f"{where}.choice"),
                                   f"{where}.choice.filler"),
            negations=word_set(required(choice, "negations", f"{where}.choice"),
                               f"{where}.choice.negations"),
        )


@lru_cache(maxsize=1)
def region_words() -> RegionWords:
    """The region word lists, read once."""
    return RegionWords.from_data(load_word_list(REGION_WORDS))


# --- text normalisation ------------------------------------------------------

_APOSTROPHES = re.compile(r"['\u2019\u2018`\u00b4]")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def normalize_text(text: str) -> str:
    """Lower-case ASCII text with punctuation turned into single spaces.

    Accents are stripped and apostrophes removed ("Jum'at" -> "jumat",
    "Kab. Toli-Toli" -> "kab toli toli").
    """
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    lowered = _APOSTROPHES.sub("", stripped.lower())
    return " ".join(_NON_ALNUM.sub(" ", lowered).split())


def _canon_tokens(normalized: str) -> list[str]:
    """Tokens with spelling variants folded ("sumatra" -> "sumatera")."""
    spelling = region_words().spelling
    return [spelling.get(token, token) for token in normalized.split()]


def _message_tokens(text: str) -> list[str]:
    return _canon_tokens(normalize_text(mask_links(text or "")))


def _compact(tokens: Iterable[str]) -> str:
    return "".join(tokens)


# Answers that mean "no particular region": a small grammar (negation + "tahu",
# "seluruh" + "indonesia", ...) rather than a word list, so it stays a pattern.
_NATIONAL = re.compile(
    r"\b(?:"
    r"(?:skala |tingkat )?nasional(?:nya)?"
    r"|(?:se ?)?luruh (?:wilayah |daerah )?(?:indonesia|nusantara|negeri)"
    r"|se ?indonesia|se ?nusantara|indonesia|nusantara"
    r"|semua (?:daerah|wilayah|provinsi|kota)|seluruh (?:daerah|wilayah|provinsi|kota)"
    r"|sabang sampai merauke"
    r"|(?:tidak|tdk|tak|gak|ga|gk|g|nggak|ngga|nggk|enggak|engga|ndak|nda|kurang|blm|belum)"
    r" (?:tahu|tau|tw|taw|jelas|pasti|yakin|ada (?:daerah|wilayah|lokasi|tempat)(?:nya)?|ada)"
    r"|gatau|gatahu|gktau|gtau|gatw|ngatau|nggatau|gaktau|entah(?:lah)?|ntah(?:lah)?"
    r"|online|daring|dunia maya|internet|medsos|sosmed"
    r"|di ?mana ?mana|dimana2|mana2"
    r")\b"
)

# --- data --------------------------------------------------------------------


@dataclass(frozen=True)
class Region:
    """A province or kabupaten/kota with its Kemendagri code ("33.75")."""

    code: str
    name: str
    level: Level
    province_code: str
    province_name: str

    @property
    def short_name(self) -> str:
        """The name without "Kabupaten"/"Kota (Administrasi)"; "DKI Jakarta" for provinces."""
        if self.level == "provinsi":
            return region_words().province_short_names.get(self.code, self.name)
        return _NAME_PREFIX.sub("", self.name)

    @property
    def province_short_name(self) -> str:
        """The province's usual short name ("DKI Jakarta", "Jawa Tengah")."""
        return region_words().province_short_names.get(self.province_code,
                                                       self.province_name)

    @property
    def display_name(self) -> str:
        """Name shown to citizens: "Kota Pekalongan (Jawa Tengah)", "Provinsi Jawa Tengah"."""
        if self.level == "provinsi":
            return f"Provinsi {self.short_name}"
        return f"{self.name} ({self.province_short_name})"

    def to_choice(self) -> dict[str, str]:
        """A JSON-safe dict for a slot or a button; `resolve_choice` accepts it back."""
        return {
            "code": self.code,
            "name": self.display_name,
            "short_name": self.name if self.level != "provinsi" else self.display_name,
            "level": self.level,
            "province": self.province_short_name,
        }


@dataclass(frozen=True)
class Kecamatan:
    """A kecamatan (district) and the code of its kabupaten/kota."""

    code: str
    name: str
    kabkota_code: str


@dataclass(frozen=True)
class RegionTable:
    """Every province, kabupaten/kota and kecamatan, as loaded from the CSV files."""

    regions: tuple[Region, ...]
    kecamatan: tuple[Kecamatan, ...]
    by_code: Mapping[str, Region] = field(repr=False)
    by_name: Mapping[str, Region] = field(repr=False)

    @property
    def provinces(self) -> tuple[Region, ...]:
        """The 38 provinces."""
        return tuple(r for r in self.regions if r.level == "provinsi")

    @property
    def kabkota(self) -> tuple[Region, ...]:
        """The 514 kabupaten and kota."""
        return tuple(r for r in self.regions if r.level != "provinsi")

    def get(self, code: str) -> Region | None:
        """The region with this code, or None."""
        return self.by_code.get(code)

    def in_province(self, province_code: str) -> tuple[Region, ...]:
        """The kabupaten/kota of one province, in code order."""
        return tuple(
            r for r in self.regions if r.level != "provinsi" and r.province_code == province_code
        )


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            {key.strip(): (value or "").strip() for key, value in row.items() if key}
            for row in csv.DictReader(handle)
        ]


@lru_cache(maxsize=4)
def load_regions(directory: Path | None = None) -> RegionTable:
    """Read the region CSV files once (cached) and return the table."""
    folder = directory or WILAYAH_DIR
    regions: list[Region] = []
    for row in _read_csv(folder / PROVINCES_FILE):
        level = row["tingkat"].lower()
        if level not in LEVELS:
            raise ValueError(f"Unknown region level {level!r} for {row['kode']} in {folder}")
        regions.append(
            Region(
                code=row["kode"],
                name=" ".join(row["nama"].split()),
                level=level,  # type: ignore[arg-type]
                province_code=row["kode_provinsi"],
                province_name=" ".join(row["nama_provinsi"].split()),
            )
        )
    kecamatan = tuple(
        Kecamatan(code=row["kode"], name=" ".join(row["nama"].split()),
                  kabkota_code=row["kode_kabkota"])
        for row in _read_csv(folder / KECAMATAN_FILE)
    )
    by_code = {region.code: region for region in regions}
    by_name: dict[str, Region] = {}
    for region in regions:
        if region.name in by_name:
            logger.warning("Duplicate region name %s (%s)", region.name, region.code)
        by_name.setdefault(region.name, region)
    table = RegionTable(tuple(regions), kecamatan, by_code, by_name)
    logger.debug(
        "Loaded %d provinces, %d kabupaten/kota, %d kecamatan from %s",
        len(table.provinces), len(table.kabkota), len(kecamatan), folder,
    )
    return table


def get_region(code: str) -> Region | None:
    """The province or kabupaten/kota with this code ("33.75"), or None."""
    return load_regions().get(code)


def regions_in_province(province_code: str) -> tuple[Region, ...]:
    """The kabupaten/kota of a province (e.g. the 5 kota and Kepulauan Seribu of "31")."""
    return load_regions().in_province(province_code)


# --- index -------------------------------------------------------------------

# How much context a key needs before it is taken as a place.
_STRONG, _NEEDS_CONTEXT, _GENERIC = 0, 1, 2


@dataclass
class _Entry:
    """Region codes one name can mean."""

    core: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    pool: list[str] = field(default_factory=list)


@dataclass
class _Key:
    text: str
    entry: _Entry
    strength: int


@dataclass(frozen=True)
class _KecKey:
    text: str
    name: str
    kabkota_codes: tuple[str, ...]
    generic: bool
    single: bool


@dataclass(frozen=True)
class _Index:
    keys: Mapping[str, _Key]
    max_tokens: int
    vocabulary: frozenset[str]
    # Deletion variants (up to 2 letters dropped) -> region words: candidates
    # for a typo are found by look-up, then checked with the edit distance.
    fuzzy_targets: Mapping[str, tuple[str, ...]]
    kecamatan: Mapping[str, _KecKey]
    kecamatan_max_tokens: int
    kecamatan_vocabulary: frozenset[str]


def _strength(tokens: Sequence[str]) -> int:
    words = region_words()
    if all(token in words.common for token in tokens):
        return _GENERIC
    if all(token in words.common or token in words.context_names for token in tokens):
        return _NEEDS_CONTEXT
    return _STRONG


def _add_codes(target: list[str], codes: Iterable[str]) -> None:
    for code in codes:
        if code not in target:
            target.append(code)


@lru_cache(maxsize=1)
def _index() -> _Index:
    table = load_regions()
    words = region_words()
    keys: dict[str, _Key] = {}

    def codes_for(names: Iterable[str], section: str) -> list[str]:
        codes = []
        for name in names:
            region = table.by_name.get(name)
            if region is None:
                raise WordListError(f"{REGION_WORDS}.{section}: {name!r} is not the official "
                                    "name of a province or kabupaten/kota")
            codes.append(region.code)
        return codes

    def add(text: str, codes: Iterable[str]) -> _Key:
        tokens = _canon_tokens(normalize_text(text))
        compact = _compact(tokens)
        key = keys.get(compact)
        if key is None:
            key = keys[compact] = _Key(" ".join(tokens), _Entry(), _strength(tokens))
        _add_codes(key.entry.core, codes)
        return key

    for region in table.regions:
        add(region.short_name if region.level != "provinsi" else region.name, [region.code])
    def existing(name: str, section: str) -> _Key:
        key = keys.get(_compact(_canon_tokens(normalize_text(name))))
        if key is None:
            raise WordListError(f"{REGION_WORDS}.{section}: {name!r} is not a region name "
                                "or alias")
        return key

    for alias, names in words.aliases.items():
        add(alias, codes_for(names, "aliases"))
    for alias, target in words.same_as.items():
        target_key = existing(target, "same_as")
        tokens = _canon_tokens(normalize_text(alias))
        keys[_compact(tokens)] = _Key(" ".join(tokens), target_key.entry, _strength(tokens))
    for name, extra in words.also_offered.items():
        _add_codes(existing(name, "also_offered").entry.extra,
                   codes_for(extra, "also_offered"))
    for name, pool in words.qualified_only.items():
        _add_codes(existing(name, "with_qualifier_only").entry.pool,
                   codes_for(pool, "with_qualifier_only"))
    for key in keys.values():
        key.entry.core.sort(key=lambda code: (_LEVEL_ORDER[table.by_code[code].level], code))

    vocabulary = {token for key in keys.values() for token in key.text.split()} | set(keys)
    targets: dict[str, set[str]] = {}
    for word in sorted(vocabulary):
        if len(word) >= 5 and word.isalpha() and word not in words.common:
            for variant in _deletions(word, 2 if len(word) >= 8 else 1):
                targets.setdefault(variant, set()).add(word)

    kec_keys: dict[str, _KecKey] = {}
    kec_codes: dict[str, list[str]] = {}
    kec_vocabulary: set[str] = set()
    for kec in table.kecamatan:
        tokens = _canon_tokens(normalize_text(kec.name))
        kec_vocabulary.update(tokens)
        compact = _compact(tokens)
        single = len(tokens) == 1
        if len(compact) < 5 or (single and (len(compact) < 6 or compact in words.common)):
            continue
        if compact not in kec_keys:
            kec_keys[compact] = _KecKey(
                " ".join(tokens), kec.name, (), all(t in words.common for t in tokens), single
            )
            kec_codes[compact] = []
        _add_codes(kec_codes[compact], [kec.kabkota_code])
    kecamatan = {
        compact: _KecKey(k.text, k.name, tuple(kec_codes[compact]), k.generic, k.single)
        for compact, k in kec_keys.items()
    }
    index = _Index(
        keys=keys,
        max_tokens=max(len(key.text.split()) for key in keys.values()),
        vocabulary=frozenset(vocabulary),
        fuzzy_targets={k: tuple(sorted(v)) for k, v in targets.items()},
        kecamatan=kecamatan,
        kecamatan_max_tokens=max(len(k.text.split()) for k in kecamatan.values()),
        kecamatan_vocabulary=frozenset(kec_vocabulary),
    )
    logger.debug("Region index: %d keys, %d kecamatan keys", len(keys), len(kecamatan))
    return index


def build_region_index() -> None:
    """Read the region data and word lists and build the name index now
    (otherwise the first match does it)."""
    _index()


# --- fuzzy matching ----------------------------------------------------------


def _deletions(word: str, depth: int) -> set[str]:
    """The word and every string made by dropping up to `depth` of its letters."""
    found = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        found |= frontier
    return found


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein (optimal string alignment) distance, capped at limit + 1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                value = min(value, previous2[j - 2] + 1)
            current[j] = value
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[-1], limit + 1)


_MAX_FUZZY_TOKEN = 32

# Derived words ("sekarangnya", "lakukan") are ordinary words, never typos of a place.
_AFFIXED_ENDINGS = ("nya", "kan", "lah", "kah", "pun")


def _fuzzy_correct(token: str, index: _Index) -> str | None:
    """The one region word this token is a likely typo of, or None."""
    words = region_words()
    size = len(token)
    if (
        size < 6
        # No region word is this long; and the deletion variants of a long token
        # would cost quadratic time and memory (a hostile 100 kB "word").
        or size > _MAX_FUZZY_TOKEN
        or not token.isalpha()
        or token in index.vocabulary
        or token in words.common
        or token in words.filler
        or token in index.kecamatan_vocabulary
        or token.endswith(_AFFIXED_ENDINGS)
    ):
        return None
    limit = 1 if size < 10 else 2
    candidates = {
        word
        for variant in _deletions(token, limit)
        for word in index.fuzzy_targets.get(variant, ())
        if word[0] == token[0] and abs(len(word) - size) <= limit
    }
    best: str | None = None
    best_distance = limit + 1
    tied = False
    for candidate in sorted(candidates):
        distance = _edit_distance(token, candidate, limit)
        if distance < best_distance:
            best, best_distance, tied = candidate, distance, False
        elif distance == best_distance and distance <= limit:
            tied = True
    if best is None or tied or best_distance > limit:
        return None
    return best


# --- matching ----------------------------------------------------------------


@dataclass(frozen=True)
class RegionMatch:
    """What `match_region` found in a message.

    kind is "exact" (one `region`), "ambiguous" (several `candidates` to choose
    from), "national" (an answer meaning no particular region, e.g. "nasional",
    "tidak tahu") or "none". `fuzzy` is set when a typo was corrected and
    `via_kecamatan` names the kecamatan the result was inferred from; the
    assistant may then confirm before saving. `matched_text` is the part of
    the message that was read, in normalised form ("kab pekalongan").
    """

    kind: MatchKind
    region: Region | None = None
    candidates: tuple[Region, ...] = ()
    matched_text: str = ""
    fuzzy: bool = False
    via_kecamatan: str | None = None

    @property
    def needs_confirmation(self) -> bool:
        """True for an exact match that came from a typo correction or a kecamatan."""
        return self.kind == "exact" and (self.fuzzy or self.via_kecamatan is not None)


NO_MATCH = RegionMatch("none")


@dataclass
class _Span:
    start: int
    end: int
    key: _Key
    fuzzy: bool = False
    level: str | None = None
    qualifier_start: int | None = None
    qualifier_positions: tuple[int, ...] = ()


def _scan(
    tokens: Sequence[str],
    keys: Mapping[str, Any],
    max_tokens: int,
    blocked: set[int],
    required: set[int] | None = None,
) -> list[tuple[int, int, Any]]:
    """Leftmost-longest, non-overlapping look-up of token n-grams (joined without spaces)."""
    filler = region_words().filler
    found: list[tuple[int, int, Any]] = []
    i = 0
    count = len(tokens)
    while i < count:
        hit = None
        if i not in blocked:
            for size in range(min(max_tokens, count - i), 0, -1):
                positions = range(i, i + size)
                if any(p in blocked for p in positions):
                    continue
                if required is not None and not any(p in required for p in positions):
                    continue
                gram = tokens[i : i + size]
                key = keys.get(_compact(gram))
                if key is None:
                    continue
                # "di" + "y" is not "diy": joined words must not start or end
                # with a filler word unless the name itself has it.
                if size > 1 and (gram[0] in filler or gram[-1] in filler):
                    if key.text != " ".join(gram):
                        continue
                hit = (i, i + size, key)
                break
        if hit:
            found.append(hit)
            i = hit[1]
        else:
            i += 1
    return found


def _qualify(span: _Span, tokens: Sequence[str], taken: set[int]) -> None:
    """Read "kab"/"kota"/"provinsi" just before (or right after) a name."""
    words = region_words()
    qualifier_level = words.qualifier_level
    levels: list[str] = []
    positions: list[int] = []
    j = span.start - 1
    while j >= 0 and tokens[j] in words.between:
        positions.append(j)
        j -= 1
    # Up to two qualifiers: "kab/kota bandung" and "kota atau kabupaten
    # pekalongan" name two levels, so neither is applied.
    for _ in range(2):
        if levels and j > 0 and tokens[j] in words.or_words and tokens[j - 1] in qualifier_level:
            positions.append(j)
            j -= 1
        if j < 0 or j in taken or tokens[j] not in qualifier_level:
            break
        levels.append(qualifier_level[tokens[j]])
        positions.append(j)
        j -= 1
    if not levels:
        positions = []
        after = span.end
        if (
            after < len(tokens)
            and after not in taken
            and tokens[after] in qualifier_level
            and (after + 1 >= len(tokens) or tokens[after + 1] not in words.or_words)
        ):
            levels.append(qualifier_level[tokens[after]])
            positions.append(after)
    if positions:
        span.qualifier_positions = tuple(positions)
        span.qualifier_start = min([span.start, *positions])
    if len(set(levels)) == 1:
        span.level = levels[0]


def _span_codes(span: _Span, table: RegionTable) -> list[str]:
    entry = span.key.entry
    groups = (entry.core, entry.core + entry.extra, entry.core + entry.extra + entry.pool)
    if span.level:
        for group in groups:
            chosen = [code for code in group if table.by_code[code].level == span.level]
            if chosen:
                return chosen
    return entry.core + entry.extra


def _only_filler(tokens: Sequence[str], covered: set[int], allowed: frozenset[str]) -> bool:
    return all(token in allowed for i, token in enumerate(tokens) if i not in covered)


def _national_positions(tokens: Sequence[str]) -> list[tuple[int, int]]:
    joined = " ".join(tokens)
    starts: list[int] = []
    offset = 0
    for token in tokens:
        starts.append(offset)
        offset += len(token) + 1
    spans = []
    for match in _NATIONAL.finditer(joined):
        first = bisect.bisect_right(starts, match.start()) - 1
        last = bisect.bisect_right(starts, match.end() - 1) - 1
        spans.append((first, last + 1))
    return spans


def _phrase(tokens: Sequence[str], start: int, end: int) -> str:
    return " ".join(tokens[start:end])


def _ordered(codes: Iterable[str]) -> list[str]:
    seen: list[str] = []
    _add_codes(seen, codes)
    return seen


def _result(
    codes: Sequence[str],
    table: RegionTable,
    matched: str,
    fuzzy: bool = False,
    via_kecamatan: str | None = None,
) -> RegionMatch:
    regions = tuple(table.by_code[code] for code in codes[:MAX_CANDIDATES])
    if len(regions) == 1:
        return RegionMatch("exact", regions[0], regions, matched, fuzzy, via_kecamatan)
    return RegionMatch("ambiguous", None, regions, matched, fuzzy, via_kecamatan)


def match_region(text: str) -> RegionMatch:
    """Find the province or kabupaten/kota a citizen names in a chat message.

    Tolerates case, punctuation, "kab."/"kota"/"prov" qualifiers, common
    abbreviations ("jateng", "sby", "jaksel"), small typos ("surbaya") and
    names inside a longer sentence. Returns kind "exact", "ambiguous" (e.g.
    "pekalongan": Kota and Kabupaten Pekalongan), "national" ("nasional",
    "tidak tahu", "online aja") or "none".
    """
    tokens = _message_tokens(text)
    if not tokens:
        return NO_MATCH
    table = load_regions()
    index = _index()
    words = region_words()

    national = _national_positions(tokens)
    national_positions = {p for start, end in national for p in range(start, end)}

    spans = [
        _Span(start, end, key)
        for start, end, key in _scan(tokens, index.keys, index.max_tokens, national_positions)
    ]
    exact_positions = {p for s in spans for p in range(s.start, s.end)}
    corrected = list(tokens)
    changed: set[int] = set()
    for i, token in enumerate(tokens):
        if i in exact_positions or i in national_positions:
            continue
        replacement = _fuzzy_correct(token, index)
        if replacement is not None:
            corrected[i] = replacement
            changed.add(i)
    if changed:
        blocked = exact_positions | national_positions
        for start, end, key in _scan(corrected, index.keys, index.max_tokens, blocked, changed):
            spans.append(_Span(start, end, key, fuzzy=True))
        spans.sort(key=lambda s: s.start)

    taken = {p for s in spans for p in range(s.start, s.end)}
    for span in spans:
        _qualify(span, tokens, taken)
    covered = taken | {p for s in spans for p in s.qualifier_positions}
    standalone = _only_filler(tokens, covered, words.filler)

    accepted: list[_Span] = []
    for span in spans:
        strength = span.key.strength
        if span.fuzzy:
            exact_parts = sum(1 for p in range(span.start, span.end) if p not in changed)
            if not (exact_parts and span.end - span.start > 1):
                strength = max(strength, _NEEDS_CONTEXT)
        before = tokens[span.start - 1] if span.start > 0 else ""
        if (
            strength == _STRONG
            or span.level is not None
            or standalone
            or (strength == _NEEDS_CONTEXT and before in words.locatives)
        ):
            accepted.append(span)

    province_spans: list[_Span] = []
    local: list[tuple[_Span, list[str]]] = []
    for span in accepted:
        codes = _span_codes(span, table)
        if any(table.by_code[code].level != "provinsi" for code in codes):
            local.append((span, codes))
        else:
            province_spans.append(span)
    province_codes = _ordered(code for s in province_spans for code in _span_codes(s, table))

    def matched_text(used: Iterable[_Span]) -> str:
        return ", ".join(
            _phrase(tokens, s.qualifier_start if s.qualifier_start is not None else s.start,
                    max([s.end, *(p + 1 for p in s.qualifier_positions)]))
            for s in used
        )

    if local:
        codes = _ordered(code for _, span_codes in local for code in span_codes)
        if province_codes:
            inside = [
                code for code in codes
                if table.by_code[code].province_code in province_codes or code in province_codes
            ]
            codes = inside or codes
        used = [s for s, _ in local] + province_spans
        return _result(codes, table, matched_text(sorted(used, key=lambda s: s.start)),
                       fuzzy=any(s.fuzzy for s in used))

    hint = _kecamatan_hint(tokens, index, covered | national_positions, province_codes)
    if hint is not None:
        return hint
    if province_codes:
        return _result(province_codes, table, matched_text(province_spans),
                       fuzzy=any(s.fuzzy for s in province_spans))
    if national and _only_filler(tokens, national_positions, words.national_answer):
        return RegionMatch(
            "national", matched_text=", ".join(_phrase(tokens, a, b) for a, b in national)
        )
    return NO_MATCH


def _kecamatan_hint(
    tokens: Sequence[str], index: _Index, blocked: set[int], province_codes: Sequence[str]
) -> RegionMatch | None:
    """A kabupaten/kota inferred from a kecamatan name, used only with clear context."""
    table = load_regions()
    words = region_words()
    hits = _scan(tokens, index.kecamatan, index.kecamatan_max_tokens, blocked)
    if not hits:
        return None
    hit_positions = {p for start, end, _ in hits for p in range(start, end)}
    standalone = _only_filler(tokens, blocked | hit_positions, words.filler)
    for start, end, key in hits:
        before = tokens[start - 1] if start > 0 else ""
        strong = before in words.kecamatan
        located = before in words.locatives
        if key.generic:
            # "di tanah abang" is a place; "tujuh belas" is a number.
            numeric = all(t in words.numbers for t in key.text.split())
            allowed = strong or (located and standalone and not numeric)
        elif key.single:
            allowed = strong or (located and (standalone or bool(province_codes)))
        else:
            allowed = strong or located or standalone or bool(province_codes)
        if not allowed:
            continue
        codes = list(key.kabkota_codes)
        if province_codes:
            codes = [c for c in codes if table.by_code[c].province_code in province_codes]
        if not codes or len(codes) > MAX_KECAMATAN_KABKOTA:
            continue
        first = start - 1 if strong else start
        return _result(codes, table, _phrase(tokens, first, end), via_kecamatan=key.name)
    return None


# --- follow-up choice --------------------------------------------------------

_C = TypeVar("_C")


def _candidate_code(candidate: Any) -> str | None:
    if isinstance(candidate, Region):
        return candidate.code
    if isinstance(candidate, Mapping):
        code = candidate.get("code")
        return str(code) if code is not None else None
    if isinstance(candidate, str):
        return candidate
    return None


def resolve_choice(candidates: Sequence[_C], text: str) -> _C | None:
    """Pick one of the candidates offered after an ambiguous match.

    Candidates may be `Region` objects, their `to_choice()` dicts (as kept in a
    slot) or region codes; the chosen element itself is returned, or None when
    the answer does not single one out. Understands numbers ("2", "yang
    kedua"), levels ("kota", "kabupatennya", "yang kab", "bukan kota"), a
    distinguishing word ("barat", "yang selatan"), a province ("yang di
    jabar") and the full name (as sent by a button).
    """
    tokens = _message_tokens(text)
    if not candidates or not tokens:
        return None
    table = load_regions()
    words = region_words()
    options: list[tuple[int, Region]] = []
    for position, candidate in enumerate(candidates):
        code = _candidate_code(candidate)
        region = table.get(code) if code else None
        if region is not None:
            options.append((position, region))

    def pick(chosen: Sequence[int]) -> _C | None:
        return candidates[chosen[0]] if len(chosen) == 1 else None

    # 1. A number or ordinal word: "2", "nomor 2", "yang kedua".
    rest = [t for t in tokens if t not in words.choice_filler]
    if len(rest) == 1:
        word = rest[0]
        number = int(word) if word.isdigit() and len(word) <= 2 else words.ordinals.get(word)
        if word == "terakhir":
            number = len(candidates)
        if number is not None:
            return candidates[number - 1] if 1 <= number <= len(candidates) else None

    # 2. The full name, as typed or sent by a button.
    typed = " ".join(tokens)
    named = [
        position for position, region in options
        if typed in {" ".join(_canon_tokens(normalize_text(name))) for name in _full_names(region)}
    ]
    if len(named) == 1:
        return candidates[named[0]]

    # 3. A region named in the answer ("kabupaten bandung barat", "yang di jabar").
    match = match_region(text)
    if match.kind in ("exact", "ambiguous"):
        found = {r.code for r in match.candidates}
        chosen = pick([p for p, region in options if region.code in found])
        if chosen is not None:
            return chosen
        provinces = {r.code for r in match.candidates if r.level == "provinsi"}
        chosen = pick([p for p, region in options if region.province_code in provinces])
        if chosen is not None:
            return chosen

    # 4. A level word: "kota", "yang kab", "bukan kota".
    wanted: set[str] = set()
    refused: set[str] = set()
    for position, token in enumerate(tokens):
        level = words.qualifier_level.get(token)
        if level is None:
            continue
        if position > 0 and tokens[position - 1] in words.negations:
            refused.add(level)
        else:
            wanted.add(level)
    if len(wanted) == 1 or (refused and not wanted):
        same_level = [
            (p, region) for p, region in options
            if (region.level in wanted if wanted else region.level not in refused)
        ]
        chosen = pick(_plainest(same_level))
        if chosen is not None:
            return chosen

    # 5. A word only one candidate's name has ("barat", "yang selatan").
    names = {p: set(_canon_tokens(normalize_text(region.short_name))) for p, region in options}
    shared = set.intersection(*names.values()) if names else set()
    distinguishing = [t for t in tokens if t not in shared and t not in words.filler]
    if distinguishing:
        return pick([p for p, name in names.items() if all(t in name for t in distinguishing)])
    return None


def _full_names(region: Region) -> tuple[str, ...]:
    """Names that designate this region alone ("Gorontalo" alone is ambiguous)."""
    if region.level == "provinsi":
        return (region.display_name, f"Provinsi {region.name}")
    return (region.display_name, region.name)


def _plainest(options: Sequence[tuple[int, Region]]) -> list[int]:
    """Among same-level candidates, the one whose name the others extend.

    "kabupaten" between Kabupaten Bandung and Kabupaten Bandung Barat means
    Kabupaten Bandung: "Bandung Barat" would have been said.
    """
    if len(options) <= 1:
        return [p for p, _ in options]
    names = {p: normalize_text(region.short_name).split() for p, region in options}
    for p, words in names.items():
        if all(other[: len(words)] == words for q, other in names.items() if q != p):
            return [p]
    return list(names)


def format_choices(candidates: Sequence[Region]) -> str:
    """Numbered list for a choice question ("1. Kota Pekalongan (Jawa Tengah)")."""
    return "\n".join(f"{i}. {region.display_name}" for i, region in enumerate(candidates, 1))


# --- NLU lookup table --------------------------------------------------------


def lookup_entries() -> list[str]:
    """Lower-case region names as people type them, for the Rasa lookup table `region`.

    Official names with and without punctuation, "kab"/"kab."/"kota"/"provinsi"
    forms, bare names and the aliases above; bare names that are ordinary words
    ("batu", "tanah datar") appear only in their qualified forms. Sorted, unique.
    """
    table = load_regions()
    entries: set[str] = set()

    def add(text: str) -> None:
        lowered = " ".join(text.lower().split())
        entries.add(lowered)
        entries.add(normalize_text(lowered))

    def add_bare(text: str) -> None:
        if _strength(_canon_tokens(normalize_text(text))) != _GENERIC:
            add(text)

    for region in table.provinces:
        add(region.name)
        add(f"provinsi {region.name}")
        add(f"provinsi {region.short_name}")
        add_bare(region.short_name)
    for region in table.kabkota:
        base = region.short_name
        add(region.name)
        add_bare(base)
        if region.level == "kabupaten":
            add(f"kabupaten {base}")
            add(f"kab {base}")
            add(f"kab. {base}")
        else:
            add(f"kota {base}")
    words = region_words()
    for alias in [*words.aliases, *words.same_as]:
        add_bare(alias)
    entries.discard("")
    return sorted(entries)
